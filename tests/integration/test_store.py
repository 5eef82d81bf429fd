"""SqlStore on SQLite and PostgreSQL: round trips, the event log, atomicity, load and restart.

State is built through the domain's own API (ContactCenter), so what is stored is what the
running center really produces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from callbridge.adapters.store import SqlStore, codec
from callbridge.adapters.store.tables import metadata
from callbridge.domain.agents import Agent, AgentState
from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.errors import StorageError
from callbridge.domain.events import Event, InteractionEvent
from callbridge.domain.ids import AgentId, DispositionCode, GroupName, InteractionId, QueueId
from callbridge.domain.ids import SkillId as Sk
from callbridge.domain.interactions import Interaction
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.live import Disposition
from callbridge.domain.queues import (
    AddGroup,
    DropSkill,
    OverflowAction,
    OverflowKind,
    Queue,
    RelaxProficiency,
    SkillRequirement,
    Strategy,
    WrapUpPolicy,
)
from callbridge.domain.restore import restore, route_waiting
from callbridge.ports import Changes, Store
from callbridge.services.security.crypto import FieldCipher, Keyring

# A real epoch time with a fraction, so the datetime columns are exercised to the microsecond.
# Offsets from it are binary fractions (0.25, 0.125...), so sums stay exact microseconds.
T0 = 1_764_150_000.123456
A = AgentId
I = InteractionId  # noqa: E741
Q = QueueId
CIPHER = FieldCipher(Keyring.generate())  # one ring for every store, so reopening reads


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    opened = SqlStore.open(database_url, CIPHER)
    yield opened
    opened.close()


def test_sql_store_is_a_store(database_url: str) -> None:
    # mypy checks the assignment; the test checks open() gives a working store
    store: Store = SqlStore.open(database_url, CIPHER)
    try:
        assert store.load().next_seq == 1
    finally:
        store.close()


# --- helpers -----------------------------------------------------------------------------------


def agent_fields(agent: Agent) -> dict[str, object]:
    """Everything an agent stores (work is derived at restore, not stored)."""
    return {f.name: getattr(agent, f.name) for f in dataclasses.fields(agent) if f.name != "work"}


def interaction_fields(ix: Interaction) -> dict[str, object]:
    return {f.name: getattr(ix, f.name) for f in dataclasses.fields(ix)}


def touched(center: ContactCenter, events: list[Event]) -> Changes:
    """What a use case changed, as a service would commit it: the agents and interactions its
    events name, the interactions that closed, and the sequence counter."""
    agent_ids: set[AgentId] = set()
    interaction_ids: set[InteractionId] = set()
    for event in events:
        for name, value in dataclasses.asdict(event).items():
            if name.endswith("agent_id") and value:
                agent_ids.add(value)
            elif name == "interaction_id":
                interaction_ids.add(value)
    return Changes(
        events=list(events),
        agents=[center.agents[a] for a in sorted(agent_ids)],
        interactions=[
            center.interactions[i] for i in sorted(interaction_ids & center.interactions.keys())
        ]
        + center.drain_closed(),
        next_seq=center.next_seq,
    )


def everything(center: ContactCenter, events: list[Event], closed: list[Interaction]) -> Changes:
    """The whole center: every agent, queue, disposition and interaction."""
    return Changes(
        events=list(events),
        agents=list(center.agents.values()),
        queues=list(center.queues.values()),
        dispositions=list(center.dispositions.values()),
        interactions=[*center.interactions.values(), *closed],
        next_seq=center.next_seq,
    )


def dump(store: SqlStore) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, to show that a failed commit wrote nothing."""
    with store.engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
            for table in metadata.sorted_tables
        }


def every_kind_of_queue() -> list[Queue]:
    return [
        Queue(Q("basic"), "Basic"),
        Queue(
            Q("full"),
            "Everything set",
            requirements=(SkillRequirement(Sk("en"), 5), SkillRequirement(Sk("billing"), 7)),
            priority=3,
            service_level_s=30.5,
            max_wait_s=120.0,
            overflow=OverflowAction(OverflowKind.QUEUE, target_queue=Q("basic")),
            no_agent=OverflowAction(OverflowKind.QUEUE, target_queue=Q("basic")),
            escalation=(
                RelaxProficiency(10.0, Sk("en"), 3),
                DropSkill(20.0, Sk("billing")),
                AddGroup(30.0, GroupName("seniors")),
            ),
            strategy=Strategy.MOST_SKILLED,
            offer_timeout_s=9.5,
            wrap_up=WrapUpPolicy(45.0, True, True, DispositionCode("sold")),
        ),
        Queue(
            Q("voicemail"),
            "Voicemail",
            max_wait_s=60.0,
            overflow=OverflowAction(OverflowKind.VOICEMAIL, message="leave a message"),
            strategy=Strategy.LEAST_OCCUPIED,
        ),
        Queue(
            Q("callback"),
            "Callback",
            max_wait_s=90.0,
            overflow=OverflowAction(OverflowKind.CALLBACK),
            strategy=Strategy.ROUND_ROBIN,
            wrap_up=WrapUpPolicy(duration_s=0.0),
        ),
        Queue(
            Q("disconnect"),
            "Disconnect",
            max_wait_s=300.0,
            overflow=OverflowAction(OverflowKind.DISCONNECT, message="we are closed"),
            no_agent=OverflowAction(OverflowKind.VOICEMAIL),
        ),
    ]


@dataclass
class Scenario:
    """A center with an interaction in every state, committed in one go."""

    center: ContactCenter
    closed: list[Interaction]
    events: list[Event]


def interactions_in_every_state() -> Scenario:
    c = ContactCenter()
    t = T0
    ev: list[Event] = []
    ev += c.save_queue(
        Queue(
            Q("sales"),
            "Sales",
            requirements=(SkillRequirement(Sk("en"), 1),),
            wrap_up=WrapUpPolicy(30.0, disposition_required=True),
        ),
        t,
    )
    ev += c.save_disposition(DispositionCode("sold"), "Sold", t)
    for n in range(1, 6):
        ev += c.save_agent(A(f"a{n}"), f"Agent {n}", {Sk("en"): n}, None, [], t)
        ev += c.login(A(f"a{n}"), t)

    def arrive(name: str, channel: Channel = Channel.VOICE, queue: bool = True) -> InteractionId:
        nonlocal t, ev
        t += 1.25
        iid = I(name)
        ev += c.create_interaction(
            iid, channel, Direction.INBOUND, "+15551230000", "+15559870000", {"account": name}, t
        )
        if queue:
            ev += c.enqueue(iid, Q("sales"), t, extra_skills={Sk("en"): 1})
        return iid

    arrive("i-new", queue=False)
    c.interactions[arrive("i-ivr", queue=False)].move_to(S.IN_IVR)
    for n, name in enumerate(["i-offered", "i-connected", "i-hold", "i-wrap", "i-done"], 1):
        ev += c.set_ready(A(f"a{n}"), t)
        iid = arrive(name)
        assert c.interactions[iid].agent_id == A(f"a{n}")
        if name != "i-offered":
            ev += c.accept(iid, A(f"a{n}"), t + 0.5)
        if name == "i-hold":
            ev += c.hold(iid, A(f"a{n}"), t + 0.75)
        if name in ("i-wrap", "i-done"):
            ev += c.end(iid, "agent", t + 0.875, agent_id=A(f"a{n}"))
        if name == "i-done":
            ev += c.wrap_up(iid, A(f"a{n}"), DispositionCode("sold"), "bought two", t + 0.9375)
            ev += c.set_not_ready(A(f"a{n}"), "lunch", t + 0.96875)
    ev += c.request_callback(arrive("i-queued"), "+15550001111", t + 0.125)
    ev += c.end(arrive("i-abandoned"), "customer", t + 0.25)
    closed = c.drain_closed()
    return Scenario(c, closed, ev)


# --- round trips ---------------------------------------------------------------------------------


def test_queues_of_every_kind_round_trip(store: SqlStore) -> None:
    queues = every_kind_of_queue()
    store.commit(Changes(queues=queues))
    assert sorted(store.load().queues, key=lambda q: q.id) == sorted(queues, key=lambda q: q.id)


def test_saving_a_queue_again_replaces_it_and_removing_deletes_it(store: SqlStore) -> None:
    basic, full, *_ = every_kind_of_queue()
    store.commit(Changes(queues=[basic, full]))
    renamed = dataclasses.replace(basic, name="Basic 2", strategy=Strategy.ROUND_ROBIN)
    store.commit(Changes(queues=[renamed], removed_queues=[full.id]))
    assert store.load().queues == [renamed]


def test_a_queue_both_saved_and_removed_is_refused(store: SqlStore) -> None:
    basic = every_kind_of_queue()[0]
    with pytest.raises(StorageError, match="both saved and removed"):
        store.commit(Changes(queues=[basic], removed_queues=[basic.id]))
    assert store.load().queues == []


def test_agents_round_trip_with_skills_capacity_groups_and_presence(store: SqlStore) -> None:
    c = ContactCenter()
    c.save_agent(A("ann"), "Ann", {Sk("en"): 7, Sk("fr"): 2}, None, [GroupName("seniors")], T0)
    c.save_agent(
        A("bob"),
        "Bob",
        {},
        {Channel.VOICE: 0, Channel.CHAT: 5, Channel.EMAIL: 1, Channel.SMS: 0},
        [GroupName("night"), GroupName("billing")],
        T0 + 1,
    )
    c.save_agent(A("cy"), "Cy", {Sk("es"): 10}, None, [], T0 + 2)
    c.login(A("ann"), T0 + 3)
    c.set_ready(A("ann"), T0 + 4.25)
    c.login(A("bob"), T0 + 5)
    c.set_not_ready(A("bob"), "training", T0 + 6.5)
    store.commit(Changes(agents=list(c.agents.values())))

    loaded = store.load().agents
    assert [a.id for a in loaded] == ["ann", "bob", "cy"]  # by ordinal
    assert [agent_fields(a) for a in loaded] == [agent_fields(a) for a in c.agents.values()]


def test_saving_an_agent_again_replaces_its_skills(store: SqlStore) -> None:
    c = ContactCenter()
    c.save_agent(A("ann"), "Ann", {Sk("en"): 7, Sk("fr"): 2}, None, [], T0)
    store.commit(Changes(agents=[c.agents[A("ann")]]))
    c.save_agent(A("ann"), "Ann B.", {Sk("de"): 4}, None, [GroupName("x")], T0 + 1)
    store.commit(Changes(agents=[c.agents[A("ann")]]))
    (ann,) = store.load().agents
    assert ann.name == "Ann B."
    assert ann.skills == {Sk("de"): 4}
    assert ann.groups == frozenset({GroupName("x")})


def test_dispositions_round_trip_and_update(store: SqlStore) -> None:
    store.commit(Changes(dispositions=[Disposition(DispositionCode("sold"), "Sold")]))
    store.commit(
        Changes(
            dispositions=[
                Disposition(DispositionCode("sold"), "Sold!"),
                Disposition(DispositionCode("no-sale"), "No sale"),
            ]
        )
    )
    assert store.get_disposition(DispositionCode("sold")) == Disposition(
        DispositionCode("sold"), "Sold!"
    )
    assert store.get_disposition(DispositionCode("nope")) is None
    assert [d.code for d in store.load().dispositions] == ["no-sale", "sold"]


def test_interactions_in_every_state_round_trip(store: SqlStore) -> None:
    sc = interactions_in_every_state()
    store.commit(everything(sc.center, sc.events, sc.closed))
    states = {ix.state for ix in [*sc.center.interactions.values(), *sc.closed]}
    assert states == set(S)
    for ix in [*sc.center.interactions.values(), *sc.closed]:
        stored = store.get_interaction(ix.id)
        assert stored is not None
        assert interaction_fields(stored) == interaction_fields(ix)
    assert store.get_interaction(I("nope")) is None


def test_load_returns_open_interactions_and_those_still_in_wrap_up(store: SqlStore) -> None:
    sc = interactions_in_every_state()
    store.commit(everything(sc.center, sc.events, []))
    store.commit(Changes(interactions=sc.closed))
    state = store.load()
    assert {ix.id for ix in state.interactions} == {
        "i-new",
        "i-ivr",
        "i-offered",
        "i-connected",
        "i-hold",
        "i-wrap",
        "i-queued",
    }
    assert {ix.id: ix.state for ix in state.interactions}[I("i-wrap")] is S.ENDED
    assert state.next_seq == sc.center.next_seq
    assert [agent_fields(a) for a in state.agents] == [
        agent_fields(a) for a in sc.center.agents.values()
    ]


def test_list_interactions_newest_first_with_filters(store: SqlStore) -> None:
    sc = interactions_in_every_state()
    store.commit(everything(sc.center, sc.events, []))
    store.commit(Changes(interactions=sc.closed))
    everyone = store.list_interactions()
    assert [ix.id for ix in everyone] == [
        "i-abandoned",
        "i-queued",
        "i-done",
        "i-wrap",
        "i-hold",
        "i-connected",
        "i-offered",
        "i-ivr",
        "i-new",
    ]
    assert [ix.id for ix in store.list_interactions(limit=2)] == ["i-abandoned", "i-queued"]
    assert [ix.id for ix in store.list_interactions(state=S.ENDED)] == ["i-abandoned", "i-wrap"]
    in_sales = store.list_interactions(queue_id=Q("sales"), state=S.QUEUED)
    assert [ix.id for ix in in_sales] == ["i-queued"]
    assert store.list_interactions(queue_id=Q("other")) == []


def test_list_interactions_breaks_ties_on_id(store: SqlStore) -> None:
    c = ContactCenter()
    for name in ("b", "c", "a"):
        c.create_interaction(I(name), Channel.CHAT, Direction.INBOUND, "x", "y", {}, T0)
    store.commit(Changes(interactions=list(c.interactions.values())))
    assert [ix.id for ix in store.list_interactions()] == ["c", "b", "a"]


def test_next_seq_defaults_to_one_and_is_kept(store: SqlStore) -> None:
    assert store.load().next_seq == 1
    store.commit(Changes(next_seq=42))
    store.commit(Changes())
    assert store.load().next_seq == 42


# --- the event log -------------------------------------------------------------------------------


def test_events_are_appended_in_order_with_ids(store: SqlStore) -> None:
    sc = interactions_in_every_state()
    half = len(sc.events) // 2
    first = store.commit(Changes(events=sc.events[:half]))
    second = store.commit(Changes(events=sc.events[half:]))
    logged = first + second
    assert [e.kind for e in logged] == [e.kind for e in sc.events]
    assert [e.id for e in logged] == sorted({e.id for e in logged})
    assert store.events() == logged
    assert store.commit(Changes()) == []


def test_events_carry_their_ids_and_a_json_payload(store: SqlStore) -> None:
    sc = interactions_in_every_state()
    logged = store.commit(Changes(events=sc.events))
    for event, stored in zip(sc.events, logged, strict=True):
        record = codec.event_record(event)
        assert (stored.kind, stored.interaction_id, stored.agent_id, stored.queue_id) == (
            record.kind,
            record.interaction_id,
            record.agent_id,
            record.queue_id,
        )
        assert stored.at == pytest.approx(event.at, abs=1e-6)
        assert stored.payload == record.payload
    offered = next(e for e in logged if e.kind == "interaction_offered")
    decision = offered.payload["decision"]
    assert isinstance(decision, dict)
    assert decision["trigger"] == "interaction_waiting"
    assert decision["agent_id"] == offered.agent_id


def test_event_log_filters(store: SqlStore) -> None:
    sc = interactions_in_every_state()
    logged = store.commit(Changes(events=sc.events))

    for_ix = store.events(interaction_id=I("i-hold"))
    assert for_ix == [e for e in logged if e.interaction_id == "i-hold"]
    assert [e.kind for e in for_ix] == [
        "interaction_created",
        "interaction_queued",
        "interaction_offered",
        "interaction_connected",
        "interaction_held",
    ]
    for_agent = store.events(agent_id=A("a4"))
    assert for_agent == [e for e in logged if e.agent_id == "a4"]
    assert {e.kind for e in for_agent} >= {"agent_saved", "wrap_up_started"}
    both = store.events(interaction_id=I("i-wrap"), agent_id=A("a4"))
    assert both == [e for e in for_agent if e.interaction_id == "i-wrap"]

    middle = logged[10].id
    assert store.events(after_id=middle, limit=3) == logged[11:14]
    assert store.events(after_id=logged[-1].id) == []
    assert store.events(limit=0) == []


def test_a_transfer_is_logged_under_the_agent_who_made_it(store: SqlStore) -> None:
    c = ContactCenter()
    ev = c.save_queue(Queue(Q("q"), "Q"), T0) + c.save_queue(Queue(Q("q2"), "Q2"), T0)
    ev += c.save_agent(A("a"), "A", {}, None, [], T0) + c.login(A("a"), T0)
    ev += c.set_ready(A("a"), T0)
    ev += c.create_interaction(I("i"), Channel.VOICE, Direction.INBOUND, "x", "y", {}, T0)
    ev += c.enqueue(I("i"), Q("q"), T0) + c.accept(I("i"), A("a"), T0)
    ev += c.transfer_to_queue(I("i"), A("a"), Q("q2"), T0 + 1)
    store.commit(Changes(events=ev))
    (transfer,) = [e for e in store.events(agent_id=A("a")) if e.kind == "interaction_transferred"]
    assert transfer.queue_id == "q2"
    assert transfer.payload["from_agent_id"] == "a"


# --- atomicity -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Unstorable(InteractionEvent):
    kind: ClassVar[str] = "unstorable"
    blob: object


def committed_start(store: SqlStore) -> Scenario:
    sc = interactions_in_every_state()
    store.commit(everything(sc.center, sc.events[:5], []))
    return sc


def test_a_payload_that_cannot_be_stored_writes_nothing(store: SqlStore) -> None:
    sc = committed_start(store)
    before = dump(store)
    bad = Unstorable(at=T0, interaction_id=I("i-new"), blob=object())
    # the bad event comes last: agents, queues, interactions and the good events go first
    changes = everything(sc.center, [*sc.events[5:], bad], sc.closed)
    changes.next_seq = 99
    with pytest.raises(StorageError, match="could not write changes") as failure:
        store.commit(changes)
    assert isinstance(failure.value.__cause__, TypeError)
    assert dump(store) == before


def test_a_violated_constraint_writes_nothing(store: SqlStore) -> None:
    sc = committed_start(store)
    before = dump(store)
    clash = Agent(A("zed"), "Zed", ordinal=0)  # a1 has ordinal 0
    changes = everything(sc.center, sc.events[5:], sc.closed)
    changes.agents.append(clash)
    with pytest.raises(StorageError) as failure:
        store.commit(changes)
    assert isinstance(failure.value.__cause__, IntegrityError)
    assert failure.value.code == "storage_error"
    assert dump(store) == before
    store.commit(everything(sc.center, sc.events[5:], sc.closed))  # and the store still works
    assert len(store.events()) == len(sc.events)


# --- restart -------------------------------------------------------------------------------------


def test_a_restarted_center_has_the_same_agents_and_waiting_interactions(
    database_url: str,
) -> None:
    c = ContactCenter()
    store = SqlStore.open(database_url, CIPHER)
    t = T0

    def step(events: list[Event], changes: Changes | None = None) -> None:
        store.commit(changes or touched(c, events))

    sales = Queue(
        Q("sales"),
        "Sales",
        requirements=(SkillRequirement(Sk("en"), 3),),
        escalation=(RelaxProficiency(60.0, Sk("en"), 1),),
    )
    ev = c.save_queue(sales, t)
    step(ev, Changes(events=ev, queues=[sales]))
    ev = c.save_disposition(DispositionCode("ok"), "OK", t)
    step(ev, Changes(events=ev, dispositions=list(c.dispositions.values())))
    for agent_id, skill in (("a1", 5), ("a2", 4), ("a3", 1)):
        step(c.save_agent(A(agent_id), agent_id.upper(), {Sk("en"): skill}, None, [], t))
        step(c.login(A(agent_id), t))
    step(c.set_ready(A("a1"), t + 1))
    step(c.set_ready(A("a2"), t + 2))
    step(c.set_not_ready(A("a3"), "training", t + 3))
    for n, channel in enumerate([Channel.VOICE, Channel.VOICE, Channel.VOICE, Channel.CHAT], 1):
        iid = I(f"i{n}")
        step(c.create_interaction(iid, channel, Direction.INBOUND, f"+1555000{n}", "+1", {}, t + 4))
        step(c.enqueue(iid, Q("sales"), t + 4 + n))
    step(c.accept(I("i1"), A("a1"), t + 10))
    step(c.accept(I("i2"), A("a2"), t + 11))
    step(c.end(I("i2"), "agent", t + 20, agent_id=A("a2")))  # a2 now in wrap-up for 30 s
    step(c.request_callback(I("i3"), "+15550003", t + 21))
    step(c.create_interaction(I("i5"), Channel.EMAIL, Direction.INBOUND, "x@y", "s@z", {}, t + 22))
    store.close()

    reopened = SqlStore.open(database_url, CIPHER)
    stored = reopened.load()
    reopened.close()
    now = t + 23
    rebuilt = restore(
        stored.queues,
        stored.agents,
        stored.dispositions,
        stored.interactions,
        stored.next_seq,
        now,
    )

    assert (
        route_waiting(rebuilt, now) == []
    )  # nothing could be routed: a1 is on a call, a2 wraps up, a3 not ready
    assert {a.id: a.state for a in rebuilt.agents.values()} == {
        "a1": AgentState.BUSY,
        "a2": AgentState.WRAP_UP,
        "a3": AgentState.NOT_READY,
    }
    for agent_id, agent in c.agents.items():
        assert agent_fields(rebuilt.agents[agent_id]) == agent_fields(agent)
        assert rebuilt.agents[agent_id].work == agent.work
    assert {i: interaction_fields(ix) for i, ix in rebuilt.interactions.items()} == {
        i: interaction_fields(ix) for i, ix in c.interactions.items()
    }
    waiting = sorted(i for i, ix in rebuilt.interactions.items() if ix.state is S.QUEUED)
    assert waiting == ["i3", "i4"]
    assert rebuilt.next_seq == c.next_seq
    assert rebuilt.queues == c.queues
    assert rebuilt.dispositions == c.dispositions

    # Both centers then behave the same: a2's wrap-up ends, and a2 takes the next call.
    later = t + 60
    assert [codec.event_record(e) for e in rebuilt.tick(later)] == [
        codec.event_record(e) for e in c.tick(later)
    ]
    assert rebuilt.agents[A("a2")].state is AgentState.RESERVED
