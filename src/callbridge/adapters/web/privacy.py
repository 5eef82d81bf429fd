"""REST routes for privacy requests: export everything held about a phone number or email
address as one JSON file, and erase it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from callbridge.adapters.web.auth import Caller, requires
from callbridge.domain.security.permissions import Permission
from callbridge.services.security.privacy import PrivacyRequests, Requester

router = APIRouter(tags=["privacy"])

Address = Annotated[str, Field(min_length=1, max_length=320)]


async def _privacy(request: Request) -> PrivacyRequests:
    privacy: PrivacyRequests = request.app.state.privacy
    return privacy


PrivacyDep = Annotated[PrivacyRequests, Depends(_privacy)]


def _requester(caller: Caller) -> Requester:
    return Requester(caller.principal.actor, caller.source)


class ErasureIn(BaseModel):
    address: Address


class ErasureOut(BaseModel):
    subject: str = Field(description="The address's blind-index hash, as the audit log names it.")
    erased: dict[str, int] = Field(description="Records overwritten, by holder.")
    total: int


@router.get(
    "/privacy/export",
    dependencies=[Depends(requires(Permission.PRIVACY_EXPORT))],
    response_class=JSONResponse,
)
async def export(
    address: Annotated[str, Query(min_length=1, max_length=320)],
    privacy: PrivacyDep,
    caller: Annotated[Caller, Depends(requires(Permission.PRIVACY_EXPORT))],
) -> JSONResponse:
    """Everything held about a phone number or email address, decrypted, as one JSON file:
    the interactions that name it, each with its event log entries. The export is audited."""
    document = privacy.export(address, _requester(caller))
    name = f"privacy-export-{privacy.subject(address)[:12]}.json"
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/privacy/erase", dependencies=[Depends(requires(Permission.PRIVACY_ERASE))])
async def erase(
    body: ErasureIn,
    privacy: PrivacyDep,
    caller: Annotated[Caller, Depends(requires(Permission.PRIVACY_ERASE))],
) -> ErasureOut:
    """Overwrite every personal field about the address (interactions and their event log
    entries) with "[erased]". Refused (409) while one of its interactions is still open or in
    wrap-up. The erasure is audited, under the address's hash, without the address."""
    done = privacy.erase(body.address, _requester(caller))
    return ErasureOut(subject=done.subject, erased=done.erased, total=done.total)
