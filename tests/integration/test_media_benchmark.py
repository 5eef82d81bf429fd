"""`benchmarks/media.py` runs end to end and reports what it promises (on a small load).

How fast is the benchmark's business; this checks the report's shape and that a light load
(10 relayed pairs) crosses the engine without loss.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_run_reports_lag_cpu_and_loss() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "media.py"),
            *("--json", "--quick", "--calls", "10", "--seconds", "1", "--loops", "asyncio"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [point] = report["points"]["asyncio"]
    assert point["calls"] == 10 and point["event_loop"] == "asyncio"
    assert point["packets_sent"] == 2 * 10 * 50  # both legs of 10 pairs, 50 pps, 1 s
    assert point["packets_lost"] == 0
    for key in ("ticker_lag_p50_ms", "ticker_lag_p99_ms", "cpu_ms_per_call_s"):
        assert point[key] >= 0
    assert point["cpu_ms_per_call_s"] > 0
    assert report["max_clean_calls"]["asyncio"] in (0, 10)
    assert set(report["method"]) >= {"ticker_lag", "cpu_ms_per_call_s", "packets_lost", "clean"}
