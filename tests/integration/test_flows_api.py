"""The flows the server runs, their business hours now, and a check of a flow being written,
over the API (the example flows in examples/flows)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from security_support import TOKEN, make_app

from callbridge.domain.clock import ManualClock

AUTH = {"Authorization": f"Bearer {TOKEN}"}
FLOWS = Path(__file__).resolve().parents[2] / "examples" / "flows"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def at(text: str) -> ManualClock:
    return ManualClock(datetime.fromisoformat(text).astimezone(UTC).timestamp())


def test_the_running_flows_and_whether_their_hours_are_open(database_url: str) -> None:
    # a Wednesday, 10:00 in New York: open; Christmas Eve (the business's own closed day) not
    for when, open_now, why in (
        ("2026-12-02T10:00:00-05:00", True, "open"),
        ("2026-12-02T21:30:00-05:00", False, "outside hours"),
        ("2026-12-24T10:00:00-05:00", False, "closed day Christmas Eve"),
        ("2026-12-25T10:00:00-05:00", False, "holiday Christmas Day"),
    ):
        app = make_app(database_url, at(when), ivr_flows_dir=FLOWS)
        try:
            with TestClient(app.api, headers=AUTH) as client:
                found = {f["name"]: f for f in ok(client.get("/flows"))}
                main = found["main"]
                assert main["numbers"] == ["1000"]
                (hours,) = main["hours"]
                assert hours["timezone"] == "America/New_York"
                assert hours["weekly"]["Mon"] == ["08:00-20:00"]
                assert hours["holidays"] == "US"
                assert (hours["open_now"], hours["now"]) == (open_now, why), when
        finally:
            app.close()


def test_a_flow_being_written_is_checked_against_the_running_ones(database_url: str) -> None:
    app = make_app(database_url, at("2026-12-02T10:00:00-05:00"), ivr_flows_dir=FLOWS)
    try:
        with TestClient(app.api, headers=AUTH) as client:
            good = "\n".join(
                [
                    "flow: promo",
                    'numbers: ["2000"]',
                    "nodes:",
                    "  hello:",
                    "    say: Thanks for calling about the offer.",
                    "    next: out",
                    "  out:",
                    "    transfer: {flow: main}",
                ]
            )
            checked = ok(client.post("/flows/check", json={"yaml": good}))
            assert (checked["name"], checked["numbers"], checked["nodes"]) == ("promo", ["2000"], 2)
            # a number another flow answers, a transfer to no flow, a node that is not there
            taken = client.post("/flows/check", json={"yaml": good.replace("2000", "1000")})
            assert taken.status_code == 422
            assert "number 1000 already starts flow 'main'" in taken.json()["error"]["message"]
            lost = client.post(
                "/flows/check", json={"yaml": good.replace("flow: main", "flow: nope")}
            )
            assert lost.status_code == 422
            error = lost.json()["error"]
            assert error["details"]["line"] == 8 and error["details"]["node"] == "out"
            broken = client.post(
                "/flows/check", json={"yaml": good.replace("next: out", "next: gone")}
            )
            assert broken.status_code == 422
            assert broken.json()["error"]["details"]["node"] == "hello"
            # nothing changed: the server runs the same flows
            assert "promo" not in {f["name"] for f in ok(client.get("/flows"))}
    finally:
        app.close()
