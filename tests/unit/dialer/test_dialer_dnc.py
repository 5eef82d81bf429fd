"""Do-not-call: the internal list's dates, campaign lists, the registry and its copy's age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callbridge.domain.dialer.dnc import (
    DncBook,
    DncEntry,
    DncScope,
    Exemption,
    ExemptionKind,
    RegistryCopy,
)
from callbridge.domain.dialer.ids import CampaignId
from callbridge.domain.errors import InvalidInput

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
MONTH = timedelta(days=31)
RENEWALS = CampaignId("renewals")
NUMBER = "+12125550100"


def book(
    internal: list[DncEntry] | None = None,
    campaigns: dict[CampaignId, list[DncEntry]] | None = None,
    exemptions: list[Exemption] | None = None,
) -> DncBook:
    copy = RegistryCopy(NOW - timedelta(days=3), frozenset({"+13055550100"}))
    return DncBook.of(internal or [], campaigns, copy, exemptions or [])


def test_an_internal_entry_blocks_from_its_effective_date_until_it_lapses() -> None:
    entry = DncEntry(NUMBER, NOW + timedelta(days=1), NOW + timedelta(days=1830))
    b = book(internal=[entry])
    assert not b.check(NUMBER, RENEWALS, NOW, MONTH).blocked
    blocked = b.check(NUMBER, RENEWALS, NOW + timedelta(days=2), MONTH)
    assert (blocked.blocked, blocked.scope) == (True, DncScope.INTERNAL)
    assert not b.check(NUMBER, RENEWALS, NOW + timedelta(days=1831), None).blocked
    with pytest.raises(InvalidInput):
        DncEntry(NUMBER, NOW, NOW)


def test_a_campaign_list_blocks_only_its_campaign() -> None:
    b = book(campaigns={RENEWALS: [DncEntry(NUMBER, NOW)]})
    assert b.check(NUMBER, RENEWALS, NOW, MONTH).scope is DncScope.CAMPAIGN
    assert not b.check(NUMBER, CampaignId("other"), NOW, MONTH).blocked


def test_the_registry_blocks_its_numbers_unless_an_exemption_covers_them() -> None:
    registered = "+13055550100"
    assert book().check(registered, RENEWALS, NOW, MONTH).scope is DncScope.REGISTRY
    bought = Exemption(registered, ExemptionKind.PURCHASE, NOW - timedelta(days=100))
    asked = Exemption(registered, ExemptionKind.INQUIRY, NOW - timedelta(days=100))
    assert not book(exemptions=[bought]).check(registered, RENEWALS, NOW, MONTH).blocked
    assert book(exemptions=[asked]).check(registered, RENEWALS, NOW, MONTH).blocked  # > 3 months
    revoked = Exemption(registered, ExemptionKind.CONSENT, NOW - MONTH, NOW - timedelta(days=1))
    assert book(exemptions=[revoked]).check(registered, RENEWALS, NOW, MONTH).blocked


def test_an_exemption_never_lifts_the_internal_list() -> None:
    consent = Exemption(NUMBER, ExemptionKind.CONSENT, NOW - MONTH)
    b = book(internal=[DncEntry(NUMBER, NOW - MONTH)], exemptions=[consent])
    assert b.check(NUMBER, RENEWALS, NOW, MONTH).scope is DncScope.INTERNAL


def test_a_registry_copy_older_than_allowed_stops_every_dial() -> None:
    old = DncBook.of(registry=RegistryCopy(NOW - timedelta(days=32), frozenset()))
    verdict = old.check(NUMBER, RENEWALS, NOW, MONTH)
    assert (verdict.blocked, verdict.scope) == (True, DncScope.STALE_REGISTRY)
    assert "32 days old (at most 31)" in verdict.reason
    missing = DncBook.of().check(NUMBER, RENEWALS, NOW, MONTH)
    assert missing.scope is DncScope.STALE_REGISTRY
    assert not DncBook.of().check(NUMBER, RENEWALS, NOW, None).blocked  # no registry rule
