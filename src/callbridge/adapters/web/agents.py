"""REST routes for agents and skills."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Depends, status

from callbridge.adapters.web.audit import agent_config_json, agent_json
from callbridge.adapters.web.auth import Caller, CallerDep, check_agent, requires
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.adapters.web.schemas import (
    AgentCreate,
    AgentIn,
    AgentOut,
    AgentStateIn,
    SkillIn,
    SkillOut,
)
from callbridge.domain.channels import DEFAULT_CAPACITY
from callbridge.domain.errors import AlreadyExists, InvalidInput
from callbridge.domain.ids import AgentId, GroupName, SkillId
from callbridge.domain.security.permissions import Permission, Target
from callbridge.services import agents as svc
from callbridge.services import views

router = APIRouter(tags=["agents"])


@router.get("/agents", dependencies=[Depends(requires(Permission.AGENTS_READ))])
async def list_agents(rt: RuntimeDep) -> list[AgentOut]:
    return [AgentOut.of(a) for a in views.list_agents(rt)]


@router.post(
    "/agents",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(requires(Permission.AGENTS_MANAGE))],
)
async def create_agent(body: AgentCreate, rt: RuntimeDep, caller: CallerDep) -> AgentOut:
    agent_id = AgentId(body.id)
    if agent_id in rt.center.agents:
        raise AlreadyExists(f"agent {agent_id} exists", field="id")
    _save(rt, agent_id, body, caller)
    return AgentOut.of(views.get_agent(rt, agent_id))


@router.get("/agents/{agent_id}", dependencies=[Depends(requires(Permission.AGENTS_SELF))])
async def get_agent(agent_id: str, rt: RuntimeDep, caller: CallerDep) -> AgentOut:
    check_agent(caller, rt, AgentId(agent_id), Permission.AGENTS_READ)
    return AgentOut.of(views.get_agent(rt, AgentId(agent_id)))


@router.put("/agents/{agent_id}", dependencies=[Depends(requires(Permission.AGENTS_MANAGE))])
async def replace_agent(
    agent_id: str, body: AgentIn, rt: RuntimeDep, caller: CallerDep
) -> AgentOut:
    views.get_agent(rt, AgentId(agent_id))
    _save(rt, AgentId(agent_id), body, caller)
    return AgentOut.of(views.get_agent(rt, AgentId(agent_id)))


def _save(rt: RuntimeDep, agent_id: AgentId, body: AgentIn, caller: Caller) -> None:
    before = rt.center.agents.get(agent_id)
    skills = {SkillId(s): p for s, p in body.skills.items()}
    groups = [GroupName(g) for g in body.groups]
    # a supervisor limited to teams may neither touch nor create an agent outside them
    for in_groups in ((), groups) if before is None else (before.groups, groups):
        caller.check(Permission.AGENTS_MANAGE, Target(agent_id=agent_id, agent_groups=in_groups))
    kept = DEFAULT_CAPACITY if before is None else before.capacity
    after = agent_config_json(body.name, skills, body.capacity or kept, groups)
    action = "agent.create" if before is None else "agent.update"
    record = caller.audit(rt.clock.now(), action, "agent", agent_id, agent_json(before), after)
    svc.do_save_agent(rt, agent_id, body.name, skills, body.capacity, groups, audit=[record])


def _set_skill(
    rt: RuntimeDep, caller: Caller, agent_id: AgentId, skill: SkillId, proficiency: int | None
) -> None:
    before = rt.center.agent(agent_id)
    caller.check(Permission.AGENTS_MANAGE, Target(agent_id=agent_id, agent_groups=before.groups))
    skills = dict(before.skills)
    if proficiency is None:
        skills.pop(skill, None)
    else:
        skills[skill] = proficiency
    after = agent_config_json(before.name, skills, before.capacity, before.groups)
    action = "agent.skill_remove" if proficiency is None else "agent.skill_set"
    record = caller.audit(rt.clock.now(), action, "agent", agent_id, agent_json(before), after)
    svc.do_set_skill(rt, agent_id, skill, proficiency, audit=[record])


@router.put(
    "/agents/{agent_id}/skills/{skill}", dependencies=[Depends(requires(Permission.AGENTS_MANAGE))]
)
async def set_skill(
    agent_id: str, skill: str, body: SkillIn, rt: RuntimeDep, caller: CallerDep
) -> AgentOut:
    _set_skill(rt, caller, AgentId(agent_id), SkillId(skill), body.proficiency)
    return AgentOut.of(views.get_agent(rt, AgentId(agent_id)))


@router.delete(
    "/agents/{agent_id}/skills/{skill}", dependencies=[Depends(requires(Permission.AGENTS_MANAGE))]
)
async def remove_skill(agent_id: str, skill: str, rt: RuntimeDep, caller: CallerDep) -> AgentOut:
    _set_skill(rt, caller, AgentId(agent_id), SkillId(skill), None)
    return AgentOut.of(views.get_agent(rt, AgentId(agent_id)))


@router.post("/agents/{agent_id}/login", dependencies=[Depends(requires(Permission.AGENTS_SELF))])
async def login(agent_id: str, rt: RuntimeDep, caller: CallerDep) -> AgentOut:
    check_agent(caller, rt, AgentId(agent_id), Permission.AGENTS_STATE)
    svc.do_login(rt, AgentId(agent_id))
    return AgentOut.of(views.get_agent(rt, AgentId(agent_id)))


@router.post("/agents/{agent_id}/logout", dependencies=[Depends(requires(Permission.AGENTS_SELF))])
async def logout(agent_id: str, rt: RuntimeDep, caller: CallerDep) -> AgentOut:
    check_agent(caller, rt, AgentId(agent_id), Permission.AGENTS_STATE)
    svc.do_logout(rt, AgentId(agent_id))
    return AgentOut.of(views.get_agent(rt, AgentId(agent_id)))


@router.put("/agents/{agent_id}/state", dependencies=[Depends(requires(Permission.AGENTS_SELF))])
async def set_state(
    agent_id: str, body: AgentStateIn, rt: RuntimeDep, caller: CallerDep
) -> AgentOut:
    check_agent(caller, rt, AgentId(agent_id), Permission.AGENTS_STATE)
    if body.state == "ready":
        if body.reason is not None:
            raise InvalidInput("a reason goes only with not_ready", field="reason")
        svc.do_set_ready(rt, AgentId(agent_id))
    else:
        if body.reason is None:
            raise InvalidInput("not_ready needs a reason code", field="reason")
        svc.do_set_not_ready(rt, AgentId(agent_id), body.reason)
    return AgentOut.of(views.get_agent(rt, AgentId(agent_id)))


@router.get("/skills", tags=["skills"], dependencies=[Depends(requires(Permission.AGENTS_READ))])
async def list_skills(rt: RuntimeDep) -> list[SkillOut]:
    """Every skill in use: how many agents have it and which queues need it."""
    agents: dict[str, int] = defaultdict(int)
    queues: dict[str, set[str]] = defaultdict(set)
    for agent in rt.center.agents.values():
        for skill in agent.skills:
            agents[skill] += 1
    for queue in rt.center.queues.values():
        for level in queue.levels:
            for req in level.skills:
                queues[req.skill].add(queue.id)
    return [
        SkillOut(skill=s, agents=agents.get(s, 0), queues=sorted(queues.get(s, set())))
        for s in sorted(set(agents) | set(queues))
    ]
