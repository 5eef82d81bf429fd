"""Do-not-call: who must not be called, checked at dial time.

Three sources, each blocking on its own:
- the internal (company-specific) list: people who asked this company not to call them
  (16 CFR 310.4(b)(1)(iii)(A); 47 CFR 64.1200(d)). Each entry has the moment it takes effect
  (honoured at once by default; the FCC allows up to ten business days, and a request may be
  recorded ahead) and, optionally, when it lapses (a request is kept at least five years);
- campaign lists: numbers one campaign must not call (a client's suppression list);
- the national registry (the FTC's National DNC Registry in the US, TPS/CTPS in the UK), from a
  downloaded copy. A copy older than the profile allows (31 days in the US: 310.4(b)(3)(iv))
  stops the campaign dialling at all, not just those numbers: the safe harbour is lost. Express
  written consent or an established business relationship (18 months after a purchase, 3 after
  an inquiry) lifts the registry block for a number, never the internal one.
Numbers are E.164 strings; normalising them is the caller's job (services.security.crypto).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from callbridge.domain.dialer.ids import CampaignId
from callbridge.domain.errors import InvalidInput

EBR_PURCHASE = timedelta(days=548)  # 18 months
EBR_INQUIRY = timedelta(days=91)  # 3 months


@dataclass(frozen=True, slots=True)
class DncEntry:
    """A number on the internal or a campaign list, blocking from `effective_at` until
    `expires_at` (None: for good)."""

    number: str
    effective_at: datetime
    expires_at: datetime | None = None
    source: str = "callbridge"

    def __post_init__(self) -> None:
        if self.expires_at is not None and self.expires_at <= self.effective_at:
            raise InvalidInput(
                "a do-not-call entry must expire after it starts", field="expires_at"
            )

    def blocks(self, at: datetime) -> bool:
        return self.effective_at <= at and (self.expires_at is None or at < self.expires_at)


@dataclass(frozen=True, slots=True)
class RegistryCopy:
    """A downloaded copy of the national registry: its numbers, and when it was obtained."""

    obtained_at: datetime
    numbers: frozenset[str]
    name: str = "national registry"

    def age(self, at: datetime) -> timedelta:
        return at - self.obtained_at


class ExemptionKind(StrEnum):
    CONSENT = "consent"  # express written agreement
    PURCHASE = "purchase"  # established business relationship: a purchase or transaction
    INQUIRY = "inquiry"  # established business relationship: an inquiry or application


@dataclass(frozen=True, slots=True)
class Exemption:
    """Why a registered number may still be called, from when; consent lasts until revoked."""

    number: str
    kind: ExemptionKind
    since: datetime
    revoked_at: datetime | None = None

    def covers(self, at: datetime) -> bool:
        if at < self.since or (self.revoked_at is not None and at >= self.revoked_at):
            return False
        if self.kind is ExemptionKind.PURCHASE:
            return at < self.since + EBR_PURCHASE
        if self.kind is ExemptionKind.INQUIRY:
            return at < self.since + EBR_INQUIRY
        return True


class DncScope(StrEnum):
    INTERNAL = "internal"
    CAMPAIGN = "campaign"
    REGISTRY = "registry"
    STALE_REGISTRY = "stale_registry"


@dataclass(frozen=True, slots=True)
class DncVerdict:
    blocked: bool
    scope: DncScope | None = None
    reason: str = ""


ALLOWED = DncVerdict(False)
_Numbered = TypeVar("_Numbered", DncEntry, Exemption)


@dataclass(frozen=True, slots=True)
class DncBook:
    """Every do-not-call source a dial is checked against."""

    internal: Mapping[str, tuple[DncEntry, ...]] = field(default_factory=dict)
    campaigns: Mapping[CampaignId, Mapping[str, tuple[DncEntry, ...]]] = field(default_factory=dict)
    registry: RegistryCopy | None = None
    exemptions: Mapping[str, tuple[Exemption, ...]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        internal: Iterable[DncEntry] = (),
        campaigns: Mapping[CampaignId, Iterable[DncEntry]] | None = None,
        registry: RegistryCopy | None = None,
        exemptions: Iterable[Exemption] = (),
    ) -> DncBook:
        return cls(
            _by_number(internal),
            {cid: _by_number(entries) for cid, entries in (campaigns or {}).items()},
            registry,
            _by_number(exemptions),
        )

    def check(
        self,
        number: str,
        campaign: CampaignId,
        at: datetime,
        registry_max_age: timedelta | None,
    ) -> DncVerdict:
        """May `campaign` call `number` at `at`? `registry_max_age` is the profile's limit on
        the registry copy's age (None: the profile screens no registry)."""
        if any(e.blocks(at) for e in self.internal.get(number, ())):
            return DncVerdict(True, DncScope.INTERNAL, "on the internal do-not-call list")
        if any(e.blocks(at) for e in self.campaigns.get(campaign, {}).get(number, ())):
            return DncVerdict(True, DncScope.CAMPAIGN, "on the campaign's do-not-call list")
        if registry_max_age is None:
            return ALLOWED
        copy = self.registry
        if copy is None:
            return DncVerdict(True, DncScope.STALE_REGISTRY, "no copy of the national registry")
        if copy.age(at) > registry_max_age:
            days = copy.age(at).days
            limit = registry_max_age.days
            why = f"the {copy.name} copy is {days} days old (at most {limit})"
            return DncVerdict(True, DncScope.STALE_REGISTRY, why)
        if number in copy.numbers and not any(
            x.covers(at) for x in self.exemptions.get(number, ())
        ):
            return DncVerdict(True, DncScope.REGISTRY, f"on the {copy.name}")
        return ALLOWED


def _by_number(items: Iterable[_Numbered]) -> dict[str, tuple[_Numbered, ...]]:
    grouped: dict[str, list[_Numbered]] = {}
    for item in items:
        grouped.setdefault(item.number, []).append(item)
    return {number: tuple(group) for number, group in grouped.items()}
