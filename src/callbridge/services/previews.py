"""Preview campaigns, the agent's side: each Ready agent of a running preview campaign is
offered the next dialable record, reserved for them until they press Call or Skip, stop being
free, or the campaign's preview timeout places the call anyway.

The record is picked on the dialer's tick through `next_dial`, like every mode's (do-not-call,
calling hours now, attempt limits, redial rules), among the records no call and no other
preview holds. A preview is not an interaction: nothing rings and the agent stays Ready, so
inbound still comes first (an inbound offer, Not Ready or logging out withdraws the preview and
the record goes back). Pressing Call makes it one: the dialer places the call with the agent
(`CallPlacer.place_preview_call`: an outbound interaction offered to and accepted by that
agent, whose phone rings first) and stores its outcome like any campaign call. A call to
nobody's queue wraps up at once in the center, so the agent's disposition for a preview call
is set here (`dispose`, during the call or after it) and waited for before the call is stored;
it is settled with none when the agent calls the next record. Every step is in the campaign's
pacing log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio
import structlog

from callbridge.domain.channels import Channel
from callbridge.domain.dialer.campaigns import Campaign
from callbridge.domain.dialer.dispositions import Disposition
from callbridge.domain.dialer.dnc import DncEntry
from callbridge.domain.dialer.ids import CampaignId, RecordId
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.domain.dialer.live_state import campaign_agents
from callbridge.domain.dialer.modes import DialMode
from callbridge.domain.dialer.pacing.state import PacingState
from callbridge.domain.dialer.preview import (
    Preview,
    Skip,
    agents_to_offer,
    event_decision,
    offer,
    preview_decision,
    resting,
)
from callbridge.domain.errors import InvalidInput, InvalidState, NotFound
from callbridge.domain.ids import AgentId, DispositionCode
from callbridge.ports import StoredCampaign

if TYPE_CHECKING:
    from callbridge.services.dialer import ActiveCall, CampaignRun, Dialer

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PreviewView:
    """What the agent's desktop shows: the preview, its record and its campaign."""

    preview: Preview
    record: DialingRecord
    campaign: Campaign


@dataclass(eq=False)
class LastCall:
    """The agent's latest preview call, until its disposition is settled."""

    view: PreviewView
    call_id: str
    code: DispositionCode | None = None
    settled: bool = False

    @property
    def dispositions(self) -> tuple[Disposition, ...]:
        """What the agent may set: the campaign's own dispositions."""
        return tuple(self.view.campaign.dispositions)


@dataclass(eq=False)
class PreviewDesk:
    """The previews out, at most one per agent; the records skipped, resting a while; and each
    agent's latest preview call, waiting for its disposition."""

    dialer: Dialer
    held: dict[AgentId, PreviewView] = field(default_factory=dict)
    skipped: dict[CampaignId, dict[RecordId, float]] = field(default_factory=dict)
    last: dict[AgentId, LastCall] = field(default_factory=dict)

    def numbers(self) -> set[str]:
        """The numbers held in previews (no other campaign may call them meanwhile)."""
        return {v.preview.number for v in self.held.values()}

    def records(self, campaign_id: CampaignId) -> set[RecordId]:
        """The records of `campaign_id` held in previews, and those resting after a skip."""
        mine = {
            v.preview.record_id for v in self.held.values() if v.preview.campaign_id == campaign_id
        }
        return mine | resting(self.skipped.get(campaign_id, {}), self.dialer.clock.now())

    def holds(self, campaign_id: CampaignId) -> bool:
        return any(v.preview.campaign_id == campaign_id for v in self.held.values())

    def view(self, agent_id: AgentId) -> PreviewView | None:
        """The agent's preview, if they hold one."""
        return self.held.get(agent_id)

    # --- on the tick ----------------------------------------------------------------------

    def withdraw_gone(self, running: set[CampaignId]) -> None:
        """Take back the previews whose agent is no longer free (an inbound offer, Not Ready,
        logged out) or whose campaign stopped running or left preview mode: the record goes
        back, not dialled."""
        agents = self.dialer.rt.center.agents
        for agent_id, view in list(self.held.items()):
            agent = agents.get(agent_id)
            cid = view.preview.campaign_id
            run = self.dialer.runs.get(cid)
            why = None
            if cid not in running or run is None or run.campaign.mode is not DialMode.PREVIEW:
                why = "the campaign is not running in preview mode"
            elif agent is None or not agent.can_take(Channel.VOICE):
                why = f"agent {agent_id} is no longer free"
            if why is not None:
                del self.held[agent_id]
                self._log(
                    cid,
                    f"withdrew record {view.preview.record_id} from agent {agent_id}: {why}",
                )

    def pace(
        self, run: CampaignRun, stored: StoredCampaign, state: PacingState
    ) -> list[ActiveCall]:
        """One preview tick of a campaign: place the calls whose preview time is over, offer
        a record to each of its free agents the blending reserve allows."""
        dialer, campaign, now = self.dialer, run.campaign, state.now
        cid = campaign.campaign_id
        calls = [
            self.call(agent_id, auto=True)
            for agent_id, v in list(self.held.items())
            if v.preview.campaign_id == cid and v.preview.due(now)
        ]
        held = sum(1 for v in self.held.values() if v.preview.campaign_id == cid)
        free = [
            a
            for a in campaign_agents(campaign, dialer.rt.center.agents.values())
            if a.can_take(Channel.VOICE)
        ]
        calling = {  # their preview call is being placed or is up: not free for another
            c.agent_id
            for r in dialer.runs.values()
            for c in r.active.values()
            if c.agent_id is not None and not c.progress.ended
        }
        setting_up = sum(1 for a in free if a.id in calling)  # still Ready until connected
        free = [a for a in free if a.id not in calling]
        targets = agents_to_offer(free, state.ready - setting_up, set(self.held))
        offered: list[Preview] = []
        why = ""
        if targets:
            picker = dialer.picker(run, stored, exclude=self.records(cid))
            for agent_id in targets:
                pick = picker.next()
                if pick is None:
                    why = picker.why or "no record to offer"
                    break
                record, number = pick
                preview = offer(cid, record.record_id, number, agent_id, campaign.preview, now)
                self.held[agent_id] = PreviewView(preview, record, campaign)
                offered.append(preview)
                log.info(
                    "dialer.preview", campaign_id=cid, record_id=record.record_id, agent_id=agent_id
                )
        decision = preview_decision(state, offered, held, why)
        key = (decision.reason, decision.inputs, decision.explanation)
        if offered or key != run.logged:  # every offer; other ticks when something changed
            run.logged = key
            dialer.store.record_decision(cid, decision)
        return calls

    # --- the agent's buttons ----------------------------------------------------------------

    def call(self, agent_id: AgentId, *, auto: bool = False) -> ActiveCall:
        """Place the agent's preview call now (`auto`: its preview time is over)."""
        view = self._take(agent_id)
        preview = view.preview
        run = self.dialer.runs.get(preview.campaign_id)
        if run is None:
            raise InvalidState(f"campaign {preview.campaign_id} is not running", field="campaign")
        now = self.dialer.clock.now()
        call = self.dialer.place(run, view.record, preview.number, now, agent_id)
        before = self.last.get(agent_id)
        if before is not None:  # the agent moved on: that call keeps what was set, if anything
            before.settled = True
        self.last[agent_id] = LastCall(view, call.placed.call_id)
        if auto:
            waited = now - preview.offered_at
            what = (
                f"record {preview.record_id} dialled for agent {agent_id} after"
                f" {waited:.0f} s of preview (timeout)"
            )
        else:
            what = f"agent {agent_id} called record {preview.record_id}"
        self._log(preview.campaign_id, what, dial=1)
        return call

    def skip(self, agent_id: AgentId, skip: Skip) -> Preview:
        """The agent passes: the record goes back undialled (attempts unchanged) and rests a
        while; with `do_not_call` the number goes on the internal do-not-call list."""
        view = self._take(agent_id)
        preview, now = view.preview, self.dialer.clock.now()
        self.skipped.setdefault(preview.campaign_id, {})[preview.record_id] = now
        what = f"agent {agent_id} skipped record {preview.record_id}"
        if skip.reason:
            what += f" ({skip.reason})"
        if skip.do_not_call:
            writer = self.dialer.dnc
            if writer is None:
                raise InvalidState("no do-not-call list to add to", field="do_not_call")
            at = datetime.fromtimestamp(now, tz=UTC)
            source = f"skipped by agent {agent_id}" + (f": {skip.reason}" if skip.reason else "")
            writer.add_dnc([DncEntry(preview.number, at, source=source)], added_at=at)
            what += "; number added to the do-not-call list"
        self._log(preview.campaign_id, what)
        return preview

    def last_call(self, agent_id: AgentId) -> LastCall | None:
        """The agent's latest preview call whose disposition is not settled yet."""
        last = self.last.get(agent_id)
        return last if last is not None and not last.settled else None

    def dispose(self, agent_id: AgentId, code: DispositionCode) -> LastCall:
        """The agent's disposition for their latest preview call (one of the campaign's)."""
        last = self.last_call(agent_id)
        if last is None:
            raise NotFound(f"agent {agent_id} has no preview call to dispose", field="agent_id")
        if code not in {d.code for d in last.dispositions}:
            raise InvalidInput(f"unknown disposition {code!r}", field="disposition")
        last.code, last.settled = code, True
        self._log(
            last.view.preview.campaign_id,
            f"agent {agent_id} set {code} on record {last.view.preview.record_id}",
        )
        return last

    async def disposition(
        self, call: ActiveCall, connected: bool, wait_s: float
    ) -> DispositionCode | None:
        """The disposition the agent sets for `call` (a connected one: waited for up to
        `wait_s`, until set or the agent calls again); None for an unconnected call."""
        agent_id = call.agent_id
        last = self.last.get(agent_id) if agent_id is not None else None
        if agent_id is None or last is None or last.call_id != call.placed.call_id:
            return None
        if connected:
            with anyio.move_on_after(wait_s):
                while True:  # polled: set from a request, or from the next Call, outside a loop
                    if last.settled:
                        break
                    await anyio.sleep(self.dialer.tick_s)
        if self.last.get(agent_id) is last:
            del self.last[agent_id]
        return last.code if connected else None

    def _take(self, agent_id: AgentId) -> PreviewView:
        view = self.held.pop(agent_id, None)
        if view is None:
            raise NotFound(f"agent {agent_id} has no preview", field="agent_id")
        return view

    def _log(self, cid: CampaignId, sentence: str, dial: int = 0) -> None:
        run = self.dialer.runs.get(cid)
        if run is None:
            log.info("dialer.preview_step", campaign_id=cid, step=sentence)
            return
        state = self.dialer.state(run, self.dialer.clock.now())
        decision = event_decision(state, sentence, dial)
        run.logged = (decision.reason, decision.inputs, decision.explanation)
        self.dialer.store.record_decision(cid, decision)
