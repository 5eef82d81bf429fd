"""The ASGI application: OAuth, the version list, and the data API pipeline.

Pipeline for `/services/data/vNN.0/...`: faults (drop, latency) -> session -> version gate ->
daily allocation -> injected error -> route. Every data answer carries `Sforce-Limit-Info`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote

from sfstandin.auth import OAuthError, grant, token_body
from sfstandin.errors import SfError, not_found
from sfstandin.faults import Fault, sleep_for
from sfstandin.org import Org
from sfstandin.requestlog import LoggedRequest, RequestLog
from sfstandin.rest import ApiRequest, ApiResponse, Router, error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_DATA = re.compile(r"/services/data/v(\d+\.\d)(/.*)?")
_UNCOUNTED_FAULTS = (401, 403)


class StandInApp:
    """Raw ASGI, so a fault can close the connection before any response byte is written."""

    def __init__(self, org: Org, router: Router, log: RequestLog, base_url: str) -> None:
        self.org = org  # replaced wholesale by StandIn.reset()
        self.router = router
        self.log = log
        self.base_url = base_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method: str = scope["method"]
        raw_path = bytes(scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_path = raw_path.split("?", 1)[0]
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        org = self.org
        faults = org.faults.match(method, unquote(raw_path))
        if any(f.kind == "drop" for f in faults):
            await self._drop(receive, send)
            self.log.add(LoggedRequest(method, unquote(raw_path), query, 0, 0, False))
            return
        # Salesforce has the whole request before it works on it: a client that goes away
        # while it works does not undo the work (which is what a crash mid-batch looks like)
        body = await _read_body(receive)
        delay = sleep_for(faults)
        if delay:
            await asyncio.sleep(delay)
        resp, counted = self.handle(org, method, raw_path, query, headers, body, faults)
        self.log.add(
            LoggedRequest(
                method, unquote(raw_path), query, resp.status, len(body), counted,
                headers.get("sforce-call-options"),
            )
        )  # fmt: skip
        await _send(send, resp)

    async def _drop(self, receive: Receive, send: Send) -> None:
        # uvicorn's h11 protocol binds `send` to the request cycle, which owns the transport.
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is None:
            raise RuntimeError("cannot drop the connection: no transport on this ASGI server")
        transport.close()
        try:
            async with asyncio.timeout(2):
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            pass

    def handle(
        self, org: Org, method: str, raw_path: str, query: str, headers: dict[str, str],
        body: bytes, faults: list[Fault],
    ) -> tuple[ApiResponse, bool]:  # fmt: skip
        """The response, and whether the request counted against the daily allocation."""
        error = next((f for f in faults if f.kind == "error"), None)
        path = unquote(raw_path)
        if path.rstrip("/") in ("/services/oauth2/token", "/services/oauth2/revoke"):
            if error is not None:
                return _fault_response(error), False
            return self._oauth(org, method, path.rstrip("/"), headers, body), False
        if path.rstrip("/") == "/services/data" and method == "GET":
            return ApiResponse(200, org.versions()), False
        m = _DATA.fullmatch(raw_path)
        if m is None:
            return error_response(not_found()), False
        resp, counted = self._data(org, method, m, query, headers, body, error)
        resp.headers["Sforce-Limit-Info"] = org.limits.usage()
        return resp, counted

    def _data(
        self, org: Org, method: str, m: re.Match[str], query: str, headers: dict[str, str],
        body: bytes, error: Fault | None,
    ) -> tuple[ApiResponse, bool]:  # fmt: skip
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if auth and scheme.lower() not in ("bearer", "oauth"):
            return error_response(SfError(401, "INVALID_AUTH_HEADER", "INVALID_AUTH_HEADER")), False
        if not token.strip() or not org.sessions.touch(token.strip()):
            return error_response(
                SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")
            ), False
        version = m.group(1)
        if not org.supports(version):
            return error_response(not_found()), False
        if error is not None and error.status in _UNCOUNTED_FAULTS:
            return _fault_response(error), False
        if not org.limits.take():
            limit = SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            return error_response(limit), False
        if error is not None:
            return _fault_response(error), True
        req = ApiRequest(
            method.upper(),
            (m.group(2) or "").rstrip("/"),
            version,
            dict(parse_qsl(query, keep_blank_values=True)),
            body,
            headers,
        )
        return self.router.dispatch(org, req), True

    def _oauth(
        self, org: Org, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> ApiResponse:
        if method != "POST":
            return error_response(
                SfError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{method}' not allowed. Allowed are POST",
                )
            )
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        no_store = {"Cache-Control": "no-store"}
        if path.endswith("/revoke"):
            org.sessions.revoke(form.get("token", ""))
            return ApiResponse(200, None, headers=no_store)
        try:
            grant_type, scope = grant(org.creds, form, headers.get("authorization"))
        except OAuthError as err:
            return ApiResponse(400, err.body(), headers=no_store)
        token = org.sessions.issue()
        answer = token_body(
            org.creds, token, grant_type, scope, self.base_url, org.org_id, org.user_id
        )
        return ApiResponse(200, answer, headers=no_store)


def _fault_response(fault: Fault) -> ApiResponse:
    return error_response(SfError(fault.status, fault.error_code, fault.message))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(bytes(message.get("body", b"")))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, resp: ApiResponse) -> None:
    payload = resp.encoded()
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers.items()]
    if payload:
        ctype = (
            "application/json;charset=UTF-8"
            if resp.media_type == "application/json"
            else resp.media_type
        )
        headers.append((b"content-type", ctype.encode()))
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": resp.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
