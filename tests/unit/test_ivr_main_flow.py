"""The demo's flows (examples/flows) walked every way a caller can: each node is reached, and a
caller who hangs up at any node that waits on them gets HangUp(reason="caller")."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callbridge.domain.ivr import (
    Caller,
    CallerHungUp,
    Digits,
    FlowBook,
    Found,
    HangUp,
    Lookup,
    NoInput,
    NotFound,
    Played,
    Prompt,
    Result,
    Route,
    ScriptedCaller,
    Voicemail,
    Walk,
    keys_of,
    parse_flow,
    walk_through,
)

FLOWS = Path(__file__).resolve().parents[2] / "examples" / "flows"
OPEN = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in New York
CLOSED = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # Thanksgiving
LATE = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)  # 00:00 in New York: on-call is closed too
CUSTOMER = Found("Acme Corp", "Account", {"AccountNumber": "ACCT-10001", "Industry": "Retail"})
CALLER = Caller("+15550001111", "1000")


def the_book() -> FlowBook:
    return FlowBook.of(
        parse_flow(path.read_text(encoding="utf-8"), str(path)) for path in FLOWS.glob("*.yaml")
    )


BOOK = the_book()
MAIN = BOOK["main"]


def answers(action: object) -> list[Result]:
    """What a caller (or the CRM) could answer to `action`."""
    if isinstance(action, Lookup):
        return [CUSTOMER, NotFound()]
    assert isinstance(action, Prompt)
    if action.gather is None:
        return [Played()]
    if action.gather.max_digits == 1:
        return [*(Digits(k) for k in "01239"), NoInput()]
    return [Digits("10001"), Digits("12"), NoInput()]


def replay(results: tuple[Result, ...], at: datetime) -> Walk:
    walk = Walk(BOOK, "main", CALLER)
    walk.start(at)
    for result in results:
        walk.resume(result, at)
    return walk


def explore() -> tuple[dict[tuple[str, str], tuple[datetime, tuple[Result, ...]]], set[str]]:
    """For each node a caller waits at, a time and the answers that get there; and every node
    of main.yaml some walk passes through."""
    waits: dict[tuple[str, str], tuple[datetime, tuple[Result, ...]]] = {}
    passed: set[str] = set()
    seen: set[tuple[datetime, str, str, str]] = set()
    for at in (OPEN, CLOSED, LATE):
        todo: deque[tuple[Result, ...]] = deque([()])
        while todo:
            results = todo.popleft()
            walk = replay(results, at)
            passed.update(s.node for s in walk.path if s.flow == "main")
            if walk.finished:
                continue
            key = (at, walk.flow, walk.node, repr(walk.pending))
            if key in seen:
                continue
            seen.add(key)
            waits.setdefault((walk.flow, walk.node), (at, results))
            todo.extend((*results, answer) for answer in answers(walk.pending))
    return waits, passed


WAITS, PASSED = explore()


def test_every_node_of_main_is_reached() -> None:
    assert set(MAIN.nodes) == PASSED


@pytest.mark.parametrize("node", sorted(WAITS), ids=lambda n: f"{n[0]}:{n[1]}")
def test_hanging_up_at_every_waiting_node(node: tuple[str, str]) -> None:
    at, results = WAITS[node]
    walk = replay(results, at)
    assert (walk.flow, walk.node) == node
    outcome = walk.resume(CallerHungUp(), at)
    assert isinstance(outcome, HangUp) and outcome.reason == "caller"
    assert walk.finished and walk.path[-1].note == "caller hung up"
    assert walk.path[-1].node == node[1]


def test_the_nodes_that_wait_are_the_ones_that_talk_or_look_up() -> None:
    waiting = {n for flow, n in WAITS if flow == "main"}
    kinds = {"SayNode", "MenuNode", "CollectNode", "LookupNode"}
    assert waiting == {n for n, node in MAIN.nodes.items() if type(node).__name__ in kinds}


def test_a_recognised_billing_customer_waits_with_priority() -> None:
    walk = Walk(BOOK, "main", CALLER)
    outcome = walk_through(walk, ScriptedCaller(keys_of("3,10001,#"), CUSTOMER), OPEN)
    assert isinstance(outcome, Route)
    assert (outcome.queue, outcome.priority) == ("billing", 5)
    assert outcome.variables["customer"] == "Acme Corp"


def test_closed_on_a_holiday_goes_to_the_after_hours_flow() -> None:
    walk = Walk(BOOK, "main", CALLER)
    outcome = walk_through(walk, ScriptedCaller(keys_of("2")), CLOSED)
    assert isinstance(outcome, Voicemail)
    assert (walk.path[-1].flow, walk.path[-1].node) == ("after-hours", "message")
    assert "holiday Thanksgiving Day" in walk.path[2].note


def test_the_phone_demo_queues_with_announcements_and_a_callback_offer() -> None:
    walk = Walk(BOOK, BOOK.flow_for("demo") or "", Caller("+15550002222", "demo"))
    outcome = walk_through(walk, ScriptedCaller(keys_of("1")), OPEN)
    assert isinstance(outcome, Route) and outcome.queue == "demo-calls"
    assert outcome.wait.announce_every_s == 30.0 and outcome.wait.callback_after_s == 60.0
