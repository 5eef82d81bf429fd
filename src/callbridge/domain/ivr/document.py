"""The parts of reading a flow file every node kind shares: where a field is (its line), typed
reads of fields, prompts, expressions and schedules, each failing with a `FlowError`."""

from __future__ import annotations

import difflib
import os.path
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from callbridge.documents import line_of
from callbridge.domain.ivr.actions import PlayFile, Say, Speech
from callbridge.domain.ivr.errors import FlowError
from callbridge.domain.ivr.expressions import Expression, ExpressionError
from callbridge.domain.ivr.hours import HoursError, Schedule, make_schedule
from callbridge.domain.ivr.nodes import FileRef, FlowRef, HoursRef, Ref
from callbridge.domain.ivr.prompts import template_error

NODE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
KEYS = frozenset("0123456789*#")
PRESET = frozenset({"ani", "dnis"})  # the walk sets these from the call
MISSING = object()


@dataclass
class Document:
    """One flow file being read: its node tree (for lines) and what its nodes refer to."""

    origin: str
    directory: str
    root: yaml.Node | None
    refs: list[Ref] = field(default_factory=list)
    files: list[FileRef] = field(default_factory=list)
    flow_refs: list[FlowRef] = field(default_factory=list)
    hours_refs: list[HoursRef] = field(default_factory=list)
    schedules: dict[str, Schedule] = field(default_factory=dict)

    def error(self, reason: str, loc: list[str], node: str | None = None) -> FlowError:
        return FlowError(
            reason,
            file=self.origin,
            line=line_of(self.root, loc),
            node=node,
            field=".".join(loc[2:] if node is not None else loc) or None,
        )

    def node_name(self, key: object) -> str:
        if not isinstance(key, str | int) or isinstance(key, bool):
            raise self.error(
                f"node name {key!r} is not text (quote it in the YAML)", ["nodes", str(key)]
            )
        name = str(key)
        if not NODE_NAME.fullmatch(name):
            raise self.error(
                f"node name '{name}': use letters, digits, '_', '-' and '.'", ["nodes", name]
            )
        return name

    def variable_name(self, name: str, loc: list[str], node: str | None) -> str:
        if not VARIABLE.fullmatch(name):
            raise self.error(f"'{name}' is not a variable name", loc, node)
        if name in PRESET:
            raise self.error(f"'{name}' is set from the call and cannot be changed", loc, node)
        return name

    def schedule(self, data: object, loc: list[str], node: str | None) -> Schedule:
        if not isinstance(data, Mapping):
            raise self.error("a schedule is a mapping with 'timezone' and 'weekly'", loc, node)
        unknown = [str(k) for k in data if k not in ("timezone", "weekly", "holidays", "closed")]
        if unknown:
            raise self.error(f"unknown field '{unknown[0]}' in hours", [*loc, unknown[0]], node)
        try:
            return make_schedule(
                data.get("timezone"), data.get("weekly"), data.get("holidays"), data.get("closed")
            )
        except HoursError as exc:
            raise self.error(exc.message, loc + exc.field.split("."), node) from None

    def speech(
        self, value: object, loc: list[str], node: str, default_kind: str
    ) -> tuple[Speech, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise self.error("an empty prompt", loc, node)
        parts: list[Speech] = []
        for i, item in enumerate(items):
            where = [*loc, str(i)] if isinstance(value, list) else loc
            kind, text = default_kind, item
            if isinstance(item, Mapping):
                if len(item) != 1 or next(iter(item)) not in ("say", "play"):
                    raise self.error(
                        "a prompt part is text, {say: text} or {play: file}", where, node
                    )
                kind, text = next(iter(item.items()))
                where = [*where, str(kind)]
            if not isinstance(text, str) or not text.strip():
                raise self.error(
                    f"a prompt part needs {'a file' if kind == 'play' else 'text'}", where, node
                )
            if kind == "play":
                parts.append(PlayFile(self.file(text, where, node)))
                continue
            problem = template_error(text)
            if problem is not None:
                raise self.error(problem, where, node)
            parts.append(Say(text))
        return tuple(parts)

    def file(self, path: str, loc: list[str], node: str) -> str:
        resolved = os.path.normpath(os.path.join(self.directory, path))
        self.files.append(FileRef(node, resolved, line_of(self.root, loc)))
        return resolved

    def expression(self, value: object, loc: list[str], node: str) -> Expression:
        if isinstance(value, bool):
            value = "true" if value else "false"
        if isinstance(value, int | float):
            value = str(value)
        if not isinstance(value, str):
            raise self.error('an expression is text, e.g. crm.tier == "gold"', loc, node)
        try:
            return Expression.parse(value)
        except ExpressionError as exc:
            raise self.error(f"{exc.message} (column {exc.column})", loc, node) from None


class Fields:
    """One mapping's fields: typed reads that know their line, then a check for leftovers."""

    def __init__(
        self,
        doc: Document,
        node: str | None,
        loc: list[str],
        data: Mapping[object, object],
        known: tuple[str, ...],
        kind: str,
    ) -> None:
        self.doc, self.node, self.loc, self.data = doc, node, loc, data
        self.known, self.kind = known, kind

    def at(self, key: str) -> list[str]:
        return [*self.loc, key]

    def error(self, key: str, reason: str) -> FlowError:
        return self.doc.error(reason, self.at(key), self.node)

    def raw(self, key: str, default: object = MISSING) -> object:
        value = self.data.get(key, MISSING)
        if value is MISSING or value is None:
            if default is MISSING:
                raise self.doc.error(f"missing field '{key}'", self.loc, self.node)
            return default
        return value

    def text(self, key: str, default: object = MISSING) -> str:
        value = self.raw(key, default)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # an unquoted number is fine where text goes
        if not isinstance(value, str):
            raise self.error(key, f"'{key}' must be text")
        return value

    def texts(self, key: str) -> list[str]:
        value = self.raw(key, [])
        if not isinstance(value, list):
            value = [value]
        out = []
        for item in value:
            if not isinstance(item, str | int) or isinstance(item, bool):
                raise self.error(key, f"'{key}' must be a list of text")
            out.append(str(item))
        return out

    def number(self, key: str, default: float | None, minimum: float = 0.0) -> float | None:
        value = self.raw(key, MISSING if default is MISSING else default)
        if value is default:
            return default
        if not isinstance(value, int | float) or isinstance(value, bool) or value < minimum:
            raise self.error(key, f"'{key}' must be a number of seconds, at least {minimum:g}")
        return float(value)

    def seconds(self, key: str, default: float, minimum: float = 0.0) -> float:
        value = self.number(key, default, minimum)
        assert value is not None  # a float default never reads back as None
        return value

    def integer(self, key: str, default: int | None, minimum: int = 0, maximum: int = 10**6) -> int:
        value = self.raw(key, MISSING if default is None else default)
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            raise self.error(key, f"'{key}' must be a whole number from {minimum} to {maximum}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"'{key}' must be true or false")
        return value

    def mapping(self, key: str, required: bool = False) -> Mapping[object, object]:
        value = self.raw(key, MISSING if required else {})
        if not isinstance(value, Mapping):
            raise self.error(key, f"'{key}' must be a mapping")
        return value

    def target(self, key: str, required: bool = True, loc: list[str] | None = None) -> str | None:
        """The node a field goes to; `loc` reaches into a nested field (options, cases)."""
        where = self.at(key) if loc is None else loc
        value = self._dig(where)
        if value is MISSING and required:
            raise self.doc.error(f"missing field '{key}'", self.loc, self.node)
        if value is None and required:
            raise self.doc.error(f"missing branch: '{key}' goes nowhere", where, self.node)
        if value is None or value is MISSING:
            return None
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise self.doc.error(f"'{key}' must name a node", where, self.node)
        assert self.node is not None  # targets are only read inside nodes
        line = line_of(self.doc.root, where)
        self.doc.refs.append(Ref(self.node, ".".join(where[2:]), str(value), line))
        return str(value)

    def _dig(self, loc: list[str]) -> object:
        value: object = self.data
        for part in loc[len(self.loc) :]:
            if isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            elif isinstance(value, Mapping):
                value = next((v for k, v in value.items() if str(k) == part), MISSING)
            else:
                return MISSING
        return value

    def prompt(self, key: str, required: bool = True, kind: str = "say") -> tuple[Speech, ...]:
        value = self.raw(key, MISSING if required else None)
        if value is None:
            return ()
        assert self.node is not None  # prompts are only read inside nodes
        return self.doc.speech(value, self.at(key), self.node, kind)

    def expression(self, key: str, required: bool = True) -> Expression | None:
        value = self.raw(key, MISSING if required else None)
        if value is None:
            return None
        assert self.node is not None  # expressions are only read inside nodes
        return self.doc.expression(value, self.at(key), self.node)

    def skills(self, key: str) -> dict[str, int]:
        skills: dict[str, int] = {}
        for skill, level in self.mapping(key).items():
            if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 10:
                raise self.doc.error(
                    f"skill '{skill}' needs a proficiency from 1 to 10",
                    [*self.at(key), str(skill)],
                    self.node,
                )
            skills[str(skill)] = level
        return skills

    def finish(self) -> None:
        for key in self.data:
            if key not in self.known:
                shown = str(key)
                close = difflib.get_close_matches(shown, self.known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                fields = ", ".join(k for k in self.known if k != self.kind)
                raise self.error(
                    shown,
                    f"unknown field '{shown}' for {_article(self.kind)}{hint}; fields: {fields}",
                )


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _article(kind: str) -> str:
    return "the flow" if kind == "flow" else f"a {kind} node"
