"""REST routes for queues and dispositions."""

from __future__ import annotations

import json
from dataclasses import replace

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import ValidationError

from callbridge.adapters.web.audit import disposition_json, queue_json
from callbridge.adapters.web.auth import CallerDep, requires
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.adapters.web.schemas import (
    DispositionIn,
    InteractionOut,
    QueueCreate,
    QueueIn,
    QueueOut,
    ScriptIn,
)
from callbridge.domain.errors import AlreadyExists, InvalidInput
from callbridge.domain.ids import DispositionCode, QueueId
from callbridge.domain.security.permissions import Permission
from callbridge.services import queues as svc
from callbridge.services import views

router = APIRouter()


def _out(rt: RuntimeDep, queue_id: QueueId) -> QueueOut:
    return QueueOut.of(rt.center.queue(queue_id), views.queue_stats(rt, queue_id))


@router.get("/queues", tags=["queues"], dependencies=[Depends(requires(Permission.QUEUES_READ))])
async def list_queues(rt: RuntimeDep) -> list[QueueOut]:
    stats = views.all_queue_stats(rt)
    return [QueueOut.of(q, stats[q.id]) for q in views.list_queues(rt)]


@router.post(
    "/queues",
    status_code=status.HTTP_201_CREATED,
    tags=["queues"],
    dependencies=[Depends(requires(Permission.QUEUES_MANAGE))],
)
async def create_queue(body: QueueCreate, rt: RuntimeDep, caller: CallerDep) -> QueueOut:
    if QueueId(body.id) in rt.center.queues:
        raise AlreadyExists(f"queue {body.id} exists", field="id")
    queue = body.to_domain(body.id)
    record = caller.audit(rt.clock.now(), "queue.create", "queue", body.id, None, queue_json(queue))
    svc.do_save_queue(rt, queue, audit=[record])
    return _out(rt, QueueId(body.id))


@router.get(
    "/queues/{queue_id}", tags=["queues"], dependencies=[Depends(requires(Permission.QUEUES_READ))]
)
async def get_queue(queue_id: str, rt: RuntimeDep) -> QueueOut:
    return _out(rt, QueueId(queue_id))


@router.put(
    "/queues/{queue_id}",
    tags=["queues"],
    dependencies=[Depends(requires(Permission.QUEUES_MANAGE))],
)
async def replace_queue(
    queue_id: str, body: QueueIn, rt: RuntimeDep, caller: CallerDep
) -> QueueOut:
    before = rt.center.queue(QueueId(queue_id))
    queue = body.to_domain(queue_id)
    record = caller.audit(
        rt.clock.now(), "queue.update", "queue", queue_id, queue_json(before), queue_json(queue)
    )
    svc.do_save_queue(rt, queue, audit=[record])
    return _out(rt, QueueId(queue_id))


def merge_patch(target: object, patch: object) -> object:
    """RFC 7396: the patch's members replace the target's, null removes one, objects merge."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


@router.patch(
    "/queues/{queue_id}",
    tags=["queues"],
    dependencies=[Depends(requires(Permission.QUEUES_MANAGE))],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/merge-patch+json": {"schema": {"type": "object"}}},
        }
    },
)
async def patch_queue(
    queue_id: str, request: Request, rt: RuntimeDep, caller: CallerDep
) -> QueueOut:
    """Change some of a queue's settings (a JSON merge patch: what is named changes, null
    removes an optional setting, the rest stays); checked as a whole, like PUT."""
    before = rt.center.queue(QueueId(queue_id))
    try:
        patch = json.loads(await request.body())
    except ValueError:
        raise InvalidInput("the body is not JSON", field="body") from None
    if not isinstance(patch, dict):
        raise InvalidInput("a merge patch is a JSON object", field="body")
    current = _out(rt, QueueId(queue_id)).model_dump(
        mode="json", include=set(QueueIn.model_fields), exclude_none=True
    )
    try:
        body = QueueIn.model_validate(merge_patch(current, patch))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from None
    queue = body.to_domain(queue_id)
    record = caller.audit(
        rt.clock.now(), "queue.update", "queue", queue_id, queue_json(before), queue_json(queue)
    )
    svc.do_save_queue(rt, queue, audit=[record])
    return _out(rt, QueueId(queue_id))


@router.put(
    "/queues/{queue_id}/script",
    tags=["queues"],
    dependencies=[Depends(requires(Permission.QUEUES_MANAGE))],
)
async def set_script(queue_id: str, body: ScriptIn, rt: RuntimeDep, caller: CallerDep) -> QueueOut:
    """The queue's call script alone (empty or null: none); the rest of the queue stays."""
    before = rt.center.queue(QueueId(queue_id))
    queue = replace(before, script=body.script or None)
    record = caller.audit(
        rt.clock.now(), "queue.update", "queue", queue_id, queue_json(before), queue_json(queue)
    )
    svc.do_save_queue(rt, queue, audit=[record])
    return _out(rt, QueueId(queue_id))


@router.delete(
    "/queues/{queue_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["queues"],
    dependencies=[Depends(requires(Permission.QUEUES_MANAGE))],
)
async def delete_queue(queue_id: str, rt: RuntimeDep, caller: CallerDep) -> Response:
    before = queue_json(rt.center.queue(QueueId(queue_id)))
    record = caller.audit(rt.clock.now(), "queue.delete", "queue", queue_id, before, None)
    svc.do_remove_queue(rt, QueueId(queue_id), audit=[record])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/queues/{queue_id}/waiting",
    tags=["queues"],
    dependencies=[Depends(requires(Permission.QUEUES_READ))],
)
async def waiting(queue_id: str, rt: RuntimeDep) -> list[InteractionOut]:
    """Who is waiting, in the order they will be served."""
    return [InteractionOut.of(ix) for ix in views.waiting_in(rt, QueueId(queue_id))]


@router.get(
    "/dispositions",
    tags=["dispositions"],
    dependencies=[Depends(requires(Permission.DISPOSITIONS_READ))],
)
async def list_dispositions(rt: RuntimeDep) -> list[DispositionIn]:
    return [
        DispositionIn(code=d.code, label=d.label)
        for d in sorted(rt.center.dispositions.values(), key=lambda d: d.code)
    ]


@router.post(
    "/dispositions",
    status_code=status.HTTP_201_CREATED,
    tags=["dispositions"],
    dependencies=[Depends(requires(Permission.DISPOSITIONS_MANAGE))],
)
async def save_disposition(body: DispositionIn, rt: RuntimeDep, caller: CallerDep) -> DispositionIn:
    before = rt.center.dispositions.get(DispositionCode(body.code))
    record = caller.audit(
        rt.clock.now(),
        "disposition.create" if before is None else "disposition.update",
        "disposition",
        body.code,
        disposition_json(before),
        {"code": body.code, "label": body.label},
    )
    svc.do_save_disposition(rt, DispositionCode(body.code), body.label, audit=[record])
    return body
