"""The indexed router makes the same decisions as the naive reference router.

Three angles, each able to fail on its own:

- `test_engine_agrees_on_any_state`: random routing states built straight into a RoutingIndex
  (many agents free and many interactions waiting at once, which the live center never shows
  because it routes greedily); every possible decision of the engine is compared with the
  reference's.
- `test_center_decides_like_the_reference`: random small centers driven through ContactCenter
  operations over time. Every call the center makes into the engine is checked against the
  reference on the exact state the engine saw (the spy calls through; it never changes a
  decision). Half the runs tick before every operation; the other half act without ticking,
  as the services do, and tick only now and then. Once every deadline up to now has been
  acted on, no waiting interaction may have an agent who could take it: the center routes
  greedily, so anything routable has been offered.
- explicit examples of the defects these properties found, fixed since.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import callbridge.domain.live as live_module
from callbridge.domain.agents import Agent, Presence, WorkItem, WorkPhase
from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.errors import CallbridgeError
from callbridge.domain.events import Event, InteractionOffered
from callbridge.domain.ids import (
    AgentId,
    DispositionCode,
    GroupName,
    InteractionId,
    QueueId,
    SkillId,
)
from callbridge.domain.interactions import Interaction, InteractionState
from callbridge.domain.queues import (
    AddGroup,
    DropSkill,
    EscalationStep,
    OverflowAction,
    OverflowKind,
    Queue,
    RelaxProficiency,
    SkillRequirement,
    Strategy,
    WrapUpPolicy,
)
from callbridge.domain.routing import engine
from callbridge.domain.routing.explanation import RoutingDecision, Trigger
from callbridge.domain.routing.index import RoutingIndex
from callbridge.domain.routing.reference import naive_pick_agent, naive_pick_interaction

SKILLS = tuple(SkillId(s) for s in ("s0", "s1", "s2"))
GROUPS = (GroupName("g0"), GroupName("g1"))
OK = DispositionCode("ok")
# Round steps, and arbitrary floats: clock readings are arbitrary, and a deadline computed
# as entered + wait can round below the wait (0.7 + 0.1 < 0.8).
STEP_S = st.sampled_from([0.1, 0.25, 0.7, 1.0, 2.5])
DT = st.one_of(st.just(0.0), STEP_S, st.floats(0.0, 4.0))
# Queues ask for low proficiency more often than high, so that agents often qualify.
MIN_PROFICIENCY = st.sampled_from([1, 1, 2, 3, 5, 8, 10])

# --- configuration --------------------------------------------------------------------------


@st.composite
def escalations(draw: st.DrawFn, required: dict[SkillId, int]) -> tuple[EscalationStep, ...]:
    """Valid steps: each relaxes or drops a skill still required at its time, or adds a group."""
    left = dict(required)
    steps: list[EscalationStep] = []
    at = 0.0
    for _ in range(draw(st.integers(0, 3))):
        at += draw(st.one_of(st.just(0.0), STEP_S)) if steps else draw(STEP_S)
        kinds = ["group"] + (["drop", "relax"] if left else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "group":
            steps.append(AddGroup(at, draw(st.sampled_from(GROUPS))))
            continue
        skill = draw(st.sampled_from(sorted(left)))
        if kind == "drop":
            steps.append(DropSkill(at, skill))
            del left[skill]
        else:
            left[skill] = draw(st.integers(1, left[skill]))
            steps.append(RelaxProficiency(at, skill, left[skill]))
    return tuple(steps)


@st.composite
def queues(draw: st.DrawFn, qid: QueueId, others: tuple[QueueId, ...]) -> Queue:
    skills = draw(st.lists(st.sampled_from(SKILLS), unique=True, max_size=2))
    required = {s: draw(MIN_PROFICIENCY) for s in skills}
    max_wait: float | None = None
    overflow: OverflowAction | None = None
    if draw(st.booleans()):
        max_wait = draw(st.sampled_from([1.0, 2.5, 6.0]))
        kind = draw(st.sampled_from(list(OverflowKind)))
        if kind is OverflowKind.QUEUE and not others:
            kind = OverflowKind.DISCONNECT
        target = draw(st.sampled_from(others)) if kind is OverflowKind.QUEUE else None
        overflow = OverflowAction(kind, target)
    return Queue(
        qid,
        f"queue {qid}",
        tuple(SkillRequirement(s, p) for s, p in required.items()),
        max_wait_s=max_wait,
        overflow=overflow,
        escalation=draw(escalations(required)),
        strategy=draw(st.sampled_from(list(Strategy))),
        offer_timeout_s=draw(st.sampled_from([1.0, 4.0, 15.0])),
        wrap_up=WrapUpPolicy(
            duration_s=draw(st.sampled_from([0.0, 2.0])),
            disposition_required=draw(st.booleans()),
            default_disposition=draw(st.sampled_from([None, OK])),
        ),
    )


@dataclass(frozen=True)
class AgentSpec:
    skills: dict[SkillId, int]
    groups: frozenset[GroupName]
    capacity: dict[Channel, int]


AGENT_SPECS = st.builds(
    AgentSpec,
    st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10), min_size=2),
    st.frozensets(st.sampled_from(GROUPS)),
    st.fixed_dictionaries(
        {
            Channel.VOICE: st.sampled_from([1, 1, 0]),
            Channel.CHAT: st.sampled_from([2, 3, 1, 0]),
            Channel.EMAIL: st.integers(0, 2),
            Channel.SMS: st.integers(0, 1),
        }
    ),
)

# --- angle 1: the engine against the reference on arbitrary states --------------------------


@st.composite
def routing_states(
    draw: st.DrawFn,
) -> tuple[RoutingIndex, dict[AgentId, Agent], dict[InteractionId, Interaction], float]:
    qids = tuple(QueueId(f"q{i}") for i in range(draw(st.integers(1, 3))))
    index = RoutingIndex()
    for i, qid in enumerate(qids):
        index.set_queue(draw(queues(qid, qids[:i])))
    # Waiting interactions: line order (seq) is time order, as the center keeps it.
    count = draw(st.integers(0, 8))
    waits = sorted(draw(st.lists(st.floats(0.0, 12.0), min_size=count, max_size=count)))
    # Now is mostly after every entry; an entry after now is what a late tick shows the engine.
    now = draw(st.floats(10.0, 13.0))
    interactions: dict[InteractionId, Interaction] = {}
    for seq, entered in enumerate(waits, start=1):
        iid = InteractionId(f"i{seq}")
        extra = draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10), max_size=1))
        ix = Interaction(
            iid,
            draw(st.sampled_from([Channel.CHAT, *Channel])),
            Direction.INBOUND,
            "+15550100",
            "+15550199",
            entered,
            state=InteractionState.QUEUED,
            queue_id=draw(st.sampled_from(qids)),
            priority=draw(st.integers(0, 2)),
            extra_skills=extra,
            seq=seq,
            queue_entered_at=entered,
        )
        interactions[iid] = ix
        index.add_waiting(ix)
    agents: dict[AgentId, Agent] = {}
    for ordinal, spec in enumerate(draw(st.lists(AGENT_SPECS, min_size=1, max_size=6))):
        agent = Agent(
            AgentId(f"a{ordinal}"),
            f"agent {ordinal}",
            spec.skills,
            spec.capacity,
            spec.groups,
            presence=draw(st.sampled_from([Presence.READY] * 3 + list(Presence))),
            idle_since=draw(st.floats(0.0, 12.0)),
            logged_in_at=0.0,
            busy_seconds=draw(st.floats(0.0, 6.0)),
            ordinal=ordinal,
        )
        # Work in hand: another chat, and one of the waiting interactions (as while the agent
        # transfers it to a queue).
        if draw(st.booleans()):
            agent.work[InteractionId("other")] = WorkItem(
                InteractionId("other"), Channel.CHAT, WorkPhase.BUSY
            )
        if draw(st.booleans()) and interactions:
            ix = interactions[draw(st.sampled_from(sorted(interactions)))]
            agent.work[ix.id] = WorkItem(ix.id, ix.channel, WorkPhase.BUSY)
        agents[agent.id] = agent
        index.set_agent(agent)
    return index, agents, interactions, now


@settings(max_examples=150, deadline=None)
@given(routing_states(), st.dictionaries(st.sampled_from(["q0", "q1", "q2"]), st.integers(-1, 6)))
def test_engine_agrees_on_any_state(
    state: tuple[RoutingIndex, dict[AgentId, Agent], dict[InteractionId, Interaction], float],
    last: dict[str, int],
) -> None:
    index, agents, interactions, now = state
    last_ordinal = {QueueId(q): n for q, n in last.items()}
    for ix in interactions.values():
        decision = engine.pick_agent(index, agents, ix, now, last_ordinal)
        expected = naive_pick_agent(agents, index.queues, ix, now, last_ordinal)
        assert _chosen_agent(decision) == expected, f"pick_agent for {ix.id}"
    for agent in agents.values():
        got = engine.pick_interaction(index, interactions, agent, now)
        want = naive_pick_interaction(agents, index.queues, interactions, agent, now)
        assert _chosen_interaction(got) == want, f"pick_interaction for {agent.id}"


def _chosen_agent(decision: RoutingDecision | None) -> AgentId | None:
    return None if decision is None else decision.agent_id


def _chosen_interaction(decision: RoutingDecision | None) -> InteractionId | None:
    return None if decision is None else decision.interaction_id


# --- angle 2: the live center, decision by decision ------------------------------------------


@dataclass
class Spy:
    """Checks each engine call the center makes against the reference, on the same state."""

    decisions: int = 0
    log: list[str] = field(default_factory=list)

    def pick_agent(
        self,
        index: RoutingIndex,
        agents: Mapping[AgentId, Agent],
        interaction: Interaction,
        now: float,
        last_ordinal: Mapping[QueueId, int],
    ) -> RoutingDecision | None:
        decision = engine.pick_agent(index, agents, interaction, now, last_ordinal)
        expected = naive_pick_agent(agents, index.queues, interaction, now, last_ordinal)
        assert _chosen_agent(decision) == expected, (
            f"at {now}: the engine gave {interaction.id} to {_chosen_agent(decision)}, "
            f"the reference to {expected}; steps: {self.log}"
        )
        self.decisions += decision is not None
        return decision

    def pick_interaction(
        self,
        index: RoutingIndex,
        interactions: Mapping[InteractionId, Interaction],
        agent: Agent,
        now: float,
    ) -> RoutingDecision | None:
        decision = engine.pick_interaction(index, interactions, agent, now)
        expected = naive_pick_interaction({}, index.queues, interactions, agent, now)
        assert _chosen_interaction(decision) == expected, (
            f"at {now}: the engine gave {agent.id} {_chosen_interaction(decision)}, "
            f"the reference {expected}; steps: {self.log}"
        )
        self.decisions += decision is not None
        return decision


@contextmanager
def spying() -> Iterator[Spy]:
    """The center's calls into the engine go through the spy, which calls the engine."""
    spy = Spy()
    with (
        patch.object(live_module, "pick_agent", spy.pick_agent),
        patch.object(live_module, "pick_interaction", spy.pick_interaction),
    ):
        yield spy


OPS = (
    *("arrive",) * 5,
    *("accept",) * 2,
    "reject",
    "end_customer",
    *("end_agent",) * 2,
    "hold",
    "resume",
    "transfer_queue",
    "transfer_agent",
    "wrap_up",
    "ready",
    "not_ready",
    "logout",
    "callback",
    "skills",
    "save_queue",
    "wait",
)
Op = tuple[float, str, int, int, int]
OP = st.tuples(DT, st.sampled_from(OPS), st.integers(0, 9), st.integers(0, 9), st.integers(0, 2))


@dataclass
class World:
    configs: list[tuple[Queue, Queue]]  # each queue, and a second configuration to switch to
    specs: list[AgentSpec]
    ready: list[bool]  # who is ready at the start
    # Act without ticking first, as the services do (they tick on a timer of their own).
    lagging: bool


@st.composite
def worlds(draw: st.DrawFn) -> World:
    lagging = draw(st.booleans())
    qids = tuple(QueueId(f"q{i}") for i in range(draw(st.integers(1, 3))))
    configs = [(draw(queues(q, qids[:i])), draw(queues(q, qids[:i]))) for i, q in enumerate(qids)]
    specs = draw(st.lists(AGENT_SPECS, min_size=1, max_size=4))
    ready = [draw(st.sampled_from([True, True, False])) for _ in specs]
    return World(configs, specs, ready, lagging)


class Driver:
    """Runs operations against a center, ticking before each one unless the world lags."""

    def __init__(self, world: World) -> None:
        self.center = ContactCenter()
        self.world = world
        self.using = [0] * len(world.configs)
        self.now = 0.0
        self.arrived = 0
        self.center.save_disposition(OK, "OK", 0.0)
        for first, _ in world.configs:
            self.center.save_queue(first, 0.0)
        for i, spec in enumerate(world.specs):
            self.center.save_agent(
                AgentId(f"a{i}"), f"agent {i}", spec.skills, spec.capacity, spec.groups, 0.0
            )

    def step(self, op: Op) -> list[Event]:
        dt, kind, i, j, k = op
        self.now += dt
        events = [] if self.world.lagging and kind != "wait" else self.center.tick(self.now)
        with suppress(CallbridgeError):  # an operation this state does not allow: no change
            events += self._act(kind, i, j, k)
        return events

    def settled(self, op: Op) -> bool:
        """Whether every deadline up to now has been acted on."""
        return not self.world.lagging or op[1] == "wait"

    def _in(self, *states: InteractionState) -> list[Interaction]:
        found = [ix for ix in self.center.interactions.values() if ix.state in states]
        return sorted(found, key=lambda ix: ix.id)

    def _act(self, kind: str, i: int, j: int, k: int) -> list[Event]:
        c, now, s = self.center, self.now, InteractionState
        agent = AgentId(f"a{i % len(self.world.specs)}")
        queue = QueueId(f"q{j % len(self.world.configs)}")
        if kind == "arrive":
            self.arrived += 1
            iid = InteractionId(f"i{self.arrived}")
            channel = list(Channel)[i % 4]
            c.create_interaction(iid, channel, Direction.INBOUND, "+1555", "+1556", {}, now)
            extra = {SKILLS[j % 3]: 1 + 4 * k} if i >= 6 else None
            return c.enqueue(iid, queue, now, priority=k, extra_skills=extra)
        if kind == "wait":
            return []
        if kind in ("ready", "not_ready", "logout", "skills"):
            return self._agent_op(kind, agent, j, k)
        if kind == "save_queue":
            n = j % len(self.world.configs)
            self.using[n] = 1 - self.using[n]
            return c.save_queue(self.world.configs[n][self.using[n]], now)
        states = {
            "accept": (s.OFFERED,),
            "reject": (s.OFFERED,),
            "end_customer": (s.QUEUED, s.OFFERED, s.CONNECTED, s.ON_HOLD),
            "end_agent": (s.CONNECTED, s.ON_HOLD),
            "hold": (s.CONNECTED,),
            "resume": (s.ON_HOLD,),
            "transfer_queue": (s.CONNECTED, s.ON_HOLD),
            "transfer_agent": (s.CONNECTED, s.ON_HOLD),
            "wrap_up": (s.ENDED,),
            "callback": (s.QUEUED,),
        }[kind]
        candidates = self._in(*states)
        if not candidates:
            return []
        ix = candidates[i % len(candidates)]
        holder = ix.agent_id or agent
        if kind == "accept":
            return c.accept(ix.id, holder, now)
        if kind == "reject":
            return c.reject(ix.id, holder, now)
        if kind == "end_customer":
            return c.end(ix.id, "customer", now)
        if kind == "end_agent":
            return c.end(ix.id, "agent", now, holder)
        if kind == "hold":
            return c.hold(ix.id, holder, now)
        if kind == "resume":
            return c.resume(ix.id, holder, now)
        if kind == "transfer_queue":
            return c.transfer_to_queue(ix.id, holder, queue, now)
        if kind == "transfer_agent":
            target = AgentId(f"a{j % len(self.world.specs)}")
            return c.transfer_to_agent(ix.id, holder, target, now)
        if kind == "wrap_up":
            return c.wrap_up(ix.id, holder, OK if k else None, "notes" if k > 1 else None, now)
        return c.request_callback(ix.id, "+15550123", now)

    def _agent_op(self, kind: str, agent: AgentId, j: int, k: int) -> list[Event]:
        c, now = self.center, self.now
        if kind == "ready":
            events = c.login(agent, now) if c.agent(agent).presence is Presence.LOGGED_OUT else []
            return events + c.set_ready(agent, now)
        if kind == "not_ready":
            return c.set_not_ready(agent, "break", now)
        if kind == "logout":
            return c.logout(agent, now)
        current = c.agent(agent)
        skills = dict(current.skills)
        skill = SKILLS[j % 3]
        if k == 0:
            skills.pop(skill, None)
        else:
            skills[skill] = 1 + 4 * k + j % 2
        return c.save_agent(agent, current.name, skills, None, current.groups, now)

    def routable_left_waiting(self) -> list[str]:
        """Waiting interactions that some agent could take right now."""
        c = self.center
        found = []
        for ix in self._in(InteractionState.QUEUED):
            who = naive_pick_agent(c.agents, c.queues, ix, self.now, {})
            if who is not None:
                found.append(f"{ix.id} in {ix.queue_id} could go to {who}")
        return found


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.lists(OP, min_size=20, max_size=50))
def test_center_decides_like_the_reference(world: World, ops: list[Op]) -> None:
    routed = 0
    with spying() as spy:
        driver = Driver(world)
        steps = [(0.0, "ready", n, 0, 0) for n, r in enumerate(world.ready) if r] + ops
        for op in steps:
            spy.log.append(f"{driver.now + op[0]}: {op[1:]}")
            events = driver.step(op)
            routed += sum(
                1
                for e in events
                if isinstance(e, InteractionOffered) and e.decision.trigger is not Trigger.TRANSFER
            )
            if driver.settled(op):
                left = driver.routable_left_waiting()
                assert not left, f"routable but waiting after {spy.log}: {left}"
    # Every routed offer went through the spy: were the center to stop calling the engine
    # through these names, this test would otherwise pass without checking a decision.
    assert spy.decisions == routed


# --- defects found by the properties above, as examples ---------------------------------------


def _center(queue: Queue, skills: dict[SkillId, int], now: float = 0.0) -> ContactCenter:
    """A center with one queue and one ready voice agent."""
    c = ContactCenter()
    c.save_queue(queue, now)
    c.save_agent(AgentId("a"), "agent a", skills, {Channel.VOICE: 1}, (), now)
    c.login(AgentId("a"), now)
    return c


def _arrive(c: ContactCenter, iid: str, queue: str, now: float) -> list[Event]:
    c.create_interaction(InteractionId(iid), Channel.VOICE, Direction.INBOUND, "+1", "+2", {}, now)
    return c.enqueue(InteractionId(iid), QueueId(queue), now)


def _offered(events: list[Event]) -> list[tuple[InteractionId, AgentId]]:
    return [(e.interaction_id, e.agent_id) for e in events if isinstance(e, InteractionOffered)]


X = SkillId("x")


def test_escalation_happens_at_any_clock_reading() -> None:
    queue = Queue(
        QueueId("q"),
        "q",
        (SkillRequirement(X, 5),),
        escalation=(RelaxProficiency(0.1, X, 1),),
    )
    c = _center(queue, {X: 1})
    c.set_ready(AgentId("a"), 0.0)
    _arrive(c, "i", "q", 0.7)  # 0.7 + 0.1 == 0.7999999999999999
    assert _offered(c.tick(0.8)) == [(InteractionId("i"), AgentId("a"))]


def test_a_saved_queue_without_max_wait_lets_its_line_wait() -> None:
    first = Queue(
        QueueId("q"),
        "q",
        (SkillRequirement(X, 5),),
        max_wait_s=5.0,
        overflow=OverflowAction(OverflowKind.DISCONNECT),
    )
    c = _center(first, {})
    _arrive(c, "i", "q", 0.0)
    c.save_queue(Queue(QueueId("q"), "q", (SkillRequirement(X, 5),)), 1.0)
    c.tick(10.0)
    assert c.interaction(InteractionId("i")).state is InteractionState.QUEUED


def test_a_saved_queue_with_escalation_escalates_its_line() -> None:
    first = Queue(QueueId("q"), "q", (SkillRequirement(X, 5),))
    c = _center(first, {X: 1})
    c.set_ready(AgentId("a"), 0.0)
    _arrive(c, "i", "q", 0.0)
    relaxed = Queue(
        QueueId("q"), "q", (SkillRequirement(X, 5),), escalation=(RelaxProficiency(10.0, X, 1),)
    )
    c.save_queue(relaxed, 1.0)
    assert _offered(c.tick(10.0)) == [(InteractionId("i"), AgentId("a"))]


def test_a_late_tick_keeps_line_order() -> None:
    """An overflow acted on late must not enter its new line ahead in time but behind in seq.

    The engine walks a line in seq order and stops at the first it may take; that is the
    first in line only while seq order is time order.
    """
    a = Queue(
        QueueId("a"),
        "a",
        max_wait_s=5.0,
        overflow=OverflowAction(OverflowKind.QUEUE, QueueId("b")),
    )
    c = _center(Queue(QueueId("b"), "b"), {})
    c.save_queue(a, 0.0)
    _arrive(c, "x", "a", 0.0)
    _arrive(c, "y", "b", 6.0)  # the max wait at 5 has not been ticked yet
    c.tick(7.0)
    line = sorted(c.interactions.values(), key=lambda ix: ix.seq)
    assert [ix.id for ix in line] == ["y", "x"]
    assert [ix.queue_entered_at for ix in line] == sorted(ix.queue_entered_at or 0 for ix in line)
    first = min(line, key=lambda ix: (ix.queue_entered_at or 0, ix.seq))
    assert _offered(c.set_ready(AgentId("a"), 8.0)) == [(first.id, AgentId("a"))]


def test_a_late_tick_frees_an_agent_for_who_arrived_meanwhile() -> None:
    queue = Queue(QueueId("q"), "q", wrap_up=WrapUpPolicy(duration_s=2.0))
    c = _center(queue, {})
    c.set_ready(AgentId("a"), 0.0)
    _arrive(c, "x", "q", 0.0)
    c.accept(InteractionId("x"), AgentId("a"), 0.0)
    c.end(InteractionId("x"), "agent", 0.0, AgentId("a"))  # wrap-up until 2.0
    _arrive(c, "y", "q", 2.3)  # the services act without ticking first
    assert _offered(c.tick(2.5)) == [(InteractionId("y"), AgentId("a"))]
