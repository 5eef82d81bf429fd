"""Personal data at rest: after real customers went through the app, the database holds none
of their numbers, addresses, notes or attached data in plain text, yet the API reads and finds
them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from privacy_support import (
    AUTH,
    CUSTOMERS,
    OUR_NUMBER,
    make_app,
    ok,
    raw_sqlite,
    secrets_of,
    serve_customer,
    setup_center,
)
from privacy_support import dump_tables as dump

from callbridge.app import App
from callbridge.domain.clock import ManualClock

OUR_FORMS = (OUR_NUMBER, OUR_NUMBER[2:])


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[App]:
    built = make_app(database_url, tmp_path, ManualClock(1_800_000_000.0))
    yield built
    built.close()


@pytest.fixture
def served(app: App) -> Iterator[tuple[TestClient, list[str]]]:
    with TestClient(app.api, headers=AUTH) as client:
        setup_center(client)
        ids = [serve_customer(client, customer) for customer in CUSTOMERS]
        yield client, ids


def test_no_customer_data_is_stored_in_plain_text(
    app: App, served: tuple[TestClient, list[str]], database_url: str
) -> None:
    text = dump(app.store.engine)
    assert "enc:1:" in text  # the values are there, sealed
    stored = [raw_sqlite(database_url)] if database_url.startswith("sqlite") else []
    for secret in [s for c in CUSTOMERS for s in secrets_of(c)] + list(OUR_FORMS):
        assert secret not in text, secret
        for raw in stored:
            assert secret.encode() not in raw, secret


def test_the_keys_live_beside_the_database_never_in_it(
    app: App, served: tuple[TestClient, list[str]], database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        assert app.settings.key_file is not None
        key_file = app.settings.key_file
    else:
        db = Path(database_url.removeprefix("sqlite:///"))
        key_file = db.with_name(db.name + ".keys")
    assert key_file.stat().st_mode & 0o777 == 0o600
    ring = json.loads(key_file.read_text())
    keys = [*ring["keys"].values(), ring["index_key"]]
    text = dump(app.store.engine)
    raw = raw_sqlite(database_url) if database_url.startswith("sqlite") else b""
    for key in keys:
        assert key not in text
        assert base64.urlsafe_b64decode(key) not in raw


def test_the_api_still_reads_and_finds_everything(
    served: tuple[TestClient, list[str]],
) -> None:
    client, ids = served
    for customer, iid in zip(CUSTOMERS, ids, strict=True):
        ix = ok(client.get(f"/interactions/{iid}"))
        assert ix["from"] == customer.address
        assert ix["attached"] == {"account": customer.account}
        assert ix["callback_number"] == customer.callback
        assert ix["notes"] == customer.notes
        events = ok(client.get(f"/interactions/{iid}/events"))
        created = next(e for e in events if e["kind"] == "interaction_created")
        assert created["payload"]["from_address"] == customer.address
        assert created["payload"]["attached"] == {"account": customer.account}
        wrapped = next(e for e in events if e["kind"] == "interaction_wrapped_up")
        assert wrapped["payload"]["notes"] == customer.notes
        for form in customer.lookups:
            found = ok(client.get("/interactions", params={"address": form}))
            assert [f["id"] for f in found] == [iid], form
        for form in customer.callback_forms:
            found = ok(client.get("/interactions", params={"address": form}))
            assert [f["id"] for f in found] == [iid], form
    everyone = ok(client.get("/interactions", params={"address": "(800) 555-0199"}))
    assert sorted(f["id"] for f in everyone) == sorted(ids)
    assert ok(client.get("/interactions", params={"address": "+14155550000"})) == []
    assert (
        ok(client.get("/interactions", params={"address": "+442079460318", "state": "queued"}))
        == []
    )
