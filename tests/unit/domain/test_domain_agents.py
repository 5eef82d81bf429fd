"""Agents: the state machine, reason codes, skills with proficiency, per-channel capacity."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from domain_helpers import SUPPORT, agent, arrive, center_with, offers, one, skills, waiting

from callbridge.domain.agents import LOGIN_REASON, Agent, AgentState, Presence
from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import DEFAULT_CAPACITY, Channel
from callbridge.domain.errors import InvalidInput, InvalidState, NotFound
from callbridge.domain.events import AgentPresenceChanged, AgentSaved
from callbridge.domain.ids import AgentId, GroupName, InteractionId, SkillId
from callbridge.domain.queues import Queue, SkillRequirement, WrapUpPolicy

ANN = AgentId("ann")
I1, I2 = InteractionId("i1"), InteractionId("i2")


def state(center: ContactCenter, agent_id: AgentId = ANN) -> AgentState:
    return center.agent(agent_id).state


def test_an_agent_goes_through_every_state() -> None:
    center = center_with(Queue(SUPPORT, "Support", wrap_up=WrapUpPolicy(duration_s=30.0)))
    center.save_agent(ANN, "Ann", {}, None, [], 0.0)
    ann = center.agent(ANN)
    assert state(center) is AgentState.LOGGED_OUT

    center.login(ANN, 1.0)
    assert (state(center), ann.reason) == (AgentState.NOT_READY, LOGIN_REASON)
    changed = one(center.set_not_ready(ANN, " lunch ", 2.0), AgentPresenceChanged)
    assert (changed.presence, changed.reason) == ("not_ready", "lunch")
    assert (state(center), ann.reason) == (AgentState.NOT_READY, "lunch")

    center.set_ready(ANN, 3.0)
    assert (state(center), ann.reason) == (AgentState.READY, None)
    arrive(center, "i1", now=4.0)
    assert state(center) is AgentState.RESERVED
    center.accept(I1, ANN, 5.0)
    assert state(center) is AgentState.BUSY
    center.end(I1, "customer", 6.0)
    assert state(center) is AgentState.WRAP_UP
    center.wrap_up(I1, ANN, None, None, 7.0)
    assert state(center) is AgentState.READY
    changed = one(center.logout(ANN, 8.0), AgentPresenceChanged)
    assert (changed.presence, state(center)) == ("logged_out", AgentState.LOGGED_OUT)


def test_not_ready_needs_a_reason_code() -> None:
    center = center_with()
    agent(center, "ann")
    with pytest.raises(InvalidInput) as info:
        center.set_not_ready(ANN, "   ", 1.0)
    assert (info.value.code, info.value.details["field"]) == ("invalid_input", "reason")
    assert center.agent(ANN).presence is Presence.READY


def test_presence_changes_need_the_agent_logged_in_once() -> None:
    center = center_with()
    center.save_agent(ANN, "Ann", {}, None, [], 0.0)
    changes: list[Callable[[], object]] = [
        lambda: center.set_ready(ANN, 1.0),
        lambda: center.set_not_ready(ANN, "break", 1.0),
        lambda: center.logout(ANN, 1.0),
    ]
    for change in changes:
        with pytest.raises(InvalidState) as info:
            change()
        assert (info.value.code, info.value.details) == ("invalid_state", {"agent_id": "ann"})
    center.login(ANN, 1.0)
    with pytest.raises(InvalidState):
        center.login(ANN, 2.0)


def test_an_unknown_agent_is_not_found() -> None:
    center = center_with()
    with pytest.raises(NotFound) as info:
        center.login(AgentId("ghost"), 0.0)
    assert (info.value.code, info.value.details["field"]) == ("not_found", "agent_id")


def test_an_agent_cannot_log_out_while_holding_work() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    agent(center, "ann")
    arrive(center, "i1")
    with pytest.raises(InvalidState):
        center.logout(ANN, 1.0)
    assert center.agent(ANN).state is AgentState.RESERVED


def test_ready_twice_is_a_no_op() -> None:
    center = center_with()
    agent(center, "ann")
    assert center.set_ready(ANN, 5.0) == []


def test_a_not_ready_agent_is_never_offered_work() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    agent(center, "ann", ready=False)
    assert offers(arrive(center, "i1")) == {}
    assert offers(center.set_ready(ANN, 10.0)) == {I1: ANN}


def test_going_not_ready_while_working_keeps_the_work_and_stops_new_offers() -> None:
    center = center_with(Queue(SUPPORT, "Support", wrap_up=WrapUpPolicy(duration_s=0.0)))
    agent(center, "ann", capacity={Channel.CHAT: 3})
    arrive(center, "i1", channel=Channel.CHAT)
    center.accept(I1, ANN, 1.0)
    center.set_not_ready(ANN, "meeting", 2.0)
    assert center.agent(ANN).state is AgentState.BUSY
    assert offers(arrive(center, "i2", now=3.0, channel=Channel.CHAT)) == {}
    center.end(I1, "agent", 4.0, ANN)
    assert (center.agent(ANN).state, center.agent(ANN).reason) == (
        AgentState.NOT_READY,
        "meeting",
    )


def test_save_agent_tells_what_was_saved() -> None:
    center = center_with()
    saved = one(
        center.save_agent(
            ANN, "Ann", skills(billing=7), {Channel.CHAT: 2}, [GroupName("tier2")], 0.0
        ),
        AgentSaved,
    )
    assert (saved.agent_id, saved.name, saved.skills) == (ANN, "Ann", {"billing": 7})
    assert (saved.capacity, saved.groups) == ({"chat": 2}, ("tier2",))


def test_default_capacity_is_one_call_or_three_chats() -> None:
    center = center_with()
    center.save_agent(ANN, "Ann", {}, None, [], 0.0)
    assert center.agent(ANN).capacity == DEFAULT_CAPACITY
    assert (DEFAULT_CAPACITY[Channel.VOICE], DEFAULT_CAPACITY[Channel.CHAT]) == (1, 3)


@pytest.mark.parametrize("level", [0, 11, -3])
def test_proficiency_outside_1_to_10_is_invalid_input_naming_the_field(level: int) -> None:
    center = center_with()
    with pytest.raises(InvalidInput) as info:
        center.save_agent(ANN, "Ann", skills(billing=level), None, [], 0.0)
    assert info.value.code == "invalid_input"
    assert info.value.details["field"] == "skills.billing"
    assert "billing" in info.value.message
    assert ANN not in center.agents


@pytest.mark.parametrize("level", [1, 10])
def test_proficiency_1_and_10_are_valid(level: int) -> None:
    center = center_with()
    center.save_agent(ANN, "Ann", skills(billing=level), None, [], 0.0)
    assert center.agent(ANN).skills == {"billing": level}


@pytest.mark.parametrize(
    ("name", "proficiency", "capacity", "field"),
    [
        ("", {}, None, "name"),
        ("Ann", {SkillId(""): 5}, None, "skills"),
        ("Ann", {}, {Channel.CHAT: -1}, "capacity.chat"),
        ("Ann", {}, {Channel.VOICE: 51}, "capacity.voice"),
    ],
)
def test_invalid_agent_fields_are_named(
    name: str, proficiency: dict[SkillId, int], capacity: dict[Channel, int] | None, field: str
) -> None:
    center = center_with()
    with pytest.raises(InvalidInput) as info:
        center.save_agent(ANN, name, proficiency, capacity, [], 0.0)
    assert info.value.details["field"] == field


def test_an_agent_needs_an_id() -> None:
    with pytest.raises(InvalidInput) as info:
        Agent(AgentId(""), "Nobody")
    assert info.value.details["field"] == "id"


def test_a_bad_update_changes_nothing() -> None:
    center = center_with()
    center.save_agent(ANN, "Ann", skills(billing=4), {Channel.CHAT: 2}, [], 0.0)
    with pytest.raises(InvalidInput):
        center.save_agent(ANN, "Ann B.", skills(billing=12), {Channel.CHAT: 1}, [], 1.0)
    ann = center.agent(ANN)
    assert (ann.name, ann.skills, ann.capacity) == ("Ann", {"billing": 4}, {Channel.CHAT: 2})


def test_new_skills_take_effect_for_waiting_work() -> None:
    center = center_with(
        Queue(SUPPORT, "Support", requirements=(SkillRequirement(SkillId("fr"), 6),))
    )
    agent(center, "ann", skills(fr=3))
    arrive(center, "i1")
    assert offers(center.save_agent(ANN, "Ann", skills(fr=6), None, [], 5.0)) == {I1: ANN}


# --- capacity -------------------------------------------------------------------------------


def test_a_voice_call_is_exclusive_of_chats() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    agent(center, "ann", capacity={Channel.VOICE: 1, Channel.CHAT: 3})
    assert offers(arrive(center, "i1")) == {I1: ANN}
    assert offers(arrive(center, "i2", channel=Channel.CHAT)) == {}
    assert waiting(center) == [I2]


def test_a_chat_keeps_voice_calls_away() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    agent(center, "ann", capacity={Channel.VOICE: 1, Channel.CHAT: 3})
    assert offers(arrive(center, "i1", channel=Channel.CHAT)) == {I1: ANN}
    assert offers(arrive(center, "i2")) == {}
    center.accept(I1, ANN, 1.0)
    center.end(I1, "customer", 2.0)
    assert offers(center.wrap_up(I1, ANN, None, None, 3.0)) == {I2: ANN}


def test_up_to_capacity_chats_at_once() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    agent(center, "ann", capacity={Channel.CHAT: 3})
    for n in range(1, 5):
        arrive(center, f"c{n}", channel=Channel.CHAT, now=float(n))
    ann = center.agent(ANN)
    assert sorted(ann.work) == ["c1", "c2", "c3"]
    assert ann.load(Channel.CHAT) == 3
    assert waiting(center) == ["c4"]
    center.reject(InteractionId("c2"), ANN, 10.0)  # Not Ready: takes nothing more
    assert sorted(ann.work) == ["c1", "c3"]


def test_a_freed_chat_slot_takes_the_next_chat() -> None:
    center = center_with(Queue(SUPPORT, "Support", wrap_up=WrapUpPolicy(duration_s=0.0)))
    agent(center, "ann", capacity={Channel.CHAT: 2})
    for n in range(1, 4):
        arrive(center, f"c{n}", channel=Channel.CHAT, now=float(n))
    center.accept(InteractionId("c1"), ANN, 5.0)
    assert offers(center.end(InteractionId("c1"), "customer", 6.0)) == {InteractionId("c3"): ANN}


def test_zero_capacity_in_a_channel_means_never_offered_it() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    agent(center, "ann", capacity={Channel.VOICE: 0, Channel.EMAIL: 2})
    assert offers(arrive(center, "i1")) == {}
    assert offers(arrive(center, "i2", channel=Channel.SMS)) == {}  # no sms entry at all
    assert offers(arrive(center, "e1", channel=Channel.EMAIL)) == {InteractionId("e1"): ANN}


def test_channels_other_than_voice_mix_within_their_capacities() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    agent(center, "ann", capacity={Channel.CHAT: 1, Channel.EMAIL: 1, Channel.SMS: 1})
    for name, channel in (("c", Channel.CHAT), ("e", Channel.EMAIL), ("s", Channel.SMS)):
        assert offers(arrive(center, name, channel=channel)) == {InteractionId(name): ANN}
    assert center.agent(ANN).state is AgentState.RESERVED
    assert not center.agent(ANN).is_available()
