"""Reading Sforce-Limit-Info and slowing down near the floor."""

from __future__ import annotations

import pytest

from callbridge.adapters.crm.salesforce.limits import ApiUsage, Pacing, parse_limit_info


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("api-usage=18/5000", ApiUsage(18, 5000)),
        ("api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)",
         ApiUsage(25, 5000)),
        ("per-app-api-usage=17/250(appName=x); api-usage=30/15000", ApiUsage(30, 15000)),
        ("API-usage=garbage", None),
        ("", None),
        (None, None),
    ],
)  # fmt: skip
def test_limit_header(header: str | None, expected: ApiUsage | None) -> None:
    assert parse_limit_info(header) == expected


def test_per_app_usage_alone_is_not_the_org_usage() -> None:
    assert parse_limit_info("per-app-api-usage=17/250(appName=x)") is None


def test_remaining_never_negative() -> None:
    assert ApiUsage(5001, 5000).remaining == 0


def test_no_pacing_above_the_floor_or_without_usage() -> None:
    pacing = Pacing(floor=1000, max_gap_s=30)
    assert pacing.gap_s(None) == 0
    assert pacing.gap_s(ApiUsage(used=100, max=5000)) == 0
    assert pacing.gap_s(ApiUsage(used=4000, max=5000)) == 0  # exactly at the floor
    assert not pacing.throttled(ApiUsage(used=4000, max=5000))


def test_the_gap_grows_as_the_allocation_runs_out() -> None:
    pacing = Pacing(floor=1000, max_gap_s=30)
    gaps = [pacing.gap_s(ApiUsage(used=used, max=5000)) for used in (4001, 4500, 4900, 5000)]
    assert gaps == sorted(gaps)
    assert gaps[1] == pytest.approx(15.0)
    assert gaps[-1] == pytest.approx(30.0)
    assert pacing.throttled(ApiUsage(used=4001, max=5000))


def test_wait_counts_the_time_already_passed() -> None:
    pacing = Pacing(floor=1000, max_gap_s=30)
    usage = ApiUsage(used=4500, max=5000)  # gap 15 s
    assert pacing.wait_s(usage, since_last_s=10) == pytest.approx(5)
    assert pacing.wait_s(usage, since_last_s=20) == 0
    assert Pacing(floor=0).wait_s(ApiUsage(5000, 5000), 0) == 0  # floor 0: never slow down
