"""`benchmarks/store_commit.py --json --quick` runs on SQLite and PostgreSQL and prints the
report it promises.

How fast a commit is, is the benchmark's to say: this checks the report's shape, that every
call made its three commits, and that both the store and the driver floor were timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[2]
CALLS = 100
STATS = {"commits_per_s", "mean_ms", "p50_ms", "p99_ms", "max_ms"}


@pytest.mark.postgres
def test_a_quick_run_reports_store_and_floor_on_both_databases(postgres_admin: Engine) -> None:
    server = postgres_admin.url.render_as_string(hide_password=False)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "store_commit.py"),
            "--json",
            "--quick",
            "--calls",
            str(CALLS),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={**os.environ, "CALLBRIDGE_BENCH_POSTGRES_URL": server},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout)  # stdout is the JSON object only; progress is on stderr

    assert report["benchmark"] == "store_commit" and report["calls"] == CALLS
    assert isinstance(report["method"], dict)
    for name in ("sqlite", "postgres"):
        result = report[name]
        assert result["commits"] == 3 * CALLS and result["commits_per_call"] == 3
        assert result["statements_per_commit"] > 1 and result["events_per_commit"] > 1
        for side in ("store", "floor"):
            stats = result[side]
            assert set(stats) == STATS, stats
            assert 0 < stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"]
            assert stats["commits_per_s"] > 0
        assert result["store_bound_calls_per_s"] > 0
        assert set(result["by_use_case"]) == {"arrive", "accept", "hang_up"}
        for stats in result["by_use_case"].values():
            assert set(stats) == STATS - {"commits_per_s"}
