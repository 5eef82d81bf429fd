"""Errors with stable codes. The domain knows no HTTP status; the web adapter maps codes."""

from __future__ import annotations

from typing import ClassVar


class CallbridgeError(Exception):
    """Base error. `code` is stable across releases; `details` name what was wrong."""

    code: ClassVar[str] = "callbridge_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class NotFound(CallbridgeError):
    code = "not_found"


class AlreadyExists(CallbridgeError):
    code = "already_exists"


class InvalidInput(CallbridgeError):
    """Input that can never be valid; `field` names it."""

    code = "invalid_input"


class InvalidState(CallbridgeError):
    """A valid request that the current state does not allow (wrong transition, wrong agent)."""

    code = "invalid_state"


class AgentUnavailable(CallbridgeError):
    code = "agent_unavailable"


class StorageError(CallbridgeError):
    code = "storage_error"
