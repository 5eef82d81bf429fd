"""The contact center's live state, and every change that can happen to it.

Each public method checks its input first (raising a CallbridgeError and changing nothing),
then changes state and returns the events that tell what changed, in order. A use case may
set off routing: ending a call frees an agent, who is then offered the next interaction; those
consequences come back as further events in the same list.

The bookkeeping those operations share (lines, offers, agents' work) is in live.py; the
configuration and the agents' presence are in roster.py.
"""

from __future__ import annotations

import bisect

from callbridge.domain.agents import (
    MISSED_REASON,
    Agent,
    Presence,
    WorkPhase,
    check_skills,
)
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.errors import (
    AgentUnavailable,
    AlreadyExists,
    InvalidInput,
    InvalidState,
)
from callbridge.domain.events import (
    CallbackRequested,
    CallProgress,
    Event,
    InteractionConnected,
    InteractionCreated,
    InteractionEnded,
    InteractionEscalated,
    InteractionHeld,
    InteractionOverflowed,
    InteractionQueued,
    InteractionResumed,
    InteractionTransferred,
    InteractionWrappedUp,
    IvrEntered,
    IvrFinished,
    OfferMissed,
    WaitAnnounced,
    WrapUpStarted,
)
from callbridge.domain.frozen import constructor
from callbridge.domain.ids import (
    AgentId,
    DispositionCode,
    InteractionId,
    QueueId,
    SkillId,
)
from callbridge.domain.interactions import TRANSITIONS, EndReason, Interaction
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.live import NO_QUEUE_WRAP_UP, when_waited
from callbridge.domain.queues import OverflowAction, OverflowKind, Queue, WrapUpPolicy
from callbridge.domain.roster import Roster
from callbridge.domain.routing.explanation import RoutingDecision, Trigger
from callbridge.domain.timers import Timer, TimerKind

CALL_LEGS = ("customer", "agent", "consult")
CALL_STAGES = ("ringing", "answered", "busy", "no_answer", "failed")
# Enum members and values as module names for the steps every interaction takes: an Enum
# class attribute or `.value` costs a Python call on 3.11 (the simulator feels each one).
_FRESH, _LIVE = (S.NEW, S.IN_IVR), (S.CONNECTED, S.ON_HOLD)
_QUEUED, _OFFERED, _CONNECTED, _ENDED, _WRAPPED_UP = (
    S.QUEUED,
    S.OFFERED,
    S.CONNECTED,
    S.ENDED,
    S.WRAPPED_UP,
)
_BUSY, _WRAP_UP = WorkPhase.BUSY, WorkPhase.WRAP_UP
_COMPLETED, _ABANDONED = EndReason.COMPLETED, EndReason.ABANDONED
_CHANNEL_VALUES = {c: c.value for c in Channel}
_DIRECTION_VALUES = {d: d.value for d in Direction}
_REASON_VALUES = {r: r.value for r in EndReason}
# The events of every call, built by plain functions rather than by calling their classes
# (see frozen.constructor): the same values, in about a third of the time.
_created = constructor(InteractionCreated)
_connected = constructor(InteractionConnected)
_ended = constructor(InteractionEnded)
_wrap_up_started = constructor(WrapUpStarted)
_wrapped_up = constructor(InteractionWrappedUp)


class ContactCenter(Roster):
    # --- interactions arrive -----------------------------------------------------------------

    def create_interaction(
        self,
        interaction_id: InteractionId,
        channel: Channel,
        direction: Direction,
        from_address: str,
        to_address: str,
        attached: dict[str, str],
        now: float,
    ) -> list[Event]:
        if interaction_id in self.interactions:
            raise AlreadyExists(f"interaction {interaction_id} exists", field="id")
        if not from_address:
            raise InvalidInput("from is empty", field="from")
        # each its own copy: the interaction's grows (an IVR adds to it), the event's is told
        ix = Interaction(
            interaction_id,
            channel,
            direction,
            from_address,
            to_address,
            now,
            dict(attached) if attached else {},
        )
        self.interactions[ix.id] = ix
        return [
            _created(
                at=now,
                interaction_id=ix.id,
                channel=_CHANNEL_VALUES[channel],
                direction=_DIRECTION_VALUES[direction],
                from_address=from_address,
                to_address=to_address,
                attached=dict(attached) if attached else {},
            )
        ]

    def dial(
        self,
        interaction_id: InteractionId,
        agent_id: AgentId,
        to_address: str,
        from_address: str,
        attached: dict[str, str],
        now: float,
    ) -> list[Event]:
        """Click-to-dial: an outbound call the agent places, connected to the agent at once.

        The agent must be logged in (Ready or Not Ready) with nothing else in hand: a call is
        exclusive. The agent's phone is what rings the customer.
        """
        agent = self.agent(agent_id)
        if agent.presence is Presence.LOGGED_OUT or agent.work:
            raise AgentUnavailable(
                f"agent {agent_id} cannot place a call now ({agent.state.value})",
                agent_id=agent_id,
            )
        if not to_address.strip():
            raise InvalidInput("the number to dial is empty", field="to")
        events = self.create_interaction(
            interaction_id,
            Channel.VOICE,
            Direction.OUTBOUND,
            from_address,
            to_address,
            attached,
            now,
        )
        ix = self.interactions[interaction_id]
        decision = RoutingDecision(
            trigger=Trigger.DIAL,
            interaction_id=ix.id,
            queue_id=QueueId(""),
            agent_id=agent_id,
            level=0,
            requirement="the agent who dialled",
            strategy="direct",
            rule=f"placed by agent {agent_id}",
            candidates_total=1,
        )
        self._offer(ix, agent, decision, now, events)
        events += self.accept(ix.id, agent_id, now)
        return events

    def offer_answered(
        self, interaction_id: InteractionId, agent_id: AgentId, rule: str, now: float
    ) -> list[Event]:
        """A call the dialer placed that a person answered (a new outbound interaction):
        offered to `agent_id`, whom the dialer chose, outside any queue. Answering the agent's
        phone accepts it; a missed offer ends it (abandoned)."""
        ix = self.interaction(interaction_id)
        agent = self.agent(agent_id)
        if ix.state is not S.NEW or ix.direction is not Direction.OUTBOUND:
            raise InvalidState(
                f"interaction {ix.id} is not a new outbound call", interaction_id=ix.id
            )
        if not agent.can_take(ix.channel):
            raise AgentUnavailable(
                f"agent {agent_id} cannot take a call now ({agent.state.value})",
                agent_id=agent_id,
            )
        decision = RoutingDecision(
            trigger=Trigger.CAMPAIGN,
            interaction_id=ix.id,
            queue_id=QueueId(""),
            agent_id=agent_id,
            level=0,
            requirement="an agent of the campaign",
            strategy="dialer",
            rule=rule,
            candidates_total=1,
        )
        events: list[Event] = []
        self._offer(ix, agent, decision, now, events)
        return events

    def enqueue(
        self,
        interaction_id: InteractionId,
        queue_id: QueueId,
        now: float,
        priority: int | None = None,
        extra_skills: dict[SkillId, int] | None = None,
    ) -> list[Event]:
        # the look-up methods raise NotFound; called only on a miss, as this runs per call
        ix = self.interactions.get(interaction_id) or self.interaction(interaction_id)
        queue = self.index.queues.get(queue_id) or self.queue(queue_id)
        if ix.state not in _FRESH:
            raise InvalidState(
                f"interaction {ix.id} is {ix.state.value}, not new", interaction_id=ix.id
            )
        if extra_skills:
            check_skills(extra_skills)
            ix.extra_skills = dict(extra_skills)
        events: list[Event] = []
        self._enter_queue(
            ix, queue, queue.priority if priority is None else priority, "arrival", now, events
        )
        if queue.no_agent is not None and not self._staffed(queue):  # so still waiting
            self._overflow(ix, queue, queue.no_agent, "no_agent", now, events)
        return events

    def _staffed(self, queue: Queue) -> bool:
        """Someone logged in could take this queue's work at some escalation level."""
        return any(
            queue.id in levels and self.agents[agent_id].logged_in_at is not None
            for agent_id, levels in self.index.agent_levels.items()
        )

    # --- the IVR -----------------------------------------------------------------------------

    def enter_ivr(self, interaction_id: InteractionId, flow: str, now: float) -> list[Event]:
        """A new interaction goes through an IVR flow before any queue."""
        ix = self.interaction(interaction_id)
        if not flow:
            raise InvalidInput("flow is empty", field="flow")
        ix.move_to(S.IN_IVR)
        return [IvrEntered(at=now, interaction_id=ix.id, flow=flow)]

    def finish_ivr(
        self,
        interaction_id: InteractionId,
        flow: str,
        outcome: str,
        path: tuple[str, ...],
        variables: dict[str, str],
        now: float,
    ) -> list[Event]:
        """The flow is done: what it gathered travels with the interaction from now on. Any
        state changes (enqueue, end) are the caller's next step, in the same change."""
        ix = self.interaction(interaction_id)
        if ix.state is not S.IN_IVR:
            raise InvalidState(
                f"interaction {ix.id} is {ix.state.value}, not in an IVR", interaction_id=ix.id
            )
        ix.attached.update(variables)
        return [
            IvrFinished(
                at=now,
                interaction_id=ix.id,
                flow=flow,
                outcome=outcome,
                path=path,
                variables=dict(variables),
            )
        ]

    def end_in_ivr(
        self, interaction_id: InteractionId, reason: EndReason, now: float
    ) -> list[Event]:
        """The flow finished the call itself: hung up, transferred out, or took a message."""
        ix = self.interaction(interaction_id)
        if ix.state is not S.IN_IVR:
            raise InvalidState(
                f"interaction {ix.id} is {ix.state.value}, not in an IVR", interaction_id=ix.id
            )
        events: list[Event] = []
        self._end(ix, "system", reason, now, events)
        return events

    def announce_wait(
        self,
        interaction_id: InteractionId,
        position: int,
        expected_wait_s: float | None,
        now: float,
    ) -> list[Event]:
        """The waiting caller was told their place and expected wait (logged as evidence)."""
        ix = self.interaction(interaction_id)
        if ix.state is not S.QUEUED or ix.queue_id is None:
            raise InvalidState(
                f"interaction {ix.id} is {ix.state.value}, not queued", interaction_id=ix.id
            )
        if position < 1:
            raise InvalidInput("position starts at 1", field="position")
        return [
            WaitAnnounced(
                at=now,
                interaction_id=ix.id,
                queue_id=ix.queue_id,
                position=position,
                expected_wait_s=expected_wait_s,
            )
        ]

    # --- offers ----------------------------------------------------------------------------

    def _offered_to(self, interaction_id: InteractionId, agent_id: AgentId) -> Interaction:
        ix = self.interaction(interaction_id)
        self.agent(agent_id)
        if ix.state is not _OFFERED or ix.agent_id != agent_id:
            raise InvalidState(
                f"interaction {ix.id} is not offered to agent {agent_id}",
                interaction_id=ix.id,
                agent_id=agent_id,
            )
        return ix

    def accept(self, interaction_id: InteractionId, agent_id: AgentId, now: float) -> list[Event]:
        ix = self.interactions.get(interaction_id)
        if ix is None or ix.state is not _OFFERED or ix.agent_id != agent_id:
            ix = self._offered_to(interaction_id, agent_id)  # raises, saying what is wrong
        agent = self.agents[agent_id]  # it holds the offer
        if _CONNECTED not in TRANSITIONS[ix.state]:  # ix.move_to(_CONNECTED), inline: per call
            raise ix.cannot_move(_CONNECTED)
        ix.state, ix.version = _CONNECTED, ix.version + 1
        ix.offer_deadline = None
        if ix.answered_at is None:
            ix.answered_at = now
        agent.work[ix.id].phase = _BUSY
        return [_connected(at=now, interaction_id=ix.id, agent_id=agent_id)]

    def reject(self, interaction_id: InteractionId, agent_id: AgentId, now: float) -> list[Event]:
        ix = self._offered_to(interaction_id, agent_id)
        return self._miss(ix, self.agents[agent_id], "rejected", now)

    def _miss(self, ix: Interaction, agent: Agent, reason: str, now: float) -> list[Event]:
        """Not Ready ("missed") for the agent; back to its place in line for the interaction."""
        events: list[Event] = [
            OfferMissed(at=now, interaction_id=ix.id, agent_id=agent.id, reason=reason)
        ]
        events += self._set_presence(agent, Presence.NOT_READY, MISSED_REASON, now)
        ix.offer_deadline, ix.agent_id = None, None
        self._remove_work(agent, ix, now, events)
        queue = self.index.queues.get(ix.queue_id) if ix.queue_id is not None else None
        if queue is None or ix.queue_entered_at is None:
            self._end(ix, "system", EndReason.ABANDONED, now, events)
            return events
        ix.move_to(S.QUEUED)
        self.index.add_waiting(ix)
        events.append(
            InteractionQueued(
                at=now,
                interaction_id=ix.id,
                queue_id=queue.id,
                priority=ix.priority,
                seq=ix.seq,
                reason="returned",
            )
        )
        self.schedule_queue_timers(ix, queue, now)
        self.dispatch_interaction(ix, now, events)
        return events

    # --- while connected -------------------------------------------------------------------

    def _held_by(self, interaction_id: InteractionId, agent_id: AgentId, *states: S) -> Interaction:
        ix = self.interaction(interaction_id)
        self.agent(agent_id)
        if ix.agent_id != agent_id or ix.state not in states:
            raise InvalidState(
                f"interaction {ix.id} is {ix.state.value}"
                + (f" with agent {ix.agent_id}" if ix.agent_id else "")
                + f"; agent {agent_id} cannot do that now",
                interaction_id=ix.id,
                agent_id=agent_id,
            )
        return ix

    def hold(self, interaction_id: InteractionId, agent_id: AgentId, now: float) -> list[Event]:
        ix = self._held_by(interaction_id, agent_id, S.CONNECTED)
        ix.move_to(S.ON_HOLD)
        return [InteractionHeld(at=now, interaction_id=ix.id, agent_id=agent_id)]

    def resume(self, interaction_id: InteractionId, agent_id: AgentId, now: float) -> list[Event]:
        ix = self._held_by(interaction_id, agent_id, S.ON_HOLD)
        ix.move_to(S.CONNECTED)
        return [InteractionResumed(at=now, interaction_id=ix.id, agent_id=agent_id)]

    def transfer_to_queue(
        self, interaction_id: InteractionId, agent_id: AgentId, queue_id: QueueId, now: float
    ) -> list[Event]:
        """The agent's part ends without wrap-up; the wrap-up belongs to whoever finishes."""
        ix = self._held_by(interaction_id, agent_id, S.CONNECTED, S.ON_HOLD)
        queue = self.queue(queue_id)
        agent = self.agents[agent_id]
        events: list[Event] = [
            InteractionTransferred(
                at=now, interaction_id=ix.id, from_agent_id=agent_id, to_queue_id=queue_id
            )
        ]
        ix.last_agent_id = agent_id
        # Enqueue while the agent still holds it, so other agents get the first chance.
        self._enter_queue(ix, queue, ix.priority, "transfer", now, events)
        self._remove_work(agent, ix, now, events)
        return events

    def transfer_to_agent(
        self, interaction_id: InteractionId, agent_id: AgentId, target_id: AgentId, now: float
    ) -> list[Event]:
        ix = self._held_by(interaction_id, agent_id, S.CONNECTED, S.ON_HOLD)
        target = self.agent(target_id)
        if target_id == agent_id:
            raise InvalidInput("cannot transfer to yourself", field="to_agent_id")
        if not target.can_take(ix.channel) or ix.id in target.work:
            raise AgentUnavailable(
                f"agent {target_id} cannot take a {ix.channel.value} now ({target.state.value})",
                agent_id=target_id,
            )
        agent = self.agents[agent_id]
        events: list[Event] = [
            InteractionTransferred(
                at=now, interaction_id=ix.id, from_agent_id=agent_id, to_agent_id=target_id
            )
        ]
        ix.last_agent_id = agent_id
        queue = self.index.queues.get(ix.queue_id) if ix.queue_id is not None else None
        decision = RoutingDecision(
            trigger=Trigger.TRANSFER,
            interaction_id=ix.id,
            queue_id=ix.queue_id or QueueId(""),
            agent_id=target_id,
            level=ix.escalation_level,
            requirement=(
                queue.level_texts[min(ix.escalation_level, len(queue.levels) - 1)]
                if queue
                else "any agent"
            ),
            strategy="direct",
            rule=f"transferred by agent {agent_id}",
            candidates_total=1,
        )
        self._offer(ix, target, decision, now, events)
        self._remove_work(agent, ix, now, events)
        return events

    def transfer_out(
        self, interaction_id: InteractionId, agent_id: AgentId, number: str, now: float
    ) -> list[Event]:
        """Put a caller through to an outside number (blind): the call leaves the center, so
        the interaction ends (`transferred`) and the agent wraps it up as after any call."""
        ix = self._held_by(interaction_id, agent_id, S.CONNECTED, S.ON_HOLD)
        if ix.channel is not Channel.VOICE:
            raise InvalidInput("only calls go to an outside number", field="to_number")
        number = number.strip()
        if not number:
            raise InvalidInput("the number is empty", field="to_number")
        events: list[Event] = [
            InteractionTransferred(
                at=now, interaction_id=ix.id, from_agent_id=agent_id, to_number=number
            )
        ]
        self._end(ix, "agent", EndReason.TRANSFERRED, now, events)
        return events

    def request_callback(
        self, interaction_id: InteractionId, number: str, now: float
    ) -> list[Event]:
        """The caller hangs up and keeps their place in line; the agent calls them back."""
        ix = self.interaction(interaction_id)
        if not number.strip():
            raise InvalidInput("callback number is empty", field="number")
        if ix.state is not S.QUEUED:
            raise InvalidState(
                f"interaction {ix.id} is {ix.state.value}, not queued", interaction_id=ix.id
            )
        if ix.channel is not Channel.VOICE:
            raise InvalidState("only voice interactions can become callbacks", interaction_id=ix.id)
        if ix.callback_number is not None:
            raise InvalidState(f"interaction {ix.id} is already a callback", interaction_id=ix.id)
        ix.callback_number = number.strip()
        return [CallbackRequested(at=now, interaction_id=ix.id, number=ix.callback_number)]

    # --- the telephone network ---------------------------------------------------------------

    def call_progress(
        self, interaction_id: InteractionId, leg: str, stage: str, status: int | None, now: float
    ) -> list[Event]:
        """Log what the network said about a leg of an open voice interaction; no state
        changes (the interaction's own events say what became of it)."""
        ix = self.interaction(interaction_id)
        if ix.channel is not Channel.VOICE:
            raise InvalidInput(f"interaction {ix.id} is not a call", field="interaction_id")
        if leg not in CALL_LEGS:
            raise InvalidInput(f"leg must be one of {', '.join(CALL_LEGS)}", field="leg")
        if stage not in CALL_STAGES:
            raise InvalidInput(f"stage must be one of {', '.join(CALL_STAGES)}", field="stage")
        return [CallProgress(at=now, interaction_id=ix.id, leg=leg, stage=stage, status=status)]

    # --- the end ---------------------------------------------------------------------------

    def end(
        self, interaction_id: InteractionId, by: str, now: float, agent_id: AgentId | None = None
    ) -> list[Event]:
        """End it: the customer hung up or left, or the agent finished."""
        ix = self.interactions.get(interaction_id) or self.interaction(interaction_id)
        if by not in ("customer", "agent", "system"):
            raise InvalidInput("by must be customer, agent or system", field="by")
        if ix.state is _ENDED:
            raise InvalidState(f"interaction {ix.id} has already ended", interaction_id=ix.id)
        if by == "agent" and (agent_id is None or ix.agent_id != agent_id or ix.state not in _LIVE):
            raise InvalidState(
                f"agent {agent_id} is not connected to {ix.id}",
                interaction_id=ix.id,
                agent_id=agent_id,
            )
        events: list[Event] = []
        connected = ix.state in _LIVE
        self._end(ix, by, _COMPLETED if connected else _ABANDONED, now, events)
        return events

    def _end(
        self, ix: Interaction, by: str, reason: EndReason, now: float, events: list[Event]
    ) -> None:
        if ix.state is _QUEUED:
            self.index.remove_waiting(ix)
        was = ix.state
        agent = self.agents.get(ix.agent_id) if ix.agent_id is not None else None
        if _ENDED not in TRANSITIONS[ix.state]:  # ix.move_to(_ENDED), inline: per call
            raise ix.cannot_move(_ENDED)
        ix.state, ix.version = _ENDED, ix.version + 1
        ix.ended_at, ix.end_reason = now, reason
        events.append(
            _ended(
                at=now,
                interaction_id=ix.id,
                by=by,
                reason=_REASON_VALUES[reason],
                agent_id=ix.agent_id,
            )
        )
        if agent is None:
            self._close(ix)
            return
        if was is _OFFERED:
            ix.agent_id, ix.offer_deadline = None, None
            self._close(ix)
            self._remove_work(agent, ix, now, events)
            return
        ix.last_agent_id = agent.id
        agent.work[ix.id].phase = _WRAP_UP
        # self._wrap_up_policy(ix), inline: per call
        queue = self.index.queues.get(ix.queue_id) if ix.queue_id is not None else None
        policy = queue.wrap_up if queue is not None else NO_QUEUE_WRAP_UP
        if not (policy.duration_s or policy.disposition_required or policy.notes_required):
            events.append(
                _wrap_up_started(at=now, interaction_id=ix.id, agent_id=agent.id, deadline=now)
            )
            self._finish_wrap_up(ix, agent, None, None, True, now, events)
            return
        ix.wrap_up_deadline = now + policy.duration_s if policy.duration_s else None
        events.append(
            _wrap_up_started(
                at=now, interaction_id=ix.id, agent_id=agent.id, deadline=ix.wrap_up_deadline
            )
        )
        if ix.wrap_up_deadline is not None:
            self.timers.add(ix.wrap_up_deadline, TimerKind.WRAP_UP_END, ix.id, ix.version)

    def _wrap_up_policy(self, ix: Interaction) -> WrapUpPolicy:
        queue = self.index.queues.get(ix.queue_id) if ix.queue_id is not None else None
        return queue.wrap_up if queue is not None else NO_QUEUE_WRAP_UP

    def wrap_up(
        self,
        interaction_id: InteractionId,
        agent_id: AgentId,
        disposition: DispositionCode | None,
        notes: str | None,
        now: float,
    ) -> list[Event]:
        ix = self._held_by(interaction_id, agent_id, S.ENDED)
        policy = self._wrap_up_policy(ix)
        if disposition is not None and disposition not in self.dispositions:
            raise InvalidInput(f"unknown disposition {disposition!r}", field="disposition")
        if policy.disposition_required and disposition is None:
            raise InvalidInput("this queue requires a disposition", field="disposition")
        notes = notes.strip() if notes else None
        if policy.notes_required and not notes:
            raise InvalidInput("this queue requires notes", field="notes")
        events: list[Event] = []
        self._finish_wrap_up(ix, self.agents[agent_id], disposition, notes, False, now, events)
        return events

    def _finish_wrap_up(
        self,
        ix: Interaction,
        agent: Agent,
        disposition: DispositionCode | None,
        notes: str | None,
        automatic: bool,
        now: float,
        events: list[Event],
    ) -> None:
        if _WRAPPED_UP not in TRANSITIONS[ix.state]:  # ix.move_to(_WRAPPED_UP), inline: per call
            raise ix.cannot_move(_WRAPPED_UP)
        ix.state, ix.version = _WRAPPED_UP, ix.version + 1
        ix.disposition, ix.notes, ix.agent_id, ix.wrap_up_deadline = disposition, notes, None, None
        events.append(
            _wrapped_up(
                at=now,
                interaction_id=ix.id,
                agent_id=agent.id,
                disposition=disposition,
                notes=notes,
                automatic=automatic,
            )
        )
        del self.interactions[ix.id]  # self._close(ix), inline: per call
        self.closed.append(ix)
        # self._remove_work(agent, ix, now, events), inline: per call
        del agent.work[ix.id]
        if not agent.work:
            if agent.busy_since is not None:
                agent.busy_seconds += now - agent.busy_since
            agent.busy_since, agent.idle_since = None, now
        self.index.sync_availability(agent)
        if self.index.waiting_total:  # else _dispatch_agent finds nothing: skip the call
            self._dispatch_agent(agent, now, events)

    # --- time ------------------------------------------------------------------------------

    def tick(self, now: float) -> list[Event]:
        """Act on every deadline that has passed: offers, wrap-ups, escalations, max waits."""
        events: list[Event] = []
        while (timer := self.timers.pop_due(now)) is not None:
            ix = self.interactions.get(timer.interaction_id)
            if ix is not None:
                self._on_timer(timer, ix, events)
        return events

    def _on_timer(self, timer: Timer, ix: Interaction, events: list[Event]) -> None:
        at = max(timer.at, self._last_entry_at)
        if timer.kind is TimerKind.OFFER_TIMEOUT:
            if ix.state is S.OFFERED and ix.version == timer.token and ix.agent_id is not None:
                events += self._miss(ix, self.agents[ix.agent_id], "timeout", at)
        elif timer.kind is TimerKind.WRAP_UP_END:
            if ix.state is S.ENDED and ix.version == timer.token and ix.agent_id is not None:
                policy = self._wrap_up_policy(ix)
                default = policy.default_disposition
                if policy.notes_required or (policy.disposition_required and default is None):
                    return  # the agent must enter what the queue requires; the timer only shows
                if default is not None and default not in self.dispositions:
                    default = None
                self._finish_wrap_up(ix, self.agents[ix.agent_id], default, None, True, at, events)
        elif ix.state is S.QUEUED and ix.seq == timer.token and ix.queue_id is not None:
            queue = self.index.queues[ix.queue_id]
            if timer.kind is TimerKind.ESCALATION:
                self._escalate(ix, queue, at, events)
            elif (
                ix.callback_number is None
                and queue.max_wait_s is not None
                and queue.overflow is not None
                and at - (ix.queue_entered_at or 0.0) >= queue.max_wait_s
            ):  # the queue's max wait may have changed, or gone, since the timer was set
                self._overflow(ix, queue, queue.overflow, "max_wait", at, events)

    def _escalate(self, ix: Interaction, queue: Queue, now: float, events: list[Event]) -> None:
        assert ix.queue_entered_at is not None
        level = queue.level_at(now - ix.queue_entered_at)
        if level <= ix.escalation_level:
            return
        # Those ahead in line who entered at the same instant reach this level now too, but
        # their timers can come later (a missed offer sets them again): they go first.
        line = self.index.waiting[queue.id][(ix.priority, ix.channel)]
        i = bisect.bisect_left(line, (ix.seq, ix.id))
        ahead: list[Interaction] = []
        while i > 0 and self.interactions[line[i - 1][1]].queue_entered_at == ix.queue_entered_at:
            i -= 1
            ahead.append(self.interactions[line[i][1]])
        for other in [*reversed(ahead), ix]:
            if other.state is S.QUEUED and level > other.escalation_level:
                self._raise_level(other, queue, level, now, events)

    def _raise_level(
        self, ix: Interaction, queue: Queue, level: int, now: float, events: list[Event]
    ) -> None:
        assert ix.queue_entered_at is not None
        ix.escalation_level = level
        events.append(
            InteractionEscalated(
                at=now,
                interaction_id=ix.id,
                queue_id=queue.id,
                level=level,
                requirement=queue.level_texts[level],
            )
        )
        step = queue.next_level_after(now - ix.queue_entered_at)
        if step is not None:
            at = when_waited(ix.queue_entered_at, step)
            self.timers.add(at, TimerKind.ESCALATION, ix.id, ix.seq)
        self.dispatch_interaction(ix, now, events)

    def _overflow(
        self,
        ix: Interaction,
        queue: Queue,
        action: OverflowAction,
        cause: str,
        now: float,
        events: list[Event],
    ) -> None:
        events.append(
            InteractionOverflowed(
                at=now,
                interaction_id=ix.id,
                queue_id=queue.id,
                action=action.kind.value,
                target_queue_id=action.target_queue,
                message=action.message,
                cause=cause,
            )
        )
        if action.kind is OverflowKind.QUEUE:
            assert action.target_queue is not None
            self.index.remove_waiting(ix)
            self._enter_queue(
                ix, self.index.queues[action.target_queue], ix.priority, "overflow", now, events
            )
        elif action.kind is OverflowKind.CALLBACK:
            # Not request_callback(): that refuses a chat, email or sms, and a tick must not
            # raise. Any channel keeps its place and is answered at the customer's address.
            ix.callback_number = ix.from_address
            events.append(CallbackRequested(at=now, interaction_id=ix.id, number=ix.from_address))
        else:
            reason = (
                EndReason.VOICEMAIL
                if action.kind is OverflowKind.VOICEMAIL
                else EndReason.DISCONNECTED
            )
            self._end(ix, "system", reason, now, events)
