"""sObject Collections (§3.6): up to 200 records per call, allOrNone, results in input order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sfstandin.errors import SfError, invalid_type, json_parser_error, not_found
from sfstandin.ids import parse_id, sobject_for_prefix
from sfstandin.org import Org
from sfstandin.records import select_fields
from sfstandin.rest import ApiRequest, ApiResponse, Router
from sfstandin.schema import sobject_def
from sfstandin.sobjects import save_result, upsert_one

Args = tuple[str, ...]
Result = dict[str, Any]
MAX_RECORDS = 200
MAX_CHUNKS = 10
ROLLED_BACK = SfError(
    400,
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header",
    [],
)


class _Rollback(Exception):
    pass


def _too_many() -> SfError:
    return SfError(
        400,
        "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 200 records into this call",
    )


def _failure(err: SfError, record_id: str | None = None, *, with_id: bool = True) -> Result:
    out: Result = {"id": record_id} if with_id else {}
    return out | {"success": False, "errors": [err.record_item()]}


def run_all(
    org: Org, items: list[Any], all_or_none: bool, one: Callable[[Any], Result],
    known_id: Callable[[Any], str | None],
) -> list[Result]:  # fmt: skip
    """Apply `one` to every item; with allOrNone, any failure rolls every write back."""
    results: list[Result] = []
    try:
        with org.store.transaction():
            for item in items:
                try:
                    results.append(one(item))
                except SfError as err:
                    results.append(_failure(err, known_id(item)))
            if all_or_none and not all(r["success"] for r in results):
                raise _Rollback
    except _Rollback:
        return [
            r
            if not r["success"]
            else _failure(ROLLED_BACK, known_id(item), with_id=bool(known_id(item)))
            for r, item in zip(results, items, strict=True)
        ]
    return results


def _records(req: ApiRequest) -> tuple[list[dict[str, Any]], bool]:
    body = req.json_object()
    records = body.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise json_parser_error("records must be an array of objects")
    if len(records) > MAX_RECORDS:
        raise _too_many()
    types = [str((r.get("attributes") or {}).get("type", "")) for r in records]
    chunks = sum(1 for i, t in enumerate(types) if i == 0 or t != types[i - 1])
    if chunks > MAX_CHUNKS:
        raise SfError(
            400,
            "INVALID_BATCH_REQUEST",
            "Cannot have more than 10 chunks in a single operation. Please rearrange the data "
            "to reduce chunking.",
        )
    return records, bool(body.get("allOrNone", False))


def _type_of(record: dict[str, Any]) -> str:
    name = (record.get("attributes") or {}).get("type")
    sdef = sobject_def(str(name)) if name else None
    if sdef is None:
        raise invalid_type(str(name or ""))
    return sdef.name


def _id_of(record: dict[str, Any]) -> str | None:
    for key in ("id", "Id", "ID"):
        if isinstance(record.get(key), str):
            return str(record[key])
    return None


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes" and k.lower() != "id"}


def create(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    records, all_or_none = _records(req)

    def one(record: dict[str, Any]) -> Result:
        sobject = _type_of(record)
        if _id_of(record) is not None:
            raise SfError(400, "INVALID_FIELD", "cannot specify Id in an insert call", [])
        return save_result(org.store.create(sobject, _fields(record), origin=req.origin))

    return ApiResponse(200, run_all(org, records, all_or_none, one, lambda _r: None))


def update(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    records, all_or_none = _records(req)

    def one(record: dict[str, Any]) -> Result:
        sobject = _type_of(record)
        rid = _id_of(record)
        if rid is None:
            raise SfError(400, "MISSING_ARGUMENT", "Id not specified in an update call", [])
        parsed = parse_id(rid)
        if parsed is None or sobject_for_prefix(parsed[:3]) != sobject:
            raise SfError(400, "MALFORMED_ID", f"malformed id {rid}", [])
        try:
            org.store.update(sobject, parsed, _fields(record), origin=req.origin)
        except SfError as err:
            if err.code == "NOT_FOUND":
                raise SfError(
                    400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []
                ) from err
            raise
        return save_result(parsed)

    return ApiResponse(200, run_all(org, records, all_or_none, one, _id_of))


def upsert(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = sobject_def(args[0])
    if sdef is None:
        raise not_found()
    fdef = sdef.field(args[1])
    if fdef is None or not fdef.external_id:
        raise not_found()
    records, all_or_none = _records(req)
    values = [_key_of(r, fdef.name) for r in records]
    repeated = {
        v.lower()
        for v in values
        if v and sum(1 for w in values if w and w.lower() == v.lower()) > 1
    }

    def one(record: dict[str, Any]) -> Result:
        if _type_of(record) != sdef.name:
            raise SfError(400, "INVALID_TYPE", f"Record type must be {sdef.name}", [])
        value = _key_of(record, fdef.name)
        if value is None:
            raise SfError(400, "MISSING_ARGUMENT", f"{fdef.name} not specified", [])
        if value.lower() in repeated:
            raise SfError(
                400,
                "DUPLICATE_EXTERNAL_ID",
                f"Duplicate external id specified: {value}",
                [fdef.name],
            )
        outcome = upsert_one(org, sdef.name, fdef.name, value, _fields(record), req.origin)
        if isinstance(outcome, list):
            ids = ", ".join(r["Id"] for r in outcome)
            raise SfError(
                400,
                "DUPLICATE_EXTERNAL_ID",
                f"{fdef.name}: more than one record found for external id field: [{ids}]",
                [fdef.name],
            )
        return save_result(outcome[0], outcome[1])

    return ApiResponse(200, run_all(org, records, all_or_none, one, lambda _r: None))


def _key_of(record: dict[str, Any], field: str) -> str | None:
    for key, value in record.items():
        if key.lower() == field.lower() and value not in (None, ""):
            return str(value)
    return None


def delete(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    ids = [i for i in req.query.get("ids", "").split(",") if i]
    if len(ids) > MAX_RECORDS:
        raise _too_many()
    all_or_none = req.query.get("allOrNone", "false").lower() == "true"

    def one(raw: str) -> Result:
        rid = parse_id(raw)
        sobject = sobject_for_prefix(rid[:3]) if rid else None
        if rid is None or sobject is None or sobject not in org.store.tables:
            raise SfError(400, "MALFORMED_ID", f"malformed id {raw}", [])
        row = org.store.get(sobject, rid, include_deleted=True)
        if row is None:
            raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        if row["IsDeleted"]:
            raise SfError(400, "ENTITY_IS_DELETED", "entity is deleted", [])
        org.store.delete(sobject, rid, origin=req.origin)
        return save_result(rid)

    return ApiResponse(200, run_all(org, ids, all_or_none, one, lambda raw: parse_id(raw) or None))


def retrieve(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    sdef = sobject_def(args[0])
    if sdef is None:
        raise not_found()
    if req.method == "POST":
        body = req.json_object()
        ids, names = list(body.get("ids") or []), list(body.get("fields") or [])
    else:
        ids = [i for i in req.query.get("ids", "").split(",") if i]
        names = [f for f in req.query.get("fields", "").split(",") if f]
    if not names:
        raise SfError(400, "MISSING_ARGUMENT", "fields is required")
    if len(ids) > 2000:
        raise _too_many()
    out: list[dict[str, Any] | None] = []
    with org.store.lock:
        for raw in ids:
            row = org.store.get(sdef.name, raw)
            out.append(
                select_fields(org.store, sdef.name, row, names, req.version) if row else None
            )
    return ApiResponse(200, out)


def register(router: Router) -> None:
    router.add(r"/composite/sobjects", POST=create, PATCH=update, DELETE=delete)
    router.add(r"/composite/sobjects/([^/]+)", GET=retrieve, POST=retrieve)
    router.add(r"/composite/sobjects/([^/]+)/([^/]+)", PATCH=upsert)
