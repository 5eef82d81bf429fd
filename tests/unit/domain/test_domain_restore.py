"""Restore: a center rebuilt from stored state carries on as the one that stored it would."""

from __future__ import annotations

import copy

from domain_helpers import SALES, SUPPORT, agent, arrive, center_with, of_type, offers, one, skills

from callbridge.domain.agents import AgentState
from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel
from callbridge.domain.events import (
    InteractionEnded,
    InteractionEscalated,
    InteractionEvent,
    InteractionQueued,
    InteractionWrappedUp,
    OfferMissed,
)
from callbridge.domain.ids import AgentId, InteractionId, SkillId
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.queues import (
    OverflowAction,
    OverflowKind,
    Queue,
    RelaxProficiency,
    SkillRequirement,
    WrapUpPolicy,
)
from callbridge.domain.restore import restore, route_waiting

ANN, BOB, CAT = AgentId("ann"), AgentId("bob"), AgentId("cat")
BILLING = SkillId("billing")


def busy_center() -> ContactCenter:
    """At t=10: ann talks to i1 (on hold), bob wraps up i2 until 40, cat is offered i3 until 25,
    and i4 waits for billing>=8 (relaxed to 2 at 60s; voicemail at 300s)."""
    center = center_with(
        Queue(SALES, "Sales", requirements=(SkillRequirement(BILLING, 8),)),
        Queue(
            SUPPORT,
            "Support",
            requirements=(SkillRequirement(SkillId("support"), 1),),
            offer_timeout_s=15.0,
            wrap_up=WrapUpPolicy(duration_s=30.0),
        ),
    )
    center.save_queue(
        Queue(
            SALES,
            "Sales",
            requirements=(SkillRequirement(BILLING, 8),),
            escalation=(RelaxProficiency(60.0, BILLING, 2),),
            max_wait_s=300.0,
            overflow=OverflowAction(OverflowKind.VOICEMAIL),
        ),
        0.0,
    )
    agent(center, "ann", skills(support=5), now=0.0)
    arrive(center, "i1", now=1.0)
    center.accept(InteractionId("i1"), ANN, 2.0)
    center.hold(InteractionId("i1"), ANN, 3.0)
    agent(center, "bob", skills(support=5, billing=3), now=0.0)
    arrive(center, "i2", now=4.0)
    center.accept(InteractionId("i2"), BOB, 5.0)
    center.end(InteractionId("i2"), "customer", 10.0)
    agent(center, "cat", skills(support=5), now=0.0)
    arrive(center, "i3", now=10.0)
    arrive(center, "i4", SALES, now=10.0)
    assert center.drain_closed() == []
    return center


def restored(center: ContactCenter, now: float) -> ContactCenter:
    """What the store would give back: copies of everything, agents without their work."""
    agents = copy.deepcopy(list(center.agents.values()))
    for a in agents:
        a.work = {}
    return restore(
        list(center.queues.values()),
        agents,
        list(center.dispositions.values()),
        copy.deepcopy(list(center.interactions.values())),
        center.next_seq,
        now,
    )


def test_agents_work_and_states_are_derived_from_the_interactions() -> None:
    live = busy_center()
    back = restored(live, 11.0)
    for agent_id in (ANN, BOB, CAT):
        assert back.agent(agent_id).work == live.agent(agent_id).work
        assert back.agent(agent_id).state is live.agent(agent_id).state
    assert [back.agent(a).state for a in (ANN, BOB, CAT)] == [
        AgentState.BUSY,
        AgentState.WRAP_UP,
        AgentState.RESERVED,
    ]
    assert list(back.index.waiting_in(SALES)) == ["i4"]
    assert back.interaction(InteractionId("i1")).state is S.ON_HOLD


def test_stale_work_stored_on_an_agent_is_ignored() -> None:
    live = busy_center()
    agents = copy.deepcopy(list(live.agents.values()))  # work kept, and made wrong
    agents[0].work[InteractionId("ghost")] = copy.copy(next(iter(agents[0].work.values())))
    back = restore(
        list(live.queues.values()),
        agents,
        [],
        copy.deepcopy(list(live.interactions.values())),
        live.next_seq,
        11.0,
    )
    assert list(back.agent(ANN).work) == ["i1"]


def test_deadlines_are_set_again_offer_and_wrap_up() -> None:
    back = restored(busy_center(), 11.0)
    missed = one(back.tick(25.0), OfferMissed)
    assert (missed.interaction_id, missed.agent_id, missed.reason) == ("i3", CAT, "timeout")
    done = one(back.tick(40.0), InteractionWrappedUp)
    assert (done.interaction_id, done.agent_id, done.automatic) == ("i2", BOB, True)


def test_escalation_and_max_wait_go_on_from_the_original_arrival() -> None:
    back = restored(busy_center(), 11.0)
    escalated = one(back.tick(70.0), InteractionEscalated)
    assert (escalated.interaction_id, escalated.at, escalated.level) == ("i4", 70.0, 1)
    assert one(back.tick(310.0), InteractionEnded).reason == "voicemail"


def test_what_came_due_while_down_is_acted_on_at_the_first_tick_dated_then() -> None:
    back = restored(busy_center(), 400.0)
    events = back.tick(400.0)
    assert {e.at for e in events} == {400.0}  # nothing is dated back into the outage
    assert {(type(e).__name__, e.interaction_id) for e in of_type(events, InteractionEvent)} >= {
        ("InteractionWrappedUp", "i2"),
        ("OfferMissed", "i3"),
    }
    # bob, freed by his wrap-up, took the sales call that had waited 390s (level 1: billing>=2)
    assert offers(events) == {InteractionId("i4"): BOB}
    assert back.agent(CAT).reason == "missed"


def test_restore_routes_nothing_until_asked() -> None:
    live = center_with(Queue(SUPPORT, "Support"), Queue(SALES, "Sales"))
    arrive(live, "late", SUPPORT, now=5.0)
    arrive(live, "vip", SALES, now=6.0, priority=3)
    arrive(live, "early", SALES, now=1.0)
    live.save_agent(ANN, "Ann", {}, {Channel.VOICE: 1}, [], 0.0)
    live.save_agent(BOB, "Bob", {}, {Channel.VOICE: 1}, [], 0.0)
    stored_agents = copy.deepcopy(list(live.agents.values()))
    for a in stored_agents:  # stored as ready, as if the process stopped before routing
        a.presence = a.presence.READY
        a.idle_since = 0.0 if a.id == ANN else 1.0
    back = restore(
        list(live.queues.values()),
        stored_agents,
        [],
        copy.deepcopy(list(live.interactions.values())),
        live.next_seq,
        10.0,
    )
    assert back.agent(ANN).state is AgentState.READY
    assert all(ix.state is S.QUEUED for ix in back.interactions.values())
    events = route_waiting(back, 10.0)
    assert offers(events) == {InteractionId("vip"): ANN, InteractionId("early"): BOB}
    assert [ix.id for ix in back.interactions.values() if ix.state is S.QUEUED] == ["late"]


def test_new_arrivals_after_restore_queue_behind_the_restored_ones() -> None:
    live = center_with(Queue(SUPPORT, "Support"))
    arrive(live, "old", now=1.0)
    back = restored(live, 10.0)
    queued = one(arrive(back, "new", now=11.0), InteractionQueued)
    assert queued.seq > back.interaction(InteractionId("old")).seq
    assert list(back.index.waiting_in(SUPPORT)) == ["old", "new"]


def test_queues_come_back_in_any_order_with_their_overflow_targets() -> None:
    sales = Queue(SALES, "Sales")
    support = Queue(
        SUPPORT, "Support", max_wait_s=30.0, overflow=OverflowAction(OverflowKind.QUEUE, SALES)
    )
    back = restore([support, sales], [], [], [], 1, 0.0)
    assert set(back.queues) == {SALES, SUPPORT}
    arrive(back, "i1", now=0.0)
    assert one(back.tick(30.0), InteractionQueued).queue_id == SALES
