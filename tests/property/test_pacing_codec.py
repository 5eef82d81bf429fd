"""Pacing decisions survive the store's JSON codec unchanged, whatever the pacer put in them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callbridge.adapters.store.pacing_codec import decision_from_json, decision_json, dumps, loads
from callbridge.domain.dialer.decisions import (
    BudgetView,
    Forecast,
    PacingDecision,
    PacingInputs,
    PacingReason,
)
from callbridge.domain.dialer.modes import DialMode
from callbridge.domain.errors import StorageError

reals = st.floats(allow_nan=False)  # JSON text keeps infinities (Python reads its own)
counts = st.integers(min_value=0, max_value=10_000)

inputs = st.builds(PacingInputs, counts, counts, counts, counts, counts)
forecasts = st.builds(Forecast, reals, reals, reals, reals, reals, st.none() | reals, reals, reals)
budgets = st.builds(
    BudgetView, st.text(max_size=40), reals, reals, reals, reals, reals, reals, reals
)
decisions = st.builds(
    PacingDecision,
    at=reals,
    mode=st.sampled_from(DialMode),
    dial=counts,
    reason=st.sampled_from(PacingReason),
    explanation=st.text(max_size=200),
    inputs=inputs,
    forecast=st.none() | forecasts,
    budget=st.none() | budgets,
    dial_level=st.none() | reals,
    risks=st.lists(reals, max_size=8).map(tuple),
)


@given(decisions)
def test_a_decision_round_trips_through_json_text(decision: PacingDecision) -> None:
    assert loads(dumps(decision)) == decision
    assert decision_from_json(decision_json(decision)) == decision


def test_a_damaged_row_is_a_storage_error_not_a_crash() -> None:
    with pytest.raises(StorageError):
        loads("[]")
    with pytest.raises(StorageError):
        loads('{"at": 1}')
    good = decision_json(
        PacingDecision(
            0.0,
            DialMode.PROGRESSIVE,
            1,
            PacingReason.READY_AGENTS,
            "x",
            PacingInputs(1, 0, 0, 0, 0),
        )
    )
    with pytest.raises(StorageError, match="PacingInputs"):
        decision_from_json({**good, "inputs": {"ready": 1}})
