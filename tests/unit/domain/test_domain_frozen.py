"""`quick_init`: the faster `__init__` of events and decisions builds the same frozen values."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from callbridge.domain.events import EVENT_TYPES, InteractionCreated, InteractionQueued
from callbridge.domain.frozen import constructor, quick_init
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.routing.explanation import (
    AgentCandidate,
    RoutingDecision,
    Trigger,
    rule_on_read,
)


@dataclasses.dataclass(frozen=True, slots=True)
class _Plain:
    a: int
    b: str = "b"
    c: list[int] = dataclasses.field(default_factory=list)
    d: float = dataclasses.field(default=1.5, kw_only=True)


@quick_init
@dataclasses.dataclass(frozen=True, slots=True)
class _Quick:
    a: int
    b: str = "b"
    c: list[int] = dataclasses.field(default_factory=list)
    d: float = dataclasses.field(default=1.5, kw_only=True)


def test_the_signature_and_the_values_are_the_dataclass_ones() -> None:
    quick = inspect.signature(_Quick).parameters
    plain = inspect.signature(_Plain).parameters
    assert [(p.name, p.kind) for p in quick.values()] == [(p.name, p.kind) for p in plain.values()]
    assert (quick["b"].default, quick["d"].default) == ("b", 1.5)
    assert dataclasses.astuple(_Quick(1)) == dataclasses.astuple(_Plain(1))
    assert dataclasses.astuple(_Quick(1, "x", [2], d=3.0)) == (1, "x", [2], 3.0)
    assert _Quick(a=4, b="y") == _Quick(4, "y")
    with pytest.raises(TypeError):
        _Quick()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _Quick(1, "x", [], 2.0)  # type: ignore[call-arg]


def test_a_default_factory_gives_each_value_its_own() -> None:
    first, second = _Quick(1), _Quick(2)
    assert first.c == [] and first.c is not second.c


def test_the_values_stay_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _Quick(1).a = 2  # type: ignore[misc]
    event = InteractionQueued(
        at=1.0, interaction_id=InteractionId("i"), queue_id=QueueId("q"), priority=0, seq=1,
        reason="arrival",
    )  # fmt: skip
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.seq = 2  # type: ignore[misc]


def test_events_and_decisions_are_built_as_before() -> None:
    event = InteractionCreated(
        at=1.0,
        interaction_id=InteractionId("i"),
        channel="voice",
        direction="inbound",
        from_address="+1",
        to_address="+2",
    )
    assert repr(event) == (
        "InteractionCreated(at=1.0, interaction_id='i', channel='voice', direction='inbound', "
        "from_address='+1', to_address='+2', attached={})"
    )
    ann = AgentId("ann")
    decision = RoutingDecision(
        Trigger.DIAL, InteractionId("i"), QueueId(""), ann, 0, "any agent", "direct", "placed",
        (AgentCandidate(ann, (1.0,)),),
    )  # fmt: skip
    assert (decision.candidates_total, decision.pool_size, decision.passed_over) == (0, 0, ())
    assert decision.agent_candidates == (AgentCandidate(ann, (1.0,)),)
    assert all(
        cls.__init__.__module__ == "callbridge.domain.events" for cls in EVENT_TYPES.values()
    )


def test_only_frozen_slotted_dataclasses_without_post_init() -> None:
    @dataclasses.dataclass(slots=True)
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (Mutable, NoSlots, Checked):
        with pytest.raises(TypeError):
            quick_init(cls)


def test_a_constructor_builds_the_value_the_class_builds() -> None:
    build = constructor(_Quick)
    assert build(1) == _Quick(1) and type(build(1)) is _Quick
    assert build(4, "y", [5], d=2.0) == _Quick(4, "y", [5], d=2.0)
    assert build(1).c is not build(1).c  # each its own default
    params = inspect.signature(build).parameters
    assert [(p.name, p.kind) for p in params.values()] == [
        (p.name, p.kind) for p in inspect.signature(_Quick).parameters.values()
    ]
    assert (params["b"].default, params["d"].default) == ("b", 1.5)
    with pytest.raises(TypeError):
        build()  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        build(1).a = 2  # type: ignore[misc]
    iid, queue = InteractionId("i"), QueueId("q")
    event = constructor(InteractionQueued)(
        at=1.0, interaction_id=iid, queue_id=queue, priority=0, seq=1, reason="arrival"
    )
    same = InteractionQueued(
        at=1.0, interaction_id=iid, queue_id=queue, priority=0, seq=1, reason="arrival"
    )
    assert type(event) is InteractionQueued and event == same and hash(event) == hash(same)
    assert repr(event) == repr(same)
    with pytest.raises(TypeError):
        constructor(dataclasses.make_dataclass("Mutable", ["a"], slots=True))


def test_a_subclass_that_inherits_the_quick_init_is_built_as_itself() -> None:
    class Sub(_Quick):
        __slots__ = ()

    sub = Sub(1, "x")
    assert type(sub) is Sub and (sub.a, sub.b, sub.c, sub.d) == (1, "x", [], 1.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sub.a = 2  # type: ignore[misc]


def _rule(idle_s: float, free: int) -> str:
    return f"idle {idle_s:.1f}s of {free}"


def test_a_rule_given_on_read_is_written_when_read_and_is_the_same_value() -> None:
    fields = dict(
        trigger=Trigger.INTERACTION_WAITING,
        interaction_id=InteractionId("i1"),
        queue_id=QueueId("q"),
        agent_id=AgentId("a1"),
        level=0,
        requirement="any agent",
        strategy="longest_idle",
    )
    written = RoutingDecision(rule="idle 12.3s of 4", **fields)  # type: ignore[arg-type]
    build = constructor(RoutingDecision)
    for later in (
        build(rule=rule_on_read(_rule, 12.345, 4), **fields),  # type: ignore[arg-type]
        RoutingDecision(rule=rule_on_read(_rule, 12.345, 4), **fields),  # type: ignore[arg-type]
    ):
        assert later == written and hash(later) == hash(written)
        assert later.rule == "idle 12.3s of 4" and type(later.rule) is str
        assert repr(later) == repr(written)
        assert dataclasses.asdict(later) == dataclasses.asdict(written)
        assert later.describe() == written.describe()
        with pytest.raises(dataclasses.FrozenInstanceError):
            later.rule = "changed"  # type: ignore[misc]
    # the text comes from the arguments as they were when the decision was built
    lazy = build(rule=rule_on_read(_rule, 1.0, 2), **fields)  # type: ignore[arg-type]
    assert dataclasses.astuple(lazy)[7] == "idle 1.0s of 2"
