"""After-call work: timed wrap-up, disposition and notes per queue, automatic return to Ready."""

from __future__ import annotations

import pytest
from domain_helpers import SUPPORT, agent, arrive, center_with, of_type, offers, one

from callbridge.domain.agents import AgentState
from callbridge.domain.center import ContactCenter
from callbridge.domain.errors import InvalidInput, InvalidState
from callbridge.domain.events import (
    DispositionSaved,
    InteractionWrappedUp,
    WrapUpStarted,
)
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId
from callbridge.domain.interactions import EndReason
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.queues import Queue, WrapUpPolicy

I1, I2 = InteractionId("i1"), InteractionId("i2")
ANN = AgentId("ann")
SOLD, NO_SALE = DispositionCode("sold"), DispositionCode("no_sale")


def talking(policy: WrapUpPolicy, ready: bool = True) -> ContactCenter:
    """A center where ann is connected to i1 since t=1, in a queue with this wrap-up policy."""
    center = center_with(Queue(SUPPORT, "Support", wrap_up=policy))
    center.save_disposition(SOLD, "Sold", 0.0)
    center.save_disposition(NO_SALE, "No sale", 0.0)
    agent(center, "ann")
    arrive(center, "i1")
    center.accept(I1, ANN, 1.0)
    if not ready:
        center.set_not_ready(ANN, "coaching", 1.5)
    return center


def test_dispositions_are_saved_with_a_code_and_a_label() -> None:
    center = center_with()
    saved = one(center.save_disposition(SOLD, "Sold", 0.0), DispositionSaved)
    assert (saved.code, saved.label) == (SOLD, "Sold")
    for code, label, field in (("", "Empty", "code"), ("x", "", "label")):
        with pytest.raises(InvalidInput) as info:
            center.save_disposition(DispositionCode(code), label, 0.0)
        assert info.value.details["field"] == field


def test_ending_starts_a_timed_wrap_up() -> None:
    center = talking(WrapUpPolicy(duration_s=30.0))
    started = one(center.end(I1, "customer", 10.0), WrapUpStarted)
    assert (started.agent_id, started.deadline) == (ANN, 40.0)
    assert center.agent(ANN).state is AgentState.WRAP_UP
    assert center.interaction(I1).state is S.ENDED
    assert offers(arrive(center, "i2", now=11.0)) == {}  # not offered work while wrapping up


def test_the_timer_ends_wrap_up_and_the_agent_is_ready_and_offered_the_next() -> None:
    center = talking(WrapUpPolicy(duration_s=30.0))
    center.end(I1, "agent", 10.0, ANN)
    arrive(center, "i2", now=11.0)
    assert center.tick(39.9) == []
    events = center.tick(45.0)
    done = one(events, InteractionWrappedUp)
    assert (done.at, done.automatic, done.disposition, done.notes) == (40.0, True, None, None)
    assert offers(events) == {I2: ANN}
    assert [ix.id for ix in center.drain_closed()] == [I1]


def test_the_agent_may_finish_early_with_disposition_and_notes() -> None:
    center = talking(WrapUpPolicy(duration_s=60.0))
    center.end(I1, "customer", 10.0)
    arrive(center, "i2", now=11.0)
    events = center.wrap_up(I1, ANN, SOLD, "  upgraded the plan  ", 20.0)
    done = one(events, InteractionWrappedUp)
    assert (done.automatic, done.disposition, done.notes) == (False, SOLD, "upgraded the plan")
    assert offers(events) == {I2: ANN}
    [closed] = center.drain_closed()
    assert (closed.id, closed.state, closed.disposition, closed.notes) == (
        I1,
        S.WRAPPED_UP,
        SOLD,
        "upgraded the plan",
    )
    assert closed.end_reason is EndReason.COMPLETED
    # the wrap-up timer is void; only i2's offer runs out
    assert of_type(center.tick(100.0), InteractionWrappedUp) == []


def test_wrap_up_without_a_timer_waits_for_the_agent() -> None:
    center = talking(WrapUpPolicy(duration_s=0.0, notes_required=True))
    started = one(center.end(I1, "customer", 10.0), WrapUpStarted)
    assert started.deadline is None
    assert center.tick(10_000.0) == []
    assert center.agent(ANN).state is AgentState.WRAP_UP
    center.wrap_up(I1, ANN, None, "done", 10_001.0)
    assert center.agent(ANN).state is AgentState.READY


def test_no_wrap_up_at_all_returns_the_agent_at_once() -> None:
    center = talking(WrapUpPolicy(duration_s=0.0))
    events = center.end(I1, "customer", 10.0)
    assert one(events, WrapUpStarted).deadline == 10.0
    assert one(events, InteractionWrappedUp).automatic
    assert center.agent(ANN).state is AgentState.READY


def test_a_required_disposition_must_be_given() -> None:
    center = talking(WrapUpPolicy(duration_s=30.0, disposition_required=True))
    center.end(I1, "customer", 10.0)
    with pytest.raises(InvalidInput) as info:
        center.wrap_up(I1, ANN, None, "notes are not enough", 11.0)
    assert (info.value.code, info.value.details["field"]) == ("invalid_input", "disposition")
    assert center.agent(ANN).state is AgentState.WRAP_UP
    center.wrap_up(I1, ANN, NO_SALE, None, 12.0)
    assert center.agent(ANN).state is AgentState.READY


def test_required_notes_must_be_given_and_blank_is_not_notes() -> None:
    center = talking(WrapUpPolicy(duration_s=30.0, notes_required=True))
    center.end(I1, "customer", 10.0)
    for notes in (None, "", "   "):
        with pytest.raises(InvalidInput) as info:
            center.wrap_up(I1, ANN, SOLD, notes, 11.0)
        assert info.value.details["field"] == "notes"
    assert center.interaction(I1).state is S.ENDED


def test_an_unknown_disposition_is_invalid() -> None:
    center = talking(WrapUpPolicy(duration_s=30.0))
    center.end(I1, "customer", 10.0)
    with pytest.raises(InvalidInput) as info:
        center.wrap_up(I1, ANN, DispositionCode("made_up"), None, 11.0)
    assert info.value.details["field"] == "disposition"


def test_optional_disposition_and_notes_may_be_left_out() -> None:
    center = talking(WrapUpPolicy(duration_s=30.0))
    center.end(I1, "customer", 10.0)
    done = one(center.wrap_up(I1, ANN, None, None, 11.0), InteractionWrappedUp)
    assert (done.disposition, done.notes, done.automatic) == (None, None, False)


def test_when_the_timer_runs_out_a_required_disposition_takes_the_default() -> None:
    policy = WrapUpPolicy(duration_s=20.0, disposition_required=True, default_disposition=SOLD)
    center = talking(policy)
    center.end(I1, "customer", 10.0)
    done = one(center.tick(30.0), InteractionWrappedUp)
    assert (done.disposition, done.automatic) == (SOLD, True)


def test_without_a_default_the_agent_stays_in_wrap_up_past_the_timer() -> None:
    center = talking(WrapUpPolicy(duration_s=20.0, disposition_required=True))
    center.end(I1, "customer", 10.0)
    assert center.tick(30.0) == []
    assert center.agent(ANN).state is AgentState.WRAP_UP
    center.wrap_up(I1, ANN, SOLD, None, 45.0)
    assert center.agent(ANN).state is AgentState.READY


def test_required_notes_keep_the_agent_in_wrap_up_past_the_timer() -> None:
    policy = WrapUpPolicy(duration_s=20.0, notes_required=True, default_disposition=SOLD)
    center = talking(policy)
    center.end(I1, "customer", 10.0)
    assert center.tick(30.0) == []
    assert center.agent(ANN).state is AgentState.WRAP_UP


def test_an_agent_who_went_not_ready_meanwhile_returns_to_not_ready() -> None:
    center = talking(WrapUpPolicy(duration_s=10.0), ready=False)
    center.end(I1, "customer", 2.0)
    arrive(center, "i2", now=3.0)
    events = center.tick(12.0)
    assert offers(events) == {}
    ann = center.agent(ANN)
    assert (ann.state, ann.reason) == (AgentState.NOT_READY, "coaching")


def test_only_the_wrapping_agent_wraps_up_and_only_once() -> None:
    center = talking(WrapUpPolicy(duration_s=30.0))
    agent(center, "bob", ready=False)
    with pytest.raises(InvalidState):
        center.wrap_up(I1, ANN, None, None, 2.0)  # still connected
    center.end(I1, "customer", 3.0)
    with pytest.raises(InvalidState) as info:
        center.wrap_up(I1, AgentId("bob"), None, None, 4.0)
    assert info.value.details == {"interaction_id": "i1", "agent_id": "bob"}
    center.wrap_up(I1, ANN, None, None, 5.0)
    assert I1 not in center.interactions  # wrapped up and handed over via drain_closed


def test_idle_time_for_longest_idle_counts_from_the_end_of_wrap_up() -> None:
    center = talking(WrapUpPolicy(duration_s=10.0))
    center.end(I1, "customer", 2.0)
    center.tick(12.0)
    assert center.agent(ANN).idle_since == 12.0


def test_a_wrap_up_ended_by_a_late_tick_still_takes_what_arrived_meanwhile() -> None:
    # The runtime ticks a little after each deadline; an arrival can come in between. The
    # deadline is then acted on as of that arrival, never dated before it.
    center = talking(WrapUpPolicy(duration_s=10.0))
    center.end(I1, "customer", 2.0)  # wrap-up until 12
    arrive(center, "i2", now=12.5)
    events = center.tick(12.6)
    assert [e.at for e in events] == [12.5, 12.5]
    assert one(events, InteractionWrappedUp).automatic
    assert offers(events) == {I2: ANN}
