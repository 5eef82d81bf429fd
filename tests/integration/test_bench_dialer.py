"""`benchmarks/dialer.py --json --quick` runs and prints the report it promises.

Quick runs one short window a cell: the talk figures are too noisy there to judge the targets
that compare them (progressive against its formula, predictive against the reference), so this
checks the report's shape and the hard constraints: predictive never above the 3 % cap in any
window, and above both VICIdial baselines in every cell.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CELL_KEYS = {
    "agents",
    "p",
    "mode",
    "talk_min_per_agent_hour",
    "abandon_overall",
    "abandon_worst_window",
}
MODES = {"progressive", "predictive", "vicidial_hard_limit", "vicidial_tapered"}


def test_quick_run_reports_every_cell_and_keeps_the_hard_constraints() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "dialer.py"), "--json", "--quick"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # stdout is the JSON object only; progress is on stderr
    assert "agents, p" in done.stderr

    cells = report["cells"]
    assert all(set(cell) == CELL_KEYS for cell in cells)
    grid = {(c["agents"], c["p"], c["mode"]): c for c in cells}
    assert len(grid) == len(cells) == 5 * 4 * 4
    assert {c["agents"] for c in cells} == {5, 10, 20, 50, 100}
    assert {c["p"] for c in cells} == {0.1, 0.2, 0.35, 0.5}
    assert {c["mode"] for c in cells} == MODES
    for c in cells:
        assert 0 < c["talk_min_per_agent_hour"] < report["reference"]["ceiling"]
        assert 0 <= c["abandon_overall"] <= c["abandon_worst_window"] <= 1
    for (agents, p, mode), c in grid.items():
        if mode == "progressive":
            assert c["abandon_worst_window"] == 0
        if mode != "predictive":
            continue
        assert c["abandon_worst_window"] <= 0.03, (agents, p)
        for baseline in ("vicidial_hard_limit", "vicidial_tapered"):
            other = grid[(agents, p, baseline)]["talk_min_per_agent_hour"]
            assert c["talk_min_per_agent_hour"] > other, (agents, p, baseline)

    assert report["meets_targets"]["predictive_abandon_cap"] is True
    assert report["meets_targets"]["predictive_above_vicidial"] is True
    assert set(report["meets_targets"]) == set(report["targets"])
    assert len(report["details"]) == len(cells)
    assert isinstance(report["method"], dict) and report["quick"] is True
