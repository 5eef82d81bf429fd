"""A database outage loses nothing: the change is refused whole, and work resumes after."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text

from callbridge.app import App, build
from callbridge.domain.clock import ManualClock
from callbridge.services.security.crypto import Keyring
from callbridge.settings import Settings

TOKEN = "outage-token"


@pytest.fixture
def pg_database(postgres_admin: Engine) -> Iterator[str]:
    name = f"cb_outage_{secrets.token_hex(4)}"
    with postgres_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with postgres_admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def outage(admin: Engine, name: str, down: bool) -> None:
    with admin.connect() as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(not down).lower()}')
        if down:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )


def body(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_postgres_outage_refuses_changes_whole_and_recovers(
    postgres_admin: Engine, pg_database: str
) -> None:
    url = postgres_admin.url.set(database=pg_database).render_as_string(hide_password=False)
    app: App = build(
        Settings(
            database_url=url,
            admin_token=SecretStr(TOKEN),
            keys=SecretStr(Keyring.generate().to_json()),
        ),
        clock=ManualClock(1_800_000_000.0),
        run_timer_loop=False,
    )
    try:
        with TestClient(app.api, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            body(client.post("/queues", json={"id": "q", "name": "Q"}), 201)
            body(client.post("/agents", json={"id": "ann", "name": "Ann"}), 201)
            body(client.post("/agents/ann/login"))
            first = body(
                client.post(
                    "/interactions",
                    json={"channel": "chat", "from": "a@example.com", "queue_id": "q"},
                ),
                201,
            )
            assert body(client.get("/agents/ann"))["state"] == "not_ready"

            outage(postgres_admin, pg_database, down=True)
            refused = client.put("/agents/ann/state", json={"state": "ready"})
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "storage_error"
            assert body(client.get("/healthz"), 503) == {"status": "degraded"}
            assert client.get("/agents/ann").status_code == 503  # no stale reads either
            also = client.post(
                "/interactions", json={"channel": "chat", "from": "b@example.com", "queue_id": "q"}
            )
            assert also.status_code == 503

            outage(postgres_admin, pg_database, down=False)
            ready = body(client.put("/agents/ann/state", json={"state": "ready"}))
            assert ready["state"] == "reserved"  # the stored chat was offered at once
            assert body(client.get("/healthz")) == {"status": "ok"}
            iid = first["interaction"]["id"]
            assert body(client.get(f"/interactions/{iid}"))["agent_id"] == "ann"
            kinds = [e["kind"] for e in body(client.get("/events", params={"limit": 1000}))]
            assert kinds.count("interaction_created") == 1  # the refused one left no trace
    finally:
        app.close()
