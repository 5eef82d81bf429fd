"""Every routing decision says why: the candidates, the rule, and who was passed over and why."""

from __future__ import annotations

from domain_helpers import SALES, SUPPORT, agent, arrive, center_with, one, skills

from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel
from callbridge.domain.events import InteractionOffered
from callbridge.domain.ids import AgentId, InteractionId, SkillId
from callbridge.domain.queues import Queue, RelaxProficiency, SkillRequirement, Strategy
from callbridge.domain.routing.explanation import MAX_LISTED, MAX_RANKED, RoutingDecision, Trigger

BILLING = SkillId("billing")
ANN = AgentId("ann")


def crowded_support() -> ContactCenter:
    """Six agents around a billing queue, each placed to show one reason in a decision."""
    center = center_with(
        Queue(
            SUPPORT,
            "Support",
            requirements=(SkillRequirement(BILLING, 5),),
            escalation=(RelaxProficiency(30.0, BILLING, 2),),
            strategy=Strategy.MOST_SKILLED,
        )
    )
    agent(center, "dan", skills(billing=9, fr=5), now=0.0)
    arrive(center, "chat", now=0.0, channel=Channel.CHAT)  # dan holds a chat: no room for a call
    agent(center, "ann", skills(billing=9, fr=5), now=1.0)
    agent(center, "bob", skills(billing=6, fr=5), now=1.0)
    agent(center, "cat", skills(billing=3, fr=5), now=1.0)  # qualifies only once relaxed
    agent(center, "eve", skills(billing=10), now=1.0)  # no French
    agent(center, "fay", skills(fr=10), now=1.0)  # no billing at all: not in the pool
    return center


def decision_for(center: ContactCenter, name: str, **extra: int) -> RoutingDecision:
    events = arrive(center, name, now=2.0, extra=skills(**extra))
    return one(events, InteractionOffered).decision


def test_a_waiting_decision_lists_candidates_rule_and_passed_over_agents() -> None:
    decision = decision_for(crowded_support(), "i1", fr=1)
    assert (decision.trigger, decision.interaction_id, decision.queue_id, decision.agent_id) == (
        Trigger.INTERACTION_WAITING,
        "i1",
        SUPPORT,
        ANN,
    )
    assert (decision.level, decision.requirement, decision.strategy) == (
        0,
        "billing>=5",
        "most_skilled",
    )
    # At level 0 most skilled reads the queue's order (skill, then idle time): eve and dan
    # rank above ann but cannot take it; those below ann are not looked at.
    assert decision.rule == (
        "proficiency 9 in the required skills, the highest of the 5 free agent(s) in this "
        "queue's order who could take it"
    )
    assert (decision.candidates_total, decision.pool_size) == (1, 5)
    assert [(c.agent_id, c.score[0]) for c in decision.agent_candidates] == [("ann", -9)]
    assert {p.agent_id: p.reason for p in decision.passed_over} == {
        "dan": "no room for voice",
        "eve": "lacks a skill this interaction needs",
    }


def test_past_the_first_level_most_skilled_ranks_every_free_agent() -> None:
    center = center_with(
        Queue(
            SUPPORT,
            "Support",
            requirements=(SkillRequirement(BILLING, 5),),
            escalation=(RelaxProficiency(30.0, BILLING, 2),),
            strategy=Strategy.MOST_SKILLED,
        )
    )
    agent(center, "bob", skills(billing=2), now=0.0)
    agent(center, "cat", skills(billing=3), now=0.0)
    assert not [e for e in arrive(center, "i1", now=0.0) if isinstance(e, InteractionOffered)]
    decision = one(center.tick(31.0), InteractionOffered).decision
    assert (decision.level, decision.agent_id) == (1, "cat")
    assert (decision.candidates_total, decision.pool_size) == (2, 2)
    assert [(c.agent_id, c.score[0]) for c in decision.agent_candidates] == [
        ("cat", -3),
        ("bob", -2),
    ]
    assert decision.rule.endswith("best of 2 candidate(s)")


def test_a_decision_reads_as_sentences() -> None:
    lines = decision_for(crowded_support(), "i1", fr=1).describe()
    assert lines[:3] == [
        "interaction_waiting: queue support at escalation level 0 needs billing>=5",
        "chose agent ann by most_skilled: proficiency 9 in the required skills, the highest "
        "of the 5 free agent(s) in this queue's order who could take it",
        "5 agent(s) free for this queue, 1 ranked by most_skilled",
    ]
    assert "passed over eve: lacks a skill this interaction needs" in lines
    assert "passed over dan: no room for voice" in lines
    assert not any("fay" in line for line in lines)


def test_the_decision_records_the_level_the_offer_was_made_at() -> None:
    center = crowded_support()
    for name in ("ann", "bob", "eve"):
        center.set_not_ready(AgentId(name), "break", 1.5)
    arrive(center, "i1", now=2.0, extra=skills(fr=1))
    offered = one(center.tick(32.0), InteractionOffered)
    assert (offered.agent_id, offered.decision.level, offered.decision.requirement) == (
        "cat",
        1,
        "billing>=2",
    )


def test_an_agent_available_decision_lists_the_queue_heads_left_waiting() -> None:
    center = center_with(Queue(SUPPORT, "Support"), Queue(SALES, "Sales"))
    arrive(center, "s1", SUPPORT, now=0.0)
    arrive(center, "b1", SALES, now=5.0)
    arrive(center, "s2", SUPPORT, now=6.0)  # not a head: behind s1
    ann = agent(center, "ann", now=10.0, ready=False)
    decision = one(center.set_ready(ann, 10.0), InteractionOffered).decision
    assert (decision.trigger, decision.interaction_id, decision.strategy) == (
        Trigger.AGENT_AVAILABLE,
        "s1",
        "priority_then_age",
    )
    assert decision.rule.startswith("priority 0, waited 10.0s: first in line")
    assert sorted(
        (w.interaction_id, w.queue_id, w.waited_s) for w in decision.waiting_candidates
    ) == [
        ("b1", SALES, 5.0),
        ("s1", SUPPORT, 10.0),
    ]
    assert "left waiting b1 in sales: priority 0, waited 5.0s" in decision.describe()


def test_a_big_pool_keeps_the_winner_and_counts_the_rest() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    for n in range(MAX_LISTED + 5):
        agent(center, f"agent{n:02d}", now=float(n))
    decision = one(arrive(center, "i1", now=100.0), InteractionOffered).decision
    assert decision.agent_id == "agent00"
    # longest idle reads the front of the queue's idle order: one ranked, the pool counted
    assert (decision.candidates_total, decision.pool_size) == (1, MAX_LISTED + 5)
    assert [c.agent_id for c in decision.agent_candidates] == ["agent00"]
    assert decision.rule.startswith("idle 100.0s, the longest of the 30 free agent(s)")


def test_a_big_pool_under_another_strategy_lists_the_best_ranked() -> None:
    center = center_with(Queue(SUPPORT, "Support", strategy=Strategy.ROUND_ROBIN))
    for n in range(MAX_LISTED + 5):
        agent(center, f"agent{n:02d}", now=float(n))
    decision = one(arrive(center, "i1", now=100.0), InteractionOffered).decision
    assert (decision.candidates_total, decision.pool_size) == (MAX_LISTED + 5, MAX_LISTED + 5)
    listed = [c.agent_id for c in decision.agent_candidates]
    assert len(listed) == MAX_RANKED
    assert listed[0] == decision.agent_id


def test_decisions_are_deterministic() -> None:
    first = decision_for(crowded_support(), "i1", fr=1)
    again = decision_for(crowded_support(), "i1", fr=1)
    assert first == again
    assert InteractionId("i1") == first.interaction_id
