"""The live dialer: every running campaign paced and dialled on a tick, through the telephony
adapter, with every decision and every ended call stored.

On each tick (`dialer_tick_s`), for each RUNNING campaign: read its pacing state from the live
center (its agents, the calls it has ringing and waiting), ask its mode's pacer how many calls
to place, log the decision (when it dials, or when its reason or inputs change), pick that many
records with `next_dial` (do-not-call, attempt limits, calling hours, all checked now), and
place them. A stale registry copy halts dialling until it is replaced; a campaign whose records
are all done is marked COMPLETED. As calls happen the predictive pacer learns from them (ring
time and live answers, talk, wrap-up, abandons in the regulatory window); each ended call is
stored with its disposition, the record's progress and the number's history, in one write.

A preview campaign places no call by itself: its records are offered to its agents, who call
or skip them (`services/previews.py`, `PreviewDesk`, kept here as `previews`).

`tick` and `finish` are synchronous and take the time from the injected clock: the tests step
them by hand. `run` is the server's background task around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

import anyio
import structlog

from callbridge.domain.clock import Clock
from callbridge.domain.dialer.attempts import NumberHistory, RecordProgress, after_call
from callbridge.domain.dialer.calls import (
    AmdPlan,
    CallResult,
    DialOutcome,
    DialProgress,
    PlacedCall,
    disposition_of,
)
from callbridge.domain.dialer.campaigns import (
    Campaign,
    CampaignAction,
    CampaignState,
    MachineAction,
    transition,
)
from callbridge.domain.dialer.decisions import PacingDecision
from callbridge.domain.dialer.dispositions import MACHINE, Effect
from callbridge.domain.dialer.dnc import DncEntry
from callbridge.domain.dialer.ids import CampaignId, RecordId
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.domain.dialer.live_state import campaign_agents, pacing_state
from callbridge.domain.dialer.modes import DialMode
from callbridge.domain.dialer.pacing.predictive import PredictivePacer, PredictiveSettings
from callbridge.domain.dialer.pacing.progressive import agentless, power, progressive
from callbridge.domain.dialer.pacing.state import PacingState
from callbridge.domain.errors import CallbridgeError, InvalidState
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId, QueueId
from callbridge.ports import CampaignCall, CampaignStore, IdFactory, StoredCampaign, StoredEvent
from callbridge.services.picks import Picker
from callbridge.services.previews import PreviewDesk
from callbridge.services.runtime import Runtime

log = structlog.get_logger(__name__)

WARM_UP_CALLS = 2000  # stored calls replayed into a campaign's estimates when it starts
WRAP_WAIT_S = 900.0  # how long an ended call waits for its agent's disposition


class CallPlacer(Protocol):
    """Places one campaign call and sees it through (the voice gateway does it on SIP)."""

    @property
    def can_place_calls(self) -> bool:
        """Whether calls can be placed now (a trunk, the telephony running)."""
        ...

    async def place_campaign_call(
        self, placed: PlacedCall, progress: DialProgress | None = None
    ) -> CallResult:
        """Dial, ring, connect or abandon, hang up; `progress` learns of the answer and the
        connection as they happen."""
        ...

    async def place_preview_call(
        self, placed: PlacedCall, agent_id: AgentId, progress: DialProgress | None = None
    ) -> CallResult:
        """A preview call: `agent_id`'s phone first, then the number, bridged on the answer;
        `agent_unreached` in the result when the number was never dialled."""
        ...


class DncWriter(Protocol):
    """Where a number that asked not to be called goes: the internal do-not-call list."""

    def add_dnc(
        self,
        entries: Sequence[DncEntry],
        campaign_id: CampaignId | None = None,
        *,
        added_at: datetime,
    ) -> int:
        """Add entries to the internal list (`campaign_id` None) or a campaign's."""
        ...


@dataclass(eq=False)
class ActiveCall:
    placed: PlacedCall
    dialled_at: float
    progress: DialProgress = field(default_factory=DialProgress)
    answer_seen: bool = False
    agent_id: AgentId | None = None  # a preview call's agent, connected before the dial


@dataclass(eq=False)
class CampaignRun:
    """What the dialer keeps for a running campaign between ticks."""

    campaign: Campaign
    pacer: PredictivePacer | None
    active: dict[str, ActiveCall] = field(default_factory=dict)
    logged: tuple[object, ...] | None = None  # the last decision logged: (reason, inputs)


def to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class Dialer:
    def __init__(
        self,
        store: CampaignStore,
        rt: Runtime,
        placer: CallPlacer,
        *,
        tick_s: float = 0.5,
        clock: Clock | None = None,
        new_id: IdFactory | None = None,
        dnc: DncWriter | None = None,
    ) -> None:
        self.store, self.rt, self.placer, self.dnc = store, rt, placer, dnc
        self.tick_s = tick_s
        self.clock = clock or rt.clock
        self.new_id = new_id or rt.new_id
        self.runs: dict[CampaignId, CampaignRun] = {}
        self.placeable = True
        self.previews = PreviewDesk(self)
        self._tg: anyio.abc.TaskGroup | None = None

    async def run(self) -> None:
        """Tick until cancelled; each placed call is a child task seen through to its end."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                while True:
                    try:
                        for call in self.tick():
                            tg.start_soon(self.see_through, call)
                    except Exception:  # a bad tick (the store away) must not stop the dialer
                        log.exception("dialer.tick_failed")
                    await anyio.sleep(self.tick_s)
            finally:
                self._tg = None

    def call_preview(self, agent_id: AgentId) -> ActiveCall:
        """The agent pressed Call: their preview's call is placed now (by the running loop)."""
        if self._tg is None:
            raise InvalidState("the dialer is not running", field="dialer")
        call = self.previews.call(agent_id)
        self._tg.start_soon(self.see_through, call)
        return call

    async def see_through(self, call: ActiveCall) -> None:
        """Place the call, wait for it to end (and for its agent's wrap-up), store it."""
        try:
            if call.agent_id is not None:
                result = await self.placer.place_preview_call(
                    call.placed, call.agent_id, call.progress
                )
            else:
                result = await self.placer.place_campaign_call(call.placed, call.progress)
        except Exception:
            log.exception("dialer.call_failed", call_id=call.placed.call_id)
            result = CallResult(DialOutcome.FAILED, call.dialled_at, self.clock.now())
        if result.agent_unreached:  # the number was never dialled: the record goes back
            run = self.runs.get(call.placed.campaign_id)
            if run is not None:
                run.active.pop(call.placed.call_id, None)
            log.info("dialer.preview_unreached", record_id=call.placed.record_id)
            return
        code, wrapped_at = None, None
        if result.connected_at is not None and result.interaction_id is not None:
            code, wrapped_at = await self._wrap_up(result.interaction_id)
        if call.agent_id is not None:  # a preview call: the agent disposes it on the desktop
            connected = result.connected_at is not None
            code = await self.previews.disposition(call, connected, WRAP_WAIT_S) or code
        try:
            self.finish(call, result, code, wrapped_at)
        except Exception:
            log.exception("dialer.record_failed", call_id=call.placed.call_id)

    async def _wrap_up(self, iid: InteractionId) -> tuple[DispositionCode | None, float | None]:
        """The agent's disposition once they wrapped up (None: none set, or not in time)."""
        with anyio.move_on_after(WRAP_WAIT_S):
            while True:
                for event in self.rt.store.events(interaction_id=iid):
                    if event.kind == "interaction_wrapped_up":
                        code = event.payload.get("disposition")
                        return (DispositionCode(code) if isinstance(code, str) else None), event.at
                await anyio.sleep(self.tick_s)
        return None, None

    # --- the tick ---------------------------------------------------------------------------

    def tick(self) -> list[ActiveCall]:
        """Pace every running campaign once; the calls to place now."""
        placed: list[ActiveCall] = []
        if not self.placer.can_place_calls:  # every call would fail and burn its record
            if self.placeable:
                log.info("dialer.idle", why="no trunk, or the telephony is not running")
            self.placeable = False
            return placed
        self.placeable = True
        running = {s.campaign.campaign_id: s for s in self.store.campaigns() if s.status.dialling}
        self.previews.withdraw_gone(set(running))
        for cid in [c for c, run in self.runs.items() if c not in running and not run.active]:
            del self.runs[cid]  # paused or stopped, and its last calls are over
        for cid, stored in running.items():
            run = self.runs.get(cid)
            if run is None or run.campaign.mode is not stored.campaign.mode:
                fresh = self._start(stored)
                if run is not None:  # its mode changed: a new pacer, the same calls up
                    fresh.active = run.active
                run = self.runs[cid] = fresh
            run.campaign = stored.campaign
            try:
                placed += self._pace(run, stored)
            except CallbridgeError as exc:  # this campaign's trouble stops no other one
                log.error("dialer.pacing_failed", campaign_id=cid, error=exc.message)
        return placed

    def _start(self, stored: StoredCampaign) -> CampaignRun:
        campaign = stored.campaign
        pacer = None
        if campaign.mode is DialMode.PREDICTIVE:
            pacer = PredictivePacer(
                campaign.abandonment, PredictiveSettings(grace_s=campaign.profile.grace_s)
            )
            self._warm_up(pacer, stored)
        log.info("dialer.campaign_started", campaign_id=campaign.campaign_id, mode=campaign.mode)
        return CampaignRun(campaign, pacer)

    def _warm_up(self, pacer: PredictivePacer, stored: StoredCampaign) -> None:
        """What the campaign's stored calls teach a fresh pacer: the estimates from the latest
        calls, and the abandonment tally of the current regulatory window (a restart must not
        reset it)."""
        calls = self.store.calls(stored.campaign.campaign_id)[-WARM_UP_CALLS:]
        window = self._window(stored, self.clock.now())
        for call in calls:
            end = call.answered_at or call.ended_at
            pacer.observe_attempt(call.live, (end - call.dialled_at).total_seconds())
            if call.connected_at is not None:
                pacer.observe_talk((call.ended_at - call.connected_at).total_seconds())
            if call.live and call.window == window:
                pacer.observe_answer((call.answered_at or end).timestamp(), window, call.abandoned)
            share = stored.campaign.counted_false_positives
            if share and call.window == window and call.disposition == MACHINE.code:
                pacer.budget.observe_false_positives(window, share)

    def _window(self, stored: StoredCampaign, at: float) -> str:
        campaign = stored.campaign
        first = stored.status.first_started or to_datetime(at)
        return campaign.profile.window_of(first, to_datetime(at), campaign.zone).key

    def _pace(self, run: CampaignRun, stored: StoredCampaign) -> list[ActiveCall]:
        campaign, now = run.campaign, self.clock.now()
        window = self._window(stored, now)
        self._observe_answers(run)
        state = self.state(run, now)
        if campaign.mode is DialMode.PREVIEW:
            return self.previews.pace(run, stored, state)
        decision = self._decide(run, state, window)
        self.log_decision(run, decision)
        if decision.dial == 0:
            return []  # the list is read only to dial from it (completion is noticed then)
        picker = self.picker(run, stored)
        placed: list[ActiveCall] = []
        while len(placed) < decision.dial and (pick := picker.next()) is not None:
            placed.append(self.place(run, pick[0], pick[1], now))
        return placed

    def picker(
        self, run: CampaignRun, stored: StoredCampaign, exclude: set[RecordId] | None = None
    ) -> Picker:
        """The campaign's next records to dial, one by one (`exclude`: held elsewhere)."""
        campaign = run.campaign
        records = [r for lst in campaign.lists for r in self.store.records(lst.list_id)]
        progress = self.store.progress(campaign.campaign_id)
        busy = {c.placed.record_id for c in run.active.values()} | (exclude or set())
        busy_numbers = {c.placed.number for r in self.runs.values() for c in r.active.values()}
        busy_numbers |= self.previews.numbers()
        mine = {rid: replace(progress.get(rid, RecordProgress()), done=True) for rid in busy} | {
            rid: p for rid, p in progress.items() if rid not in busy
        }
        histories = self.store.histories(sorted({n for r in records for n in r.phones}))
        dnc = self.store.dnc_book(campaign.campaign_id)
        return Picker(self, run, stored, records, progress, mine, histories, dnc, busy_numbers)

    def _observe_answers(self, run: CampaignRun) -> None:
        """Teach the pacer each answer as soon as it is seen (waiting for the end of the call
        would hold back the live-answer rate for a whole talk time)."""
        for call in run.active.values():
            answered = call.progress.answered_at
            if answered is not None and not call.answer_seen:
                call.answer_seen = True
                if run.pacer is not None:
                    run.pacer.observe_attempt(True, max(0.0, answered - call.dialled_at))

    def state(self, run: CampaignRun, now: float) -> PacingState:
        """The campaign's pacing state from the live center and its calls up."""
        center = self.rt.center
        team = campaign_agents(run.campaign, center.agents.values())
        served: set[QueueId] = set()
        for agent in team:
            served.update(center.index.agent_levels.get(agent.id, {}))
        ringing = [c.dialled_at for c in run.active.values() if c.progress.answered_at is None]
        waiting = sum(
            1
            for c in run.active.values()
            if c.progress.answered_at is not None
            and c.progress.connected_at is None
            and not c.progress.ended
        )
        return pacing_state(
            run.campaign, center.agents.values(), center.interactions, served, ringing, waiting, now
        )

    def _decide(self, run: CampaignRun, state: PacingState, window: str) -> PacingDecision:
        campaign = run.campaign
        mode = campaign.mode
        if mode is DialMode.PREDICTIVE:
            assert run.pacer is not None
            return run.pacer.decide(state, window)
        if mode is DialMode.PROGRESSIVE:
            return progressive(state)
        if mode is DialMode.POWER:
            return power(state, campaign.power)
        settings = campaign.agentless
        assert settings is not None  # the campaign checks it has them
        queue = settings.transfer_queue
        exists = queue is None or queue in self.rt.center.index.queues
        return agentless(state, settings, len(run.active), queue_exists=exists)

    def log_decision(self, run: CampaignRun, decision: PacingDecision) -> None:
        """Store decisions that dial, and the others when their reason or inputs change (a
        decision every tick of an idle campaign would bury the ones that matter)."""
        key = (decision.reason, decision.inputs)
        if decision.dial or key != run.logged:
            run.logged = key
            self.store.record_decision(run.campaign.campaign_id, decision)

    def place(
        self,
        run: CampaignRun,
        record: DialingRecord,
        number: str,
        now: float,
        agent_id: AgentId | None = None,
    ) -> ActiveCall:
        """A call of `record` to `number`, up from now (`agent_id`: a preview's agent)."""
        campaign = run.campaign
        placed = PlacedCall(
            call_id=self.new_id(),
            campaign_id=campaign.campaign_id,
            record_id=record.record_id,
            number=number,
            caller_id=campaign.caller_id,
            ring_timeout_s=campaign.ring_timeout_s,
            grace_s=campaign.profile.grace_s,
            message=campaign.message,
            opt_out_key=campaign.opt_out_key,
            agents=campaign.agents,
            skills=campaign.skills,
            agentless=campaign.agentless,
            amd=self._amd_plan(campaign),
        )
        call = ActiveCall(placed, now, agent_id=agent_id)
        run.active[placed.call_id] = call
        log.info("dialer.dial", campaign_id=campaign.campaign_id, record_id=record.record_id)
        return call

    @staticmethod
    def _amd_plan(campaign: Campaign) -> AmdPlan | None:
        amd = campaign.amd
        if not amd.enabled:
            return None
        return AmdPlan(
            amd.detector,
            leave_message=amd.machine_action is MachineAction.MESSAGE,
            grace_from_greeting=campaign.profile.grace_from_greeting,
        )

    def maybe_complete(
        self,
        run: CampaignRun,
        stored: StoredCampaign,
        records: Sequence[DialingRecord],
        progress: dict[RecordId, RecordProgress],
    ) -> None:
        """COMPLETED once every record is done and no call is still up."""
        if run.active or self.previews.holds(run.campaign.campaign_id):
            return
        if not all(progress.get(r.record_id, RecordProgress()).done for r in records):
            return
        current = self.store.campaign(stored.campaign.campaign_id) or stored
        if current.status.state is not CampaignState.RUNNING:
            return
        status = transition(current.status, CampaignAction.COMPLETE, to_datetime(self.clock.now()))
        self.store.save_campaign(replace(current, status=status))
        log.info("dialer.campaign_completed", campaign_id=stored.campaign.campaign_id)

    # --- an ended call ------------------------------------------------------------------------

    def finish(
        self,
        call: ActiveCall,
        result: CallResult,
        agent_code: DispositionCode | None = None,
        wrapped_at: float | None = None,
    ) -> CampaignCall:
        """Store an ended call with its disposition, the record's progress and the number's
        history; teach the pacer what it showed."""
        placed = call.placed
        cid = placed.campaign_id
        run = self.runs.get(cid)
        run_campaign = run.campaign if run is not None else None
        stored = self.store.campaign(cid)
        campaign = run_campaign or (stored.campaign if stored else None)
        if run is not None:
            run.active.pop(placed.call_id, None)
        assert campaign is not None, f"campaign {cid} is gone"
        disposition = disposition_of(campaign, result, agent_code)
        dialled, ended = to_datetime(result.dialled_at), to_datetime(result.ended_at)
        progress = self.store.progress(cid).get(placed.record_id, RecordProgress())
        progress = after_call(campaign.attempts, progress, disposition, ended)
        history = self.store.histories([placed.number]).get(placed.number)
        history = (history or NumberHistory(placed.number)).recorded(dialled, disposition)
        window = self._window(stored, result.dialled_at) if stored else ""
        stamp = to_datetime
        record = CampaignCall(
            call_id=placed.call_id,
            campaign_id=cid,
            record_id=placed.record_id,
            number=placed.number,
            dialled_at=dialled,
            ended_at=ended,
            disposition=disposition.code,
            window=window,
            answered_at=stamp(result.answered_at) if result.answered_at is not None else None,
            live=result.live,
            connected_at=stamp(result.connected_at) if result.connected_at is not None else None,
            agent_id=result.agent_id,
            interaction_id=result.interaction_id,
            abandoned=result.abandoned,
            message=result.message
            if result.abandoned or result.agentless or result.machine
            else None,
        )
        self.store.record_call(record, progress, history)
        if disposition.effect is Effect.DNC and self.dnc is not None:
            source = "opt-out key" if result.opted_out else f"disposition {disposition.code}"
            self.dnc.add_dnc([DncEntry(placed.number, ended, source=source)], added_at=ended)
        pacer = run.pacer if run is not None else None
        if pacer is not None:
            if not call.answer_seen:
                call.answer_seen = True
                pacer.observe_attempt(result.live, result.ring_s)
            if result.live and result.answered_at is not None:
                pacer.observe_answer(result.answered_at, window, result.abandoned)
            if result.machine and (share := campaign.counted_false_positives):
                pacer.budget.observe_false_positives(window, share)
            if result.talk_s is not None:
                pacer.observe_talk(result.talk_s)
            if wrapped_at is not None:
                pacer.observe_wrap(max(0.0, wrapped_at - result.ended_at))
        log.info(
            "dialer.call_ended",
            campaign_id=cid,
            record_id=placed.record_id,
            disposition=disposition.code,
            abandoned=result.abandoned,
        )
        return record


def heard_message(result: CallResult) -> bool:
    """Whether the call's message is kept with it: abandoned, agentless, or left on a
    machine."""
    return result.abandoned or result.agentless or (result.machine and result.message_s > 0)


def do_queue_answered(rt: Runtime, iid: InteractionId, queue_id: QueueId) -> list[StoredEvent]:
    """An answered agentless call whose person pressed the transfer key: into `queue_id`,
    where the ACD offers it to an agent like any call."""
    return rt.apply(lambda c, now: c.enqueue(iid, queue_id, now))
