"""The outbox under faults, against the Salesforce stand-in: a CRM outage while interactions
keep ending, and the worker killed (SIGKILL) in the middle of a batch. Either way every
interaction arrives in Salesforce exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sf_support import settings_for
from sfstandin import Fault, StandIn, running_standin
from tests_support import free_port

from callbridge.adapters.store.engine import make_engine
from callbridge.adapters.store.outbox import Outbox, Status
from callbridge.app import App, build
from callbridge.domain.clock import ManualClock
from callbridge.services.crm_sync.delivery import ActivityLog
from callbridge.services.security.crypto import FieldCipher, Keyring
from callbridge.settings import Settings

TOKEN = "faults-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SF_KEYS = (
    "crm",
    "salesforce_auth",
    "salesforce_token_url",
    "salesforce_client_id",
    "salesforce_client_secret",
    "salesforce_username",
    "salesforce_private_key_file",
    "salesforce_audience",
    "salesforce_api_version",
    "salesforce_ca_file",
    "salesforce_api_floor",
)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with running_standin() as running:
        yield running


def sf_settings(standin: StandIn, tmp_path: Path) -> dict[str, Any]:
    full = settings_for(standin, tmp_path)
    return {key: getattr(full, key) for key in SF_KEYS}


def setup(client: TestClient) -> None:
    assert client.post("/queues", json={"id": "support", "name": "Support"}).status_code == 201
    assert client.post("/agents", json={"id": "bob", "name": "Bob"}).status_code == 201
    client.post("/agents/bob/login")
    client.put("/agents/bob/state", json={"state": "ready"})


def handle_calls(client: TestClient, clock: ManualClock, count: int, start: int = 0) -> list[str]:
    done = []
    for n in range(start, start + count):
        made = client.post(
            "/interactions",
            json={"channel": "voice", "from": f"+1415555{n:04d}", "queue_id": "support"},
        )
        assert made.status_code == 201, made.text
        iid = made.json()["interaction"]["id"]
        assert (
            client.post(f"/interactions/{iid}/accept", json={"agent_id": "bob"}).status_code == 200
        )
        clock.advance(30)
        client.post(f"/interactions/{iid}/end", json={"by": "agent", "agent_id": "bob"})
        client.post(f"/interactions/{iid}/wrap-up", json={"agent_id": "bob"})
        done.append(iid)
    return done


def tasks_by_interaction(standin: StandIn) -> Counter[str]:
    return Counter(str(t.get("CC_SessionId__c")) for t in standin.records("Task"))


def test_an_outage_delays_but_loses_and_duplicates_nothing(
    standin: StandIn, tmp_path: Path
) -> None:
    clock = ManualClock(1_800_000_000.0)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cb.db'}",
        admin_token=SecretStr(TOKEN),
        keys=SecretStr(Keyring.generate().to_json()),
        **sf_settings(standin, tmp_path),
    )
    app: App = build(settings, clock=clock, run_timer_loop=False)
    log: ActivityLog = app.api.state.activity_log
    try:
        client = TestClient(app.api, headers=AUTH)  # no lifespan: the test drives the worker
        setup(client)
        first = handle_calls(client, clock, 10)
        assert log.deliver_due().delivered == 10
        # Salesforce goes down: every write fails, with 503s and dropped connections
        standin.inject(Fault.server_unavailable(path="composite"))
        later = handle_calls(client, clock, 15, start=10)
        for _ in range(3):
            report = log.deliver_due()
            assert report.delivered == 0 and report.retried > 0
            clock.advance(400)  # past any backoff
        standin.clear_faults()
        standin.inject(Fault.drop(path="composite", times=1))  # one more blip on the way back
        delivered = 0
        for _ in range(10):
            delivered += log.deliver_due().delivered
            clock.advance(400)
        assert delivered == 15
        counts = tasks_by_interaction(standin)
        assert set(counts) == set(first + later) and set(counts.values()) == {1}
        assert log.outbox.stats(clock.now())["pending"] == 0.0
    finally:
        app.close()


def toml(values: dict[str, Any]) -> str:
    """Settings as a TOML file, the way an admin writes them."""
    lines = []
    for key, value in values.items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, bool | int | float):
            lines.append(f"{key} = {str(value).lower() if isinstance(value, bool) else value}")
        else:
            lines.append(f"{key} = {json.dumps(str(value))}")
    return "\n".join(lines) + "\n"


def serve(config: Path, port: int, keys: str) -> subprocess.Popen[str]:
    env = os.environ | {
        "CALLBRIDGE_ADMIN_TOKEN": TOKEN,
        "CALLBRIDGE_KEYS": keys,
        "CALLBRIDGE_CRM_OUTBOX_INTERVAL_S": "0.2",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "callbridge", "serve", "--config", str(config), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def searches(standin: StandIn) -> int:
    return sum(1 for r in standin.requests() if "/search" in r.path)


def wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"serve did not come up on port {port}")


def test_a_worker_killed_mid_batch_delivers_each_once_after_restart(
    standin: StandIn, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    keys = Keyring.generate().to_json()
    db = tmp_path / "cb.db"
    sf = sf_settings(standin, tmp_path)
    clock = ManualClock(time.time() - 3600)  # the calls ended an hour ago: due at once
    app = build(
        Settings(
            database_url=f"sqlite:///{db}", admin_token=SecretStr(TOKEN), keys=SecretStr(keys), **sf
        ),
        clock=clock,
        run_timer_loop=False,
    )
    try:
        client = TestClient(app.api, headers=AUTH)
        setup(client)
        ended = handle_calls(client, clock, 40)
    finally:
        app.close()
    config = tmp_path / "cb.toml"
    config.write_text(toml({"database_url": f"sqlite:///{db}", **sf}))

    # the CRM takes its time: the first batch is still in flight when the worker dies
    standin.inject(Fault.latency(4.0, path="composite/sobjects", times=1))
    port = free_port()
    proc = serve(config, port, keys)
    try:
        wait_up(port)
        # the worker first finds who each call was with (a SOSL search per unknown caller),
        # then sends the batch; the stand-in logs a request when it has answered it
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and searches(standin) < len(ended):
            time.sleep(0.05)
        time.sleep(1.0)  # the batch is in the stand-in's hands now, not answered yet
        assert not any("composite" in r.path for r in standin.requests())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    time.sleep(4.5)  # Salesforce finishes the write the dead worker never heard back about
    written = tasks_by_interaction(standin)
    engine = make_engine(f"sqlite:///{db}")
    request.addfinalizer(engine.dispose)
    outbox = Outbox(engine, FieldCipher(Keyring.from_json(keys, "test")))
    assert sum(written.values()) > 0, "nothing was in flight when the worker died"
    assert outbox.stats(0.0)["delivered"] == 0.0  # and the outbox never heard it went through

    again = serve(config, port, keys)
    try:
        wait_up(port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and outbox.stats(0.0)["delivered"] < len(ended):
            time.sleep(0.2)
    finally:
        again.send_signal(signal.SIGINT)
        again.communicate(timeout=30)
    assert outbox.stats(0.0)["delivered"] == float(len(ended))
    counts = tasks_by_interaction(standin)
    assert set(counts) == set(ended) and set(counts.values()) == {1}
    assert [r for r in outbox.rows(Status.PENDING)] == []
