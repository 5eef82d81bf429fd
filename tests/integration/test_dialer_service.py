"""The dialer service over the live center, an in-memory campaign store (our own port) and a
scripted call placer: what it dials, when it stops, what it stores."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from campaign_fakes import MemoryCampaignStore, fresh_registry, running, uk_campaign
from pydantic import SecretStr
from voice_support import until

from callbridge.app import App, build
from callbridge.domain.clock import ManualClock
from callbridge.domain.dialer.calls import CallResult, DialOutcome, DialProgress, PlacedCall
from callbridge.domain.dialer.campaigns import CampaignState
from callbridge.domain.dialer.decisions import PacingReason
from callbridge.domain.dialer.dnc import DncBook, RegistryCopy
from callbridge.domain.dialer.ids import CampaignId, ListId, RecordId
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.domain.ids import AgentId
from callbridge.services import agents as agent_svc
from callbridge.services.dialer import Dialer
from callbridge.services.security.crypto import Keyring
from callbridge.settings import Settings

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, midday in London
SPRING = CampaignId("spring")
NUMBERS = ("+442079460001", "+442079460002", "+442079460003")


class ScriptedPlacer:
    """Calls that end at once, as the script says for their number."""

    def __init__(self, clock: ManualClock, outcomes: dict[str, DialOutcome]) -> None:
        self.clock, self.outcomes = clock, outcomes
        self.placed: list[PlacedCall] = []
        self.can_place_calls = True

    async def place_campaign_call(
        self, placed: PlacedCall, progress: DialProgress | None = None
    ) -> CallResult:
        self.placed.append(placed)
        now = self.clock.now()
        outcome = self.outcomes[placed.number]
        if outcome is DialOutcome.ANSWERED:
            if progress is not None:
                progress.answered_at = now
            return CallResult(
                outcome, now, now, answered_at=now, abandoned=True, message=placed.message
            )
        return CallResult(outcome, now, now, 486 if outcome is DialOutcome.BUSY else 408)

    async def place_preview_call(
        self, placed: PlacedCall, agent_id: AgentId, progress: DialProgress | None = None
    ) -> CallResult:
        raise AssertionError("these campaigns are not preview ones")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'dialer.db'}",
        admin_token=SecretStr("t" * 32),
        keys=SecretStr(Keyring.generate().to_json()),
    )
    built = build(settings, clock=ManualClock(T0.timestamp()), run_timer_loop=False)
    agent_svc.do_save_agent(built.runtime, AgentId("a1"), "Alice", {})
    agent_svc.do_login(built.runtime, AgentId("a1"))
    agent_svc.do_set_ready(built.runtime, AgentId("a1"))
    yield built
    built.close()


def campaign_store(
    mode: str = "progressive", dnc: DncBook | None = None, extra: str = ""
) -> MemoryCampaignStore:
    store = MemoryCampaignStore(dnc or fresh_registry(T0))
    campaign, text = uk_campaign(mode, extra=extra)
    store.save_campaign(running(campaign, text, T0))
    store.add_records(
        ListId("calls"),
        [DialingRecord(RecordId(f"r{i}"), (n,)) for i, n in enumerate(NUMBERS, 1)],
    )
    return store


def dialer(app: App, store: MemoryCampaignStore, placer: ScriptedPlacer | None = None) -> Dialer:
    clock = app.runtime.clock
    assert isinstance(clock, ManualClock)
    return Dialer(store, app.runtime, placer or ScriptedPlacer(clock, {}), tick_s=0.01, dnc=store)


def test_progressive_dials_one_call_per_ready_agent_and_never_the_same_record_twice(
    app: App,
) -> None:
    store = campaign_store()
    service = dialer(app, store)
    first = service.tick()
    assert [c.placed.record_id for c in first] == ["r1"]
    assert first[0].placed.caller_id == "+442071230000"
    assert first[0].placed.ring_timeout_s == 15.0 and first[0].placed.grace_s == 2.0
    assert "Acme Energy" in first[0].placed.message and "press 9" in first[0].placed.message
    assert service.tick() == []  # the one agent has a call ringing
    (logged,) = store.decisions(SPRING, limit=5)[-1:]
    assert logged.dial == 1 and logged.reason is PacingReason.READY_AGENTS


def test_ended_calls_are_stored_with_their_disposition_progress_and_history(app: App) -> None:
    store = campaign_store()
    service = dialer(app, store)
    (call,) = service.tick()
    busy = CallResult(DialOutcome.BUSY, call.dialled_at, call.dialled_at + 3.0, 486)
    stored = service.finish(call, busy)
    assert stored.disposition == "B" and not stored.live and stored.window == "2026-03-02"
    progress = store.progress(SPRING)[RecordId("r1")]
    assert progress.attempts == 1 and not progress.done
    assert progress.due_at == T0 + timedelta(seconds=3.0 + 900.0)  # busy: again in 15 min
    assert store.histories([NUMBERS[0]])[NUMBERS[0]].attempts == (T0,)
    (next_call,) = service.tick()
    assert next_call.placed.record_id == "r2"  # r1 is not due yet


def test_an_opted_out_abandon_is_a_do_not_call_disposition(app: App) -> None:
    store = campaign_store()
    service = dialer(app, store)
    (call,) = service.tick()
    at = call.dialled_at
    result = CallResult(
        DialOutcome.ANSWERED, at, at + 20, answered_at=at + 5, abandoned=True, opted_out=True
    )
    stored = service.finish(call, result)
    assert stored.disposition == "DNC" and stored.abandoned and stored.live
    assert store.progress(SPRING)[RecordId("r1")].done
    (entry,) = store.dnc.internal[NUMBERS[0]]  # on the internal do-not-call list from now
    assert entry.source == "opt-out key" and entry.effective_at == T0 + timedelta(seconds=20)


def test_a_stale_registry_halts_dialling(app: App) -> None:
    stale = DncBook.of(registry=RegistryCopy(T0 - timedelta(days=40), frozenset(), "TPS"))
    store = campaign_store(dnc=stale)
    assert dialer(app, store).tick() == []
    assert store.stored[SPRING].status.state is CampaignState.RUNNING


def test_nothing_is_dialled_while_calls_cannot_be_placed(app: App) -> None:
    store = campaign_store()
    clock = app.runtime.clock
    assert isinstance(clock, ManualClock)
    placer = ScriptedPlacer(clock, {})
    placer.can_place_calls = False  # no trunk, or the telephony not up yet
    service = dialer(app, store, placer)
    assert service.tick() == []
    assert store.decisions(SPRING) == [] and store.progress(SPRING) == {}
    placer.can_place_calls = True
    assert len(service.tick()) == 1


def test_no_ready_agent_means_no_dialling(app: App) -> None:
    agent_svc.do_set_not_ready(app.runtime, AgentId("a1"), "break")
    store = campaign_store("predictive")
    assert dialer(app, store).tick() == []
    (logged,) = store.decisions(SPRING)
    assert logged.dial == 0 and logged.inputs.ready == 0


def test_the_service_dials_until_every_record_is_done_then_completes_the_campaign(
    app: App,
) -> None:
    store = campaign_store("predictive")
    campaign = store.stored[SPRING].campaign
    # one attempt per record: every outcome is final for the list
    store.save_campaign(
        replace(
            store.stored[SPRING],
            campaign=replace(campaign, attempts=replace(campaign.attempts, per_record=1)),
        )
    )
    clock = app.runtime.clock
    assert isinstance(clock, ManualClock)
    outcomes = dict(zip(NUMBERS, DialOutcome, strict=False))
    placer = ScriptedPlacer(clock, outcomes)
    service = dialer(app, store, placer)

    async def go() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(service.run)
            await until(
                lambda: store.stored[SPRING].status.state is CampaignState.COMPLETED,
                what="the campaign completed",
            )
            tg.cancel_scope.cancel()

    anyio.run(go)
    assert sorted(p.number for p in placer.placed) == sorted(NUMBERS)
    assert [c.disposition for c in store.calls(SPRING)] == ["DROP", "B", "NA"]
    assert all(d.reason is PacingReason.LEARNING for d in store.decisions(SPRING) if d.dial)


def test_a_restarted_dialer_keeps_the_windows_abandonment_tally(app: App) -> None:
    store = campaign_store("predictive")
    first = dialer(app, store)
    (call,) = first.tick()
    at = call.dialled_at
    dropped = CallResult(
        DialOutcome.ANSWERED, at, at + 12, answered_at=at + 6, abandoned=True, message="..."
    )
    assert first.finish(call, dropped).disposition == "DROP"
    clock = app.runtime.clock
    assert isinstance(clock, ManualClock)
    clock.advance(30)
    restarted = dialer(app, store)  # a new process: its pacer is rebuilt from the stored calls
    restarted.tick()
    latest = store.decisions(SPRING, limit=1)[0]
    assert latest.budget is not None
    assert (latest.budget.live, latest.budget.abandoned) == (1, 1)
    assert latest.budget.window == "2026-03-02"


def test_a_learnt_predictive_campaign_dials_ahead_of_its_ready_agents(app: App) -> None:
    for name in ("a2", "a3", "a4"):
        agent_svc.do_save_agent(app.runtime, AgentId(name), name.title(), {})
        agent_svc.do_login(app.runtime, AgentId(name))
        agent_svc.do_set_ready(app.runtime, AgentId(name))
    store = campaign_store("predictive")
    campaign = store.stored[SPRING].campaign
    store.save_campaign(replace(store.stored[SPRING], campaign=replace(campaign, agents=())))
    store.add_records(
        ListId("calls"),
        [DialingRecord(RecordId(f"x{i}"), (f"+4420794611{i:02d}",)) for i in range(40)],
    )
    service = dialer(app, store)
    service.tick()  # starts the campaign's pacer (learning: one call per ready agent)
    pacer = service.runs[SPRING].pacer
    assert pacer is not None
    rng = random.Random(5)
    for _ in range(600):  # what a few hours of this campaign taught it: 30 % live answers
        pacer.observe_attempt(rng.random() < 0.3, rng.uniform(5.0, 20.0))
    for _ in range(100):
        pacer.observe_talk(rng.expovariate(1 / 120.0))
        pacer.observe_wrap(15.0)
    for call in list(service.runs[SPRING].active.values()):  # the learning calls failed
        service.finish(call, CallResult(DialOutcome.NO_ANSWER, call.dialled_at, call.dialled_at))
    placed = service.tick()
    decision = store.decisions(SPRING, limit=1)[0]
    assert decision.reason is not PacingReason.LEARNING and decision.forecast is not None
    assert decision.inputs.ready == 4
    assert decision.dial > 4  # ahead of the agents: most calls will not be answered
    assert len(placed) == decision.dial and len(decision.risks) == decision.dial
    assert max(decision.risks) <= decision.forecast.threshold


MESSAGE_ONLY = (
    'agentless: {action: message, message: "Your visit is tomorrow. {opt_out}", lines: 2}'
)


def test_an_agentless_campaign_keeps_its_lines_up_with_nobody_logged_in(app: App) -> None:
    agent_svc.do_logout(app.runtime, AgentId("a1"))
    store = campaign_store("agentless", extra=MESSAGE_ONLY)
    service = dialer(app, store)
    first = service.tick()
    assert [c.placed.record_id for c in first] == ["r1", "r2"]  # two lines, no agent needed
    placed = first[0].placed
    assert placed.agentless is not None and placed.message.startswith("Your visit is tomorrow")
    assert service.tick() == []  # both lines busy
    full = store.decisions(SPRING)[0]
    assert full.reason is PacingReason.LINES_FULL and full.inputs.ready == 0
    at = first[0].dialled_at
    heard = CallResult(
        DialOutcome.ANSWERED,
        at,
        at + 12,
        answered_at=at + 4,
        message=placed.message,
        message_s=7.5,
        agentless=True,
    )
    stored = service.finish(first[0], heard)
    assert stored.disposition == "MSG" and stored.live and not stored.abandoned
    assert stored.message == placed.message
    assert store.progress(SPRING)[RecordId("r1")].done
    (again,) = service.tick()  # a line is free again
    assert again.placed.record_id == "r3"


def test_a_press_1_campaign_without_its_queue_dials_nothing(app: App) -> None:
    extra = 'agentless: {action: press_1, message: "Press 1", transfer_queue: nowhere}'
    store = campaign_store("agentless", extra=extra)
    assert dialer(app, store).tick() == []
    (logged,) = store.decisions(SPRING)
    assert logged.reason is PacingReason.NO_QUEUE and "nowhere" in logged.explanation


def test_a_detected_machine_is_stored_not_live_and_counts_its_false_positive_estimate(
    app: App,
) -> None:
    amd = "amd: {enabled: true, false_positive_share: 0.05, machine_action: message}"
    store = campaign_store("predictive", extra=amd)
    service = dialer(app, store)
    (call,) = service.tick()
    plan = call.placed.amd
    assert plan is not None and plan.leave_message and not plan.grace_from_greeting  # UK
    at = call.dialled_at
    machine = CallResult(
        DialOutcome.ANSWERED,
        at,
        at + 30,
        answered_at=at + 6,
        machine=True,
        message=call.placed.message,
        message_s=9.0,
    )
    stored = service.finish(call, machine)
    assert stored.disposition == "AM" and not stored.live and not stored.abandoned
    assert stored.message == call.placed.message  # left on the machine
    history = store.histories([NUMBERS[0]])[NUMBERS[0]]
    assert history.last_machine_at is not None  # the UK same-day rule will see it
    pacer = service.runs[SPRING].pacer
    assert pacer is not None
    tally = pacer.budget.tally
    assert tally.key == "2026-03-02" and tally.live == 0.05 and tally.abandoned == 0.05
    restarted = dialer(app, store)  # a restart replays the window, estimate included
    restarted.tick()
    again = restarted.runs[SPRING].pacer
    assert again is not None and again.budget.tally.abandoned == 0.05
