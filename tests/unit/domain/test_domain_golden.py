"""The events the center tells for a fixed random script, pinned.

A seeded script drives the center through its public operations (arrivals in four queues with
every strategy, escalation and overflow, offers accepted, rejected and left to time out, holds,
transfers, hang-ups, wrap-ups, presence changes, timers) and the test checks a digest of every
event it told, routing decisions and their explanations included. It keeps the routing
engine's behaviour exactly as it was while the engine is made faster (issue 5).
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import Counter

from domain_helpers import skills

from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.events import Event
from callbridge.domain.ids import (
    AgentId,
    DispositionCode,
    GroupName,
    InteractionId,
    QueueId,
    SkillId,
)
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.queues import (
    AddGroup,
    OverflowAction,
    OverflowKind,
    Queue,
    RelaxProficiency,
    SkillRequirement,
    Strategy,
    WrapUpPolicy,
)
from callbridge.domain.routing.explanation import RoutingDecision

BILLING, TECH, SALES, CHAT = (QueueId(q) for q in ("billing", "tech", "sales", "chat"))
DECISION_FIELDS = (
    "trigger",
    "interaction_id",
    "queue_id",
    "agent_id",
    "level",
    "requirement",
    "strategy",
    "rule",
    "agent_candidates",
    "passed_over",
    "waiting_candidates",
    "candidates_total",
    "pool_size",
)


def _queues() -> list[Queue]:
    billing, tech, sales, chat = (SkillId(s) for s in ("billing", "tech", "sales", "chat"))
    return [
        Queue(
            BILLING,
            "Billing",
            (SkillRequirement(billing, 6),),
            strategy=Strategy.MOST_SKILLED,
            escalation=(RelaxProficiency(20.0, billing, 3), AddGroup(60.0, GroupName("backup"))),
            offer_timeout_s=10.0,
            wrap_up=WrapUpPolicy(duration_s=15.0),
        ),
        Queue(
            TECH,
            "Tech",
            (SkillRequirement(tech),),
            strategy=Strategy.ROUND_ROBIN,
            max_wait_s=90.0,
            overflow=OverflowAction(OverflowKind.QUEUE, BILLING),
            wrap_up=WrapUpPolicy(duration_s=0.0),
        ),
        Queue(
            SALES,
            "Sales",
            (SkillRequirement(sales),),
            max_wait_s=150.0,
            overflow=OverflowAction(OverflowKind.CALLBACK),
            wrap_up=WrapUpPolicy(duration_s=30.0, disposition_required=True),
        ),
        Queue(
            CHAT,
            "Chat",
            (SkillRequirement(chat),),
            strategy=Strategy.LEAST_OCCUPIED,
            priority=1,
            wrap_up=WrapUpPolicy(duration_s=5.0),
        ),
    ]


def _agents(center: ContactCenter) -> list[AgentId]:
    specs = [
        ("senior", 4, skills(billing=8, tech=6, sales=2), None, ()),
        ("junior", 4, skills(billing=4, tech=3, sales=6), None, ()),
        ("chatter", 3, skills(chat=5, sales=3), {Channel.CHAT: 3, Channel.VOICE: 0}, ()),
        ("backup", 2, skills(), None, (GroupName("backup"),)),
    ]
    ids: list[AgentId] = []
    for name, count, proficiency, capacity, groups in specs:
        for n in range(1, count + 1):
            agent_id = AgentId(f"{name}-{n}")
            center.save_agent(agent_id, agent_id, proficiency, capacity, groups, 0.0)
            ids.append(agent_id)
    return ids


def _norm(value: object) -> object:
    if isinstance(value, RoutingDecision):
        fields = tuple((n, _norm(getattr(value, n))) for n in DECISION_FIELDS)
        return ("decision", fields, tuple(value.describe()))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple((f.name, _norm(getattr(value, f.name))) for f in dataclasses.fields(value)),
        )
    if isinstance(value, tuple | list):
        return tuple(_norm(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _norm(v)) for k, v in value.items()))
    return value


def _script(seed: int, steps: int) -> list[Event]:
    """Random but valid operations, with every due deadline acted on as time goes by."""
    rng = random.Random(seed)
    center = ContactCenter()
    told: list[Event] = []
    for queue in _queues():
        told += center.save_queue(queue, 0.0)
    center.save_disposition(DispositionCode("sold"), "Sold", 0.0)
    agents = _agents(center)
    for agent_id in agents:
        told += center.login(agent_id, 0.0)
        told += center.set_ready(agent_id, 0.0)
    now, arrivals = 0.0, 0
    for _ in range(steps):
        now += rng.expovariate(1 / 3.0)
        while (deadline := center.next_deadline()) is not None and deadline <= now:
            told += center.tick(deadline)
        open_ = list(center.interactions.values())
        offered = [ix for ix in open_ if ix.state is S.OFFERED]
        connected = [ix for ix in open_ if ix.state in (S.CONNECTED, S.ON_HOLD)]
        waiting = [ix for ix in open_ if ix.state is S.QUEUED]
        wrapping = [ix for ix in open_ if ix.state is S.ENDED and ix.agent_id is not None]
        roll = rng.random()
        if roll < 0.30:
            arrivals += 1
            iid = InteractionId(f"c{arrivals}")
            queue_id = rng.choice([BILLING, BILLING, TECH, SALES, CHAT])
            channel = Channel.CHAT if queue_id == CHAT else Channel.VOICE
            told += center.create_interaction(
                iid, channel, Direction.INBOUND, "+15550001111", "+18005550100", {}, now
            )
            priority = rng.choice([None, None, None, 2])
            told += center.enqueue(iid, queue_id, now, priority)
        elif roll < 0.50 and offered:
            ix = rng.choice(offered)
            assert ix.agent_id is not None
            if rng.random() < 0.85:
                told += center.accept(ix.id, ix.agent_id, now)
            else:
                told += center.reject(ix.id, ix.agent_id, now)
        elif roll < 0.68 and connected:
            ix = rng.choice(connected)
            assert ix.agent_id is not None
            action = rng.random()
            if action < 0.7:
                told += center.end(ix.id, "agent", now, ix.agent_id)
            elif action < 0.8:
                if ix.state is S.CONNECTED:
                    told += center.hold(ix.id, ix.agent_id, now)
                else:
                    told += center.resume(ix.id, ix.agent_id, now)
            elif action < 0.9 and ix.channel is Channel.VOICE:
                told += center.transfer_to_queue(ix.id, ix.agent_id, rng.choice([TECH, SALES]), now)
            else:
                told += center.end(ix.id, "customer", now)
        elif roll < 0.78 and waiting:
            ix = rng.choice(waiting)
            if ix.channel is Channel.VOICE and ix.callback_number is None and rng.random() < 0.2:
                told += center.request_callback(ix.id, "+15550002222", now)
            else:
                told += center.end(ix.id, "customer", now)
        elif roll < 0.86 and wrapping:
            ix = rng.choice(wrapping)
            assert ix.agent_id is not None
            told += center.wrap_up(ix.id, ix.agent_id, DispositionCode("sold"), "ok", now)
        elif roll < 0.93:
            agent = center.agents[rng.choice(agents)]
            if agent.presence.value == "ready":
                told += center.set_not_ready(agent.id, "break", now)
            elif agent.presence.value == "not_ready":
                told += center.set_ready(agent.id, now)
        else:
            told += center.tick(now)
    return told


def test_a_seeded_script_tells_the_pinned_events() -> None:
    told = _script(seed=5, steps=3000)
    kinds = Counter(e.kind for e in told)
    digest = hashlib.sha256(repr([_norm(e) for e in told]).encode()).hexdigest()[:16]
    assert kinds["interaction_offered"] == 592
    assert kinds["offer_missed"] == 364
    assert kinds["interaction_escalated"] == 288
    assert kinds["interaction_overflowed"] == 25
    assert (len(told), digest) == (6004, "f6081ad786657c12")
