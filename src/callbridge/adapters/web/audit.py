"""REST route for reading the audit log, and the JSON views of the objects it records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, JsonValue

from callbridge.adapters.store import codec
from callbridge.adapters.store.audit import AuditFilter, AuditLog
from callbridge.adapters.web.auth import requires
from callbridge.domain.agents import Agent
from callbridge.domain.channels import Channel
from callbridge.domain.ids import GroupName, SkillId
from callbridge.domain.live import Disposition
from callbridge.domain.queues import Queue
from callbridge.domain.security.permissions import Permission
from callbridge.ports import JsonValue as Json
from callbridge.services.security.audit import AuditEntry, timestamp

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    id: int
    at: float
    at_iso: str
    actor: str
    action: str
    object_type: str
    object_id: str
    source: str
    before: JsonValue
    after: JsonValue
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        r = entry.record
        return cls(
            id=entry.id,
            at=r.at,
            at_iso=timestamp(r.at),
            actor=r.actor,
            action=r.action,
            object_type=r.object_type,
            object_id=r.object_id,
            source=r.source,
            before=r.before,
            after=r.after,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )


def _audit_log(request: Request) -> AuditLog:
    audit_log: AuditLog = request.app.state.audit_log
    return audit_log


@router.get("/audit", dependencies=[Depends(requires(Permission.AUDIT_READ))])
async def list_audit(
    audit_log: Annotated[AuditLog, Depends(_audit_log)],
    after_id: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    actor: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
) -> list[AuditEntryOut]:
    """Audit entries after `after_id`, oldest first; page on with the last id you got."""
    filters = AuditFilter(actor=actor, object_type=object_type, object_id=object_id)
    return [AuditEntryOut.of(e) for e in audit_log.read(after_id, limit, filters)]


# --- what an audit entry records of each kind of object -----------------------------------------


def queue_json(queue: Queue | None) -> Json:
    """A queue's whole definition, as the store keeps it."""
    if queue is None:
        return None
    return {"id": queue.id, "name": queue.name, **codec.queue_config(queue)}


def agent_json(agent: Agent | None) -> Json:
    """An agent's configuration (not its live state): name, skills, capacity, groups."""
    if agent is None:
        return None
    return agent_config_json(agent.name, agent.skills, agent.capacity, agent.groups)


def agent_config_json(
    name: str,
    skills: Mapping[SkillId, int],
    capacity: Mapping[Channel, int],
    groups: Iterable[GroupName],
) -> Json:
    """The same, from the parts an agent is saved with."""
    group_list: list[Json] = [str(g) for g in sorted(groups)]
    return {
        "name": name,
        "skills": {str(s): p for s, p in sorted(skills.items())},
        "capacity": {str(c.value): n for c, n in sorted(capacity.items())},
        "groups": group_list,
    }


def disposition_json(disposition: Disposition | None) -> Json:
    if disposition is None:
        return None
    return {"code": disposition.code, "label": disposition.label}
