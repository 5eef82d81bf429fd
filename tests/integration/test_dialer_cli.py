"""`callbridge dialer report` and `dialer import-dnc` on a real database (SQLite and
PostgreSQL), reading the keys the server sealed the numbers with."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from security_support import TOKEN, make_app
from typer.testing import CliRunner

from callbridge.cli.main import app as cli
from callbridge.domain.clock import ManualClock
from callbridge.domain.dialer.attempts import NumberHistory, RecordProgress
from callbridge.domain.dialer.dnc import DncScope
from callbridge.domain.dialer.ids import CampaignId, RecordId
from callbridge.domain.ids import DispositionCode
from callbridge.ports import CampaignCall
from callbridge.services.campaigns import Campaigns
from callbridge.services.security.crypto import Keyring

NOW = 1_800_000_000.0
SOURCE = """campaign: renewals
name: Spring renewals
mode: power
compliance: {profile: us}
time_zone: America/New_York
caller_id: "+12125550100"
seller: {name: Acme Insurance, phone: "+12125550199"}
lists: [{list: march}]
"""
MESSAGE = "This call was made on behalf of Acme Insurance"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> str:
    ring = Keyring.generate().to_json()
    monkeypatch.setenv("CALLBRIDGE_KEYS", ring)
    return ring


@pytest.fixture
def dialled(database_url: str, keys: str) -> str:
    """A database with a running campaign that made 50 calls, 2 of them abandoned."""
    built = make_app(database_url, ManualClock(NOW), keys=SecretStr(keys))
    try:
        with TestClient(built.api, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            headers = {"content-type": "application/yaml"}
            assert client.post("/campaigns", content=SOURCE, headers=headers).status_code == 201
            assert client.post("/campaigns/renewals/start").status_code == 200
        campaigns: Campaigns = built.api.state.campaigns
        campaign = campaigns.get("renewals")
        started = campaign.status.first_started
        assert started is not None
        for n in range(50):
            at = started + timedelta(minutes=n)
            dropped = n in (10, 20)
            number = f"+1415555{n:04d}"
            campaigns.store.record_call(
                CampaignCall(
                    call_id=f"c{n:02d}",
                    campaign_id=CampaignId("renewals"),
                    record_id=RecordId(f"r{n}"),
                    number=number,
                    dialled_at=at,
                    ended_at=at + timedelta(seconds=40),
                    disposition=DispositionCode("DROP" if dropped else "SALE"),
                    window=campaign.campaign.profile.window_of(
                        started, at, campaign.campaign.zone
                    ).key,
                    answered_at=at + timedelta(seconds=8),
                    live=True,
                    abandoned=dropped,
                    message=MESSAGE if dropped else None,
                ),
                RecordProgress(1, None, True, DispositionCode("SALE")),
                NumberHistory(number, (at,)),
            )
    finally:
        built.close()
    return database_url


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_the_report_prints_windows_and_abandoned_calls(dialled: str) -> None:
    code, output = run("dialer", "report", "renewals", "--database-url", dialled)
    assert code == 0, output
    assert "2 abandoned of 50 live answers (4.00%)" in output
    assert "ABOVE the 3% cap" in output
    assert "+*******0010" in output and "+14155550010" not in output
    assert "c20" in output and "period 1 from" in output


def test_the_report_as_json_and_as_csv(dialled: str) -> None:
    code, output = run("dialer", "report", "renewals", "--json", "--database-url", dialled)
    assert code == 0, output
    data = json.loads(output)
    (window,) = data["windows"]
    assert (window["live"], window["abandoned"]) == (50, 2)
    assert [c["message"] for c in window["abandoned_calls"]] == [MESSAGE, MESSAGE]

    code, output = run("dialer", "report", "renewals", "--csv", "--database-url", dialled)
    assert code == 0, output
    rows = list(csv.DictReader(io.StringIO(output)))
    assert [r["kind"] for r in rows] == ["window", "abandoned", "abandoned"]
    assert [r["number"] for r in rows[1:]] == ["+*******0010", "+*******0020"]

    code, output = run("dialer", "report", "renewals", "--json", "--csv", "--database-url", dialled)
    assert code == 2 and "not both" in output
    code, output = run("dialer", "report", "nope", "--database-url", dialled)
    assert code == 2 and "no campaign nope" in output


def test_import_dnc_keeps_the_registry_copy(dialled: str, tmp_path: Path, keys: str) -> None:
    download = tmp_path / "dnc.txt"
    download.write_text("# FTC\n415,5550010\n(415) 555-0011\n12\n", encoding="utf-8")
    code, output = run(
        "dialer", "import-dnc", str(download), "--obtained", "2026-11-20", "--region", "US",
        "--database-url", dialled,
    )  # fmt: skip
    assert code == 0, output
    assert "imported 2 number(s)" in output and "1 line(s) were not numbers" in output
    assert "line 4: 12" in output

    built = make_app(dialled, ManualClock(NOW), keys=SecretStr(keys))
    try:
        campaigns: Campaigns = built.api.state.campaigns
        book = campaigns.store.dnc_book(CampaignId("renewals"))
    finally:
        built.close()
    assert book.registry is not None
    assert book.registry.obtained_at == datetime(2026, 11, 20, tzinfo=UTC)
    at = datetime(2026, 11, 21, tzinfo=UTC)
    verdict = book.check("+14155550011", CampaignId("renewals"), at, timedelta(days=31))
    assert verdict.scope is DncScope.REGISTRY

    code, output = run(
        "dialer",
        "import-dnc",
        str(download),
        "--obtained",
        "last tuesday",
        "--database-url",
        dialled,
    )
    assert code == 2 and "--obtained" in output
