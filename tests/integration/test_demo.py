"""`callbridge demo`: seeds the embedded database, then runs a live center over HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests_support import free_port

from callbridge.app import build
from callbridge.domain.agents import AgentState
from callbridge.settings import Settings


def run_demo(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "callbridge", "demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_seed_only_creates_the_demo_center(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    done = subprocess.run(
        [sys.executable, "-m", "callbridge", "demo", "--seed-only", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "created" in done.stderr
    app = build(Settings(database_url=f"sqlite:///{db}"), run_timer_loop=False)
    try:
        assert sorted(app.runtime.center.queues) == ["billing", "sales", "support"]
        assert len(app.runtime.center.agents) == 12
        assert len(app.runtime.center.dispositions) == 5
    finally:
        app.close()
    again = subprocess.run(
        [sys.executable, "-m", "callbridge", "demo", "--seed-only", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "reused" in again.stderr


def test_the_demo_serves_a_live_center(tmp_path: Path) -> None:
    port = free_port()
    proc = run_demo(
        "--db",
        str(tmp_path / "demo.db"),
        "--port",
        str(port),
        "--duration",
        "15",
        "--arrivals-per-minute",
        "240",
    )
    assert proc.stdout is not None
    token = None
    output = []
    deadline = time.monotonic() + 30
    while token is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        output.append(line)
        if match := re.search(r"admin token\s+(\S+)", line):
            token = match.group(1)
    assert token, "".join(output)
    headers = {"Authorization": f"Bearer {token}"}
    base = f"http://127.0.0.1:{port}"
    busy_seen = created_seen = False
    while time.monotonic() < deadline and not (busy_seen and created_seen):
        try:
            agents = httpx.get(f"{base}/agents", headers=headers, timeout=2).json()
            events = httpx.get(
                f"{base}/events", params={"limit": 1000}, headers=headers, timeout=2
            ).json()
        except httpx.TransportError:
            time.sleep(0.3)
            continue
        busy_seen = busy_seen or any(
            a["state"] in (AgentState.BUSY, AgentState.RESERVED, AgentState.WRAP_UP) for a in agents
        )
        created_seen = created_seen or any(e["kind"] == "interaction_created" for e in events)
        time.sleep(0.3)
    assert busy_seen and created_seen
    assert httpx.get(f"{base}/queues", timeout=2).status_code == 401
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(output) + rest
    assert re.search(r"stopped: [1-9]\d* simulated interaction", rest), rest
