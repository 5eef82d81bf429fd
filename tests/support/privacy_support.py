"""Customers with known phone numbers and email addresses, put through the real app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, MetaData, select

from callbridge.app import App, build
from callbridge.domain.clock import ManualClock
from callbridge.services.security.crypto import Keyring, write_key_file
from callbridge.settings import Settings

TOKEN = "privacy-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OUR_NUMBER = "+18005550199"
CAPACITY = {"voice": 1, "chat": 1, "email": 1, "sms": 1}


@dataclass(frozen=True)
class Customer:
    channel: str
    address: str  # as the customer arrives: E.164 or an email address
    forms: tuple[str, ...]  # every way the address could be written down in a file
    lookups: tuple[str, ...]  # ways of writing it that must find the customer (region US)
    account: str  # attached data
    callback: str | None  # a number to call back, in E.164
    callback_forms: tuple[str, ...]
    notes: str


CUSTOMERS = (
    Customer(
        "voice",
        "+14155550142",
        ("+14155550142", "4155550142", "415-555-0142", "(415) 555-0142"),
        ("+14155550142", "4155550142", "(415) 555-0142", "+1 415.555.0142"),
        "ACCT-7730981",
        "+14155550177",
        ("+14155550177", "4155550177"),
        "Wanted the Henderson invoice reissued",
    ),
    Customer(
        "email",
        "jane.doe@example.org",
        ("jane.doe@example.org", "JANE.DOE@EXAMPLE.ORG"),
        ("jane.doe@example.org", " Jane.Doe@Example.org "),
        "ACCT-5512094",
        None,
        (),
        "Asked to close the Doe family plan",
    ),
    Customer(
        "sms",
        "+442079460318",
        ("+442079460318", "2079460318", "02079460318"),
        ("+442079460318", "+44 20 7946 0318", "+44 (0)20 7946 0318"),
        "ACCT-3398127",
        None,
        (),
        "Prefers contact after six",
    ),
)


def secrets_of(customer: Customer) -> list[str]:
    """Every string that would give the customer away, in the formats it could appear in."""
    found = [*customer.forms, *customer.callback_forms, customer.account, customer.notes]
    return [s for s in found if s]


def make_app(database_url: str, tmp_path: Path, clock: ManualClock) -> App:
    """SQLite keeps its key file next to the database (the default); PostgreSQL gets one.

    The outbox worker waits an hour between looks, so whether an activity has reached the
    built-in CRM when a request runs is the test's choice (`deliver_activities`), not a race."""
    key_file = None if database_url.startswith("sqlite") else tmp_path / "callbridge.keys"
    if key_file is not None and not key_file.exists():
        write_key_file(key_file, Keyring.generate())  # what `callbridge keys generate` does
    settings = Settings(
        database_url=database_url,
        admin_token=SecretStr(TOKEN),
        key_file=key_file,
        crm_outbox_interval_s=3600.0,
    )
    return build(settings, clock=clock, run_timer_loop=False)


def deliver_activities(app: App) -> int:
    """What the outbox worker does on its next look: the queued activities into the CRM."""
    activity_log = app.api.state.activity_log
    assert activity_log is not None
    delivered: int = activity_log.deliver_due().delivered
    return delivered


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def setup_center(client: TestClient) -> None:
    ok(
        client.post("/queues", json={"id": "care", "name": "Care", "wrap_up": {"duration_s": 120}}),
        201,
    )
    ok(client.post("/agents", json={"id": "ann", "name": "Ann", "capacity": CAPACITY}), 201)
    ok(client.post("/agents/ann/login"))


def serve_customer(client: TestClient, customer: Customer) -> str:
    """Arrive, maybe ask for a callback, get answered, end, wrapped up with notes; the id."""
    created = ok(
        client.post(
            "/interactions",
            json={
                "channel": customer.channel,
                "from": customer.address,
                "to": OUR_NUMBER,
                "queue_id": "care",
                "attached": {"account": customer.account},
            },
        ),
        201,
    )
    iid: str = created["interaction"]["id"]
    if customer.callback:
        ok(client.post(f"/interactions/{iid}/callback", json={"number": customer.callback}))
    ok(client.put("/agents/ann/state", json={"state": "ready"}))
    ok(client.post(f"/interactions/{iid}/accept", json={"agent_id": "ann"}))
    ok(client.post(f"/interactions/{iid}/end", json={"by": "agent", "agent_id": "ann"}))
    ok(
        client.post(
            f"/interactions/{iid}/wrap-up", json={"agent_id": "ann", "notes": customer.notes}
        )
    )
    ok(client.put("/agents/ann/state", json={"state": "not_ready", "reason": "break"}))
    return iid


def raw_sqlite(database_url: str) -> bytes:
    """The database file and its write-ahead log, byte for byte."""
    path = Path(database_url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def dump_tables(engine: Engine) -> str:
    """Every row of every table in the database, as text (PostgreSQL, or SQLite through SQL)."""
    meta = MetaData()
    meta.reflect(engine)
    parts: list[str] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            parts.extend(repr(tuple(row)) for row in conn.execute(select(table)))
    return "\n".join(parts)
