"""Faster construction for the frozen dataclasses built on every call: events and decisions.

A frozen dataclass's generated `__init__` sets each field with `object.__setattr__(self, name,
value)`, a call per field, because its own `__setattr__` refuses. Both helpers here lend the
new value, while it is being built, to a subclass that adds nothing but the plain
`__setattr__`: each field is then a plain attribute store, which the interpreter does without a
call, and the value goes back to its class before anyone else sees it. The value is frozen
(assigning a field raises `FrozenInstanceError`) and equal to what the dataclass would build.

- `quick_init` replaces the class's `__init__`: every `InteractionQueued(...)` gains.
- `constructor` gives a plain function with the same signature that builds the value. Calling
  a class costs more than calling a function (the interpreter packs keyword arguments into a
  dict for `__init__`), so the center builds the events of every call through these: the seven
  events and the routing decision of a simulated call take about a third of the time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

T = TypeVar("T")
P = ParamSpec("P")
_NOT_GIVEN = object()  # the default of a field with a default factory
_BUILDING: dict[type, type] = {}  # class -> its subclass with the plain __setattr__


def quick_init(cls: type[T]) -> type[T]:
    """Give a frozen, slotted dataclass an `__init__` that sets its slots directly."""
    env, signature, defaults, names = _parts(cls)
    for name in names:
        slot = next(vars(k)[name] for k in cls.__mro__ if name in vars(k))
        env[f"_set_{name}"] = slot.__set__
    source = (
        f"def __init__({signature}):\n"
        + "".join(line + "\n" for line in defaults)
        + "    if type(self) is _cls:\n"
        + "        _set_attr(self, '__class__', _building)\n"
        + "".join(f"        self.{name} = {name}\n" for name in names)
        + "        self.__class__ = _cls\n"
        # a subclass that is not a dataclass of its own inherits this: each slot by its setter
        + "    else:\n"
        + "".join(f"        _set_{name}(self, {name})\n" for name in names or ["pass"])
    )
    init = _compile(cls, "__init__", source, env)
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def constructor(cls: Callable[P, T]) -> Callable[P, T]:
    """A function that builds a value of a frozen, slotted dataclass as `cls(...)` would."""
    kind = cast(type, cls)
    env, signature, defaults, names = _parts(kind)
    source = (
        f"def new({signature.removeprefix('self, ').removeprefix('self')}):\n"
        + "".join(line + "\n" for line in defaults)
        + "    self = _new(_building)\n"
        + "".join(f"    self.{name} = {name}\n" for name in names)
        + "    self.__class__ = _cls\n"
        + "    return self\n"
    )
    return cast(Callable[P, T], _compile(kind, "new", source, env))


def over_slot(cls: type, name: str, descriptor: Callable[[Any], object]) -> None:
    """Put `descriptor(slot)` in the place of the slot of field `name` of a frozen, slotted
    dataclass: a descriptor of its own over the slot (see `RoutingDecision.rule`). Values
    built by `quick_init` and `constructor` still set the slot itself, without a call."""
    slot = vars(cls)[name]
    _parts(cls)  # checks the class, and makes the subclass used while building
    setattr(_BUILDING[cls], name, slot)  # the building subclass's own: found first
    setattr(cls, name, descriptor(slot))


def _parts(cls: type) -> tuple[dict[str, Any], str, list[str], list[str]]:
    """What both generated functions need: their globals, the parameters as the dataclass's
    `__init__` has them, the lines that fill default factories, and the field names."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in vars(cls):
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which this __init__ would skip")
    building = _BUILDING.get(cls)
    if building is None:
        # the same layout (no slot of its own), and the plain attribute store and delete
        building = _BUILDING[cls] = type(
            f"{cls.__name__}Building",
            (cls,),
            {
                "__slots__": (),
                "__setattr__": object.__setattr__,
                "__delattr__": object.__delattr__,
                "__module__": cls.__module__,
            },
        )
    env: dict[str, Any] = {
        "_NOT_GIVEN": _NOT_GIVEN,
        "_cls": cls,
        "_building": building,
        "_set_attr": object.__setattr__,
        "_new": object.__new__,
    }
    positional: list[str] = []
    keyword: list[str] = []
    defaults: list[str] = []
    names: list[str] = []
    for f in dataclasses.fields(cls):
        name = f.name
        if not f.init:
            raise TypeError(f"{cls.__name__}.{name} is not set by __init__; not supported")
        if f.default is not dataclasses.MISSING:
            env[f"_default_{name}"] = f.default
            param = f"{name}=_default_{name}"
        elif f.default_factory is not dataclasses.MISSING:
            env[f"_factory_{name}"] = f.default_factory
            param = f"{name}=_NOT_GIVEN"
            defaults.append(f"    if {name} is _NOT_GIVEN:\n        {name} = _factory_{name}()")
        else:
            param = name
        (keyword if f.kw_only else positional).append(param)
        names.append(name)
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    return env, signature, defaults, names


def _compile(cls: type, name: str, source: str, env: dict[str, Any]) -> Any:
    exec(source, env)  # noqa: S102 - the source is made of field names only, as dataclasses does
    function = env[name]
    function.__qualname__ = f"{cls.__qualname__}.{name}"
    function.__module__ = cls.__module__
    return function
