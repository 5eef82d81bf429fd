"""`callbridge flow check` and `flow run` on files: the shipped examples, broken flows, flows
that transfer to their neighbours, and a walk printed as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callbridge.cli.main import app
from callbridge.domain.ivr import FlowError
from callbridge.services.flows import load_flow_dir

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "flows"
OPEN = "2026-11-25T15:00:00+00:00"  # Wednesday 10:00 in New York
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["flow", *args])
    return result.exit_code, result.stdout, result.stderr


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_passes_check(path: Path) -> None:
    code, out, err = invoke("check", str(path))
    assert (code, err) == (0, "")
    assert out.startswith(f"ok: {path.stem} (")


def test_check_a_directory_lists_each_flow() -> None:
    code, out, _ = invoke("check", str(EXAMPLES))
    assert code == 0
    assert out.splitlines() == [
        "ok: after-hours (6 nodes)",
        "ok: demo-phone (4 nodes)",
        "ok: main (13 nodes)",
    ]


def test_check_names_file_line_and_node(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", "nodes:\n  a:\n    say: Hi.\n    next: b\n")
    good = write(tmp_path, "good.yaml", "nodes:\n  a: {hangup: Bye.}\n")
    code, out, err = invoke("check", str(good), str(bad))
    assert code == 1
    assert out == "ok: good (1 nodes)\n"
    assert f"error: {bad}:4: node 'a': unknown node 'b' in 'next'" in err


def test_check_says_which_business_hours_it_leaves_to_the_server(tmp_path: Path) -> None:
    text = "nodes:\n  h:\n    hours: desk\n    open: a\n    closed: a\n  a: {hangup: Bye.}\n"
    code, out, _ = invoke("check", str(write(tmp_path, "desk.yaml", text)))
    assert code == 0
    assert out.splitlines() == [
        "ok: desk (2 nodes); uses the center's business hours desk",
        "  (business hours are checked against the database when the server starts)",
    ]


def test_check_follows_transfers_to_neighbouring_flows(tmp_path: Path) -> None:
    first = write(tmp_path, "first.yaml", "nodes:\n  go:\n    transfer: {flow: second}\n")
    code, _, err = invoke("check", str(first))
    assert code == 1
    assert f"{first}:3: node 'go': transfer to unknown flow 'second'" in err
    second = write(tmp_path, "second.yaml", "nodes:\n  a:\n    play: missing.wav\n    next: b\n")
    code, _, err = invoke("check", str(first))
    assert code == 1
    assert f"{second}:4: node 'a': unknown node 'b' in 'next'" in err
    write(
        tmp_path,
        "second.yaml",
        "nodes:\n  a:\n    play: missing.wav\n    next: b\n  b: {hangup: ''}\n",
    )
    code, _, err = invoke("check", str(first))
    assert code == 1
    assert f"{second}:3: node 'a': prompt file does not exist: {tmp_path / 'missing.wav'}" in err
    (tmp_path / "missing.wav").write_bytes(b"RIFF")
    code, out, _ = invoke("check", str(first))
    assert (code, out) == (0, "ok: first (1 nodes)\n")


def test_check_reports_yaml_errors_and_missing_files(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.yaml", "nodes:\n  a: [\n")
    code, _, err = invoke("check", str(broken))
    assert code == 1
    assert f"{broken}:3: not valid YAML: expected the node content, but found '<stream end>'" in err
    code, _, _ = invoke("check", str(tmp_path / "absent.yaml"))
    assert code == 2  # typer: the path does not exist


def test_run_prints_the_path_as_json() -> None:
    code, out, _ = invoke(
        "run",
        str(EXAMPLES / "main.yaml"),
        "--digits", "3,1,0,0,0,1,#",
        "--at", OPEN,
        "--crm", "name=Acme Corp", "--crm", "type=Account", "--crm", "Industry=Retail",
        "--json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert [step["node"] for step in data["path"]] == [
        "welcome", "greeting", "hours", "menu", "account", "find", "known", "welcome-back",
        "billing",
    ]  # fmt: skip
    assert data["path"][5]["note"] == (
        "lookup: account_number ACCT-10001 -> found Account 'Acme Corp' -> known"
    )
    outcome = data["outcome"]
    assert (outcome["kind"], outcome["queue"], outcome["priority"]) == ("route", "billing", 5)
    assert outcome["variables"]["crm.Industry"] == "Retail"
    assert data["variables"]["dnis"] == "1000"  # the flow's first number by default


def test_run_prints_a_table_and_the_outcome() -> None:
    code, out, _ = invoke(
        "run", str(EXAMPLES / "main.yaml"), "--digits", "9,,9", "--at", OPEN, "--ani", "+4420"
    )
    assert code == 0
    assert "pressed 9 (not an option); try 2 of 3" in out
    assert "no input; try 3 of 3" in out
    assert "no tries left -> support" in out
    assert "outcome: route queue=support" in out


def test_run_closed_goes_to_the_other_flow() -> None:
    code, out, _ = invoke(
        "run", str(EXAMPLES / "main.yaml"), "--digits", "2", "--at", "2026-12-25T15:00:00+00:00",
        "--json",
    )  # fmt: skip
    data = json.loads(out)
    assert code == 0
    assert data["path"][2]["note"].startswith("hours: closed (holiday Christmas Day)")
    assert data["path"][-1]["flow"] == "after-hours"
    assert data["outcome"]["kind"] == "voicemail"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--at", "yesterday"), "not an ISO 8601 time"),
        (("--at", "2026-11-25T10:00:00"), "give an offset"),
        (("--crm", "Industry"), "write field=value"),
    ],
)
def test_run_refuses_bad_options(args: tuple[str, ...], message: str) -> None:
    code, _, err = invoke("run", str(EXAMPLES / "main.yaml"), *args)
    assert code == 2
    assert message in err


def test_load_flow_dir_gives_the_server_its_book(tmp_path: Path) -> None:
    book = load_flow_dir(EXAMPLES)
    assert sorted(book) == ["after-hours", "demo-phone", "main"]
    assert book.flow_for("demo") == "demo-phone"
    with pytest.raises(FlowError, match="is not a directory of flow files"):
        load_flow_dir(tmp_path / "nothing")
