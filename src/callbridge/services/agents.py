"""Agent use cases: create and change agents, log in and out, Ready and Not Ready."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from callbridge.domain.channels import Channel
from callbridge.domain.ids import AgentId, GroupName, SkillId
from callbridge.ports import AuditRecord, StoredEvent
from callbridge.services.runtime import Runtime


def do_save_agent(
    rt: Runtime,
    agent_id: AgentId,
    name: str,
    skills: dict[SkillId, int],
    capacity: dict[Channel, int] | None = None,
    groups: Iterable[GroupName] = (),
    *,
    audit: Sequence[AuditRecord] = (),
) -> list[StoredEvent]:
    """Create the agent, or replace its name, skills, capacity and groups."""
    group_set = frozenset(groups)
    return rt.apply(
        lambda c, now: c.save_agent(agent_id, name, skills, capacity, group_set, now), audit
    )


def do_set_skill(
    rt: Runtime,
    agent_id: AgentId,
    skill: SkillId,
    proficiency: int | None,
    *,
    audit: Sequence[AuditRecord] = (),
) -> list[StoredEvent]:
    """Give, change (proficiency) or take away (None) one skill."""
    agent = rt.center.agent(agent_id)
    skills = dict(agent.skills)
    if proficiency is None:
        skills.pop(skill, None)
    else:
        skills[skill] = proficiency
    return do_save_agent(
        rt, agent_id, agent.name, skills, agent.capacity, agent.groups, audit=audit
    )


def do_login(rt: Runtime, agent_id: AgentId) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.login(agent_id, now))


def do_logout(rt: Runtime, agent_id: AgentId) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.logout(agent_id, now))


def do_set_ready(rt: Runtime, agent_id: AgentId) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.set_ready(agent_id, now))


def do_set_not_ready(rt: Runtime, agent_id: AgentId, reason: str) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.set_not_ready(agent_id, reason, now))
