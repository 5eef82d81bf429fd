"""`benchmarks/realtime.py --json --quick` runs within 30 s and prints the report it promises:
every client got every event once, and how fast."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"clients", "events_per_s", "p50_ms", "p99_ms", "lost", "repeated", "server_cpu_pct"}


def test_a_quick_run_delivers_every_event_once_to_every_client() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "realtime.py"), "--json", "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout)  # stdout is the JSON object only; progress is on stderr
    assert report.keys() >= KEYS
    assert report["clients"] == 100 and report["events"] >= 400
    assert (report["lost"], report["repeated"]) == (0, 0)
    assert report["deliveries"] == report["clients"] * report["events"]
    assert 0 < report["p50_ms"] <= report["p99_ms"]
    assert report["server_cpu_pct"] > 0
    assert took < 30, f"--quick took {took:.1f} s"
