"""What goes wrong talking to Salesforce, with stable codes (the web adapter maps codes)."""

from __future__ import annotations

from callbridge.domain.errors import CallbridgeError


class SalesforceError(CallbridgeError):
    """A Salesforce call that failed. `retryable`: the same call may work later (a lock, a
    limit, an outage); otherwise it was refused for what it asked."""

    code = "salesforce_error"

    def __init__(self, message: str, *, retryable: bool = False, **details: object) -> None:
        super().__init__(message, retryable=retryable, **details)
        self.retryable = retryable


class SalesforceAuthError(SalesforceError):
    """The token endpoint refused our credentials: a setting or the connected app is wrong."""

    code = "salesforce_auth_failed"


class SalesforceUnavailable(SalesforceError):
    """Salesforce did not answer, or kept answering with outages and limits after retries."""

    code = "salesforce_unavailable"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message, retryable=True, **details)


class SalesforceConfigError(CallbridgeError):
    """A salesforce_* setting is missing or unusable; `setting` names it."""

    code = "salesforce_config"
