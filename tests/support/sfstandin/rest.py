"""The REST layer's vocabulary: a request, a response, and a router with Salesforce's 404/405."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sfstandin.errors import SfError, json_parser_error, not_found

if TYPE_CHECKING:
    from sfstandin.org import Org


@dataclass
class ApiRequest:
    """A data API request; `path` is relative to `/services/data/vNN.0`, without trailing slash."""

    method: str
    path: str
    version: str
    query: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    def json(self) -> Any:
        if not self.body.strip():
            raise json_parser_error("No content to map due to end-of-input")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise json_parser_error(f"Unexpected character: {exc}") from exc

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise json_parser_error("Cannot deserialize instance of object from START_ARRAY")
        return data

    @property
    def origin(self) -> str | None:
        """`changeOrigin` for the change log, from `Sforce-Call-Options: client=...`."""
        options = self.headers.get("sforce-call-options", "")
        m = re.search(r"client=([^,;\s]+)", options)
        client = f";client={m.group(1)}" if m else ""
        return f"com/salesforce/api/rest/{self.version}{client}"


@dataclass
class ApiResponse:
    status: int
    body: Any = None  # JSON-able, or text when media_type is not JSON
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.status == 204 or self.body is None:
            return b""
        if self.media_type == "application/json":
            return json.dumps(self.body).encode()
        return str(self.body).encode()


def error_response(err: SfError) -> ApiResponse:
    return ApiResponse(err.status, err.rest_body())


Handler = Callable[["Org", ApiRequest, tuple[str, ...]], ApiResponse]


class Router:
    """Routes on the raw path (so `%2F` in an external id stays inside its segment)."""

    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = []

    def add(self, pattern: str, **handlers: Handler) -> None:
        self._routes.append((re.compile(pattern, re.IGNORECASE), handlers))

    def dispatch(self, org: Org, req: ApiRequest) -> ApiResponse:
        try:
            for pattern, handlers in self._routes:
                m = pattern.fullmatch(req.path)
                if m is None:
                    continue
                handler = handlers.get(req.method.upper())
                if handler is None:
                    allowed = ",".join(sorted(handlers))
                    raise SfError(
                        405,
                        "METHOD_NOT_ALLOWED",
                        f"HTTP Method '{req.method.upper()}' not allowed. Allowed are {allowed}",
                    )
                return handler(org, req, tuple(unquote(g) for g in m.groups()))
            raise not_found()
        except SfError as err:
            return error_response(err)
