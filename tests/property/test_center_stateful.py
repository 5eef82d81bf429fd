"""Random sequences of operations on a small contact center, with its invariants after each step.

The machine drives a `ContactCenter` only through its public operations and keeps a model of
who is waiting, rebuilt from the events alone. After every step it checks what the ACD promises:
capacity and voice exclusivity, skills and minimum proficiency at the level of each offer, FIFO
within a priority, nothing lost or duplicated, greedy routing, and agent states that follow from
presence and work.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from callbridge.domain.agents import MISSED_REASON, Agent, AgentState, Presence, WorkPhase
from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.errors import AgentUnavailable, InvalidInput
from callbridge.domain.events import (
    AgentPresenceChanged,
    Event,
    InteractionCreated,
    InteractionEnded,
    InteractionOffered,
    InteractionQueued,
    OfferMissed,
)
from callbridge.domain.ids import (
    AgentId,
    DispositionCode,
    GroupName,
    InteractionId,
    QueueId,
    SkillId,
)
from callbridge.domain.interactions import Interaction
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.queues import (
    AddGroup,
    DropSkill,
    EscalationStep,
    OverflowAction,
    OverflowKind,
    Queue,
    RelaxProficiency,
    Requirement,
    SkillRequirement,
    Strategy,
    WrapUpPolicy,
)
from callbridge.domain.routing.engine import pick_agent
from callbridge.domain.routing.explanation import RoutingDecision, Trigger

SKILLS = (SkillId("en"), SkillId("fr"), SkillId("billing"))
GROUPS = (GroupName("tier2"), GroupName("backoffice"))
DISPOSITIONS = (DispositionCode("sold"), DispositionCode("no_sale"))
EXTRA_SKILLS: tuple[dict[SkillId, int], ...] = ({}, {}, {}, {SKILLS[0]: 3}, {SKILLS[2]: 1})
WORK_STATES = {
    S.OFFERED: WorkPhase.RESERVED,
    S.CONNECTED: WorkPhase.BUSY,
    S.ON_HOLD: WorkPhase.BUSY,
    S.ENDED: WorkPhase.WRAP_UP,
}


# --- the random center ----------------------------------------------------------------------


@st.composite
def escalations(
    draw: st.DrawFn, base: tuple[SkillRequirement, ...], at_least: int
) -> tuple[EscalationStep, ...]:
    """Valid steps: each relaxes or drops a skill still required at its time, or adds a group."""
    required = {r.skill: r.min_proficiency for r in base}
    steps: list[EscalationStep] = []
    at = 0.0
    for _ in range(draw(st.integers(at_least, 3))):
        at += draw(st.sampled_from((5.0, 10.0, 30.0) if not steps else (0.0, 5.0, 10.0, 30.0)))
        relaxable = sorted(s for s, p in required.items() if p > 1)
        kinds = ["group"] + (["relax"] if relaxable else []) + (["drop"] if required else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "relax":
            skill = draw(st.sampled_from(relaxable))
            required[skill] = draw(st.integers(1, required[skill] - 1))
            steps.append(RelaxProficiency(at, skill, required[skill]))
        elif kind == "drop":
            skill = draw(st.sampled_from(sorted(required)))
            del required[skill]
            steps.append(DropSkill(at, skill))
        else:
            steps.append(AddGroup(at, draw(st.sampled_from(GROUPS))))
    return tuple(steps)


@st.composite
def queues(draw: st.DrawFn, n: int, earlier: tuple[QueueId, ...]) -> Queue:
    """Queue n; the first always escalates and the second always overflows."""
    skills = draw(st.lists(st.sampled_from(SKILLS), unique=True, max_size=2))
    base = tuple(SkillRequirement(s, draw(st.integers(1, 7))) for s in skills)
    kinds: list[OverflowKind | None] = [*OverflowKind] if n == 1 else [None, None, *OverflowKind]
    if not earlier:
        kinds.remove(OverflowKind.QUEUE)  # a queue overflows only into one saved before it
    kind = draw(st.sampled_from(kinds))
    overflow = None
    if kind is not None:
        overflow = OverflowAction(
            kind,
            target_queue=draw(st.sampled_from(earlier)) if kind is OverflowKind.QUEUE else None,
            message="we are closed" if kind is OverflowKind.DISCONNECT else None,
        )
    return Queue(
        QueueId(f"q{n}"),
        f"Queue {n}",
        requirements=base,
        priority=draw(st.integers(0, 2)),
        max_wait_s=None if overflow is None else draw(st.sampled_from((10.0, 30.0, 120.0))),
        overflow=overflow,
        escalation=draw(escalations(base, at_least=1 if n == 0 else 0)),
        strategy=draw(st.sampled_from(Strategy)),
        offer_timeout_s=draw(st.sampled_from((5.0, 30.0, 120.0))),
        wrap_up=WrapUpPolicy(
            duration_s=draw(st.sampled_from((0.0, 5.0, 20.0))),
            disposition_required=draw(st.sampled_from((False, False, True))),
            notes_required=draw(st.sampled_from((False, False, True))),
            default_disposition=draw(st.sampled_from((None, DISPOSITIONS[0]))),
        ),
    )


# --- oracles, written against the rules rather than the index -------------------------------


def meets(agent: Agent, requirement: Requirement, extra: dict[SkillId, int]) -> bool:
    """Qualified at one level (every skill at its minimum, or a listed group), plus extras."""
    by_skill = all(agent.skills.get(r.skill, 0) >= r.min_proficiency for r in requirement.skills)
    by_group = bool(requirement.groups & agent.groups)
    return (by_skill or by_group) and all(agent.skills.get(s, 0) >= p for s, p in extra.items())


def room_for(agent: Agent, channel: Channel) -> bool:
    """Ready, with room in the channel; a voice call excludes everything else."""
    if agent.presence is not Presence.READY:
        return False
    channels = [item.channel for item in agent.work.values()]
    if channel is Channel.VOICE:
        return not channels and agent.capacity.get(channel, 0) > 0
    return Channel.VOICE not in channels and channels.count(channel) < agent.capacity.get(
        channel, 0
    )


def expected_state(agent: Agent) -> AgentState:
    if agent.presence is Presence.LOGGED_OUT:
        return AgentState.LOGGED_OUT
    phases = {item.phase for item in agent.work.values()}
    for phase, state in (
        (WorkPhase.RESERVED, AgentState.RESERVED),
        (WorkPhase.BUSY, AgentState.BUSY),
        (WorkPhase.WRAP_UP, AgentState.WRAP_UP),
    ):
        if phase in phases:
            return state
    return AgentState.READY if agent.presence is Presence.READY else AgentState.NOT_READY


@dataclass(frozen=True)
class Waiting:
    """A waiting interaction as the events tell it."""

    queue_id: QueueId
    priority: int
    channel: Channel
    seq: int
    entered_at: float

    def line_key(self) -> tuple[int, float, int]:
        return (-self.priority, self.entered_at, self.seq)


@settings(max_examples=100, stateful_step_count=50, deadline=None)
class CenterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.center = ContactCenter()
        self.now = 0.0
        self.last_tick_at = 0.0
        self.created: set[InteractionId] = set()
        self.closed: dict[InteractionId, Interaction] = {}
        self.channel_of: dict[InteractionId, Channel] = {}
        self.extra_of: dict[InteractionId, dict[SkillId, int]] = {}
        # the model, from events only
        self.waiting: dict[InteractionId, Waiting] = {}
        self.entered_at_by_seq: dict[int, float] = {}
        self.offers: dict[InteractionId, RoutingDecision] = {}

    # --- set-up ----------------------------------------------------------------------------

    @initialize(data=st.data())
    def build(self, data: st.DataObject) -> None:
        for code in DISPOSITIONS:
            self.center.save_disposition(code, code.replace("_", " "), self.now)
        saved: list[QueueId] = []
        for n in range(data.draw(st.integers(2, 4), label="queues")):
            queue = data.draw(queues(n, tuple(saved)), label=f"q{n}")
            self.apply(self.center.save_queue(queue, self.now))
            saved.append(queue.id)
        for n in range(data.draw(st.integers(3, 6), label="agents")):
            agent_id = AgentId(f"a{n}")
            # the first agent can take anything, so that work reaches the later phases
            proficiencies = (10,) if n == 0 else (0, 3, 5, 8, 10)
            levels = [data.draw(st.sampled_from(proficiencies)) for _ in SKILLS]
            skills = {s: p for s, p in zip(SKILLS, levels, strict=True) if p}
            capacity = {
                Channel.VOICE: data.draw(st.sampled_from((1, 1, 0))),
                Channel.CHAT: data.draw(st.integers(0, 3)),
                Channel.EMAIL: data.draw(st.integers(0, 2)),
                Channel.SMS: data.draw(st.integers(0, 3)),
            }
            groups = data.draw(st.frozensets(st.sampled_from(GROUPS), max_size=1))
            events = self.center.save_agent(agent_id, f"Agent {n}", skills, capacity, groups, 0.0)
            if data.draw(st.sampled_from((True, True, False)), label=f"{agent_id} ready"):
                events += self.center.login(agent_id, self.now)
                events += self.center.set_ready(agent_id, self.now)
            self.apply(events)

    # --- helpers ---------------------------------------------------------------------------

    def in_state(self, *states: S) -> list[Interaction]:
        found = [ix for ix in self.center.interactions.values() if ix.state in states]
        return sorted(found, key=lambda ix: ix.id)

    def agents_where(self, *presences: Presence) -> list[AgentId]:
        return sorted(a.id for a in self.center.agents.values() if a.presence in presences)

    def holder(self, ix: Interaction) -> AgentId:
        assert ix.agent_id is not None
        return ix.agent_id

    def caught_up(self) -> bool:
        """No deadline has passed unacted on (the runtime ticks a little after each one)."""
        due = self.center.next_deadline()
        return due is None or due > self.now

    def apply(self, events: list[Event], ticked: bool = False) -> None:
        """Replay the events into the model, checking each offer against the model's line.

        An operation's events are dated now; a tick's are dated at their deadlines (or later,
        when acted on late), in order, none before the previous tick.
        """
        missed: list[AgentId] = []
        last = self.last_tick_at if ticked else self.now
        for ev in events:
            assert last <= ev.at <= self.now, f"{ev} is out of time order"
            last = ev.at
            if isinstance(ev, InteractionCreated):
                self.channel_of[ev.interaction_id] = Channel(ev.channel)
            elif isinstance(ev, InteractionQueued):
                if ev.reason == "returned":
                    entered = self.entered_at_by_seq[ev.seq]  # a missed offer keeps its place
                else:
                    assert ev.seq not in self.entered_at_by_seq, "a new place in line reuses a seq"
                    entered = self.entered_at_by_seq[ev.seq] = ev.at
                channel = self.channel_of[ev.interaction_id]
                self.waiting[ev.interaction_id] = Waiting(
                    ev.queue_id, ev.priority, channel, ev.seq, entered
                )
            elif isinstance(ev, InteractionOffered):
                self.check_offer(ev)
                self.waiting.pop(ev.interaction_id, None)
                self.offers[ev.interaction_id] = ev.decision
            elif isinstance(ev, InteractionEnded):
                self.waiting.pop(ev.interaction_id, None)
            elif isinstance(ev, OfferMissed):
                missed.append(ev.agent_id)
            elif isinstance(ev, AgentPresenceChanged) and ev.agent_id in missed:
                assert (ev.presence, ev.reason) == (Presence.NOT_READY.value, MISSED_REASON)
                missed.remove(ev.agent_id)
        assert not missed, f"agents {missed} missed an offer but did not go Not Ready (missed)"
        for ix in self.center.drain_closed():
            assert ix.id not in self.closed, f"{ix.id} closed twice"
            self.closed[ix.id] = ix

    def could_take(self, agent: Agent, iid: InteractionId, w: Waiting, at: float) -> bool:
        queue = self.center.queues[w.queue_id]
        level = queue.level_at(at - w.entered_at)
        return meets(agent, queue.levels[level], self.extra_of[iid])

    def check_offer(self, ev: InteractionOffered) -> None:
        decision = ev.decision
        iid, agent = ev.interaction_id, self.center.agents[ev.agent_id]
        assert (decision.interaction_id, decision.agent_id) == (iid, agent.id)
        if decision.trigger is Trigger.TRANSFER:
            assert iid not in self.waiting
            return
        w = self.waiting[iid]
        queue = self.center.queues[w.queue_id]
        assert decision.queue_id == ev.queue_id == w.queue_id
        assert ev.deadline == ev.at + queue.offer_timeout_s
        level = queue.level_at(ev.at - w.entered_at)
        assert decision.level == level, "the decision names the level the interaction is at"
        assert meets(agent, queue.levels[level], self.extra_of[iid]), (
            f"{agent.id} does not meet {queue.levels[level].describe()} for {iid}"
        )
        for other_id, other in self.waiting.items():
            if other_id == iid or other.channel is not w.channel:
                continue
            if not self.could_take(agent, other_id, other, ev.at):
                continue
            same_line = (other.queue_id, other.priority) == (w.queue_id, w.priority)
            assert not (same_line and other.seq < w.seq), (
                f"{iid} (seq {w.seq}) went to {agent.id} while {other_id} (seq {other.seq}), "
                "older in the same line and takeable by the same agent, waited"
            )
            if decision.trigger is Trigger.AGENT_AVAILABLE:
                assert other.line_key() > w.line_key(), (
                    f"{agent.id} took {iid} {w.line_key()} before {other_id} {other.line_key()}"
                )

    # --- configuration, changed while work goes on ------------------------------------------

    @rule(data=st.data())
    def reconfigure_queue(self, data: st.DataObject) -> None:
        """New skills, escalation, overflow, strategy or wrap-up for a queue people wait in."""
        ids = sorted(self.center.queues)
        n = data.draw(st.integers(0, len(ids) - 1), label="queue")
        queue = data.draw(queues(n, tuple(ids[:n])), label=f"new q{n}")
        self.apply(self.center.save_queue(queue, self.now))

    @rule(data=st.data())
    def change_skills(self, data: st.DataObject) -> None:
        agent = self.center.agents[data.draw(st.sampled_from(sorted(self.center.agents)))]
        levels = [data.draw(st.sampled_from((0, 3, 5, 8, 10))) for _ in SKILLS]
        skills = {s: p for s, p in zip(SKILLS, levels, strict=True) if p}
        groups = data.draw(st.frozensets(st.sampled_from(GROUPS), max_size=1))
        self.apply(self.center.save_agent(agent.id, agent.name, skills, None, groups, self.now))

    # --- agents ----------------------------------------------------------------------------

    @precondition(lambda self: bool(self.agents_where(Presence.LOGGED_OUT, Presence.NOT_READY)))
    @rule(data=st.data())
    def go_ready(self, data: st.DataObject) -> None:
        """Log in if need be, then Ready."""
        agent_id = data.draw(
            st.sampled_from(self.agents_where(Presence.LOGGED_OUT, Presence.NOT_READY))
        )
        events: list[Event] = []
        if self.center.agents[agent_id].presence is Presence.LOGGED_OUT:
            events += self.center.login(agent_id, self.now)
        if data.draw(st.sampled_from((True, True, False)), label="and ready"):
            events += self.center.set_ready(agent_id, self.now)
        self.apply(events)

    @precondition(lambda self: bool(self.agents_where(Presence.NOT_READY, Presence.READY)))
    @rule(data=st.data(), reason=st.sampled_from(("break", "lunch", "training")))
    def not_ready(self, data: st.DataObject, reason: str) -> None:
        agent_id = data.draw(st.sampled_from(self.agents_where(Presence.NOT_READY, Presence.READY)))
        self.apply(self.center.set_not_ready(agent_id, reason, self.now))

    @precondition(
        lambda self: any(
            a.presence is not Presence.LOGGED_OUT and not a.work
            for a in self.center.agents.values()
        )
    )
    @rule(data=st.data())
    def logout(self, data: st.DataObject) -> None:
        free = sorted(
            a.id
            for a in self.center.agents.values()
            if a.presence is not Presence.LOGGED_OUT and not a.work
        )
        self.apply(self.center.logout(data.draw(st.sampled_from(free)), self.now))

    # --- interactions ----------------------------------------------------------------------

    @rule(data=st.data(), how_many=st.integers(1, 3))
    def arrive(self, data: st.DataObject, how_many: int) -> None:
        """One to three interactions at this instant, on random channels, queues, priorities."""
        for _ in range(how_many):
            iid = InteractionId(f"i{len(self.created)}")
            channel = data.draw(st.sampled_from(Channel), label=f"{iid} channel")
            queue_id = data.draw(st.sampled_from(sorted(self.center.queues)), label=f"{iid} queue")
            priority = data.draw(st.none() | st.integers(0, 3), label=f"{iid} priority")
            extra = data.draw(st.sampled_from(EXTRA_SKILLS), label=f"{iid} extra skills")
            self.created.add(iid)
            self.extra_of[iid] = extra
            events = self.center.create_interaction(
                iid, channel, Direction.INBOUND, "+15555550100", "+15555550199", {}, self.now
            )
            events += self.center.enqueue(iid, queue_id, self.now, priority, extra or None)
            self.apply(events)

    @precondition(lambda self: bool(self.in_state(S.OFFERED)))
    @rule(data=st.data(), accept=st.sampled_from((True, True, True, False)))
    def answer_offer(self, data: st.DataObject, accept: bool) -> None:
        """Accept the offer, or reject it."""
        ix = data.draw(st.sampled_from(self.in_state(S.OFFERED)))
        respond = self.center.accept if accept else self.center.reject
        self.apply(respond(ix.id, self.holder(ix), self.now))

    @precondition(lambda self: bool(self.in_state(S.CONNECTED, S.ON_HOLD)))
    @rule(data=st.data())
    def hold_or_resume(self, data: st.DataObject) -> None:
        ix = data.draw(st.sampled_from(self.in_state(S.CONNECTED, S.ON_HOLD)))
        toggle = self.center.hold if ix.state is S.CONNECTED else self.center.resume
        self.apply(toggle(ix.id, self.holder(ix), self.now))

    @precondition(lambda self: bool(self.in_state(S.QUEUED, S.OFFERED, S.CONNECTED, S.ON_HOLD)))
    @rule(data=st.data())
    def customer_leaves(self, data: st.DataObject) -> None:
        """The customer hangs up or leaves, waiting, ringing or talking."""
        ix = data.draw(st.sampled_from(self.in_state(S.QUEUED, S.OFFERED, S.CONNECTED, S.ON_HOLD)))
        self.apply(self.center.end(ix.id, "customer", self.now))

    @precondition(lambda self: bool(self.in_state(S.CONNECTED, S.ON_HOLD)))
    @rule(data=st.data())
    def agent_ends(self, data: st.DataObject) -> None:
        ix = data.draw(st.sampled_from(self.in_state(S.CONNECTED, S.ON_HOLD)))
        self.apply(self.center.end(ix.id, "agent", self.now, self.holder(ix)))

    @precondition(lambda self: bool(self.in_state(S.ENDED)))
    @rule(data=st.data(), complete=st.sampled_from((True, True, True, False)))
    def wrap_up(self, data: st.DataObject, complete: bool) -> None:
        ix = data.draw(st.sampled_from(self.in_state(S.ENDED)))
        assert ix.queue_id is not None
        policy = self.center.queues[ix.queue_id].wrap_up
        disposition = data.draw(st.sampled_from((None, *DISPOSITIONS)))
        notes = data.draw(st.sampled_from((None, "", "called back tomorrow")))
        if complete:
            disposition = disposition or (DISPOSITIONS[1] if policy.disposition_required else None)
            notes = notes or ("left a note" if policy.notes_required else None)
        missing = (policy.disposition_required and disposition is None) or (
            policy.notes_required and not notes
        )
        if missing:
            before = (ix.state, dict(self.center.agents[self.holder(ix)].work))
            try:
                self.center.wrap_up(ix.id, self.holder(ix), disposition, notes, self.now)
            except InvalidInput as e:
                assert e.code == "invalid_input"
                assert e.details["field"] in ("disposition", "notes")
            else:
                raise AssertionError("wrap-up without what the queue requires was accepted")
            assert (ix.state, self.center.agents[self.holder(ix)].work) == before
        else:
            self.apply(self.center.wrap_up(ix.id, self.holder(ix), disposition, notes, self.now))

    @precondition(lambda self: bool(self.in_state(S.CONNECTED, S.ON_HOLD)))
    @rule(data=st.data(), to_queue=st.booleans())
    def transfer(self, data: st.DataObject, to_queue: bool) -> None:
        """To a queue, or to a named agent (refused, changing nothing, if they have no room)."""
        ix = data.draw(st.sampled_from(self.in_state(S.CONNECTED, S.ON_HOLD)))
        holder = self.holder(ix)
        if to_queue:
            queue_id = data.draw(st.sampled_from(sorted(self.center.queues)))
            self.apply(self.center.transfer_to_queue(ix.id, holder, queue_id, self.now))
            return
        target = data.draw(st.sampled_from(sorted(set(self.center.agents) - {holder})))
        if room_for(self.center.agents[target], ix.channel):
            self.apply(self.center.transfer_to_agent(ix.id, holder, target, self.now))
            return
        state = ix.state
        try:
            self.center.transfer_to_agent(ix.id, holder, target, self.now)
        except AgentUnavailable as e:
            assert (e.code, e.details["agent_id"]) == ("agent_unavailable", target)
        else:
            raise AssertionError(f"transferred to {target}, who has no room")
        assert (ix.state, ix.agent_id) == (state, holder)

    @precondition(
        lambda self: any(
            ix.channel is Channel.VOICE and ix.callback_number is None
            for ix in self.in_state(S.QUEUED)
        )
    )
    @rule(data=st.data())
    def request_callback(self, data: st.DataObject) -> None:
        voice = [
            ix
            for ix in self.in_state(S.QUEUED)
            if ix.channel is Channel.VOICE and ix.callback_number is None
        ]
        ix = data.draw(st.sampled_from(voice))
        seq, queue_id = ix.seq, ix.queue_id
        self.apply(self.center.request_callback(ix.id, "+15555550123", self.now))
        assert (ix.state, ix.seq, ix.queue_id) == (S.QUEUED, seq, queue_id)

    @rule(
        seconds=st.sampled_from((0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)),
        tick=st.sampled_from((True, True, True, False)),
    )
    def advance(self, seconds: float, tick: bool) -> None:
        """Time passes; the deadlines are acted on now, or only at a later step (as late as
        the runtime's timer task may be), so operations can come between."""
        self.now += seconds
        if tick:
            self.apply(self.center.tick(self.now), ticked=True)
            self.last_tick_at = self.now
            assert self.caught_up()

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def capacity_is_respected(self) -> None:
        for agent in self.center.agents.values():
            if agent.presence is Presence.LOGGED_OUT:
                assert not agent.work
            for channel in Channel:
                assert agent.load(channel) <= agent.capacity.get(channel, 0), (agent.id, channel)
            if agent.load(Channel.VOICE):
                assert len(agent.work) == 1, f"{agent.id} holds a call and other work"

    @invariant()
    def agent_state_follows_presence_and_work(self) -> None:
        for agent in self.center.agents.values():
            assert agent.state is expected_state(agent)

    @invariant()
    def every_holder_was_offered_it(self) -> None:
        """Skills were checked when each offer was made (check_offer); the holder is that agent."""
        for ix in self.in_state(S.OFFERED, S.CONNECTED, S.ON_HOLD, S.ENDED):
            assert self.offers[ix.id].agent_id == ix.agent_id

    @invariant()
    def nothing_is_lost_or_duplicated(self) -> None:
        places: Counter[InteractionId] = Counter()
        for queue_id, buckets in self.center.index.waiting.items():
            for (priority, channel), bucket in buckets.items():
                assert bucket, "an empty bucket is kept"
                for seq, iid in bucket:
                    ix = self.center.interactions[iid]
                    assert ix.state is S.QUEUED and ix.agent_id is None
                    assert (ix.queue_id, ix.priority, ix.channel, ix.seq) == (
                        queue_id,
                        priority,
                        channel,
                        seq,
                    )
                    places[iid] += 1
        for agent in self.center.agents.values():
            for iid, item in agent.work.items():
                ix = self.center.interactions[iid]
                assert ix.agent_id == agent.id, f"{agent.id} holds {iid} of {ix.agent_id}"
                assert (item.channel, item.phase) == (ix.channel, WORK_STATES.get(ix.state))
                places[iid] += 1
        for iid, ix in self.closed.items():
            assert iid not in self.center.interactions
            assert ix.state in (S.ENDED, S.WRAPPED_UP) and ix.agent_id is None
            places[iid] += 1
        assert set(places) == self.created
        assert all(n == 1 for n in places.values()), places
        assert set(self.center.interactions) == self.created - set(self.closed)

    @invariant()
    def the_model_agrees_with_the_center(self) -> None:
        queued = {ix.id: ix for ix in self.in_state(S.QUEUED)}
        assert set(self.waiting) == set(queued)
        for iid, w in self.waiting.items():
            ix = queued[iid]
            assert (ix.queue_id, ix.priority, ix.seq, ix.queue_entered_at) == (
                w.queue_id,
                w.priority,
                w.seq,
                w.entered_at,
            )

    @invariant()
    def each_line_is_in_seq_and_arrival_order(self) -> None:
        for buckets in self.center.index.waiting.values():
            for bucket in buckets.values():
                seqs = [seq for seq, _ in bucket]
                assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
                entered = [self.waiting[iid].entered_at for _, iid in bucket]
                assert entered == sorted(entered), "a later place in line entered earlier"

    @invariant()
    def escalation_is_up_to_date(self) -> None:
        if not self.caught_up():
            return
        for ix in self.in_state(S.QUEUED):
            assert ix.queue_id is not None and ix.queue_entered_at is not None
            queue = self.center.queues[ix.queue_id]
            assert ix.escalation_level == queue.level_at(self.now - ix.queue_entered_at)

    @invariant()
    def routing_is_greedy(self) -> None:
        """Nobody waits while an available agent could take them at their current level.

        Checked once the passed deadlines are acted on: an escalation is routed by its timer.
        """
        if not self.caught_up():
            return
        for ix in self.in_state(S.QUEUED):
            assert pick_agent(self.center.index, self.center.agents, ix, self.now, {}) is None
            w = self.waiting[ix.id]
            for agent in self.center.agents.values():
                assert not (
                    room_for(agent, ix.channel) and self.could_take(agent, ix.id, w, self.now)
                ), f"{ix.id} waits while {agent.id} could take it"

    @invariant()
    def the_index_holds_exactly_the_available_qualified_agents(self) -> None:
        for queue_id, queue in self.center.queues.items():
            expected: dict[AgentId, int] = {}
            for agent in self.center.agents.values():
                levels = [i for i, req in enumerate(queue.levels) if meets(agent, req, {})]
                if levels and any(room_for(agent, c) for c in Channel):
                    expected[agent.id] = levels[0]
            assert self.center.index.available[queue_id] == expected


TestCenter = CenterMachine.TestCase
