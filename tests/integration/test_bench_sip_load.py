"""`benchmarks/sip_load.py --json --quick` runs end to end against sipp and reports what it
promises.

How fast the voice path is, is the benchmark's business (it compares itself with the targets);
this checks the report's shape, that the lowest concurrency step lost no call, and that the
overload step admitted some calls and refused the others with 503.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sipp_support import require_sipp

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "max_clean_concurrent",
    "cps",
    "cpu_ms_per_call_s",
    "ticker_lag_p99_ms",
    "failed_below_capacity",
    "overload_admitted",
    "overload_admitted_completed",
    "overload_refused_503",
    "event_loop",
    "targets",
    "meets_targets",
    "steps",
    "method",
}


def test_a_quick_run_reports_every_figure() -> None:
    require_sipp()
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sip_load.py"), "--json", "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout)
    assert set(report) >= KEYS, sorted(KEYS - set(report))
    assert report["event_loop"] in ("asyncio", "uvloop")

    lowest = report["steps"][0]
    assert lowest["failed"] == 0, lowest
    assert lowest["calls_held_through_window"] == lowest["calls"], lowest
    assert lowest["rtp_packets"]["caller_in"] > 0 and lowest["rtp_packets"]["agent_in"] > 0
    assert lowest["cpu_ms_per_call_s"] > 0 and lowest["ticker_lag_p99_ms"] >= 0

    assert report["overload_refused_503"] > 0
    capacity = report["overload"]["capacity"]
    admitted, completed = report["overload_admitted"], report["overload_admitted_completed"]
    offered = report["overload"]["offered"]
    assert admitted > 0 and admitted + report["overload_refused_503"] == offered
    # the step's calls overlap, so no more than the capacity are up at once: an admitted call
    # that failed early frees its place for another (on a loaded machine), a completed one not
    assert 0 <= completed <= min(admitted, capacity)

    assert isinstance(report["failed_below_capacity"], int)
    assert report["setup_steps"] and all("cpu_ms_per_call" in s for s in report["setup_steps"])
    assert set(report["meets_targets"]) >= {
        "max_clean_concurrent",
        "cps",
        "failed_below_capacity",
        "overload",
        "all",
    }
    assert all(isinstance(v, bool) for v in report["meets_targets"].values())
