"""Counters the stack keeps for tests, benchmarks and the metrics exporter."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SipCounters:
    """Monotonic counts plus one gauge (`active_dialogs`); read them with `snapshot()`."""

    requests_received: int = 0
    responses_received: int = 0
    retransmissions_sent: int = 0
    malformed_dropped: int = 0
    bad_request_sent: int = 0
    admitted: int = 0
    refused_503: int = 0
    active_dialogs: int = 0

    def snapshot(self) -> dict[str, int]:
        """The values under their exported names (`bad_request_sent` is `400_sent`)."""
        return {
            "requests_received": self.requests_received,
            "responses_received": self.responses_received,
            "retransmissions_sent": self.retransmissions_sent,
            "malformed_dropped": self.malformed_dropped,
            "400_sent": self.bad_request_sent,
            "admitted": self.admitted,
            "refused_503": self.refused_503,
            "active_dialogs": self.active_dialogs,
        }
