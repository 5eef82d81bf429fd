"""Agent selection: the queue's strategy picks among agents; a freed agent picks by priority+age."""

from __future__ import annotations

from domain_helpers import SALES, SUPPORT, agent, arrive, center_with, offers, one, skills

from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel
from callbridge.domain.events import InteractionOffered
from callbridge.domain.ids import AgentId, InteractionId, SkillId
from callbridge.domain.queues import Queue, SkillRequirement, Strategy, WrapUpPolicy
from callbridge.domain.routing.explanation import Trigger

BILLING, FR = SkillId("billing"), SkillId("fr")
NO_WRAP_UP = WrapUpPolicy(duration_s=0.0)


def queue(strategy: Strategy, *required: SkillRequirement) -> Queue:
    return Queue(SUPPORT, "Support", requirements=required, strategy=strategy, wrap_up=NO_WRAP_UP)


def serve(center: ContactCenter, name: str, agent_id: AgentId, start: float, end: float) -> None:
    """An interaction that `agent_id` (free and the only choice) handles from start to end."""
    assert offers(arrive(center, name, now=start)) == {InteractionId(name): agent_id}
    center.accept(InteractionId(name), agent_id, start)
    center.end(InteractionId(name), "agent", end, agent_id)


def test_longest_idle_picks_the_agent_free_the_longest() -> None:
    center = center_with(queue(Strategy.LONGEST_IDLE))
    agent(center, "cat", now=10.0)
    agent(center, "ann", now=0.0)
    agent(center, "bob", now=5.0)
    offered = one(arrive(center, "i1", now=20.0), InteractionOffered)
    assert offered.agent_id == "ann"
    assert offered.decision.strategy == "longest_idle"
    assert offered.decision.rule.startswith("idle 20.0s, the longest")


def test_longest_idle_counts_from_the_end_of_the_last_interaction() -> None:
    center = center_with(queue(Strategy.LONGEST_IDLE))
    ann = agent(center, "ann", now=0.0)
    serve(center, "first", ann, 1.0, 30.0)  # ann idle again from 30
    agent(center, "bob", now=10.0)
    assert offers(arrive(center, "i1", now=40.0)) == {InteractionId("i1"): "bob"}


def test_most_skilled_picks_the_highest_proficiency() -> None:
    center = center_with(queue(Strategy.MOST_SKILLED, SkillRequirement(BILLING, 3)))
    agent(center, "ann", skills(billing=5), now=0.0)
    agent(center, "bob", skills(billing=9), now=5.0)
    agent(center, "cat", skills(billing=7, fr=10), now=1.0)  # fr is not asked for
    offered = one(arrive(center, "i1", now=20.0), InteractionOffered)
    assert offered.agent_id == "bob"
    assert offered.decision.rule.startswith("proficiency 9 in the required skills")


def test_most_skilled_sums_the_required_skills() -> None:
    center = center_with(
        queue(Strategy.MOST_SKILLED, SkillRequirement(BILLING, 1), SkillRequirement(FR, 1))
    )
    agent(center, "ann", skills(billing=10, fr=2))
    agent(center, "bob", skills(billing=6, fr=7))
    assert offers(arrive(center, "i1", now=1.0)) == {InteractionId("i1"): "bob"}


def test_most_skilled_ties_go_to_the_longest_idle() -> None:
    center = center_with(queue(Strategy.MOST_SKILLED, SkillRequirement(BILLING, 3)))
    agent(center, "ann", skills(billing=8), now=10.0)
    agent(center, "bob", skills(billing=8), now=2.0)
    agent(center, "cat", skills(billing=8), now=5.0)
    assert offers(arrive(center, "i1", now=20.0)) == {InteractionId("i1"): "bob"}


def test_least_occupied_picks_the_agent_with_the_least_load() -> None:
    center = center_with(queue(Strategy.LEAST_OCCUPIED))
    chats = {Channel.CHAT: 3}
    ann = agent(center, "ann", capacity=chats, now=0.0)
    assert offers(arrive(center, "c1", channel=Channel.CHAT, now=1.0)) == {"c1": ann}
    agent(center, "bob", capacity=chats, now=2.0)  # idle for less time, but holds nothing
    assert offers(arrive(center, "c2", channel=Channel.CHAT, now=3.0)) == {"c2": "bob"}


def test_least_occupied_then_looks_at_the_share_of_time_spent_working() -> None:
    center = center_with(queue(Strategy.LEAST_OCCUPIED))
    ann = agent(center, "ann", now=0.0)
    bob = agent(center, "bob", now=0.0, ready=False)
    serve(center, "first", ann, 0.0, 50.0)  # ann: busy 50 of 100 seconds, idle since 50
    center.set_ready(bob, 90.0)  # bob: never busy, idle only since 90
    offered = one(arrive(center, "i1", now=100.0), InteractionOffered)
    assert offered.agent_id == bob
    assert "occupancy 0.00" in offered.decision.rule
    [ann_score, bob_score] = sorted(offered.decision.agent_candidates, key=lambda c: c.agent_id)
    assert ann_score.score[:2] == (0.0, 0.5)
    assert bob_score.score[:2] == (0.0, 0.0)


def test_round_robin_rotates_through_the_agents() -> None:
    center = center_with(queue(Strategy.ROUND_ROBIN))
    for name in ("ann", "bob", "cat"):
        agent(center, name, capacity={Channel.CHAT: 3})
    picked = [
        one(arrive(center, f"c{n}", channel=Channel.CHAT, now=float(n)), InteractionOffered)
        for n in range(5)
    ]
    assert [o.agent_id for o in picked] == ["ann", "bob", "cat", "ann", "bob"]
    assert picked[1].decision.rule.startswith("next in rotation after ordinal 0")


def test_round_robin_skips_agents_who_cannot_take_it() -> None:
    center = center_with(queue(Strategy.ROUND_ROBIN))
    agent(center, "ann", capacity={Channel.CHAT: 3})
    agent(center, "bob", ready=False, capacity={Channel.CHAT: 3})
    agent(center, "cat", capacity={Channel.CHAT: 3})
    picked = [
        one(arrive(center, f"c{n}", channel=Channel.CHAT, now=float(n)), InteractionOffered)
        for n in range(3)
    ]
    assert [o.agent_id for o in picked] == ["ann", "cat", "ann"]


def test_a_freed_agent_takes_the_highest_priority_first_across_its_queues() -> None:
    center = center_with(Queue(SUPPORT, "Support"), Queue(SALES, "Sales"))
    arrive(center, "s_low", SUPPORT, now=0.0, priority=1)
    arrive(center, "b_high", SALES, now=10.0, priority=3)
    ann = agent(center, "ann", now=20.0, ready=False)
    offered = one(center.set_ready(ann, 20.0), InteractionOffered)
    assert (offered.interaction_id, offered.queue_id) == ("b_high", SALES)
    assert offered.decision.rule.startswith("priority 3, waited 10.0s")


def test_a_freed_agent_takes_the_oldest_across_its_queues_within_a_priority() -> None:
    center = center_with(
        Queue(SUPPORT, "Support", wrap_up=NO_WRAP_UP), Queue(SALES, "Sales", wrap_up=NO_WRAP_UP)
    )
    arrive(center, "b1", SALES, now=0.0, priority=1)
    arrive(center, "s1", SUPPORT, now=5.0, priority=1)
    arrive(center, "b2", SALES, now=10.0, priority=1)
    ann = agent(center, "ann", now=20.0, ready=False)
    order: list[InteractionId] = []
    events = center.set_ready(ann, 20.0)
    for n in range(3):
        offered = one(events, InteractionOffered)
        assert offered.decision.trigger is Trigger.AGENT_AVAILABLE
        assert offered.decision.strategy == "priority_then_age"
        order.append(offered.interaction_id)
        center.accept(offered.interaction_id, ann, 21.0 + n)
        events = center.end(offered.interaction_id, "agent", 22.0 + n, ann)
    assert order == ["b1", "s1", "b2"]


def test_a_freed_agent_only_takes_what_it_qualifies_for() -> None:
    center = center_with(
        Queue(SUPPORT, "Support", requirements=(SkillRequirement(FR, 5),)),
        Queue(SALES, "Sales"),
    )
    arrive(center, "french", SUPPORT, now=0.0, priority=9)
    arrive(center, "sale", SALES, now=5.0, priority=0)
    agent(center, "ann", skills(fr=4), now=10.0)
    assert center.interaction(InteractionId("sale")).agent_id == "ann"
    assert center.interaction(InteractionId("french")).agent_id is None
