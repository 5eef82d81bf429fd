"""REST routes for what happens on a call's audio: recording (pause and resume while a card
number is read, and listening to it later) and supervision (listen, whisper, barge)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel

from callbridge.adapters.telephony.gateway import VoiceGateway, recording_path
from callbridge.adapters.web.auth import Caller, CallerDep, check_agent, check_handle, requires
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.adapters.web.schemas import AgentRef
from callbridge.domain.errors import InvalidState, NotFound
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.security.permissions import Permission, Target, authorize
from callbridge.services import views
from callbridge.services.runtime import Runtime

router = APIRouter(tags=["recordings"])


class RecordingOut(BaseModel):
    interaction_id: str
    recording: Literal["paused", "recording"]


def _gateway(request: Request) -> VoiceGateway:
    voice = getattr(request.app.state, "voice", None)
    if voice is None:
        raise InvalidState("voice is off (sip_enabled = false): there are no calls to record")
    gateway: VoiceGateway = voice.gateway
    return gateway


GatewayDep = Annotated[VoiceGateway, Depends(_gateway)]


@router.post(
    "/interactions/{interaction_id}/recording/pause",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def pause(
    interaction_id: str, body: AgentRef, rt: RuntimeDep, caller: CallerDep, gateway: GatewayDep
) -> RecordingOut:
    """Write silence from now on (a card number is being read), until resumed."""
    check_handle(caller, rt, InteractionId(interaction_id), body.agent_id)
    gateway.pause_recording(InteractionId(interaction_id))
    return RecordingOut(interaction_id=interaction_id, recording="paused")


@router.post(
    "/interactions/{interaction_id}/recording/resume",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def resume(
    interaction_id: str, body: AgentRef, rt: RuntimeDep, caller: CallerDep, gateway: GatewayDep
) -> RecordingOut:
    check_handle(caller, rt, InteractionId(interaction_id), body.agent_id)
    gateway.resume_recording(InteractionId(interaction_id))
    return RecordingOut(interaction_id=interaction_id, recording="recording")


@router.get(
    "/interactions/{interaction_id}/recording",
    dependencies=[Depends(requires(Permission.RECORDINGS_LISTEN))],
    response_class=FileResponse,
)
async def listen(interaction_id: str, rt: RuntimeDep, gateway: GatewayDep) -> FileResponse:
    """The call's recording, a two-channel WAV: left the caller, right what the caller heard."""
    views.get_interaction(rt, InteractionId(interaction_id))  # 404 for an unknown interaction
    directory = gateway.recordings_dir
    path = None if directory is None else recording_path(directory, interaction_id)
    if path is None or not path.is_file():
        raise NotFound(f"interaction {interaction_id} has no recording", field="interaction_id")
    return FileResponse(path, media_type="audio/wav", filename=path.name)


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
