"""The compliance report: windows, rates against the cap, abandoned calls with their message,
the UK false-positive estimate, masking, and the JSON and CSV renderings."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from dialer_helpers import CAMPAIGN, T0, campaign

from callbridge.domain.dialer.campaigns import Campaign
from callbridge.domain.dialer.report import (
    CSV_COLUMNS,
    compliance_report,
    mask,
    report_csv,
    report_json,
)
from callbridge.domain.ids import DispositionCode

UK = (
    CAMPAIGN.replace("{profile: us}", "{profile: uk}").replace("America/New_York", "Europe/London")
    + "amd: {enabled: true, false_positive_share: 0.1}\nopt_out_key: null\n"
)
MESSAGE = "This call was made on behalf of Acme Insurance ..."


@dataclass(frozen=True)
class Call:
    call_id: str
    number: str
    dialled_at: datetime
    window: str
    disposition: DispositionCode
    answered_at: datetime | None
    live: bool
    abandoned: bool
    message: str | None


def calls_for(
    c: Campaign,
    start: datetime,
    at: datetime,
    n: int,
    *,
    disposition: str = "SALE",
    answered_at: datetime | None = None,
    live: bool = False,
    abandoned: bool = False,
    message: str | None = None,
) -> list[Call]:
    """`n` calls at `at`, each in the window the profile puts it in."""
    window = c.profile.window_of(start, at, c.zone).key
    return [
        Call(
            f"{at:%m%d%H%M}-{i}",
            f"+1415555{i:04d}",
            at + timedelta(seconds=i),
            window,
            DispositionCode(disposition),
            answered_at,
            live,
            abandoned,
            message,
        )
        for i in range(n)
    ]


def test_us_windows_are_successive_thirty_day_periods_from_the_first_start() -> None:
    c = campaign()
    first = calls_for(c, T0, T0, 100, live=True, answered_at=T0)
    dropped = calls_for(
        c, T0, T0 + timedelta(hours=1), 2, live=True, abandoned=True, message=MESSAGE
    )
    later = T0 + timedelta(days=31)
    second = calls_for(c, T0, later, 30, live=True)
    second_drops = calls_for(c, T0, later + timedelta(hours=1), 2, live=True, abandoned=True)
    unanswered = calls_for(c, T0, T0 + timedelta(hours=2), 5, disposition="NA")
    report = compliance_report(c, T0, [*second, *second_drops, *first, *dropped, *unanswered])

    assert [w.key for w in report.windows] == [
        "period 1 from 2026-03-02",
        "period 2 from 2026-04-01",
    ]
    one, two = report.windows
    assert (one.dialled, one.live, one.abandoned) == (107, 102, 2)
    assert one.rate == pytest.approx(2 / 102) and one.within_cap
    assert one.start == datetime(2026, 3, 2, tzinfo=c.zone)
    assert one.end == datetime(2026, 4, 1, tzinfo=c.zone)
    assert (two.live, two.abandoned) == (32, 2) and not two.within_cap
    assert not report.within_cap and report.worst_rate == pytest.approx(2 / 32)
    assert report.rate == pytest.approx(4 / 134)
    assert [a.message for a in one.abandoned_calls] == [MESSAGE, MESSAGE]
    assert one.abandoned_calls[0].number == "+*******0000"


def test_uk_days_count_the_machine_false_positive_estimate() -> None:
    c = campaign(UK)
    day = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    live = calls_for(c, day, day, 60, live=True)
    machines = calls_for(c, day, day + timedelta(hours=1), 20, disposition="AM")
    drop = calls_for(c, day, day + timedelta(hours=2), 1, live=True, abandoned=True)
    report = compliance_report(c, day, [*live, *machines, *drop])
    (window,) = report.windows
    assert window.key == "2026-03-02"
    assert window.false_positives == pytest.approx(2.0)
    assert window.live == pytest.approx(63.0)  # 61 live answers and the estimate
    assert window.abandoned == pytest.approx(3.0)
    assert window.rate == pytest.approx(3 / 63) and not window.within_cap


def test_no_calls_no_windows_and_a_clean_report() -> None:
    report = compliance_report(campaign(), None, [])
    assert report.windows == () and report.rate == 0.0 and report.within_cap
    assert report_json(report)["windows"] == []
    assert report_csv(report).splitlines() == [",".join(CSV_COLUMNS)]


def test_without_a_first_start_the_first_call_opens_the_first_window() -> None:
    c = campaign()
    calls = calls_for(c, T0, T0, 3, live=True)
    (window,) = compliance_report(c, None, calls).windows
    assert window.start == datetime(2026, 3, 2, tzinfo=c.zone)


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+14155550123", "+*******0123"), ("+441632960001", "+********0001"), ("1234", "1234")],
)
def test_numbers_keep_only_their_last_four_digits(number: str, masked: str) -> None:
    assert mask(number) == masked


def test_json_and_csv_carry_the_same_windows_and_abandoned_calls() -> None:
    c = campaign()
    calls = [
        *calls_for(c, T0, T0, 10, live=True),
        *calls_for(c, T0, T0 + timedelta(minutes=5), 1, live=True, abandoned=True, message=MESSAGE),
    ]
    report = compliance_report(c, T0, calls)
    data = report_json(report)
    assert data["campaign_id"] == "renewals" and data["cap"] == 0.03
    windows = data["windows"]
    assert isinstance(windows, list) and len(windows) == 1
    (dropped,) = windows[0]["abandoned_calls"]
    assert dropped["message"] == MESSAGE and dropped["number"].endswith("0000")
    assert "+14155550000" not in report_csv(report)

    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert [r["kind"] for r in rows] == ["window", "abandoned"]
    assert rows[0]["live"] == "11" and rows[0]["abandoned"] == "1"
    assert rows[0]["within_cap"] == "false"  # 1 in 11 is 9 %
    assert rows[1]["message"] == MESSAGE and rows[1]["call_id"] == dropped["call_id"]
