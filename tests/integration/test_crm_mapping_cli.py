"""`callbridge crm mapping check` and `crm rules`: dry runs that name the line of a mistake."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from callbridge.cli.main import app


def test_mapping_dry_run_shows_the_fields(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "fields:\n  Subject: {from: subject}\n  CallDurationInSeconds: {from: duration_s}\n"
        "  CallDisposition: {from: disposition_code, transform: label}\n"
    )
    result = CliRunner().invoke(app, ["crm", "mapping", "check", str(mapping)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output.split(":\n", 1)[1])
    assert shown == {
        "Subject": "Inbound call - Support",
        "CallDurationInSeconds": 212,
        "CallDisposition": "Resolved",
    }
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps({"duration_s": 5, "disposition_label": "Sold"}))
    again = CliRunner().invoke(
        app, ["crm", "mapping", "check", str(mapping), "--sample", str(sample)]
    )
    assert '"CallDurationInSeconds": 5' in again.output and '"Sold"' in again.output


def test_mapping_mistake_exits_1_naming_the_line(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("fields:\n  Subject: {from: subject}\n  Bad: {from: nothing}\n")
    result = CliRunner().invoke(app, ["crm", "mapping", "check", str(mapping)])
    assert result.exit_code == 1
    assert "line 3, field Bad" in result.output


def test_rules_check(tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text("queues:\n  billing:\n    inbound: [account_number, phone]\n")
    result = CliRunner().invoke(app, ["crm", "rules", str(rules)])
    assert result.exit_code == 0, result.output
    assert "queue billing inbound: account_number, phone" in result.output
    rules.write_text("queues:\n  billing:\n    inbound: [fax]\n")
    bad = CliRunner().invoke(app, ["crm", "rules", str(rules)])
    assert bad.exit_code == 1 and "line 3" in bad.output
