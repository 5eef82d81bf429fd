"""The connector's own OAuth against the stand-in: JWT bearer and client credentials, one
token reused, a new one after the session expires, and errors that say what to fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sf_support import Harness, settings_for, standin_and_connector
from sfstandin import Fault, StandIn, running_standin
from sqlalchemy import create_engine

from callbridge.adapters.crm.salesforce.build import build_connector
from callbridge.adapters.crm.salesforce.errors import SalesforceAuthError, SalesforceConfigError
from callbridge.app import SystemClock
from callbridge.domain.crm.records import ConnectorState, LookupKey, RecordType
from callbridge.services.security.crypto import FieldCipher, Keyring

TOKEN = "/services/oauth2/token"


def token_requests(standin: StandIn) -> int:
    return sum(1 for r in standin.requests() if r.path.rstrip("/") == TOKEN)


@pytest.fixture(params=["jwt", "client_credentials"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    url = f"sqlite:///{tmp_path / 'cb.db'}"
    with standin_and_connector(url, tmp_path, auth=request.param) as h:
        yield h


def test_both_flows_log_in_once_and_reuse_the_token(harness: Harness) -> None:
    crm = harness.connector
    assert token_requests(harness.standin) == 0  # nothing is sent before the first use
    ref = crm.upsert_record(RecordType.ACCOUNT, {"Name": "Acme", "AccountNumber": "A-1"})
    assert [m.ref for m in crm.lookup(LookupKey.ACCOUNT_NUMBER, "A-1")] == [ref]
    assert crm.get_record(ref) is not None
    assert token_requests(harness.standin) == 1
    assert harness.calls() == 3


def test_an_expired_session_is_renewed_once_and_the_call_goes_through(harness: Harness) -> None:
    crm = harness.connector
    ref = crm.upsert_record(RecordType.ACCOUNT, {"Name": "Acme"})
    harness.standin.expire_sessions()
    record = crm.get_record(ref)
    assert record is not None and record.name == "Acme"
    assert token_requests(harness.standin) == 2
    statuses = [r.status for r in harness.standin.requests() if r.path.endswith(ref.id)]
    assert statuses == [401, 200]
    assert harness.sleeps == []  # a renewal is not a backoff


def test_a_session_refused_again_after_renewal_is_an_auth_error(harness: Harness) -> None:
    harness.standin.inject(Fault.invalid_session(path="/sobjects/"))
    with pytest.raises(SalesforceAuthError, match="INVALID_SESSION_ID"):
        harness.connector.upsert_record(RecordType.ACCOUNT, {"Name": "Acme"})
    assert token_requests(harness.standin) == 2
    assert harness.connector.health().state is ConnectorState.DOWN


def test_every_data_request_says_who_sent_it(harness: Harness) -> None:
    harness.connector.upsert_record(RecordType.ACCOUNT, {"Name": "Acme"})
    data = [r for r in harness.standin.requests() if r.path.startswith("/services/data/")]
    assert data and all(r.call_options == "client=callbridge" for r in data)


@pytest.mark.parametrize(
    ("auth", "override", "expected"),
    [
        ("client_credentials", {"salesforce_client_secret": "wrong"}, "invalid_client"),
        ("jwt", {"salesforce_audience": "https://test.salesforce.com"},
         "Audience validation failed"),
        ("jwt", {"salesforce_username": "someone@else.example"}, "invalid_grant"),
    ],
)  # fmt: skip
def test_a_refused_login_names_the_oauth_error_and_health_is_down(
    tmp_path: Path, auth: str, override: dict[str, str], expected: str
) -> None:
    url = f"sqlite:///{tmp_path / 'cb.db'}"
    with standin_and_connector(url, tmp_path, auth=auth, overrides=override) as h:
        with pytest.raises(SalesforceAuthError, match=expected):
            h.connector.lookup(LookupKey.EMAIL, "ann@example.org")
        health = h.connector.health()
        assert health.state is ConnectorState.DOWN and expected in health.detail
        assert h.calls() == 0 and h.sleeps == []  # a wrong setting is not retried


@pytest.mark.parametrize(
    ("auth", "missing", "setting"),
    [
        ("jwt", {"salesforce_client_id": None}, "salesforce_client_id"),
        ("jwt", {"salesforce_username": ""}, "salesforce_username"),
        ("jwt", {"salesforce_private_key_file": None}, "salesforce_private_key_file"),
        ("jwt", {"salesforce_private_key_file": Path("/nonexistent/key.pem")},
         "salesforce_private_key_file"),
        ("client_credentials", {"salesforce_client_secret": None}, "salesforce_client_secret"),
        ("jwt", {"salesforce_ca_file": Path("/nonexistent/ca.pem")}, "salesforce_ca_file"),
    ],
)  # fmt: skip
def test_a_missing_setting_is_named(
    tmp_path: Path, auth: str, missing: dict[str, object], setting: str
) -> None:
    with running_standin() as standin:
        settings = settings_for(standin, tmp_path, auth=auth)
    settings = settings.model_copy(update=missing)
    engine = create_engine("sqlite://")
    try:
        with pytest.raises(SalesforceConfigError, match=setting) as caught:
            build_connector(settings, engine, FieldCipher(Keyring.generate()), SystemClock())
    finally:
        engine.dispose()
    assert caught.value.details["setting"] == setting
