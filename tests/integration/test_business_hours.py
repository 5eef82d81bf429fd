"""The center's business hours over the API, on SQLite and PostgreSQL: created and replaced
whole with mistakes named by field, audited, kept across a restart, named by a running flow's
hours step (which sees an edit at once), protected from removal while a flow uses them, and
checked when flows load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from security_support import TOKEN, make_app
from sqlalchemy import select

from callbridge.adapters.store.tables import audit_log
from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.domain.ivr import FlowError
from callbridge.services.security.crypto import Keyring

AUTH = {"Authorization": f"Bearer {TOKEN}"}
FRIDAY_3PM = 1_795_791_600.0  # 2026-11-27 15:00 UTC, a Friday
DESK = {
    "timezone": "UTC",
    "weekly": {"mon-fri": "09:00-17:00"},
    "holidays": {"country": "GB", "subdivision": "ENG"},
    "closed": {"2026-12-24": "Christmas Eve"},
}
FLOW = """\
flow: support
numbers: ["2000"]
nodes:
  when:
    hours: desk
    open: queue
    closed: bye
  queue: {queue: support}
  bye: {hangup: ""}
"""


@pytest.fixture
def keys() -> SecretStr:
    return SecretStr(Keyring.generate().to_json())


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def open_app(database_url: str, keys: SecretStr, **settings: Any) -> App:
    return make_app(database_url, ManualClock(FRIDAY_3PM), keys=keys, **settings)


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "flows"
    directory.mkdir()
    (directory / "support.yaml").write_text(FLOW)
    return directory


def test_business_hours_are_saved_checked_and_audited(database_url: str, keys: SecretStr) -> None:
    app = open_app(database_url, keys)
    try:
        with TestClient(app.api, headers=AUTH) as client:
            bad = {**DESK, "weekly": {"mon-fri": "09:00-17:00", "sat": "10:00-25:00"}}
            error = problem(client.put("/hours/desk", json=bad), 422)
            assert error["details"]["field"] == "weekly.sat"
            assert "'10:00-25:00' is not a time of day" in error["message"]
            assert ok(client.get("/hours")) == []  # nothing saved
            error = problem(client.put("/hours/Front Desk", json=DESK), 422)
            assert error["details"]["field"] == "name"
            error = problem(client.put("/hours/desk", json={**DESK, "timezone": "Mars/Base"}), 422)
            assert error["details"]["field"] == "timezone"

            saved = ok(client.put("/hours/desk", json=DESK))
            assert saved["open_now"] is True and saved["now"] == "open"
            assert saved["weekly"]["Fri"] == ["09:00-17:00"] and saved["weekly"]["Sat"] == []
            assert saved["holidays"] == "GB-ENG"
            assert saved["closed"] == {"2026-12-24": "Christmas Eve"}
            assert saved["definition"] == DESK and saved["used_by"] == []
            ok(client.put("/hours/desk", json={**DESK, "weekly": {"sat": "09:00-12:00"}}))
            [listed] = ok(client.get("/hours"))
            assert listed["open_now"] is False and listed["now"] == "outside hours"
        with app.store.engine.connect() as conn:
            rows = conn.execute(
                select(audit_log.c.action, audit_log.c.object_id, audit_log.c.after).where(
                    audit_log.c.object_type == "business_hours"
                )
            ).all()
        assert [(r.action, r.object_id) for r in rows] == [
            ("hours.create", "desk"),
            ("hours.update", "desk"),
        ]
        assert rows[1].after["weekly"] == {"sat": "09:00-12:00"}
    finally:
        app.close()
    again = open_app(database_url, keys)  # a restart keeps them
    try:
        with TestClient(again.api, headers=AUTH) as client:
            [kept] = ok(client.get("/hours"))
            assert kept["name"] == "desk" and kept["weekly"]["Sat"] == ["09:00-12:00"]
            ok(client.delete("/hours/desk"), 204)
            assert ok(client.get("/hours")) == []
            assert problem(client.delete("/hours/desk"), 404)["details"]["field"] == "name"
    finally:
        again.close()


def test_a_flow_runs_on_the_centers_hours_and_keeps_them(
    database_url: str, keys: SecretStr, flows_dir: Path
) -> None:
    # the flow names business hours the center does not have: the start fails, naming them
    with pytest.raises(FlowError, match=r"support.yaml:5: node 'when': unknown schedule 'desk'"):
        open_app(database_url, keys, ivr_flows_dir=flows_dir).close()
    app = open_app(database_url, keys)
    try:
        with TestClient(app.api, headers=AUTH) as client:
            ok(client.put("/hours/desk", json=DESK))
    finally:
        app.close()

    app = open_app(database_url, keys, ivr_flows_dir=flows_dir)
    try:
        with TestClient(app.api, headers=AUTH) as client:
            [flow] = ok(client.get("/flows"))
            [step] = flow["hours"]
            assert (step["node"], step["schedule"], step["shared"]) == ("when", "desk", True)
            assert step["open_now"] is True
            assert ok(client.get("/hours"))[0]["used_by"] == ["support"]
            error = problem(client.delete("/hours/desk"), 409)
            assert "used by flow support" in error["message"]
            # an edit reaches the running flow at once
            ok(client.put("/hours/desk", json={**DESK, "weekly": {"sat": "09:00-12:00"}}))
            [step] = ok(client.get("/flows"))[0]["hours"]
            assert step["open_now"] is False and step["weekly"]["Sat"] == ["09:00-12:00"]
            # a flow being written is checked against the center's hours too
            other = FLOW.replace("flow: support", "flow: sales").replace('"2000"', '"3000"')
            ok(client.post("/flows/check", json={"yaml": other}))
            error = problem(
                client.post("/flows/check", json={"yaml": other.replace("desk", "nope")}), 422
            )
            assert "unknown schedule 'nope'" in error["message"]
        walk_book = app.api.state.flows
        assert walk_book.hours["desk"].weekly[5]  # Saturday, as just saved
    finally:
        app.close()
