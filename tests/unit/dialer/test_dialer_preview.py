"""Preview dialling's pure parts: who is offered a record, the preview's deadline, skipped
records resting, and what the pacing log says."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callbridge.domain.agents import Agent
from callbridge.domain.dialer.decisions import PacingReason
from callbridge.domain.dialer.ids import CampaignId, RecordId
from callbridge.domain.dialer.modes import PreviewSettings
from callbridge.domain.dialer.pacing.state import PacingState
from callbridge.domain.dialer.preview import (
    SKIP_REST_S,
    Skip,
    agents_to_offer,
    offer,
    preview_decision,
    resting,
)
from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import AgentId

SPRING = CampaignId("spring")


def agent(name: str, idle_since: float, ordinal: int = 0) -> Agent:
    a = Agent(AgentId(name), name.title())
    a.idle_since, a.ordinal = idle_since, ordinal
    return a


def test_the_longest_idle_free_agents_get_a_preview_as_far_as_the_reserve_allows() -> None:
    free = [agent("a1", 30.0), agent("a2", 10.0), agent("a3", 20.0)]
    assert agents_to_offer(free, 3, set()) == ["a2", "a3", "a1"]
    assert agents_to_offer(free, 2, set()) == ["a2", "a3"]  # one kept for inbound
    assert agents_to_offer(free, 2, {AgentId("a2")}) == ["a3"]  # a2 holds one already
    assert agents_to_offer(free, 1, {AgentId("a2")}) == []
    assert agents_to_offer(free, 0, set()) == []


@given(
    idles=st.lists(st.floats(0, 100), min_size=0, max_size=8),
    allowed=st.integers(-2, 10),
    holding=st.sets(st.integers(0, 7)),
)
def test_previews_never_exceed_the_agents_allowed_nor_go_twice_to_one_agent(
    idles: list[float], allowed: int, holding: set[int]
) -> None:
    free = [agent(f"a{i}", idle, i) for i, idle in enumerate(idles)]
    previewing = {AgentId(f"a{i}") for i in holding if i < len(idles)}
    chosen = agents_to_offer(free, allowed, previewing)
    assert len(chosen) == len(set(chosen))
    assert not set(chosen) & previewing
    assert len(chosen) + len(previewing) <= max(allowed, len(previewing))


def test_a_preview_is_due_at_its_timeout_and_never_without_one() -> None:
    timed = offer(SPRING, RecordId("r1"), "+4420", AgentId("a1"), PreviewSettings(30.0), 100.0)
    assert timed.deadline == 130.0 and not timed.due(129.9) and timed.due(130.0)
    open_ = offer(SPRING, RecordId("r1"), "+4420", AgentId("a1"), PreviewSettings(), 100.0)
    assert open_.deadline is None and not open_.due(1e12)


def test_skipped_records_rest_for_a_while() -> None:
    skipped = {RecordId("r1"): 100.0, RecordId("r2"): 500.0}
    assert resting(skipped, 101.0) == {"r1", "r2"}
    assert resting(skipped, 100.0 + SKIP_REST_S) == {"r2"}


def test_a_skip_reason_is_bounded() -> None:
    assert Skip("not today").reason == "not today"
    with pytest.raises(InvalidInput) as err:
        Skip("x" * 201)
    assert err.value.details["field"] == "reason"


def test_the_pacing_log_says_what_was_offered_to_whom() -> None:
    state = PacingState(50.0, 2)
    offered = [
        offer(SPRING, RecordId("r1"), "+1", AgentId("a1"), PreviewSettings(), 50.0),
        offer(SPRING, RecordId("r2"), "+2", AgentId("a2"), PreviewSettings(), 50.0),
    ]
    decision = preview_decision(state, offered, 0)
    assert decision.explanation == (
        "preview: offered record r1 to agent a1; offered record r2 to agent a2"
    )
    assert decision.dial == 0 and decision.reason is PacingReason.PREVIEW
    assert preview_decision(PacingState(50.0, 0), [], 0).explanation == "preview: no agent ready"
    held = preview_decision(state, [], 2).explanation
    assert held == "preview: 2 preview(s) out, every ready agent has one"
    assert preview_decision(state, [], 0, "no record can be dialled now").explanation == (
        "preview: no record can be dialled now"
    )
