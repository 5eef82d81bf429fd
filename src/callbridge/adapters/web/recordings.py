"""REST routes for call recordings: pause and resume while a card number is read, and listen."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel

from callbridge.adapters.telephony.gateway import VoiceGateway, recording_path
from callbridge.adapters.web.auth import CallerDep, check_handle, requires
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.adapters.web.schemas import AgentRef
from callbridge.domain.errors import InvalidState, NotFound
from callbridge.domain.ids import InteractionId
from callbridge.domain.security.permissions import Permission
from callbridge.services import views

router = APIRouter(tags=["recordings"])


class RecordingOut(BaseModel):
    interaction_id: str
    recording: Literal["paused", "recording"]


def gateway_of(request: Request) -> VoiceGateway:
    voice = getattr(request.app.state, "voice", None)
    if voice is None:
        raise InvalidState("voice is off (sip_enabled = false): there are no calls to record")
    gateway: VoiceGateway = voice.gateway
    return gateway


GatewayDep = Annotated[VoiceGateway, Depends(gateway_of)]


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
