"""Dispositions: how a call ended, and what that does to its record.

An agent sets one after a connected call (sale, not interested, call back, do not call...);
the dialer sets the system ones for calls no agent took (no answer, busy, machine, abandoned,
unreachable). Each says what happens next: the record is finished, tried again after a delay,
or its number goes on the internal do-not-call list (and the record is finished).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import DispositionCode


class Effect(StrEnum):
    FINAL = "final"  # the record is done
    RETRY = "retry"  # try again after `retry_after_s`
    DNC = "dnc"  # the person asked not to be called: internal do-not-call, record done


@dataclass(frozen=True, slots=True)
class Disposition:
    """`human` says a person answered (it counts as a live answer); `contact` that the call
    reached the right party."""

    code: DispositionCode
    label: str
    effect: Effect
    retry_after_s: float | None = None
    human: bool = True
    contact: bool = True

    def __post_init__(self) -> None:
        if (self.effect is Effect.RETRY) != (self.retry_after_s is not None):
            raise InvalidInput(
                f"disposition {self.code}: a retry needs retry_after_s, and only a retry has one",
                field="retry_after_s",
            )
        if self.retry_after_s is not None and self.retry_after_s <= 0:
            raise InvalidInput(
                f"disposition {self.code}: retry_after_s must be positive", field="retry_after_s"
            )


# The dialer's own dispositions: what happened to calls no agent set one for.
NO_ANSWER = Disposition(DispositionCode("NA"), "No answer", Effect.RETRY, 3600.0, False, False)
BUSY = Disposition(DispositionCode("B"), "Busy", Effect.RETRY, 900.0, False, False)
MACHINE = Disposition(
    DispositionCode("AM"), "Answering machine", Effect.RETRY, 4 * 3600.0, False, False
)
ABANDONED = Disposition(
    DispositionCode("DROP"), "Abandoned (no agent)", Effect.RETRY, 3600.0, True, False
)
UNREACHABLE = Disposition(
    DispositionCode("DC"), "Unreachable", Effect.RETRY, 4 * 3600.0, False, False
)
INVALID = Disposition(
    DispositionCode("INVALID"), "Invalid number", Effect.FINAL, None, False, False
)
# Agentless calls: the message was heard to its end (no key, or another one), or the person
# pressed the transfer key and was queued (an agent who took the call may set their own).
MESSAGE_PLAYED = Disposition(
    DispositionCode("MSG"), "Message played", Effect.FINAL, None, True, False
)
TRANSFERRED = Disposition(
    DispositionCode("XFER"), "Pressed to talk: transferred to the queue", Effect.FINAL
)
SYSTEM = {
    d.code: d
    for d in (
        NO_ANSWER,
        BUSY,
        MACHINE,
        ABANDONED,
        UNREACHABLE,
        INVALID,
        MESSAGE_PLAYED,
        TRANSFERRED,
    )
}

# What a new campaign starts with for its agents; a campaign file replaces or extends them.
DEFAULT_AGENT = (
    Disposition(DispositionCode("SALE"), "Sale", Effect.FINAL),
    Disposition(DispositionCode("NI"), "Not interested", Effect.FINAL),
    Disposition(DispositionCode("CB"), "Call back", Effect.RETRY, 24 * 3600.0),
    Disposition(DispositionCode("DNC"), "Do not call", Effect.DNC),
    Disposition(DispositionCode("WN"), "Wrong number", Effect.FINAL, None, True, False),
)


def disposition_table(agent: Iterable[Disposition]) -> dict[DispositionCode, Disposition]:
    """The campaign's dispositions by code: the system ones and the agents' (codes unique)."""
    table = dict(SYSTEM)
    for d in agent:
        if d.code in table:
            raise InvalidInput(f"disposition code {d.code} is used twice", field="dispositions")
        table[d.code] = d
    return table
