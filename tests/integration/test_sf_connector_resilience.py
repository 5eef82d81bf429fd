"""Faults the stand-in injects and what the connector does: back off and retry locks,
outages, dropped connections and the concurrency limit; give up at once on a bad request;
space requests out near the API floor; stop when the day's allocation is gone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sf_support import Harness, calls, standin_and_connector
from sfstandin import Fault

from callbridge.adapters.crm.salesforce.errors import SalesforceError, SalesforceUnavailable
from callbridge.adapters.crm.salesforce.retry import Backoff
from callbridge.domain.crm.records import ConnectorState, LookupKey, RecordType

COLLECTIONS = r"/composite/sobjects/Task/"


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with standin_and_connector(f"sqlite:///{tmp_path / 'cb.db'}", tmp_path) as h:
        yield h


@pytest.mark.parametrize(
    "fault",
    [
        Fault.unable_to_lock_row(path=COLLECTIONS, times=2),
        Fault.server_unavailable(path=COLLECTIONS, times=2),
        Fault.drop(path=COLLECTIONS, times=2),
        Fault.concurrent_limit(path=COLLECTIONS, times=2),
    ],
    ids=["UNABLE_TO_LOCK_ROW", "503", "dropped", "REQUEST_LIMIT_EXCEEDED"],
)
def test_transient_failures_are_retried_after_a_backoff(harness: Harness, fault: Fault) -> None:
    harness.standin.inject(fault)
    results = harness.connector.log_activities(calls(3))
    assert all(r.ok for r in results)
    assert len(harness.standin.records("Task")) == 3
    tries = [r for r in harness.standin.requests() if "/composite/sobjects/Task/" in r.path]
    assert len(tries) == 3
    assert len(harness.sleeps) == 2
    assert 0.25 <= harness.sleeps[0] <= 0.5 and 0.5 <= harness.sleeps[1] <= 1.0  # growing
    assert harness.connector.health().state is ConnectorState.CONNECTED


def test_a_lasting_outage_gives_up_with_retryable_results_and_health_down(
    harness: Harness,
) -> None:
    harness.standin.inject(Fault.server_unavailable(path=COLLECTIONS))
    results = harness.connector.log_activities(calls(2))
    assert [(r.ok, r.retryable) for r in results] == [(False, True), (False, True)]
    assert "SERVER_UNAVAILABLE" in (results[0].error or "")
    assert len(harness.sleeps) == Backoff().attempts - 1
    assert all(wait <= Backoff().max_s for wait in harness.sleeps)
    health = harness.connector.health()
    assert health.state is ConnectorState.DOWN and "SERVER_UNAVAILABLE" in health.detail
    harness.standin.clear_faults()
    assert all(r.ok for r in harness.connector.log_activities(calls(2)))
    assert harness.connector.health().state is ConnectorState.CONNECTED


def test_a_bad_request_is_not_retried(harness: Harness) -> None:
    with pytest.raises(SalesforceError, match="INVALID_FIELD") as caught:
        harness.connector.dialing_list("query:SELECT Id, Nope__c FROM Contact")
    assert not caught.value.retryable
    assert harness.sleeps == [] and harness.calls() == 1
    assert harness.connector.health().state is ConnectorState.CONNECTED  # it answered


def test_a_dropped_create_is_not_sent_twice(harness: Harness) -> None:
    harness.standin.inject(Fault.drop(path=r"/sobjects/Account/?$", times=1))
    with pytest.raises(SalesforceUnavailable):
        harness.connector.upsert_record(RecordType.ACCOUNT, {"Name": "Acme"})
    assert harness.standin.records("Account") == [] and harness.sleeps == []


def test_requests_are_spaced_out_below_the_api_floor(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cb.db'}"
    with standin_and_connector(url, tmp_path, overrides={"salesforce_api_floor": 20}) as h:
        h.standin.set_daily_limit(40)
        crm = h.connector
        for _ in range(7):  # two queries each: 14 of 40 used, 26 left, above the floor
            crm.lookup(LookupKey.EMAIL, "ann@example.org")
        assert h.sleeps == []
        assert crm.health().state is ConnectorState.CONNECTED
        for _ in range(6):  # down to 14 left, under the floor of 20
            crm.lookup(LookupKey.EMAIL, "ann@example.org")
        assert len(h.sleeps) >= 4
        assert h.sleeps == sorted(h.sleeps)  # the gap widens as the allocation shrinks
        health = crm.health()
        assert health.state is ConnectorState.DEGRADED
        assert (health.api_used, health.api_max) == (h.calls(), 40)
        assert "under the floor of 20" in health.detail


def test_a_spent_daily_allocation_is_not_hammered(harness: Harness) -> None:
    harness.connector.log_activities(calls(1))
    harness.standin.set_daily_limit(harness.calls())
    before = len(harness.standin.requests())
    results = harness.connector.log_activities(calls(3, start=1))
    assert all(not r.ok and r.retryable for r in results)
    assert len(harness.standin.requests()) == before + 1 and harness.sleeps == []
    health = harness.connector.health()
    assert health.state is ConnectorState.DOWN and "allocation is used up" in health.detail
