"""GET /reports/kpis through the real app and database (SQLite and PostgreSQL): a scripted day
on a manual clock, every KPI worked out by hand from the script."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from security_support import PASSWORD, TEST_ACTOR, TOKEN, make_app, session_for

from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.domain.ids import AgentId
from callbridge.services import reports

AUTH = {"Authorization": f"Bearer {TOKEN}"}
T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z: a 15-minute boundary, 8 hours into the UTC day
DAY_START = T0 - 8 * 3600


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def app(database_url: str, clock: ManualClock) -> Iterator[App]:
    built = make_app(database_url, clock)
    yield built
    built.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app.api, headers=AUTH) as c:
        yield c


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def at(clock: ManualClock, t: float) -> None:
    """Move the clock to T0 + t."""
    clock.set(T0 + t)


def setup_center(client: TestClient) -> None:
    """Queue "support" (20 s target, wrap-up until a disposition is entered); Ann and Bob
    logged in, Not Ready."""
    ok(client.post("/dispositions", json={"code": "resolved", "label": "Resolved"}), 201)
    queue = {
        "id": "support",
        "name": "Support",
        "service_level_s": 20,
        "offer_timeout_s": 60,
        "wrap_up": {"duration_s": 0, "disposition_required": True},
    }
    ok(client.post("/queues", json=queue), 201)
    for agent_id in ("ann", "bob"):
        ok(client.post("/agents", json={"id": agent_id, "name": agent_id.title()}), 201)
        ok(client.post(f"/agents/{agent_id}/login"))


def ready(client: TestClient, agent_id: str) -> None:
    ok(client.put(f"/agents/{agent_id}/state", json={"state": "ready"}))


def not_ready(client: TestClient, agent_id: str) -> None:
    ok(client.put(f"/agents/{agent_id}/state", json={"state": "not_ready", "reason": "break"}))


def call(client: TestClient) -> str:
    body = {"channel": "voice", "from": "+15551230001", "to": "+18005550100"}
    created = ok(client.post("/interactions", json=body | {"queue_id": "support"}), 201)
    iid: str = created["interaction"]["id"]
    return iid


def accept(client: TestClient, iid: str, agent_id: str) -> None:
    ok(client.post(f"/interactions/{iid}/accept", json={"agent_id": agent_id}))


def finish(client: TestClient, iid: str, agent_id: str) -> None:
    ok(client.post(f"/interactions/{iid}/end", json={"by": "agent", "agent_id": agent_id}))


def wrap_up(client: TestClient, iid: str, agent_id: str) -> None:
    body = {"agent_id": agent_id, "disposition": "resolved"}
    ok(client.post(f"/interactions/{iid}/wrap-up", json=body))


def script(client: TestClient, clock: ManualClock) -> None:
    """Three calls in the 15 minutes from T0; the clock stops at T0 + 200.

    c1 rings at Ann on arrival (10) and is answered after 5 s; c2 waits from 20 and hangs up
    after 30 s; c3 waits from 60 until Bob is Ready at 80 and is answered at 85, after 25 s.
    Ann wraps c1 up at 145, Bob c3 at 190.
    """
    setup_center(client)
    ready(client, "ann")
    at(clock, 10)
    c1 = call(client)
    at(clock, 15)
    accept(client, c1, "ann")
    at(clock, 20)
    c2 = call(client)
    at(clock, 50)
    ok(client.post(f"/interactions/{c2}/end", json={"by": "customer"}))
    at(clock, 60)
    c3 = call(client)
    at(clock, 80)
    ready(client, "bob")
    at(clock, 85)
    accept(client, c3, "bob")
    at(clock, 135)
    finish(client, c1, "ann")
    at(clock, 145)
    wrap_up(client, c1, "ann")
    at(clock, 185)
    finish(client, c3, "bob")
    at(clock, 190)
    wrap_up(client, c3, "bob")
    at(clock, 200)


def rows(report: dict[str, Any], queue_id: str) -> dict[float, dict[str, Any]]:
    return {r["start"]: r for r in report["intervals"] if r["queue_id"] == queue_id}


# --- the numbers --------------------------------------------------------------------------------


def test_the_kpis_of_a_scripted_quarter_hour(client: TestClient, clock: ManualClock) -> None:
    script(client, clock)
    report = ok(client.get("/reports/kpis"))
    assert (report["since"], report["until"], report["interval_s"]) == (DAY_START, T0 + 200, 900)
    support = report["overall"]["support"]
    counts = [support[k] for k in ("offered", "answered", "abandoned", "open")]
    assert counts == [3, 2, 1, 0]
    assert support["service_level"] == 1 / 3  # only c1 (5 s) within 20 s
    assert support["service_level_excl"] == 1 / 3  # c2 left after the target: still counted
    assert support["p_wait"] == 2 / 3  # c2 and c3 waited in line; c1 rang at once
    assert support["p_abandon"] == 1 / 3
    assert support["asa_s"] == (5 + 25) / 2
    assert support["mean_wait_s"] == (5 + 30 + 25) / 3
    assert support["aht_s"] == ((145 - 15) + (190 - 85)) / 2
    # in line: c2 from 20 to 50, c3 from 60 to 80; averaged over the whole window
    assert support["avg_waiting"] == (30 + 20) / (8 * 3600 + 200)
    assert support["occupancy"] is None  # agents' time is the center's, under "*"
    center = report["overall"]["*"]
    assert center["offered"] == 3
    # Ann: Ready from 0, working from the offer at 10 to the wrap-up at 145.
    # Bob: Not Ready until 80, then working from the offer at 80 to the wrap-up at 190.
    assert center["occupancy"] == (135 + 110) / (200 + 120)
    # one 15-minute interval, which the clock is 200 s into
    assert list(rows(report, "support")) == [T0]
    first = rows(report, "support")[T0]
    assert (first["offered"], first["answered"], first["abandoned"]) == (3, 2, 1)
    assert first["avg_waiting"] == (30 + 20) / 200
    assert rows(report, "*")[T0]["occupancy"] == center["occupancy"]


def test_an_interaction_arriving_in_the_next_interval_is_counted_there(
    client: TestClient, clock: ManualClock
) -> None:
    script(client, clock)
    at(clock, 950)
    c4 = call(client)  # Ann is Ready: rings at once
    at(clock, 952)
    accept(client, c4, "ann")
    at(clock, 1000)
    report = ok(client.get("/reports/kpis", params={"interval_s": 900}))
    support = rows(report, "support")
    assert list(support) == [T0, T0 + 900]
    assert (support[T0]["offered"], support[T0 + 900]["offered"]) == (3, 1)
    assert support[T0 + 900]["asa_s"] == 2.0
    assert support[T0 + 900]["service_level"] == 1.0
    assert report["overall"]["support"]["offered"] == 4
    # an hour-long interval holds all four
    hourly = ok(client.get("/reports/kpis", params={"interval_s": 3600}))
    assert [(r["start"], r["offered"]) for r in hourly["intervals"] if r["queue_id"] == "*"] == [
        (T0, 4)
    ]


def test_since_after_some_arrivals_leaves_them_out_and_starts_from_the_agents_state(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    script(client, clock)
    # 55 s in (as ISO-8601 with an offset): c1 and c2 have arrived, Ann is on c1, Bob Not Ready
    report = ok(client.get("/reports/kpis", params={"since": "2027-01-15T09:00:55+01:00"}))
    assert report["since"] == T0 + 55
    support = report["overall"]["support"]
    assert (support["offered"], support["answered"], support["abandoned"]) == (1, 1, 0)  # c3
    assert support["asa_s"] == 25.0
    assert support["p_wait"] == 1.0
    assert support["avg_waiting"] == 20 / (200 - 55)
    # Ann holds c1 from 55 to its wrap-up at 145 and is Ready throughout; Bob as before
    assert report["overall"]["*"]["occupancy"] == (90 + 110) / (145 + 120)
    # the same window in epoch seconds, and through the service the API calls
    again = ok(client.get("/reports/kpis", params={"since": T0 + 55, "until": T0 + 200}))
    assert again == report
    direct = reports.kpi_report(app.runtime, T0 + 55, T0 + 200, 900)
    assert direct.overall["support"].asa_s == 25.0
    assert direct.overall["*"].occupancy == report["overall"]["*"]["occupancy"]


def test_an_agent_ready_before_since_counts_as_staffed(
    client: TestClient, clock: ManualClock
) -> None:
    setup_center(client)
    ready(client, "ann")
    at(clock, 100)
    not_ready(client, "ann")
    at(clock, 200)
    ready(client, "ann")  # the last change before the window: Ready
    at(clock, 600)
    report = ok(client.get("/reports/kpis", params={"since": T0 + 300}))
    center = report["overall"]["*"]
    assert center["occupancy"] == 0.0  # 300 s staffed (Ann), none of it working
    assert center["offered"] == 0
    assert report["overall"]["support"]["offered"] == 0  # every live queue is listed
    # Ann went Not Ready at 100: nobody is staffed from 100 to 200
    early = ok(client.get("/reports/kpis", params={"since": T0 + 100, "until": T0 + 200}))
    assert early["overall"]["*"]["occupancy"] is None


def test_paging_through_the_log_gives_the_same_report(
    client: TestClient, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(client, clock)
    whole = ok(client.get("/reports/kpis", params={"since": T0 + 55}))
    monkeypatch.setattr(reports, "EVENT_PAGE", 2)
    assert ok(client.get("/reports/kpis", params={"since": T0 + 55})) == whole


def test_the_event_log_is_read_by_time_window(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    script(client, clock)
    store = app.runtime.store
    everything = store.events(limit=10_000)
    window = store.events(since=T0 + 15, until=T0 + 50, limit=10_000)
    assert window == [e for e in everything if T0 + 15 <= e.at <= T0 + 50]
    assert {e.kind for e in window} >= {"interaction_connected", "interaction_ended"}
    assert store.events(since=T0 + 15, until=T0 + 50, after_id=window[0].id) == window[1:]
    assert store.events(agent_id=AgentId("bob"), since=T0 + 80, until=T0 + 80) == [
        e for e in everything if e.agent_id == "bob" and e.at == T0 + 80
    ]


# --- filters and errors -------------------------------------------------------------------------


def test_queue_id_keeps_only_that_queues_rows(client: TestClient, clock: ManualClock) -> None:
    script(client, clock)
    report = ok(client.get("/reports/kpis", params={"queue_id": "support"}))
    assert list(report["overall"]) == ["support"]
    assert {r["queue_id"] for r in report["intervals"]} == {"support"}
    missing = client.get("/reports/kpis", params={"queue_id": "nope"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("interval_s", ["7", "1000", "172800", "0", "-900", "900.5", "soon"])
def test_a_bad_interval_is_refused_naming_the_field(client: TestClient, interval_s: str) -> None:
    response = client.get("/reports/kpis", params={"interval_s": interval_s})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("invalid_input", "interval_s")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2027-01-15T08:00:00"}, "since"),  # no offset: which 8 o'clock?
        ({"since": "yesterday"}, "since"),
        ({"until": "nan"}, "until"),
        ({"since": T0 + 10, "until": T0}, "since"),
        ({"since": T0 + 10}, "since"),  # the clock is at T0: not yet
        ({"since": 0, "interval_s": 60}, "until"),  # 57 years of minutes
    ],
)
def test_a_bad_window_is_refused_naming_the_field(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    response = client.get("/reports/kpis", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["field"] == field


def test_until_in_the_future_stops_at_now(client: TestClient, clock: ManualClock) -> None:
    script(client, clock)
    report = ok(client.get("/reports/kpis", params={"until": T0 + 5000}))
    assert report["until"] == T0 + 200


def test_agents_may_not_read_reports_supervisors_and_auditors_may(
    app: App, clock: ManualClock
) -> None:
    expected = {"agent": 403, "supervisor": 200, "auditor": 200}
    for role in expected:
        app.accounts.create_user(
            TEST_ACTOR, f"the-{role}", PASSWORD, [role], agent_id="a1" if role == "agent" else None
        )
    for role, status in expected.items():
        response = session_for(app, clock, f"the-{role}").client.get("/reports/kpis")
        assert response.status_code == status, (role, response.text)
    refused = session_for(app, clock, "the-agent").client.get("/reports/kpis").json()
    assert refused["error"]["details"]["permission"] == "reports.read"


def test_a_supervisor_of_some_queues_reads_only_their_reports(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    script(client, clock)
    ok(client.post("/queues", json={"id": "sales", "name": "Sales"}), 201)
    call = {"channel": "voice", "from": "+15550109999", "to": "+15550100000", "queue_id": "sales"}
    ok(client.post("/interactions", json=call), 201)
    everything = ok(client.get("/reports/kpis"))
    assert set(everything["overall"]) == {"*", "support", "sales"}
    app.accounts.create_user(TEST_ACTOR, "sue", PASSWORD, ["supervisor"], queues=["support"])
    sue = session_for(app, clock, "sue").client
    mine = ok(sue.get("/reports/kpis"))
    assert set(mine["overall"]) == {"support"}  # not sales, nor the center's total
    assert mine["overall"]["support"] == everything["overall"]["support"]
    assert {row["queue_id"] for row in mine["intervals"]} == {"support"}
    refused = sue.get("/reports/kpis", params={"queue_id": "sales"})
    assert refused.status_code == 403 and "queues support only" in refused.text
    assert set(ok(sue.get("/reports/kpis", params={"queue_id": "support"}))["overall"]) == {
        "support"
    }
