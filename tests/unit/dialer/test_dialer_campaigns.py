"""Campaigns: checked when made, a start/pause/stop state machine, the blending reserve."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from dialer_helpers import campaign
from hypothesis import given
from hypothesis import strategies as st

from callbridge.domain.dialer.campaigns import (
    TRANSITIONS,
    CampaignAction,
    CampaignState,
    CampaignStatus,
    transition,
)
from callbridge.domain.dialer.modes import DialMode
from callbridge.domain.errors import InvalidInput, InvalidState

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_a_campaign_carries_its_profile_defaults() -> None:
    c = campaign()
    assert c.mode is DialMode.PREDICTIVE and c.profile.name == "us"
    assert c.ring_timeout_s == 26.0 and c.abandonment.cap == 0.03
    assert not c.agent_guaranteed
    assert c.calling_hours().states["FL"].name.startswith("Florida")


def test_bad_values_are_refused_naming_the_field() -> None:
    c = campaign()
    for change, field in (
        ({"caller_id": "2125550100"}, "caller_id"),
        ({"no_answer_timeout_s": 10.0}, "no_answer_timeout_s"),
        ({"lists": ()}, "lists"),
        ({"time_zone": "Nowhere/Else"}, "time_zone"),
        ({"inbound_reserve": -1}, "inbound_reserve"),
        ({"opt_out_key": None}, "abandon_message"),  # US rules need an automated opt-out
    ):
        with pytest.raises(InvalidInput) as raised:
            dataclasses.replace(c, **change)
        assert raised.value.details["field"] == field


def test_outbound_uses_only_agents_beyond_the_inbound_reserve() -> None:
    c = dataclasses.replace(campaign(), inbound_reserve=2)
    assert [c.ready_for_outbound(n) for n in range(5)] == [0, 0, 0, 1, 2]
    assert c.ready_for_outbound(10, inbound_waiting=1) == 0  # inbound callers come first


def test_the_life_of_a_campaign() -> None:
    s = transition(CampaignStatus(), CampaignAction.START, NOW)
    assert (s.state, s.dialling, s.first_started) == (CampaignState.RUNNING, True, NOW)
    s = transition(s, CampaignAction.PAUSE, NOW + timedelta(hours=1))
    assert not s.dialling
    s = transition(s, CampaignAction.RESUME, NOW + timedelta(hours=2))
    s = transition(s, CampaignAction.STOP, NOW + timedelta(hours=3))
    s = transition(s, CampaignAction.START, NOW + timedelta(days=1))
    assert s.first_started == NOW  # the 30-day windows still count from the first start
    with pytest.raises(InvalidState, match="cannot resume a campaign that is running"):
        transition(s, CampaignAction.RESUME, NOW + timedelta(days=1))


@given(st.lists(st.sampled_from(list(CampaignAction)), max_size=30))
def test_any_sequence_of_actions_keeps_the_state_machine_consistent(
    actions: list[CampaignAction],
) -> None:
    status = CampaignStatus()
    at = NOW
    for action in actions:
        at += timedelta(minutes=5)
        allowed = (status.state, action) in TRANSITIONS
        try:
            after = transition(status, action, at)
        except InvalidState:
            assert not allowed
            continue
        assert allowed and after.state is TRANSITIONS[(status.state, action)]
        assert after.since == at
        assert after.first_started is not None  # only reachable through a start
        status = after
    assert (status.first_started is None) == (status.state is CampaignState.DRAFT)
