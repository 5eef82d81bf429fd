"""The store's pure conversions, without a database."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callbridge.adapters.store import codec
from callbridge.domain.errors import StorageError
from callbridge.domain.events import InteractionOffered, InteractionTransferred
from callbridge.domain.ids import AgentId, DispositionCode, GroupName, InteractionId, QueueId
from callbridge.domain.ids import SkillId as Sk
from callbridge.domain.queues import (
    AddGroup,
    DropSkill,
    OverflowAction,
    OverflowKind,
    Queue,
    RelaxProficiency,
    SkillRequirement,
    Strategy,
    WrapUpPolicy,
)
from callbridge.domain.routing.explanation import (
    AgentCandidate,
    PassedOver,
    RoutingDecision,
    Trigger,
    WaitingCandidate,
)

# --- time --------------------------------------------------------------------------------------

YEAR_2200_US = 7_258_118_400 * 10**6


@given(st.integers(min_value=-(10**15), max_value=YEAR_2200_US))
def test_epoch_seconds_round_trip_exactly_to_the_microsecond(micros: int) -> None:
    at = micros / 10**6
    as_datetime = codec.to_datetime(at)
    assert as_datetime.tzinfo is UTC
    assert as_datetime == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    assert codec.from_datetime(as_datetime) == at


@given(st.floats(min_value=0, max_value=4e9))
def test_any_time_comes_back_within_half_a_microsecond(at: float) -> None:
    assert math.isclose(codec.from_datetime(codec.to_datetime(at)), at, abs_tol=5.01e-7)


def test_a_naive_datetime_is_read_as_utc() -> None:
    naive = datetime(2025, 11, 26, 9, 30, 0, 250000)  # noqa: DTZ001 - what SQLite gives back
    assert codec.from_datetime(naive) == datetime(2025, 11, 26, 9, 30, 0, 250000, UTC).timestamp()


# --- JSON --------------------------------------------------------------------------------------


class Colour(StrEnum):
    RED = "red"


def test_to_json_turns_enums_tuples_and_sets_into_json() -> None:
    value = {
        "c": Colour.RED,
        "t": (1, 2.5, (None, True)),
        "s": frozenset({"b", "a"}),
        Colour.RED: 1,
    }
    assert codec.to_json(value) == {
        "c": "red",
        "t": [1, 2.5, [None, True]],
        "s": ["a", "b"],
        "red": 1,
    }


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (object(), TypeError),
        ({1: "x"}, TypeError),
        ([math.inf], ValueError),
        ({"x": math.nan}, ValueError),
    ],
)
def test_to_json_refuses_what_json_cannot_hold(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        codec.to_json(value)


# --- queues ------------------------------------------------------------------------------------


def test_a_queue_with_every_option_round_trips_through_its_config() -> None:
    queue = Queue(
        QueueId("q"),
        "Q",
        requirements=(SkillRequirement(Sk("en"), 5), SkillRequirement(Sk("billing"), 7)),
        priority=-2,
        service_level_s=12.5,
        max_wait_s=30.0,
        overflow=OverflowAction(OverflowKind.CALLBACK, message="we will call"),
        escalation=(
            AddGroup(30.0, GroupName("seniors")),
            RelaxProficiency(10.0, Sk("en"), 3),
            DropSkill(20.0, Sk("billing")),
        ),
        strategy=Strategy.LEAST_OCCUPIED,
        offer_timeout_s=8.0,
        wrap_up=WrapUpPolicy(0.0, True, False, DispositionCode("done")),
    )
    config = codec.queue_config(queue)
    steps = config["escalation"]
    assert isinstance(steps, list)
    kinds = [step["kind"] for step in steps if isinstance(step, dict)]
    assert kinds == ["add_group", "relax_proficiency", "drop_skill"]
    assert codec.queue_from_config("q", "Q", config) == queue


def good_config() -> dict[str, Any]:
    return dict(codec.queue_config(Queue(QueueId("q"), "Q")))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"strategy": "fastest"}, "queue 'q'.strategy"),
        ({"priority": "high"}, "queue 'q'.priority"),
        ({"priority": True}, "queue 'q'.priority"),
        ({"service_level_s": None}, "queue 'q'.service_level_s"),
        ({"requirements": [{"skill": "en"}]}, "queue 'q'.requirements[0].min_proficiency"),
        ({"escalation": [{"kind": "teleport", "after_s": 1}]}, "queue 'q'.escalation[0].kind"),
        ({"wrap_up": {"duration_s": 1}}, "queue 'q'.wrap_up.disposition_required"),
        ({"overflow": "voicemail"}, "queue 'q'.overflow"),
    ],
)
def test_a_damaged_queue_config_names_the_field(change: dict[str, Any], where: str) -> None:
    with pytest.raises(StorageError) as damaged:
        codec.queue_from_config("q", "Q", good_config() | change)
    assert damaged.value.details["field"] == where


def test_a_queue_config_that_is_not_an_object_is_reported() -> None:
    with pytest.raises(StorageError, match="queue 'q' should be a JSON object"):
        codec.queue_from_config("q", "Q", ["not", "a", "config"])


# --- events ------------------------------------------------------------------------------------


def test_an_offer_keeps_its_routing_decision_as_a_nested_object() -> None:
    decision = RoutingDecision(
        trigger=Trigger.AGENT_AVAILABLE,
        interaction_id=InteractionId("i"),
        queue_id=QueueId("q"),
        agent_id=AgentId("a"),
        level=1,
        requirement="en>=3",
        strategy="longest_idle",
        rule="idle 3.0s",
        agent_candidates=(AgentCandidate(AgentId("a"), (3.0, 0)),),
        passed_over=(PassedOver(AgentId("b"), "lacks en"),),
        waiting_candidates=(WaitingCandidate(InteractionId("i"), QueueId("q"), 2, 4.5),),
        candidates_total=1,
    )
    event = InteractionOffered(
        at=10.0,
        interaction_id=InteractionId("i"),
        agent_id=AgentId("a"),
        queue_id=QueueId("q"),
        deadline=25.0,
        decision=decision,
    )
    record = codec.event_record(event)
    assert (record.kind, record.at, record.interaction_id, record.agent_id, record.queue_id) == (
        "interaction_offered",
        10.0,
        "i",
        "a",
        "q",
    )
    assert "at" not in record.payload
    assert record.payload["decision"] == {
        "trigger": "agent_available",
        "interaction_id": "i",
        "queue_id": "q",
        "agent_id": "a",
        "level": 1,
        "requirement": "en>=3",
        "strategy": "longest_idle",
        "rule": "idle 3.0s",
        "agent_candidates": [{"agent_id": "a", "score": [3.0, 0]}],
        "passed_over": [{"agent_id": "b", "reason": "lacks en"}],
        "waiting_candidates": [
            {"interaction_id": "i", "queue_id": "q", "priority": 2, "waited_s": 4.5}
        ],
        "candidates_total": 1,
        "pool_size": 0,
    }


def test_a_transfer_is_filed_under_the_transferring_agent_and_the_target_queue() -> None:
    record = codec.event_record(
        InteractionTransferred(
            at=1.0,
            interaction_id=InteractionId("i"),
            from_agent_id=AgentId("a"),
            to_queue_id=QueueId("q2"),
        )
    )
    assert (record.agent_id, record.queue_id) == ("a", "q2")
