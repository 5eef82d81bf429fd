"""Privacy requests end to end: export a customer's data as one file, erase it (REST and CLI),
and check that it is gone from the API, the event log and the database file, and audited
without the personal data itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from privacy_support import (
    AUTH,
    CUSTOMERS,
    deliver_activities,
    make_app,
    ok,
    raw_sqlite,
    secrets_of,
    serve_customer,
    setup_center,
)
from sqlalchemy import select
from typer.testing import CliRunner

from callbridge.adapters.store.tables import audit_log, interaction_events, interactions
from callbridge.app import App
from callbridge.cli.main import app as cli
from callbridge.domain.clock import ManualClock

JANE = CUSTOMERS[1]  # the email customer
BOB = CUSTOMERS[0]  # the caller with a callback number


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[App]:
    built = make_app(database_url, tmp_path, ManualClock(1_800_000_000.0))
    yield built
    built.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app.api, headers=AUTH) as c:
        setup_center(c)
        yield c


def audit_entries(app: App) -> list[dict[str, Any]]:
    with app.store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(select(audit_log)).mappings()]


def sealed_values(app: App, iid: str) -> list[str]:
    """The ciphertexts stored for one interaction and its events, as they are on disk."""
    with app.store.engine.connect() as conn:
        row = conn.execute(select(interactions).where(interactions.c.id == iid)).mappings().one()
        payloads = conn.execute(
            select(interaction_events.c.payload).where(interaction_events.c.interaction_id == iid)
        ).scalars()
        found = [str(row[c]) for c in ("from_address", "callback_number", "notes") if row[c]]
        found += list(row["attached"].values())
        for payload in payloads:
            found += [v for k, v in payload.items() if k in ("from_address", "notes", "number")]
            found += list(payload.get("attached", {}).values())
    assert all(v.startswith("enc:1:") for v in found)
    return found


def test_export_holds_everything_about_the_subject_and_nothing_else(
    app: App, client: TestClient
) -> None:
    ids = [serve_customer(client, c) for c in CUSTOMERS]
    again = serve_customer(client, BOB)
    response = client.get("/privacy/export", params={"address": "(415) 555-0142"})
    document = ok(response)
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert document["format"] == "callbridge.privacy-export/1"
    exported = document["holders"]["interactions"]
    assert sorted(ix["id"] for ix in exported) == sorted([ids[0], again])
    first = exported[0]
    assert first["from_address"] == BOB.address
    assert first["callback_number"] == BOB.callback
    assert first["attached"] == {"account": BOB.account}
    assert first["notes"] == BOB.notes
    kinds = [e["kind"] for e in first["events"]]
    assert kinds[0] == "interaction_created" and "callback_requested" in kinds
    assert first["events"][0]["payload"]["from_address"] == BOB.address
    text = json.dumps(document)
    for other in (JANE, CUSTOMERS[2]):
        for secret in secrets_of(other):
            assert secret not in text
    # found through the callback number too
    by_callback = ok(client.get("/privacy/export", params={"address": "+1 415 555 0177"}))
    found = sorted(ix["id"] for ix in by_callback["holders"]["interactions"])
    assert found == sorted([ids[0], again])
    [entry, _] = [e for e in audit_entries(app) if e["action"] == "privacy.export"]
    assert entry["object_id"] == document["subject"]["index"]
    assert entry["after"] == {
        "records": {"interactions": 2, "crm": 0, "crm_integration": 2, "campaigns": 0}
    }
    assert BOB.address not in json.dumps(entry, default=str)


def test_erasure_removes_the_data_everywhere_and_is_audited(
    app: App, client: TestClient, database_url: str
) -> None:
    ids = dict(
        zip(
            [c.address for c in CUSTOMERS],
            [serve_customer(client, c) for c in CUSTOMERS],
            strict=True,
        )
    )
    jane_id = ids[JANE.address]
    ciphertexts = sealed_values(app, jane_id)
    if database_url.startswith("sqlite"):
        before = raw_sqlite(database_url)
        assert all(value.encode() in before for value in ciphertexts)

    erased = ok(client.post("/privacy/erase", json={"address": "JANE.DOE@example.org"}))
    # the interaction, and its activity waiting in the outbox for the CRM
    counts = {"interactions": 1, "crm": 0, "crm_integration": 1, "campaigns": 0}
    assert erased["erased"] == counts and erased["total"] == 2

    ix = ok(client.get(f"/interactions/{jane_id}"))
    assert (ix["from"], ix["notes"], ix["attached"]) == (
        "[erased]",
        "[erased]",
        {"account": "[erased]"},
    )
    assert ix["state"] == "wrapped_up" and ix["channel"] == "email"  # the history stays
    for event in ok(client.get(f"/interactions/{jane_id}/events")):
        for key in ("from_address", "notes"):
            assert event["payload"].get(key, "[erased]") == "[erased]"
    assert ok(client.get("/interactions", params={"address": JANE.address})) == []
    assert ok(client.get("/privacy/export", params={"address": JANE.address}))["holders"] == {
        "interactions": [],
        "crm": [],
        "crm_integration": {"crm_activities_queued": [], "dialing_lists": [], "do_not_call": False},
        "campaigns": {
            "dialing_records": [],
            "calls": [],
            "campaign_do_not_call": [],
            "exemptions": [],
            "attempts": [],
        },
    }
    # the others are untouched
    bob = ok(client.get(f"/interactions/{ids[BOB.address]}"))
    assert bob["from"] == BOB.address and bob["notes"] == BOB.notes

    [entry] = [e for e in audit_entries(app) if e["action"] == "privacy.erase"]
    assert entry["actor"].startswith("user:") and entry["object_type"] == "data_subject"
    assert entry["object_id"] == erased["subject"] == app.store.cipher.index(JANE.address)
    assert entry["after"] == {"erased": counts, "total": 2}
    recorded = json.dumps(entry, default=str).lower()
    for secret in secrets_of(JANE):
        assert secret.lower() not in recorded

    if database_url.startswith("sqlite"):
        raw = raw_sqlite(database_url)  # the erasure checkpointed the log into the file
        for value in ciphertexts:
            assert value.encode() not in raw, value


def test_erasure_waits_while_an_interaction_is_open(client: TestClient) -> None:
    body = {"channel": "email", "from": JANE.address, "queue_id": "care"}
    iid = ok(client.post("/interactions", json=body), 201)["interaction"]["id"]
    refused = client.post("/privacy/erase", json={"address": JANE.address})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["details"]["in_use"] == "interactions: 1"
    assert ok(client.get(f"/interactions/{iid}"))["from"] == JANE.address


def test_privacy_routes_need_a_token(app: App) -> None:
    with TestClient(app.api) as anonymous:
        assert anonymous.get("/privacy/export", params={"address": "x@y.z"}).status_code == 401
        assert anonymous.post("/privacy/erase", json={"address": "x@y.z"}).status_code == 401


def test_the_cli_exports_to_a_file_and_erases(
    app: App, client: TestClient, database_url: str, tmp_path: Path
) -> None:
    iid = serve_customer(client, CUSTOMERS[2])
    assert deliver_activities(app) == 1  # logged in the built-in CRM: erased there too
    settings = ["--database-url", database_url]
    if app.settings.key_file is not None:  # PostgreSQL: no key file by default
        settings = ["--config", str(write_config(tmp_path, database_url, app.settings.key_file))]
    out = tmp_path / "export.json"
    runner = CliRunner()
    exported = runner.invoke(
        cli, ["privacy", "export", "02079460318", "--out", str(out), *settings]
    )
    assert exported.exit_code == 0, exported.output
    assert json.loads(out.read_text())["holders"]["interactions"] == []  # national: not +44
    out.unlink()
    exported = runner.invoke(
        cli, ["privacy", "export", "+44 20 7946 0318", "--out", str(out), *settings]
    )
    assert exported.exit_code == 0, exported.output
    assert out.stat().st_mode & 0o777 == 0o600
    [held] = json.loads(out.read_text())["holders"]["interactions"]
    assert held["id"] == iid and held["notes"] == CUSTOMERS[2].notes

    unconfirmed = runner.invoke(cli, ["privacy", "erase", "+442079460318", *settings])
    assert unconfirmed.exit_code == 2 and "--yes" in unconfirmed.output
    erased = runner.invoke(cli, ["privacy", "erase", "+442079460318", "--yes", *settings])
    assert erased.exit_code == 0, erased.output
    assert (
        "erased 3 record(s) (interactions: 1, crm: 1, crm_integration: 1, campaigns: 0)"
        in erased.output
    )
    assert ok(client.get(f"/interactions/{iid}"))["notes"] == "[erased]"
    actors = {(e["actor"], e["action"]) for e in audit_entries(app)}
    assert {("cli", "privacy.export"), ("cli", "privacy.erase")} <= actors


def write_config(tmp_path: Path, database_url: str, key_file: Path) -> Path:
    config = tmp_path / "callbridge.toml"
    config.write_text(f'database_url = "{database_url}"\nkey_file = "{key_file}"\n')
    return config
