"""The stand-in's API allocation, limits header, request log and injected faults (§7, §10)."""

from __future__ import annotations

import time

import pytest
import requests
import sfstandin_fixture
from sfstandin import Fault, StandIn
from sfstandin_fixture import content_of, rest, sobject
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

# fixtures, bound to names here (an import shadowed by a parameter trips ruff's F811)
salesforce = sfstandin_fixture.salesforce
salesforce_client = sfstandin_fixture.salesforce_client


def test_limit_header_counts_calls_and_limits_endpoint_agrees(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    salesforce_client.query("SELECT Id FROM Contact")
    assert salesforce_client.api_usage["api-usage"].used == 1
    assert salesforce_client.api_usage["api-usage"].total == 15000
    sobject(salesforce_client, "Contact").create({"LastName": "X"})
    limits = salesforce_client.limits()  # the limits call itself counts
    assert limits["DailyApiRequests"] == {"Max": 15000, "Remaining": 14997}
    assert salesforce_client.api_usage["api-usage"].used == 3
    assert salesforce.api_calls() == 3


def test_exhausted_allocation_gives_403_request_limit_exceeded(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    salesforce.set_daily_limit(2)
    salesforce_client.limits()
    salesforce_client.limits()
    with pytest.raises(SalesforceRefusedRequest) as caught:
        salesforce_client.limits()
    assert content_of(caught.value) == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert salesforce.api_calls() == 2
    assert salesforce.requests()[-1].status == 403 and not salesforce.requests()[-1].api_call


def test_request_log_records_method_path_status_and_call_options(salesforce: StandIn) -> None:
    with salesforce.http_session() as s:
        s.post(
            salesforce.token_url,
            data={"grant_type": "client_credentials"},
            auth=(salesforce.client_id, salesforce.client_secret),
            timeout=10,
        )
        s.post(
            f"{salesforce.base_url}/services/data/v62.0/sobjects/Contact/",
            json={"LastName": "Logged"},
            timeout=10,
            headers={
                "Authorization": f"Bearer {salesforce.issue_token()}",
                "Sforce-Call-Options": "client=cc-connector",
            },
        )
    token, create = salesforce.requests()
    assert (token.path, token.status, token.api_call) == ("/services/oauth2/token", 200, False)
    assert (create.method, create.path, create.status) == (
        "POST",
        "/services/data/v62.0/sobjects/Contact/",
        201,
    )
    assert create.api_call and create.body_size > 0
    assert create.call_options == "client=cc-connector"
    assert salesforce.changes()[-1].origin == "com/salesforce/api/rest/62.0;client=cc-connector"


@pytest.mark.parametrize(
    ("fault", "status", "code", "error"),
    [
        (Fault.unable_to_lock_row(times=1), 400, "UNABLE_TO_LOCK_ROW", SalesforceMalformedRequest),
        (Fault.server_unavailable(times=1), 503, "SERVER_UNAVAILABLE", SalesforceGeneralError),
        (Fault.concurrent_limit(times=1), 403, "REQUEST_LIMIT_EXCEEDED", SalesforceRefusedRequest),
        (Fault.invalid_session(times=1), 401, "INVALID_SESSION_ID", SalesforceExpiredSession),
    ],
)
def test_error_faults_fire_the_next_n_times(
    salesforce: StandIn,
    salesforce_client: Salesforce,
    fault: Fault,
    status: int,
    code: str,
    error: type[Exception],
) -> None:
    salesforce.inject(fault)
    with pytest.raises(error) as caught:
        sobject(salesforce_client, "Contact").create({"LastName": "Retry me"})
    assert getattr(caught.value, "status", None) == status
    assert getattr(caught.value, "content", None)[0]["errorCode"] == code  # type: ignore[index]
    assert salesforce.records("Contact") == []
    assert sobject(salesforce_client, "Contact").create({"LastName": "Retry me"})["success"]
    counted = 2 if status not in (401, 403) else 1
    assert salesforce.api_calls() == counted


def test_faults_match_path_and_method_and_every_kth(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    salesforce.inject(
        Fault.server_unavailable(path=r"/composite/sobjects", method="PATCH", every=2)
    )
    body = {"records": [{"attributes": {"type": "Task"}, "CC_SessionId__c": "x"}]}
    outcomes = []
    for _ in range(4):
        try:
            rest(
                salesforce_client,
                "composite/sobjects/Task/CC_SessionId__c",
                method="PATCH",
                json=body,
            )
            outcomes.append("ok")
        except SalesforceGeneralError:
            outcomes.append("503")
    salesforce_client.limits()  # other paths are untouched
    assert outcomes == ["ok", "503", "ok", "503"]
    salesforce.clear_faults()
    rest(salesforce_client, "composite/sobjects/Task/CC_SessionId__c", method="PATCH", json=body)


def test_latency_fault_delays_the_answer(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    salesforce.inject(Fault.latency(0.3, path=r"/limits", times=1))
    started = time.monotonic()
    salesforce_client.limits()
    slow = time.monotonic() - started
    started = time.monotonic()
    salesforce_client.limits()
    fast = time.monotonic() - started
    assert slow >= 0.3 and fast < 0.3


def test_dropped_connection_closes_without_a_response(salesforce: StandIn) -> None:
    salesforce.inject(Fault.drop(path=r"/sobjects/Contact", times=1))
    url = f"{salesforce.base_url}/services/data/v62.0/sobjects/Contact/"
    headers = {"Authorization": f"Bearer {salesforce.issue_token()}"}
    with salesforce.http_session() as s:
        with pytest.raises(requests.ConnectionError):
            s.post(url, json={"LastName": "Lost"}, headers=headers, timeout=10)
        retried = s.post(url, json={"LastName": "Lost"}, headers=headers, timeout=10)
    assert retried.status_code == 201
    dropped = salesforce.requests()[0]
    assert (dropped.status, dropped.api_call) == (0, False)
    assert len(salesforce.records("Contact")) == 1


def test_fault_on_the_token_endpoint(salesforce: StandIn) -> None:
    salesforce.inject(Fault.server_unavailable(path=r"^/services/oauth2/token$", times=1))
    with salesforce.http_session() as s:
        form = {"grant_type": "client_credentials"}
        auth = (salesforce.client_id, salesforce.client_secret)
        first = s.post(salesforce.token_url, data=form, auth=auth, timeout=10)
        second = s.post(salesforce.token_url, data=form, auth=auth, timeout=10)
    assert (first.status_code, second.status_code) == (503, 200)


def test_reset_gives_a_fresh_org(salesforce: StandIn) -> None:
    salesforce.insert("Account", {"Name": "Old"})
    salesforce.inject(Fault.server_unavailable())
    token = salesforce.issue_token()
    salesforce.reset()
    assert salesforce.records("Account") == [] and salesforce.api_calls() == 0
    with salesforce.http_session() as s:
        resp = s.get(
            f"{salesforce.base_url}/services/data/v62.0/limits",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    assert resp.status_code == 401  # sessions belong to the old org
