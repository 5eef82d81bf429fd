"""RFC 3261 timer values (section 17 and table 4), configurable so tests can shrink them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
"""Seconds on a monotonic scale; `loop.time` unless a test injects another."""


@dataclass(frozen=True)
class Timers:
    """T1 (RTT estimate), T2 (max non-INVITE retransmit interval), T4 (max time a message stays
    in the network) and the values derived from them. Timer D is separate because RFC 3261 asks
    for at least 32 s over UDP, whatever T1 is; `trying` is how long an INVITE server
    transaction waits for the TU before it sends 100 Trying itself (17.2.1: 200 ms).
    """

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    d: float = 32.0
    trying: float = 0.2

    @property
    def transaction_timeout(self) -> float:
        """64*T1: timers B, F, H, J, L, M and the wait for an ACK to a 2xx."""
        return 64 * self.t1

    @staticmethod
    def fast(t1: float = 0.05) -> Timers:
        """Timers scaled down from T1 for tests (T2 = 8*T1, T4 = 10*T1, D = 64*T1)."""
        return Timers(t1=t1, t2=8 * t1, t4=10 * t1, d=64 * t1, trying=min(0.2, 4 * t1))
