"""`benchmarks/simulator.py --json --quick` runs and prints the report it promises.

Speed is the benchmark's to measure, not this test's: it checks the shape of the report and
that the KPI agreement with Erlang C is reported, not how fast either simulator was.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KPIS = {"p_wait", "asa_s", "service_level", "occupancy"}


def test_quick_run_reports_both_simulators_and_erlang_c() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "simulator.py"), "--json", "--quick"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # stdout is the JSON object only; progress is on stderr

    for key in ("engine_calls_per_s", "ciw_calls_per_s", "ratio"):
        assert report[key] > 0
    assert report["targets"] == {"engine_calls_per_s": 20_000, "ratio": 1, "ratio_goal": 3}
    assert set(report["meets_targets"]) == {*report["targets"], "kpis_agree"}
    assert isinstance(report["method"], dict)
    assert set(report["scenarios"]) == {"classic", "large"}
    for case in report["scenarios"].values():
        assert case["engine_calls"] > 0 and case["ciw_calls"] > 0
        assert case["unresolved"] == {"engine": 0, "ciw": 0}
        for side in ("simulated", "ciw"):
            for kpi in KPIS:
                assert set(case[side][kpi]) >= {"mean", "ci95"}
                assert case[side][kpi]["mean"] is not None
        assert set(case["analytic"]) >= KPIS
        assert set(case["agree"]) == KPIS
        for verdict in case["agree"].values():
            assert isinstance(verdict["agree"], bool)
            assert {"engine_z", "ciw_z"} <= set(verdict)
    classic = report["scenarios"]["classic"]
    assert classic["model"]["agents"] == 14
    assert abs(classic["analytic"]["p_wait"] - 0.1741) < 1e-3  # Erlang C, as classic.yaml says
    assert report["scenarios"]["large"]["model"]["load_erlang"] == 300
