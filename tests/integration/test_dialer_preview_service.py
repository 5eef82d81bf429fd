"""Preview campaigns through the dialer service: the live center, the in-memory campaign store
(our own port) and a scripted call placer. What each Ready agent is offered, Call, Skip, the
preview timeout, withdrawal, blending, and the agent's routes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from campaign_fakes import MemoryCampaignStore, fresh_registry, running, uk_campaign
from fastapi.testclient import TestClient
from pydantic import SecretStr

from callbridge.app import App, build
from callbridge.domain.clock import ManualClock
from callbridge.domain.dialer.calls import CallResult, DialOutcome, DialProgress, PlacedCall
from callbridge.domain.dialer.ids import CampaignId, ListId, RecordId
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.domain.dialer.preview import Skip
from callbridge.domain.errors import InvalidInput, NotFound
from callbridge.domain.ids import AgentId, DispositionCode
from callbridge.services import agents as agent_svc
from callbridge.services.dialer import Dialer
from callbridge.services.security.crypto import Keyring
from callbridge.settings import Settings

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, midday in London
SPRING = CampaignId("spring")
NUMBERS = ("+442079460001", "+442079460002", "+442079460003")
A1 = AgentId("a1")
AUTH = {"Authorization": "Bearer " + "t" * 32}


class PreviewPlacer:
    """Preview calls that end at once with the scripted outcome (answered: connected to the
    agent; `unreached`: the agent's phone did not answer)."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.outcome = DialOutcome.ANSWERED
        self.unreached = False
        self.placed: list[tuple[PlacedCall, AgentId]] = []
        self.can_place_calls = True

    async def place_campaign_call(
        self, placed: PlacedCall, progress: DialProgress | None = None
    ) -> CallResult:
        raise AssertionError("a preview campaign never dials by itself")

    async def place_preview_call(
        self, placed: PlacedCall, agent_id: AgentId, progress: DialProgress | None = None
    ) -> CallResult:
        self.placed.append((placed, agent_id))
        if progress is not None:
            progress.ended = True  # each call is over when it returns
        now = self.clock.now()
        if self.unreached:
            return CallResult(DialOutcome.FAILED, now, now, agent_unreached=True)
        if self.outcome is DialOutcome.ANSWERED:
            return CallResult(
                DialOutcome.ANSWERED,
                now,
                now + 30,
                answered_at=now + 5,
                connected_at=now + 5,
                agent_id=agent_id,
            )
        status = 486 if self.outcome is DialOutcome.BUSY else 408
        return CallResult(self.outcome, now, now + 10, status)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'preview.db'}",
        admin_token=SecretStr("t" * 32),
        keys=SecretStr(Keyring.generate().to_json()),
    )
    built = build(settings, clock=ManualClock(T0.timestamp()), run_timer_loop=False)
    for agent in ("a1", "a2"):
        agent_svc.do_save_agent(built.runtime, AgentId(agent), agent.upper(), {})
    agent_svc.do_login(built.runtime, A1)
    agent_svc.do_set_ready(built.runtime, A1)
    yield built
    built.close()


def preview_store(extra: str = "", agents: str = "[a1, a2]") -> MemoryCampaignStore:
    store = MemoryCampaignStore(fresh_registry(T0))
    campaign, text = uk_campaign("preview", agents=agents, extra=extra)
    store.save_campaign(running(campaign, text, T0))
    store.add_records(
        ListId("calls"),
        [
            DialingRecord(RecordId(f"r{i}"), (n,), name=f"Person {i}")
            for i, n in enumerate(NUMBERS, 1)
        ],
    )
    return store


def dialer(app: App, store: MemoryCampaignStore) -> tuple[Dialer, PreviewPlacer, ManualClock]:
    clock = app.runtime.clock
    assert isinstance(clock, ManualClock)
    placer = PreviewPlacer(clock)
    return Dialer(store, app.runtime, placer, tick_s=0.01, dnc=store), placer, clock


def explained(store: MemoryCampaignStore) -> list[str]:
    return [d.explanation for d in store.logged.get(SPRING, [])]


def test_a_ready_agent_is_offered_the_next_record_reserved_for_them(app: App) -> None:
    store = preview_store()
    service, placer, _ = dialer(app, store)
    assert service.tick() == []  # a preview never dials by itself
    view = service.previews.view(A1)
    assert view is not None and view.preview.record_id == "r1"
    assert view.record.name == "Person 1" and view.preview.number == NUMBERS[0]
    assert view.preview.deadline is None  # no preview timeout in the file: never dialled alone
    assert "preview: offered record r1 to agent a1" in explained(store)
    service.tick()
    assert service.previews.view(A1) == view  # still theirs, nothing new offered
    agent_svc.do_login(app.runtime, AgentId("a2"))
    agent_svc.do_set_ready(app.runtime, AgentId("a2"))
    service.tick()
    second = service.previews.view(AgentId("a2"))
    assert second is not None and second.preview.record_id == "r2"  # r1 is held for a1
    assert placer.placed == []


def test_call_places_it_with_the_agent_and_stores_the_outcome_and_their_disposition(
    app: App,
) -> None:
    store = preview_store()
    service, placer, _ = dialer(app, store)
    service.tick()
    call = service.previews.call(A1)
    assert call.agent_id == A1 and call.placed.record_id == "r1"
    assert call.placed.caller_id == "+442071230000" and call.placed.ring_timeout_s == 15.0
    assert service.previews.view(A1) is None
    assert "preview: agent a1 called record r1" in explained(store)
    with pytest.raises(InvalidInput):
        service.previews.dispose(A1, DispositionCode("NOPE"))
    service.previews.dispose(A1, DispositionCode("CB"))  # during the call
    anyio.run(service.see_through, call)
    (stored,) = store.calls(SPRING)
    assert stored.disposition == "CB" and stored.live and not stored.abandoned
    assert stored.agent_id == A1 and placer.placed[0][1] == A1
    progress = store.progress(SPRING)[RecordId("r1")]
    assert progress.attempts == 1 and not progress.done  # call back: retried in a day
    assert progress.due_at == T0 + timedelta(seconds=30 + 24 * 3600)
    assert "preview: agent a1 set CB on record r1" in explained(store)
    assert service.previews.last_call(A1) is None


def test_calling_the_next_record_settles_the_last_call_without_a_disposition(app: App) -> None:
    store = preview_store()
    service, _, _ = dialer(app, store)
    service.tick()
    first = service.previews.call(A1)
    service.tick()
    assert service.previews.view(A1) is None  # their call is being placed: no new preview

    async def next_call() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(service.see_through, first)  # over at once; its disposition awaited
            await anyio.sleep(0.05)
            service.tick()  # the fake placer connects nobody in the center: a1 is Ready
            second = service.previews.call(A1)
            assert second.placed.record_id == "r2"

    anyio.run(next_call)
    (stored,) = store.calls(SPRING)
    assert stored.record_id == "r1" and stored.disposition == "CONTACT"
    assert store.progress(SPRING)[RecordId("r1")].done


def test_busy_and_no_answer_are_stored_and_retried_like_the_other_modes(app: App) -> None:
    store = preview_store()
    service, placer, _ = dialer(app, store)
    placer.outcome = DialOutcome.BUSY
    service.tick()
    anyio.run(service.see_through, service.previews.call(A1))
    (busy,) = store.calls(SPRING)
    assert busy.disposition == "B" and not busy.live and busy.agent_id is None
    progress = store.progress(SPRING)[RecordId("r1")]
    assert progress.attempts == 1 and not progress.done and progress.due_at is not None
    service.tick()
    view = service.previews.view(A1)
    assert view is not None and view.preview.record_id == "r2"  # r1 waits for its retry


def test_an_unreached_agent_phone_stores_nothing_and_the_record_goes_back(app: App) -> None:
    store = preview_store()
    service, placer, _ = dialer(app, store)
    placer.unreached = True
    service.tick()
    anyio.run(service.see_through, service.previews.call(A1))
    assert store.calls(SPRING) == [] and RecordId("r1") not in store.progress(SPRING)
    assert not service.runs[SPRING].active
    service.tick()
    view = service.previews.view(A1)
    assert view is not None and view.preview.record_id == "r1"


def test_skip_returns_the_record_undialled_and_offers_the_next(app: App) -> None:
    store = preview_store()
    service, _, clock = dialer(app, store)
    service.tick()
    service.previews.skip(A1, Skip("wants a call next week"))
    assert RecordId("r1") not in store.progress(SPRING)  # attempts unchanged
    assert "preview: agent a1 skipped record r1 (wants a call next week)" in explained(store)
    service.tick()
    view = service.previews.view(A1)
    assert view is not None and view.preview.record_id == "r2"  # r1 rests a while
    service.previews.skip(A1, Skip())
    service.tick()
    view = service.previews.view(A1)
    assert view is not None and view.preview.record_id == "r3"
    service.previews.skip(A1, Skip())
    clock.advance(601)  # the skipped records have rested: r1 first again
    service.tick()
    view = service.previews.view(A1)
    assert view is not None and view.preview.record_id == "r1"
    with pytest.raises(NotFound):
        service.previews.skip(AgentId("a2"), Skip())


def test_skip_as_do_not_call_puts_the_number_on_the_internal_list(app: App) -> None:
    store = preview_store()
    service, _, clock = dialer(app, store)
    service.tick()
    service.previews.skip(A1, Skip("asked not to be called", do_not_call=True))
    at = datetime.fromtimestamp(clock.now(), tz=UTC)
    assert store.dnc_book(SPRING).check(NUMBERS[0], SPRING, at, None).blocked
    clock.advance(601)
    service.tick()
    view = service.previews.view(A1)
    assert view is not None and view.preview.record_id == "r2"  # r1's number is blocked now


def test_the_preview_timeout_places_the_call_anyway(app: App) -> None:
    store = preview_store(extra="preview: {timeout_s: 30}")
    service, _, clock = dialer(app, store)
    service.tick()
    view = service.previews.view(A1)
    assert view is not None and view.preview.deadline == clock.now() + 30
    clock.advance(29)
    assert service.tick() == []
    clock.advance(1)
    (call,) = service.tick()
    assert call.agent_id == A1 and call.placed.record_id == "r1"
    assert any("after 30 s of preview (timeout)" in e for e in explained(store))


def test_a_preview_is_withdrawn_when_its_agent_is_no_longer_free(app: App) -> None:
    store = preview_store()
    service, _, _ = dialer(app, store)
    service.tick()
    agent_svc.do_set_not_ready(app.runtime, A1, "break")
    service.tick()
    assert service.previews.view(A1) is None
    assert any("withdrew record r1 from agent a1" in e for e in explained(store))
    assert RecordId("r1") not in store.progress(SPRING)


def test_the_inbound_reserve_keeps_agents_for_inbound(app: App) -> None:
    store = preview_store(extra="inbound_reserve: 1")
    service, _, _ = dialer(app, store)
    service.tick()
    assert service.previews.view(A1) is None
    assert explained(store)[-1] == "preview: no agent ready"


def test_the_agent_routes_show_call_and_skip_the_preview(app: App) -> None:
    store = preview_store()
    service, _, _ = dialer(app, store)
    app.api.state.dialer = service  # as the server wires its dialer
    with TestClient(app.api, headers=AUTH) as client:
        assert client.get("/agents/a1/preview").json() == {"preview": None, "last_call": None}
        service.tick()
        shown = client.get("/agents/a1/preview").json()["preview"]
        assert shown["record_id"] == "r1" and shown["number"] == NUMBERS[0]
        assert shown["name"] == "Person 1" and shown["campaign_name"] == "Spring offers"
        skipped = client.post("/agents/a1/preview/skip", json={"reason": "busy day"})
        assert skipped.status_code == 200 and skipped.json()["record_id"] == "r1"
        again = client.post("/agents/a1/preview/skip", json={})
        assert again.status_code == 404
        too_long = client.post("/agents/a1/preview/skip", json={"reason": "x" * 201})
        assert too_long.status_code == 422
        call = client.post("/agents/a1/preview/call")  # the dialer's loop is not running
        assert call.status_code == 409, call.text
        service.tick()
        service.previews.call(A1)  # as the running loop does on Call
        last = client.get("/agents/a1/preview").json()["last_call"]
        assert last["record"]["record_id"] == "r2" and last["disposition"] is None
        assert {"code": "SALE", "label": "Sale"} in last["dispositions"]
        set_ = client.post("/agents/a1/preview/disposition", json={"disposition": "SALE"})
        assert set_.status_code == 200 and set_.json()["disposition"] == "SALE"
        unknown = client.post("/agents/a1/preview/disposition", json={"disposition": "ZZ"})
        assert unknown.status_code == 404  # settled: nothing left to dispose


def test_an_agent_whose_preview_call_is_being_placed_gets_no_new_one_and_others_still_do(
    app: App,
) -> None:
    store = preview_store()
    service, _, _ = dialer(app, store)
    service.tick()
    service.previews.call(A1)  # being placed: a1 is still Ready in the center until connected
    agent_svc.do_login(app.runtime, AgentId("a2"))
    agent_svc.do_set_ready(app.runtime, AgentId("a2"))
    service.tick()
    assert service.previews.view(A1) is None
    view = service.previews.view(AgentId("a2"))
    assert view is not None and view.preview.record_id == "r2"
