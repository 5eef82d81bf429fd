"""REST routes that steer a call on the wire: a supervisor listening, whispering or barging in,
and the agent consulting a third party (then completing the transfer, joining all three, or
going back to the caller)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from callbridge.adapters.telephony.gateway import VoiceGateway
from callbridge.adapters.web.auth import Caller, CallerDep, check_agent, check_handle, requires
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.adapters.web.recordings import GatewayDep
from callbridge.adapters.web.schemas import AgentRef
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.security.permissions import Permission, Target, authorize
from callbridge.services import views
from callbridge.services.runtime import Runtime

router = APIRouter(tags=["calls"])


class ConsultIn(AgentRef):
    to_number: str = Field(min_length=1, max_length=64)


class CallOut(BaseModel):
    interaction_id: str
    consulting: str | None  # the number being consulted
    three_way: bool


def _call_out(gateway: VoiceGateway, iid: InteractionId) -> CallOut:
    call = gateway.calls.get(iid)
    consult = call.consult if call is not None else None
    return CallOut(
        interaction_id=iid,
        consulting=consult.number if consult is not None else None,
        three_way=call is not None and call.mix is not None,
    )


@router.post(
    "/interactions/{interaction_id}/consult",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def consult(
    interaction_id: str, body: ConsultIn, rt: RuntimeDep, caller: CallerDep, gateway: GatewayDep
) -> CallOut:
    """The caller goes on hold and the agent's phone is put through to `to_number`."""
    iid = InteractionId(interaction_id)
    check_handle(caller, rt, iid, body.agent_id)
    await gateway.consult(iid, AgentId(body.agent_id), body.to_number)
    return _call_out(gateway, iid)


@router.post(
    "/interactions/{interaction_id}/consult/complete",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def complete(
    interaction_id: str, body: AgentRef, rt: RuntimeDep, caller: CallerDep, gateway: GatewayDep
) -> CallOut:
    """Hand the caller to the consulted party (a transfer; the interaction ends)."""
    iid = InteractionId(interaction_id)
    check_handle(caller, rt, iid, body.agent_id)
    await gateway.complete_consult(iid, AgentId(body.agent_id))
    return _call_out(gateway, iid)


@router.post(
    "/interactions/{interaction_id}/consult/cancel",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def cancel(
    interaction_id: str, body: AgentRef, rt: RuntimeDep, caller: CallerDep, gateway: GatewayDep
) -> CallOut:
    """Hang up the consulted party and go back to the caller."""
    iid = InteractionId(interaction_id)
    check_handle(caller, rt, iid, body.agent_id)
    await gateway.cancel_consult(iid, AgentId(body.agent_id))
    return _call_out(gateway, iid)


@router.post(
    "/interactions/{interaction_id}/three-way",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def three_way(
    interaction_id: str, body: AgentRef, rt: RuntimeDep, caller: CallerDep, gateway: GatewayDep
) -> CallOut:
    """The caller, the agent and the consulted party together."""
    iid = InteractionId(interaction_id)
    check_handle(caller, rt, iid, body.agent_id)
    await gateway.three_way(iid, AgentId(body.agent_id))
    return _call_out(gateway, iid)


class MonitorIn(BaseModel):
    agent_id: str  # the supervisor's own agent, whose phone rings
    mode: Literal["listen", "whisper", "barge"] = "listen"


class MonitorOut(BaseModel):
    interaction_id: str
    agent_id: str
    mode: str
    state: Literal["ringing", "on_call", "off"]


def _supervise(caller: Caller, rt: Runtime, interaction_id: InteractionId, agent_id: str) -> None:
    """Monitoring with one's own phone, a call in a queue (and of an agent) one supervises."""
    check_agent(caller, rt, AgentId(agent_id), Permission.AGENTS_STATE)
    ix = views.get_interaction(rt, interaction_id)
    monitored = rt.center.agents.get(ix.agent_id) if ix.agent_id else None
    authorize(
        caller.principal,
        Permission.INTERACTIONS_MONITOR,
        Target(
            queue_id=ix.queue_id,
            agent_id=ix.agent_id,
            agent_groups=monitored.groups if monitored is not None else (),
        ),
    )


@router.post(
    "/interactions/{interaction_id}/monitor",
    dependencies=[Depends(requires(Permission.INTERACTIONS_MONITOR))],
)
async def monitor(
    interaction_id: str, body: MonitorIn, rt: RuntimeDep, caller: CallerDep, gateway: GatewayDep
) -> MonitorOut:
    """Ring the supervisor's phone onto the call: `listen` (hears both sides, heard by none),
    `whisper` (only the agent hears them) or `barge` (everyone hears everyone). Again with
    another mode changes it."""
    iid = InteractionId(interaction_id)
    _supervise(caller, rt, iid, body.agent_id)
    await gateway.monitor(iid, AgentId(body.agent_id), body.mode)
    return _monitor_out(gateway, iid, body.agent_id)


@router.delete(
    "/interactions/{interaction_id}/monitor",
    dependencies=[Depends(requires(Permission.INTERACTIONS_MONITOR))],
)
async def stop_monitor(
    interaction_id: str, rt: RuntimeDep, caller: CallerDep, gateway: GatewayDep
) -> MonitorOut:
    """Take the supervisor off the call (their phone is hung up)."""
    iid = InteractionId(interaction_id)
    call = gateway.calls.get(iid)
    watching = call.monitor if call is not None else None
    agent_id = watching.supervisor_id if watching is not None else ""
    if watching is not None:
        _supervise(caller, rt, iid, agent_id)
        await gateway.stop_monitor(iid)
    return _monitor_out(gateway, iid, agent_id)


def _monitor_out(gateway: VoiceGateway, iid: InteractionId, agent_id: str) -> MonitorOut:
    call = gateway.calls.get(iid)
    watching = call.monitor if call is not None else None
    if watching is None:
        return MonitorOut(interaction_id=iid, agent_id=agent_id, mode="", state="off")
    return MonitorOut(
        interaction_id=iid,
        agent_id=watching.supervisor_id,
        mode=watching.mode,
        state="on_call" if watching.dialog is not None else "ringing",
    )
