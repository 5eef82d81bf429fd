"""Composite (§3.7): up to 25 subrequests in one call, `@{ref.field}` references, allOrNone."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sfstandin.errors import SfError
from sfstandin.org import Org
from sfstandin.rest import ApiRequest, ApiResponse, Router

Args = tuple[str, ...]
MAX_SUBREQUESTS = 25
MAX_QUERY_OR_COLLECTIONS = 5
_REF = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_URL = re.compile(r"/?(?:services/data/)?v(\d+\.\d)(/.*)?", re.IGNORECASE)
HALTED = "The transaction was rolled back since another operation in the same transaction failed."


class _Unresolved(Exception):
    def __init__(self, ref: str, path: str) -> None:
        super().__init__(ref)
        self.ref = ref
        self.path = path


def _lookup(value: Any, path: str) -> Any:
    for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        key, index = step
        if key and isinstance(value, dict) and key in value:
            value = value[key]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise KeyError(path)
    return value


def _substitute(value: Any, refs: dict[str, Any]) -> Any:
    if isinstance(value, str):

        def one(m: re.Match[str]) -> str:
            ref, path = m.group(1), m.group(2)
            if ref not in refs:
                raise _Unresolved(ref, path)
            try:
                return str(_lookup(refs[ref], path))
            except KeyError as exc:
                raise _Unresolved(ref, path) from exc

        return _REF.sub(one, value)
    if isinstance(value, list):
        return [_substitute(v, refs) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, refs) for k, v in value.items()}
    return value


def _halted(message: str) -> list[dict[str, str]]:
    return [{"errorCode": "PROCESSING_HALTED", "message": message}]


def _unresolved_message(err: _Unresolved) -> str:
    ref = f"{err.ref}{err.path}"
    return (
        f"Invalid reference specified. No value for {ref} found in {err.ref}. Provided "
        f"referenceId ('{ref}') must start with a letter or a number, and it can contain only "
        "letters, numbers and underscores ('_')."
    )


def _subrequest(
    router: Router, org: Org, parent: ApiRequest, method: str, url: str, body: Any,
    headers: dict[str, str],
) -> ApiResponse:  # fmt: skip
    parts = urlsplit(url)
    m = _URL.fullmatch(parts.path)
    if m is None or not org.supports(m.group(1)):
        raise SfError(400, "INVALID_URL", f"The URL is not valid: {url}")
    path = (m.group(2) or "").rstrip("/")
    sub = ApiRequest(
        method.upper(),
        path,
        m.group(1),
        dict(parse_qsl(parts.query)),
        json.dumps(body).encode() if body is not None else b"",
        parent.headers | {k.lower(): v for k, v in headers.items()},
    )
    return router.dispatch(org, sub)


def _failed(resp: ApiResponse) -> bool:
    if resp.status >= 400:
        return True
    return isinstance(resp.body, list) and any(
        isinstance(r, dict) and r.get("success") is False for r in resp.body
    )


def _heavy(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return bool(re.search(r"/(query|queryall|composite/sobjects)(/|$)", path))


def register(router: Router) -> None:
    def composite(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
        body = req.json_object()
        subs = body.get("compositeRequest")
        if not isinstance(subs, list) or not subs:
            raise SfError(400, "JSON_PARSER_ERROR", "compositeRequest is required")
        if len(subs) > MAX_SUBREQUESTS:
            raise SfError(400, "LIMIT_EXCEEDED", "Maximum number of subrequests allowed is 25")
        if sum(_heavy(str(s.get("url", ""))) for s in subs) > MAX_QUERY_OR_COLLECTIONS:
            raise SfError(
                400,
                "LIMIT_EXCEEDED",
                "Maximum number of query or sObject Collections subrequests is 5",
            )
        all_or_none = bool(body.get("allOrNone", False))
        refs: dict[str, Any] = {}
        out: list[dict[str, Any]] = []
        failed_at: int | None = None
        try:
            with org.store.transaction():
                for i, sub in enumerate(subs):
                    ref = str(sub.get("referenceId", ""))
                    if failed_at is not None and all_or_none:
                        out.append(_entry(400, _halted(HALTED), {}, ref))
                        continue
                    try:
                        url = _substitute(str(sub.get("url", "")), refs)
                        sub_body = _substitute(sub.get("body"), refs)
                    except _Unresolved as err:
                        out.append(_entry(400, _halted(_unresolved_message(err)), {}, ref))
                        failed_at = i if failed_at is None else failed_at
                        continue
                    if all_or_none and _heavy(url) and isinstance(sub_body, dict):
                        sub_body = sub_body | {"allOrNone": True}
                    try:
                        resp = _subrequest(
                            router, org, req, str(sub.get("method", "GET")), url, sub_body,
                            dict(sub.get("httpHeaders") or {}),
                        )  # fmt: skip
                    except SfError as err:
                        resp = ApiResponse(err.status, err.rest_body())
                    out.append(_entry(resp.status, resp.body, resp.headers, ref))
                    if _failed(resp):
                        failed_at = i if failed_at is None else failed_at
                    elif ref:
                        refs[ref] = resp.body
                if all_or_none and failed_at is not None:
                    raise _RolledBack
        except _RolledBack:
            for i, entry in enumerate(out):
                if i != failed_at and entry["httpStatusCode"] < 400:
                    out[i] = _entry(400, _halted(HALTED), {}, entry["referenceId"])
        return ApiResponse(200, {"compositeResponse": out})

    def batch(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
        body = req.json_object()
        subs = body.get("batchRequests")
        if not isinstance(subs, list) or len(subs) > MAX_SUBREQUESTS:
            raise SfError(400, "INVALID_BATCH_REQUEST", "batchRequests must hold 1 to 25 requests")
        halt = bool(body.get("haltOnError", False))
        results: list[dict[str, Any]] = []
        halted = False
        for sub in subs:
            if halted:
                results.append(
                    {
                        "statusCode": 412,
                        "result": [
                            {
                                "errorCode": "BATCH_PROCESSING_HALTED",
                                "message": "Batch processing halted per request",
                            }
                        ],
                    }
                )
                continue
            url = "/services/data/" + str(sub.get("url", "")).lstrip("/")
            try:
                resp = _subrequest(
                    router, org, req, str(sub.get("method", "GET")), url, sub.get("richInput"), {}
                )
            except SfError as err:
                resp = ApiResponse(err.status, err.rest_body())
            results.append({"statusCode": resp.status, "result": resp.body})
            halted = halt and resp.status >= 400
        has_errors = any(r["statusCode"] >= 400 for r in results)
        return ApiResponse(200, {"hasErrors": has_errors, "results": results})

    router.add(r"/composite", POST=composite)
    router.add(r"/composite/batch", POST=batch)


class _RolledBack(Exception):
    pass


def _entry(status: int, body: Any, headers: dict[str, str], ref: str) -> dict[str, Any]:
    return {
        "body": body,
        "httpHeaders": {k: v for k, v in headers.items() if k.lower() != "content-length"},
        "httpStatusCode": status,
        "referenceId": ref,
    }
