"""`callbridge demo`: seeds the embedded database, then runs a live center over HTTP."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from media_support import MediaOffer, build_sdp, free_udp_port, sip_caller
from tests_support import free_port

from callbridge.app import build
from callbridge.domain.agents import AgentState
from callbridge.settings import Settings

FLOWS = Path(__file__).resolve().parents[2] / "examples" / "flows"


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
        # the three simulated queues, the one real calls to sip:demo enter, and web chats'
        assert sorted(app.runtime.center.queues) == [
            "billing",
            "demo-calls",
            "demo-chat",
            "sales",
            "support",
        ]
        assert len(app.runtime.center.agents) == 13  # twelve simulated, and "you"
        you = app.accounts.store.get_user_by_username("you")
        assert you is not None and you.agent_id == "you" and you.sip_digest is not None
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


async def _call_demo(sip_port: int) -> MediaOffer:
    sdp = build_sdp("127.0.0.1", free_udp_port(), 0, 101)
    async with sip_caller(("127.0.0.1", sip_port), sdp, user="demo") as placed:
        return placed.answer


def test_the_demo_serves_a_live_center(tmp_path: Path) -> None:
    port, sip_port = free_port(), free_udp_port()
    proc = run_demo(
        "--db",
        str(tmp_path / "demo.db"),
        "--port",
        str(port),
        "--duration",
        "15",
        "--arrivals-per-minute",
        "240",
        "--sip-port",
        str(sip_port),
        "--flows",
        str(FLOWS),
    )
    assert proc.stdout is not None
    token = desk = None
    output = []
    deadline = time.monotonic() + 30
    phone_line = False
    while not (token and desk and phone_line) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        output.append(line)
        if match := re.search(r"admin token\s+(\S+)", line):
            token = match.group(1)
        if match := re.search(r"\(user you, password (\S+)\)", line):
            desk = match.group(1)
        phone_line = phone_line or "Real calls: register a softphone as you@" in line
    assert token and desk, "".join(output)
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
    # the demo answers the phone: a call to sip:demo is taken, into the demo-phone flow
    answered = asyncio.run(_call_demo(sip_port))
    assert answered.port > 0
    entered, after = [], 0
    while page := httpx.get(
        f"{base}/events", params={"after_id": after, "limit": 1000}, headers=headers, timeout=5
    ).json():
        entered += [e["payload"]["flow"] for e in page if e["kind"] == "ivr_entered"]
        after = page[-1]["id"]
    assert entered == ["demo-phone"]
    # web chat is on: a customer's chat waits in demo-chat, and the printed login opens the
    # desk of the agent who serves it
    started = httpx.post(
        f"{base}/chat",
        json={"queue_id": "demo-chat", "from": "visitor@example.com", "message": "Hello?"},
        timeout=5,
    )
    assert started.status_code == 201, started.text
    chat = httpx.get(f"{base}/interactions/{started.json()['interaction_id']}", headers=headers)
    assert chat.json()["queue_id"] == "demo-chat" and chat.json()["channel"] == "chat"
    with httpx.Client(base_url=base, timeout=5) as browser:
        login = browser.post("/auth/login", json={"username": "you", "password": desk})
        assert login.status_code == 200 and login.json()["mfa"] == "none", login.text
        assert browser.get("/agent").status_code == 200
    assert httpx.get(f"{base}/queues", timeout=2).status_code == 401
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(output) + rest
    assert re.search(r"stopped: [1-9]\d* simulated interaction", rest), rest
