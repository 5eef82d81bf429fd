"""The demo center: three queues, twelve agents, five dispositions."""

from __future__ import annotations

from callbridge.domain.channels import Channel
from callbridge.domain.ids import AgentId, DispositionCode, GroupName, QueueId, SkillId
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
from callbridge.services.agents import do_save_agent
from callbridge.services.queues import do_save_disposition, do_save_queue
from callbridge.services.runtime import Runtime

DISPOSITIONS = {
    "resolved": "Resolved",
    "sale": "Sale made",
    "no_sale": "No sale",
    "follow_up": "Follow-up needed",
    "escalated": "Escalated",
}


def _req(**skills: int) -> tuple[SkillRequirement, ...]:
    return tuple(SkillRequirement(SkillId(s), p) for s, p in skills.items())


QUEUES = (
    Queue(
        QueueId("support"),
        "Customer support",
        _req(support=3),
        service_level_s=30,
        max_wait_s=600,
        overflow=OverflowAction(OverflowKind.VOICEMAIL),
        escalation=(RelaxProficiency(45, SkillId("support"), 1), AddGroup(120, GroupName("tier2"))),
        wrap_up=WrapUpPolicy(
            15, disposition_required=True, default_disposition=DispositionCode("resolved")
        ),
    ),
    Queue(
        QueueId("sales"),
        "Sales",
        _req(sales=5, english=5),
        priority=1,
        strategy=Strategy.MOST_SKILLED,
        max_wait_s=300,
        overflow=OverflowAction(OverflowKind.CALLBACK),
        escalation=(RelaxProficiency(30, SkillId("sales"), 2),),
        wrap_up=WrapUpPolicy(10),
    ),
    Queue(
        QueueId("billing"),
        "Billing",
        _req(billing=2),
        strategy=Strategy.LEAST_OCCUPIED,
        max_wait_s=180,
        overflow=OverflowAction(OverflowKind.QUEUE, QueueId("support")),
        wrap_up=WrapUpPolicy(5),
    ),
)

# (id, name, skills, chats at once, groups)
AGENTS: tuple[tuple[str, str, dict[str, int], int, tuple[str, ...]], ...] = (
    ("ada", "Ada Lovelace", {"support": 9, "english": 9, "billing": 4}, 3, ("tier2",)),
    ("alan", "Alan Turing", {"support": 7, "english": 8}, 2, ()),
    ("grace", "Grace Hopper", {"sales": 9, "english": 9}, 1, ()),
    ("edsger", "Edsger Dijkstra", {"support": 5, "billing": 8, "english": 6}, 3, ()),
    ("barbara", "Barbara Liskov", {"sales": 7, "english": 7, "support": 4}, 2, ()),
    ("donald", "Donald Knuth", {"billing": 9, "english": 5}, 1, ()),
    ("margaret", "Margaret Hamilton", {"support": 8, "english": 7}, 3, ("tier2",)),
    ("ken", "Ken Thompson", {"support": 2, "billing": 3, "english": 6}, 2, ()),
    ("frances", "Frances Allen", {"sales": 6, "english": 8, "spanish": 7}, 1, ()),
    ("john", "John McCarthy", {"sales": 3, "support": 6, "english": 7}, 2, ()),
    ("radia", "Radia Perlman", {"billing": 6, "support": 6, "english": 7}, 3, ("tier2",)),
    ("tim", "Tim Berners-Lee", {"sales": 5, "english": 9, "spanish": 4}, 2, ()),
)


def seed_demo(rt: Runtime) -> bool:
    """Create the demo center unless it is already there; True if it was created now."""
    if rt.center.queues or rt.center.agents:
        return False
    for code, label in DISPOSITIONS.items():
        do_save_disposition(rt, DispositionCode(code), label)
    for queue in QUEUES:
        do_save_queue(rt, queue)
    for agent_id, name, skills, chats, groups in AGENTS:
        capacity = {Channel.VOICE: 1, Channel.CHAT: chats, Channel.EMAIL: 2, Channel.SMS: chats}
        do_save_agent(
            rt,
            AgentId(agent_id),
            name,
            {SkillId(s): p for s, p in skills.items()},
            capacity,
            [GroupName(g) for g in groups],
        )
    return True
