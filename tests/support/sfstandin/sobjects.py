"""sObject resources (§3.1-3.3, 3.9-3.11): CRUD, upsert, describe, limits, replication."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sfstandin.errors import SfError, not_found
from sfstandin.ids import parse_id
from sfstandin.org import Org
from sfstandin.records import full_record, select_fields
from sfstandin.rest import ApiRequest, ApiResponse, Router
from sfstandin.schema import SCHEMA, SObjectDef, sobject_def
from sfstandin.timefmt import floor_minute, format_datetime, parse_datetime

Args = tuple[str, ...]


def _sdef(name: str) -> SObjectDef:
    sdef = sobject_def(name)
    if sdef is None:
        raise not_found()
    return sdef


def save_result(record_id: str, created: bool | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if created is not None:
        body["created"] = created
    return body


def resources(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    base = f"/services/data/v{req.version}"
    names = ("sobjects", "query", "queryAll", "search", "composite", "limits", "jobs")
    return ApiResponse(200, {n: f"{base}/{n}" for n in names})


def global_describe(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    objects = [
        {
            "name": s.name, "label": s.label, "keyPrefix": s.key_prefix, "queryable": True,
            "createable": s.createable, "urls": _urls(s, req.version),
        }
        for s in SCHEMA.values()
    ]  # fmt: skip
    return ApiResponse(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})


def _urls(sdef: SObjectDef, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{sdef.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def basic_info(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = _sdef(args[0])
    info = {"name": sdef.name, "label": sdef.label, "keyPrefix": sdef.key_prefix}
    return ApiResponse(
        200, {"objectDescribe": info | {"urls": _urls(sdef, req.version)}, "recentItems": []}
    )


def describe(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = _sdef(args[0])
    return ApiResponse(200, sdef.describe() | {"urls": _urls(sdef, req.version)})


def create(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = _sdef(args[0])
    if not sdef.createable or sdef.name == "User":
        raise SfError(
            400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object"
        )
    rid = org.store.create(sdef.name, req.json_object(), origin=req.origin)
    location = f"/services/data/v{req.version}/sobjects/{sdef.name}/{rid}"
    return ApiResponse(201, save_result(rid), headers={"Location": location})


def _row(org: Org, sobject: str, record_id: str) -> dict[str, Any]:
    rid = parse_id(record_id)
    row = org.store.get(sobject, rid) if rid and rid[:3] == SCHEMA[sobject].key_prefix else None
    if row is None:
        raise not_found()
    return row


def _fields_param(req: ApiRequest) -> list[str] | None:
    raw = req.query.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def retrieve(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = _sdef(args[0])
    with org.store.lock:
        row = _row(org, sdef.name, args[1])
        names = _fields_param(req)
        if names is None:
            return ApiResponse(200, full_record(org.store, sdef.name, row, req.version))
        return ApiResponse(200, select_fields(org.store, sdef.name, row, names, req.version))


def update(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = _sdef(args[0])
    body = req.json_object()
    rid = parse_id(args[1])
    if rid is None or rid[:3] != sdef.key_prefix:
        raise not_found()
    org.store.update(sdef.name, rid, body, origin=req.origin)
    return ApiResponse(204)


def delete(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = _sdef(args[0])
    rid = parse_id(args[1])
    if rid is None or rid[:3] != sdef.key_prefix:
        raise not_found()
    org.store.delete(sdef.name, rid, origin=req.origin)
    return ApiResponse(204)


def _ext_field(sdef: SObjectDef, name: str) -> str:
    fdef = sdef.field(name)
    if fdef is None or not (fdef.external_id or fdef.name == "Id"):
        raise SfError(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {name}",
        )
    return fdef.name


def _matches(org: Org, sdef: SObjectDef, field: str, value: str) -> list[dict[str, Any]]:
    if field == "Id":
        row = org.store.get(sdef.name, value)
        return [row] if row is not None else []
    fdef = sdef.field(field)
    assert fdef is not None
    return org.store.find(sdef.name, fdef, value)


def _multiple(req: ApiRequest, sobject: str, rows: list[dict[str, Any]]) -> ApiResponse:
    urls = [f"/services/data/v{req.version}/sobjects/{sobject}/{r['Id']}" for r in rows]
    return ApiResponse(300, urls)


def get_by_external_id(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = _sdef(args[0])
    field = _ext_field(sdef, args[1])
    with org.store.lock:
        rows = _matches(org, sdef, field, args[2])
        if not rows:
            raise not_found()
        if len(rows) > 1:
            return _multiple(req, sdef.name, rows)
        names = _fields_param(req)
        if names is None:
            return ApiResponse(200, full_record(org.store, sdef.name, rows[0], req.version))
        return ApiResponse(200, select_fields(org.store, sdef.name, rows[0], names, req.version))


def upsert_one(
    org: Org, sobject: str, field: str, value: str, body: dict[str, Any], origin: str | None,
    *, update_only: bool = False,
) -> tuple[str, bool] | list[dict[str, Any]]:  # fmt: skip
    """Upsert one record on an external id: (id, created), or the rows when several match."""
    sdef = SCHEMA[sobject]
    fields = {k: v for k, v in body.items() if k != "attributes"}
    for key in [k for k in fields if k.lower() == field.lower()]:
        if str(fields.pop(key)).lower() != value.lower():
            raise SfError(
                400,
                "INVALID_FIELD",
                f"The external ID field {field} is specified in the URL and the body with "
                "different values",
                [field],
            )
    with org.store.lock:
        rows = _matches(org, sdef, field, value)
        if len(rows) > 1:
            return rows
        if rows:
            org.store.update(sobject, rows[0]["Id"], fields, origin=origin)
            return rows[0]["Id"], False
        if update_only or field == "Id":
            raise not_found()
        rid = org.store.create(sobject, fields | {field: value}, origin=origin)
        return rid, True


def upsert(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = _sdef(args[0])
    field = _ext_field(sdef, args[1])
    update_only = req.query.get("updateOnly", "").lower() == "true"
    outcome = upsert_one(
        org, sdef.name, field, args[2], req.json_object(), req.origin, update_only=update_only
    )
    if isinstance(outcome, list):
        return _multiple(req, sdef.name, outcome)
    rid, created = outcome
    if created:
        return ApiResponse(201, save_result(rid, True))
    if float(req.version) < 46.0:
        return ApiResponse(204)
    return ApiResponse(200, save_result(rid, False))


def post_with_id_field(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    """`POST /sobjects/T/Id` with no Id in the body inserts (Id used as the external id)."""
    if args[1].lower() != "id":
        raise not_found()
    sdef = _sdef(args[0])
    rid = org.store.create(sdef.name, req.json_object(), origin=req.origin)
    return ApiResponse(201, save_result(rid, True))


def delete_by_external_id(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = _sdef(args[0])
    field = _ext_field(sdef, args[1])
    with org.store.lock:
        rows = _matches(org, sdef, field, args[2])
        if len(rows) > 1:
            return _multiple(req, sdef.name, rows)
        if not rows:
            raise not_found()
        org.store.delete(sdef.name, rows[0]["Id"], origin=req.origin)
    return ApiResponse(204)


def _window(org: Org, req: ApiRequest, days: int) -> tuple[Any, Any]:
    start_text, end_text = req.query.get("start"), req.query.get("end")
    if not start_text or not end_text:
        missing = "start" if not start_text else "end"
        raise SfError(400, "MISSING_ARGUMENT", f"{missing} date is required")
    start, end = parse_datetime(start_text), parse_datetime(end_text)
    if start is None or end is None:
        raise SfError(400, "INVALID_REPLICATION_DATE", "invalid date format")
    now = org.store.now()
    if start >= end:
        raise SfError(
            400, "INVALID_REPLICATION_DATE", "EndDate must chronologically follow StartDate"
        )
    if start < now - timedelta(days=days):
        raise SfError(
            400, "INVALID_REPLICATION_DATE", f"startDate cannot be more than {days} days ago"
        )
    return floor_minute(start), floor_minute(min(end, now))


def updated(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = _sdef(args[0])
    start, end = _window(org, req, 30)
    ids = org.store.updated_ids(sdef.name, start, end)
    return ApiResponse(200, {"ids": ids, "latestDateCovered": format_datetime(end)})


def deleted(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = _sdef(args[0])
    start, end = _window(org, req, 15)
    records = [
        {"id": rid, "deletedDate": format_datetime(at)}
        for rid, at in org.store.deleted_since(sdef.name, start, end)
    ]
    return ApiResponse(
        200,
        {
            "deletedRecords": records,
            "earliestDateAvailable": format_datetime(org.store.retention_start(15)),
            "latestDateCovered": format_datetime(end),
        },
    )


def limits(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    def pair(maximum: int, used: int = 0) -> dict[str, int]:
        return {"Max": maximum, "Remaining": max(maximum - used, 0)}

    with org.limits.lock:
        api = pair(org.limits.daily_api_requests, org.limits.used)
        batches = pair(15000, org.limits.bulk_batches_used)
    return ApiResponse(
        200,
        {
            "DailyApiRequests": api,
            "DailyBulkApiBatches": batches,
            "DailyBulkV2QueryJobs": pair(10000),
            "DailyBulkV2QueryFileStorageMB": pair(976562),
            "DailyDurableStreamingApiEvents": pair(10000),
            "DataStorageMB": pair(5),
            "FileStorageMB": pair(20),
            "SingleEmail": pair(15),
        },
    )


def register(router: Router) -> None:
    seg = r"([^/]+)"
    router.add(r"", GET=resources)
    router.add(r"/limits", GET=limits)
    router.add(r"/sobjects", GET=global_describe)
    router.add(rf"/sobjects/{seg}", GET=basic_info, POST=create)
    router.add(rf"/sobjects/{seg}/describe", GET=describe)
    router.add(rf"/sobjects/{seg}/updated", GET=updated)
    router.add(rf"/sobjects/{seg}/deleted", GET=deleted)
    router.add(
        rf"/sobjects/{seg}/{seg}",
        GET=retrieve,
        PATCH=update,
        DELETE=delete,
        POST=post_with_id_field,
    )
    router.add(
        rf"/sobjects/{seg}/{seg}/{seg}",
        GET=get_by_external_id,
        PATCH=upsert,
        DELETE=delete_by_external_id,
    )
