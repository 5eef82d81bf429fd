"""The one place where error codes become HTTP statuses and bodies."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from callbridge.domain.errors import CallbridgeError
from callbridge.domain.security.accounts import Unauthorized

__all__ = ["STATUS_BY_CODE", "Unauthorized", "error_body", "install"]

STATUS_BY_CODE: dict[str, int] = {
    "not_found": 404,
    "already_exists": 409,
    "invalid_input": 422,
    "invalid_campaign": 422,  # a campaign file: the message names the line and field
    "invalid_list": 422,  # a dialing-list upload: the message names the line and column
    "flow_invalid": 422,  # an IVR flow: the message names the file, line and node
    "hours_invalid": 422,  # business hours: `field` names the day, date or setting
    "invalid_state": 409,
    "agent_unavailable": 409,
    "storage_error": 503,
    "unauthorized": 401,
    "forbidden": 403,
    "locked_out": 429,
    "rate_limited": 429,  # too many of something from one address (web chats started)
    "mfa_required": 401,
    "key_error": 500,
    "decryption_error": 500,
    "bad_signature": 401,  # a webhook request whose signature does not check out
    "not_configured": 503,  # a feature whose settings are not set (inbound webhooks)
}


def error_body(code: str, message: str, details: dict[str, object]) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "details": details}}


def install(app: FastAPI) -> None:
    @app.exception_handler(CallbridgeError)
    async def callbridge_error(request: Request, exc: CallbridgeError) -> JSONResponse:
        details: dict[str, object] = {
            k: v if isinstance(v, str | int | float | bool | None) else str(v)
            for k, v in exc.details.items()
        }
        headers: dict[str, str] | None = None
        if exc.code == "unauthorized":
            headers = {"WWW-Authenticate": "Bearer"}
        elif exc.code == "locked_out" and isinstance(exc.details.get("retry_after_s"), int):
            headers = {"Retry-After": str(max(1, int(str(exc.details["retry_after_s"]))))}
        return JSONResponse(
            error_body(exc.code, exc.message, details),
            status_code=STATUS_BY_CODE.get(exc.code, 400),
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems: list[dict[str, str]] = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            problems.append({"field": ".".join(loc) or "body", "message": str(err.get("msg"))})
        first = problems[0] if problems else {"field": "body", "message": "invalid"}
        details: dict[str, object] = {"field": first["field"], "problems": problems}
        message = f"{first['field']}: {first['message']}"
        return JSONResponse(
            error_body("invalid_input", message, details),
            status_code=422,
        )
