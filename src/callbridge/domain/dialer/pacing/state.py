"""What a pacer sees of a campaign at one instant: its agents and its calls in flight.

The dialer service builds one from the ACD and the telephony adapter; the simulation from its
own bookkeeping. Times are seconds on the caller's clock (`now` and the `*_since` moments).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from callbridge.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class PacingState:
    """A campaign's agents and calls at `now`.

    `ready` counts agents free to take this campaign's next call after the inbound blending
    reserve; `waiting` the answered calls no agent has taken yet (each will take the next free
    agent within the grace). `talking_since` and `wrapping_since` hold when each busy agent's
    talk or wrap-up began; `in_flight` when each call still ringing was dialled. `logged_in`
    counts every agent signed in to the campaign, busy or not (only the VICIdial baselines use
    it). `remaining_s` is how long the campaign may still dial in the current regulatory
    window (its calling hours left in it), used to spread the abandonment budget.
    """

    now: float
    ready: int
    waiting: int = 0
    talking_since: Collection[float] = ()
    wrapping_since: Collection[float] = ()
    in_flight: Collection[float] = ()
    logged_in: int | None = None
    remaining_s: float | None = None

    def __post_init__(self) -> None:
        if self.ready < 0 or self.waiting < 0:
            raise InvalidInput("ready agents and waiting calls cannot be negative", field="ready")

    @property
    def agents(self) -> int:
        """Agents working the campaign: ready, talking or wrapping up."""
        if self.logged_in is not None:
            return self.logged_in
        return self.ready + len(self.talking_since) + len(self.wrapping_since)

    @property
    def uncommitted(self) -> int:
        """Ready agents not already spoken for by a waiting or ringing call (progressive)."""
        return self.ready - self.waiting - len(self.in_flight)
