"""Importing a national do-not-call registry download, and its 31-day rule at dial time."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callbridge.domain.dialer.dnc import DncBook, DncScope
from callbridge.domain.dialer.ids import CampaignId
from callbridge.domain.errors import InvalidInput
from callbridge.services.dnc_registry import load_registry, parse_registry

OBTAINED = datetime(2026, 3, 1, tzinfo=UTC)
DOWNLOAD = """# FTC National DNC Registry, area code 212
2125550100
212,5550101
(212) 555-0102
not a number

+1 212 555 0103
"""


def test_a_download_becomes_a_copy_of_e164_numbers(tmp_path: Path) -> None:
    path = tmp_path / "212.txt"
    path.write_text(DOWNLOAD, encoding="utf-8")
    loaded = load_registry(path, "US", OBTAINED)
    assert loaded.copy.numbers == {"+12125550100", "+12125550101", "+12125550102", "+12125550103"}
    assert loaded.copy.obtained_at == OBTAINED
    assert (loaded.rejected, loaded.examples) == (1, ((5, "not a number"),))


def test_the_copy_dates_from_the_file_when_not_told(tmp_path: Path) -> None:
    path = tmp_path / "tps.txt"
    path.write_text("020 7123 4567\n", encoding="utf-8")
    stamp = datetime(2026, 1, 15, 9, 0, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    loaded = load_registry(path, "GB", name="TPS")
    assert loaded.copy.numbers == {"+442071234567"} and loaded.copy.name == "TPS"
    assert loaded.copy.obtained_at == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def test_an_old_copy_stops_the_dialling(tmp_path: Path) -> None:
    copy = parse_registry(DOWNLOAD.splitlines(), OBTAINED).copy
    book = DncBook.of(registry=copy)
    campaign = CampaignId("renewals")
    fresh = OBTAINED + timedelta(days=31)
    assert book.check("+13055550100", campaign, fresh, timedelta(days=31)).blocked is False
    stale = book.check("+13055550100", campaign, fresh + timedelta(days=1), timedelta(days=31))
    assert stale.scope is DncScope.STALE_REGISTRY


def test_unreadable_files_and_naive_dates_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot be read"):
        load_registry(tmp_path / "missing.txt")
    with pytest.raises(InvalidInput, match="time zone"):
        parse_registry([], datetime(2026, 3, 1))  # noqa: DTZ001
