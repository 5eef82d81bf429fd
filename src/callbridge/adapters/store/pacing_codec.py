"""Pacing decisions as JSON and back: what `pacing_decisions.decision` holds and what
GET /campaigns/{id}/pacing answers. `decision_from_json(decision_json(d)) == d`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any, TypeVar

from callbridge.domain.dialer.decisions import (
    BudgetView,
    Forecast,
    PacingDecision,
    PacingInputs,
    PacingReason,
)
from callbridge.domain.dialer.modes import DialMode
from callbridge.domain.errors import StorageError

T = TypeVar("T", PacingInputs, Forecast, BudgetView)


def decision_json(decision: PacingDecision) -> dict[str, Any]:
    """Every field by name; the nested views as objects (null when the mode has none)."""
    data = asdict(decision)
    data["mode"] = decision.mode.value
    data["reason"] = decision.reason.value
    data["risks"] = list(decision.risks)
    return data


def decision_from_json(data: Mapping[str, Any]) -> PacingDecision:
    """The decision `decision_json` made; StorageError naming what is wrong otherwise."""
    try:
        forecast, budget = data.get("forecast"), data.get("budget")
        level = data.get("dial_level")
        return PacingDecision(
            at=float(data["at"]),
            mode=DialMode(data["mode"]),
            dial=int(data["dial"]),
            reason=PacingReason(data["reason"]),
            explanation=str(data["explanation"]),
            inputs=_view(PacingInputs, data["inputs"]),
            forecast=None if forecast is None else _view(Forecast, forecast),
            budget=None if budget is None else _view(BudgetView, budget),
            dial_level=None if level is None else float(level),
            risks=tuple(float(r) for r in data.get("risks", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StorageError(
            f"a stored pacing decision cannot be read: {type(exc).__name__}: {exc}",
            cause=type(exc).__name__,
        ) from None


def dumps(decision: PacingDecision) -> str:
    # repr-exact floats: the JSON reads back to the same values
    return json.dumps(decision_json(decision), sort_keys=True, separators=(",", ":"))


def loads(text: str) -> PacingDecision:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StorageError(f"a stored pacing decision is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise StorageError("a stored pacing decision is not a JSON object")
    return decision_from_json(data)


def _view(cls: type[T], data: Any) -> T:
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__} is not an object")
    names = {f.name for f in fields(cls)}
    if set(data) != names:
        raise ValueError(f"{cls.__name__} fields {sorted(data)} are not {sorted(names)}")
    return cls(**data)
