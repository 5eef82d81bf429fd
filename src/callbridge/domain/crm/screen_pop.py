"""Screen-pop rules: which keys to look a customer up by, per queue and direction, and what the
agent is shown: one record, a short list to pick from, or a new-record form (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from callbridge.domain.channels import Channel, Direction
from callbridge.domain.crm.records import CrmMatch, LookupKey, RecordRef
from callbridge.domain.interactions import Interaction

# IVR-collected data first (it is what the caller said), then the calling number or address.
DEFAULT_ORDER: dict[Direction, tuple[LookupKey, ...]] = {
    Direction.INBOUND: (
        LookupKey.CASE_NUMBER,
        LookupKey.ACCOUNT_NUMBER,
        LookupKey.PHONE,
        LookupKey.EMAIL,
    ),
    Direction.OUTBOUND: (LookupKey.PHONE, LookupKey.EMAIL),
}
# Where each key's value comes from in the interaction's attached data (set by an IVR).
ATTACHED_KEY = {
    LookupKey.CASE_NUMBER: "case_number",
    LookupKey.ACCOUNT_NUMBER: "account_number",
    LookupKey.EMAIL: "email",
    LookupKey.PHONE: "phone",
}
MAX_LISTED = 10


class Outcome(StrEnum):
    SINGLE = "single"  # pop that record
    MULTIPLE = "multiple"  # a short list to pick from; the activity waits for the pick
    NONE = "none"  # a new-record form, prefilled


@dataclass(frozen=True, slots=True)
class ScreenPopRules:
    """The lookup order per direction, and per queue where a queue differs."""

    default: Mapping[Direction, tuple[LookupKey, ...]] = field(
        default_factory=lambda: dict(DEFAULT_ORDER)
    )
    queues: Mapping[str, Mapping[Direction, tuple[LookupKey, ...]]] = field(default_factory=dict)

    def order(self, queue_id: str | None, direction: Direction) -> tuple[LookupKey, ...]:
        by_queue = self.queues.get(queue_id or "", {})
        return by_queue.get(direction) or self.default.get(direction, ())


def lookups(rules: ScreenPopRules, ix: Interaction) -> list[tuple[LookupKey, str]]:
    """The (key, value) pairs to try, in order, for this interaction."""
    customer = ix.from_address if ix.direction is Direction.INBOUND else ix.to_address
    out: list[tuple[LookupKey, str]] = []
    for key in rules.order(ix.queue_id, ix.direction):
        value = ix.attached.get(ATTACHED_KEY[key], "").strip()
        if not value and key is LookupKey.PHONE and ix.channel is not Channel.EMAIL:
            value = customer if "@" not in customer else ""
        if not value and key is LookupKey.EMAIL and "@" in customer:
            value = customer
        if value:
            out.append((key, value))
    return out


@dataclass(frozen=True, slots=True)
class ScreenPop:
    interaction_id: str
    outcome: Outcome
    matches: tuple[CrmMatch, ...]
    chosen: RecordRef | None = None
    chosen_by: str | None = None
    prefill: Mapping[str, str] = field(default_factory=dict)  # the new-record form, when none

    @property
    def record(self) -> RecordRef | None:
        """The record the interaction is with: the pick, or the only match."""
        if self.chosen is not None:
            return self.chosen
        if self.outcome is Outcome.SINGLE:
            return self.matches[0].ref
        return None


def decide(
    interaction_id: str, tried: Sequence[tuple[LookupKey, str]], found: Sequence[CrmMatch]
) -> ScreenPop:
    """The screen pop for what the first productive lookup found (`found` empty: none did)."""
    unique = tuple({m.ref: m for m in found}.values())[:MAX_LISTED]
    if len(unique) == 1:
        return ScreenPop(interaction_id, Outcome.SINGLE, unique)
    if unique:
        return ScreenPop(interaction_id, Outcome.MULTIPLE, unique)
    prefill: dict[str, str] = {}
    for key, value in tried:
        if key is LookupKey.PHONE:
            prefill.setdefault("Phone", value)
        elif key is LookupKey.EMAIL:
            prefill.setdefault("Email", value)
    return ScreenPop(interaction_id, Outcome.NONE, (), prefill=prefill)
