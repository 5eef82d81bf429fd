"""Admission control for new calls: a cap on concurrent calls and a cap on new calls per second.

Only new inbound INVITEs are checked. Above either cap they get `503 Service Unavailable` with
`Retry-After`, before any other work is done for them; re-INVITEs and every other request in
an established dialog pass, so the calls already up are unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass

from callbridge.adapters.telephony.sip.timers import Clock


@dataclass(frozen=True)
class AdmissionLimits:
    """`max_calls`: concurrent inbound calls (ringing or answered; a B2BUA call counts once).
    `max_call_rate`: new inbound INVITEs admitted per second (a token bucket holding one
    second's worth). None: no limit. `retry_after`: seconds, sent with each 503."""

    max_calls: int | None = None
    max_call_rate: float | None = None
    retry_after: int = 5


class Admission:
    """Decides, for each new INVITE, whether the process takes the call."""

    def __init__(self, limits: AdmissionLimits, clock: Clock) -> None:
        self.limits = limits
        self._clock = clock
        rate = limits.max_call_rate
        self._capacity = max(1.0, rate) if rate is not None else 0.0
        self._tokens = self._capacity
        self._refilled_at: float | None = None

    def admit(self, active_calls: int) -> bool:
        """True to take a new call while `active_calls` are in progress (takes a token)."""
        limits = self.limits
        if limits.max_calls is not None and active_calls >= limits.max_calls:
            return False
        if limits.max_call_rate is None:
            return True
        now = self._clock()
        if self._refilled_at is not None:
            elapsed = max(0.0, now - self._refilled_at)
            self._tokens = min(self._capacity, self._tokens + elapsed * limits.max_call_rate)
        self._refilled_at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
