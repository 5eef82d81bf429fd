"""Queues: what they require, their priority, and the escalation steps that widen the pool."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from domain_helpers import SALES, SUPPORT, agent, arrive, center_with, of_type, offers, one, skills

from callbridge.domain.errors import InvalidInput, InvalidState, NotFound
from callbridge.domain.events import (
    InteractionEscalated,
    InteractionOffered,
    InteractionQueued,
    QueueRemoved,
    QueueSaved,
)
from callbridge.domain.ids import AgentId, GroupName, InteractionId, QueueId, SkillId
from callbridge.domain.queues import (
    AddGroup,
    DropSkill,
    EscalationStep,
    OverflowAction,
    OverflowKind,
    Queue,
    RelaxProficiency,
    Requirement,
    SkillRequirement,
    WrapUpPolicy,
)

BILLING, FR, EN = SkillId("billing"), SkillId("fr"), SkillId("en")
TIER2 = GroupName("tier2")
I1 = InteractionId("i1")


def billing_queue(*steps: EscalationStep, minimum: int = 8) -> Queue:
    return Queue(
        SUPPORT,
        "Support",
        requirements=(SkillRequirement(BILLING, minimum),),
        escalation=steps,
        offer_timeout_s=300.0,
    )


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Queue(QueueId(""), "Q"), "id"),
        (lambda: Queue(SUPPORT, ""), "name"),
        (
            lambda: Queue(
                SUPPORT, "Q", requirements=(SkillRequirement(FR), SkillRequirement(FR, 3))
            ),
            "requirements",
        ),
        (lambda: Queue(SUPPORT, "Q", service_level_s=0.0), "service_level_s"),
        (lambda: Queue(SUPPORT, "Q", offer_timeout_s=-1.0), "offer_timeout_s"),
        (
            lambda: Queue(
                SUPPORT, "Q", max_wait_s=0.0, overflow=OverflowAction(OverflowKind.VOICEMAIL)
            ),
            "max_wait_s",
        ),
        (lambda: Queue(SUPPORT, "Q", max_wait_s=60.0), "overflow"),
        (lambda: Queue(SUPPORT, "Q", overflow=OverflowAction(OverflowKind.VOICEMAIL)), "overflow"),
        (
            lambda: Queue(
                SUPPORT,
                "Q",
                max_wait_s=60.0,
                overflow=OverflowAction(OverflowKind.QUEUE, SUPPORT),
            ),
            "overflow.target_queue",
        ),
        (lambda: OverflowAction(OverflowKind.QUEUE), "overflow.target_queue"),
        (lambda: OverflowAction(OverflowKind.CALLBACK, SALES), "overflow.target_queue"),
        (lambda: SkillRequirement(FR, 0), "requirements.fr.min_proficiency"),
        (lambda: SkillRequirement(FR, 11), "requirements.fr.min_proficiency"),
        (lambda: RelaxProficiency(10.0, FR, 0), "escalation.min_proficiency"),
        (lambda: WrapUpPolicy(duration_s=-1.0), "wrap_up.duration_s"),
        (lambda: billing_queue(DropSkill(0.0, BILLING)), "escalation[0].after_s"),
        (lambda: billing_queue(RelaxProficiency(10.0, FR, 1)), "escalation[0].skill"),
        (lambda: billing_queue(DropSkill(10.0, FR)), "escalation[0].skill"),
        (
            lambda: billing_queue(RelaxProficiency(10.0, BILLING, 9)),
            "escalation[0].min_proficiency",
        ),
        (  # the second step (in time order) relaxes a skill the first one dropped
            lambda: billing_queue(RelaxProficiency(20.0, BILLING, 2), DropSkill(10.0, BILLING)),
            "escalation[1].skill",
        ),
    ],
)
def test_invalid_queue_settings_are_invalid_input_naming_the_field(
    build: Callable[[], object], field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        build()
    assert info.value.code == "invalid_input"
    assert info.value.details["field"] == field


def test_overflow_into_an_unknown_queue_is_not_found() -> None:
    center = center_with()
    queue = Queue(SUPPORT, "Q", max_wait_s=60.0, overflow=OverflowAction(OverflowKind.QUEUE, SALES))
    with pytest.raises(NotFound) as info:
        center.save_queue(queue, 0.0)
    assert info.value.details["field"] == "queue_id"
    assert SUPPORT not in center.queues


def test_save_queue_tells_it_and_remove_queue_too() -> None:
    center = center_with()
    saved = one(center.save_queue(Queue(SUPPORT, "Support"), 1.0), QueueSaved)
    assert (saved.queue_id, saved.name, saved.at) == (SUPPORT, "Support", 1.0)
    removed = one(center.remove_queue(SUPPORT, 2.0), QueueRemoved)
    assert removed.queue_id == SUPPORT
    with pytest.raises(NotFound):
        center.queue(SUPPORT)


def test_a_queue_with_people_waiting_or_overflowed_into_cannot_be_removed() -> None:
    center = center_with(
        Queue(SALES, "Sales"),
        Queue(SUPPORT, "S", max_wait_s=60.0, overflow=OverflowAction(OverflowKind.QUEUE, SALES)),
    )
    with pytest.raises(InvalidState) as info:
        center.remove_queue(SALES, 0.0)
    assert info.value.details["queue_id"] == SALES
    arrive(center, "i1")
    with pytest.raises(InvalidState):
        center.remove_queue(SUPPORT, 0.0)
    assert set(center.queues) == {SALES, SUPPORT}


# --- requirements and priority --------------------------------------------------------------


def test_only_agents_with_every_required_skill_at_its_minimum_are_offered() -> None:
    center = center_with(
        Queue(
            SUPPORT,
            "Support",
            requirements=(SkillRequirement(BILLING, 5), SkillRequirement(FR, 3)),
        )
    )
    agent(center, "low", skills(billing=4, fr=10))
    agent(center, "mono", skills(billing=10))
    agent(center, "both", skills(billing=5, fr=3))
    assert offers(arrive(center, "i1")) == {I1: "both"}
    assert offers(arrive(center, "i2")) == {}


def test_extra_skills_on_an_interaction_narrow_the_pool() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    agent(center, "ann", skills(en=9))
    agent(center, "zoe", skills(en=9, fr=4))
    assert offers(arrive(center, "i1", extra=skills(fr=5))) == {}
    assert offers(center.save_agent(AgentId("zoe"), "Zoe", skills(fr=5), None, [], 1.0)) == {
        I1: "zoe"
    }


def test_extra_skills_are_checked_like_skills() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    with pytest.raises(InvalidInput) as info:
        arrive(center, "i1", extra=skills(fr=0))
    assert info.value.details["field"] == "skills.fr"
    assert center.interaction(I1).state.value == "new"


def test_the_queue_priority_applies_unless_enqueue_names_one() -> None:
    center = center_with(Queue(SUPPORT, "Support", priority=3))
    assert one(arrive(center, "i1"), InteractionQueued).priority == 3
    assert one(arrive(center, "i2", priority=7), InteractionQueued).priority == 7
    assert center.interaction(InteractionId("i2")).priority == 7


def test_higher_priority_is_answered_first_whatever_its_age() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    arrive(center, "old", now=0.0, priority=1)
    arrive(center, "vip", now=50.0, priority=5)
    assert list(center.index.waiting_in(SUPPORT)) == ["vip", "old"]
    agent(center, "ann", now=60.0)
    assert center.interaction(InteractionId("vip")).agent_id == "ann"


# --- escalation -----------------------------------------------------------------------------


def test_levels_apply_steps_cumulatively_in_time_order() -> None:
    queue = Queue(
        SUPPORT,
        "Support",
        requirements=(SkillRequirement(BILLING, 8), SkillRequirement(FR, 6)),
        escalation=(
            AddGroup(90.0, TIER2),
            RelaxProficiency(30.0, BILLING, 5),
            DropSkill(60.0, FR),
            RelaxProficiency(30.0, FR, 4),  # same time as the first: one level
        ),
    )
    assert queue.level_starts == (0.0, 30.0, 60.0, 90.0)
    assert queue.levels == (
        Requirement((SkillRequirement(BILLING, 8), SkillRequirement(FR, 6))),
        Requirement((SkillRequirement(BILLING, 5), SkillRequirement(FR, 4))),
        Requirement((SkillRequirement(BILLING, 5),)),
        Requirement((SkillRequirement(BILLING, 5),), frozenset({TIER2})),
    )
    assert [r.describe() for r in queue.levels] == [
        "billing>=8 and fr>=6",
        "billing>=5 and fr>=4",
        "billing>=5",
        "billing>=5 (or group tier2)",
    ]
    assert [queue.level_at(w) for w in (0.0, 29.9, 30.0, 59.0, 60.0, 500.0)] == [0, 0, 1, 1, 2, 3]
    assert [queue.next_level_after(w) for w in (0.0, 30.0, 75.0, 90.0)] == [30.0, 60.0, 90.0, None]


def test_dropping_every_skill_leaves_any_agent() -> None:
    queue = billing_queue(DropSkill(45.0, BILLING))
    assert queue.levels[1].describe() == "any agent"


def test_relaxing_proficiency_after_t_seconds_widens_the_pool() -> None:
    center = center_with(billing_queue(RelaxProficiency(30.0, BILLING, 5)))
    agent(center, "ann", skills(billing=6))
    assert offers(arrive(center, "i1")) == {}
    assert center.tick(29.9) == []
    events = center.tick(30.0)
    escalated = one(events, InteractionEscalated)
    assert (escalated.at, escalated.queue_id, escalated.level, escalated.requirement) == (
        30.0,
        SUPPORT,
        1,
        "billing>=5",
    )
    offered = one(events, InteractionOffered)
    assert (offered.agent_id, offered.decision.level, offered.at) == ("ann", 1, 30.0)


def test_dropping_a_skill_after_t_seconds() -> None:
    center = center_with(
        Queue(
            SUPPORT,
            "Support",
            requirements=(SkillRequirement(FR, 5), SkillRequirement(BILLING, 5)),
            escalation=(DropSkill(60.0, FR),),
        )
    )
    agent(center, "ann", skills(billing=9))
    arrive(center, "i1")
    assert offers(center.tick(59.0)) == {}
    assert offers(center.tick(60.0)) == {I1: "ann"}


def test_adding_a_group_after_t_seconds_takes_its_agents_whatever_their_skills() -> None:
    center = center_with(billing_queue(AddGroup(45.0, TIER2)))
    agent(center, "outsider", skills(fr=10))
    agent(center, "backup", groups=["tier2"])
    arrive(center, "i1")
    events = center.tick(45.0)
    assert one(events, InteractionEscalated).requirement == "billing>=8 (or group tier2)"
    assert offers(events) == {I1: "backup"}


def test_escalation_walks_level_by_level_even_when_ticked_late() -> None:
    center = center_with(
        billing_queue(RelaxProficiency(10.0, BILLING, 6), RelaxProficiency(20.0, BILLING, 2))
    )
    agent(center, "ann", skills(billing=2))
    arrive(center, "i1")
    events = center.tick(100.0)
    assert [(e.at, e.level) for e in of_type(events, InteractionEscalated)] == [
        (10.0, 1),
        (20.0, 2),
    ]
    assert one(events, InteractionOffered).at == 20.0


def test_an_agent_freed_later_sees_the_level_the_interaction_has_reached() -> None:
    center = center_with(billing_queue(RelaxProficiency(30.0, BILLING, 3)))
    ann = agent(center, "ann", skills(billing=3), ready=False)
    arrive(center, "i1")
    center.tick(40.0)
    offered = one(center.set_ready(ann, 41.0), InteractionOffered)
    assert (offered.agent_id, offered.decision.level) == (ann, 1)


def test_an_agent_who_qualifies_only_later_is_not_offered_early() -> None:
    center = center_with(billing_queue(RelaxProficiency(30.0, BILLING, 3)))
    arrive(center, "i1")
    agent(center, "ann", skills(billing=3), now=10.0)
    assert center.interaction(I1).agent_id is None
    assert offers(center.tick(30.0)) == {I1: "ann"}


def test_a_changed_queue_times_the_rest_of_the_wait_under_its_new_rules() -> None:
    center = center_with(billing_queue(minimum=9))
    agent(center, "ann", skills(billing=2))
    arrive(center, "i1")
    center.save_queue(
        Queue(
            SUPPORT,
            "Support",
            requirements=(SkillRequirement(BILLING, 9),),
            escalation=(RelaxProficiency(30.0, BILLING, 1),),
            offer_timeout_s=300.0,
        ),
        5.0,
    )
    assert offers(center.tick(30.0)) == {I1: "ann"}


def test_a_changed_queue_routes_waiting_interactions_at_once() -> None:
    center = center_with(billing_queue(minimum=9))
    agent(center, "ann", skills(billing=2))
    arrive(center, "i1")
    assert offers(center.save_queue(billing_queue(minimum=2), 5.0)) == {I1: "ann"}


def test_escalating_together_the_older_goes_first_even_if_its_timer_was_set_later() -> None:
    # y and x arrive at the same instant, y first. y is offered and rejected between the two
    # steps, which sets its next escalation timer again, after x's: y must still go first.
    center = center_with(
        billing_queue(RelaxProficiency(10.0, BILLING, 5), RelaxProficiency(20.0, BILLING, 1))
    )
    top = agent(center, "top", skills(billing=10))
    arrive(center, "y", now=0.0)  # offered to top
    arrive(center, "x", now=0.0)
    center.tick(10.0)
    center.reject(InteractionId("y"), top, 15.0)
    agent(center, "low", skills(billing=1), now=15.0)
    events = center.tick(20.0)
    assert [e.interaction_id for e in of_type(events, InteractionEscalated)] == ["y", "x"]
    assert offers(events) == {InteractionId("y"): "low"}


def test_escalation_happens_on_time_whatever_the_clock_reading() -> None:
    center = center_with(billing_queue(RelaxProficiency(0.1, BILLING, 1)))
    agent(center, "ann", skills(billing=1))
    arrive(center, "i1", now=0.7)  # 0.7 + 0.1 rounds to 0.7999999999999999
    assert offers(center.tick(0.8)) == {I1: "ann"}
