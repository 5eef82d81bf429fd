"""A caller's walk through the flows: a pure state machine.

`start` and each `resume` run nodes until one needs the outside world (a prompt to play, digits
to gather, a CRM dip) and hand that out as an `Action`; the driver answers with a `Result`. A
terminal action (route, voicemail, transfer out, hang up) ends the walk. The telephony driver, the
`flow run` command and the tests all drive the same object.
"""

from __future__ import annotations

import os.path
from dataclasses import dataclass
from datetime import datetime

from callbridge.domain.errors import InvalidInput, InvalidState
from callbridge.domain.ivr.actions import (
    Action,
    CallerHungUp,
    Digits,
    Found,
    Gather,
    HangUp,
    Lookup,
    NoInput,
    NotFound,
    Played,
    Prompt,
    Result,
    Route,
    Say,
    Speech,
    Terminal,
    TransferOut,
    Voicemail,
)
from callbridge.domain.ivr.book import FlowBook
from callbridge.domain.ivr.digits import luhn_ok
from callbridge.domain.ivr.expressions import Expression, ExpressionError, as_number, as_text
from callbridge.domain.ivr.nodes import (
    BranchNode,
    CollectNode,
    Flow,
    HangupNode,
    HoursNode,
    LookupNode,
    MenuNode,
    Node,
    QueueNode,
    SayNode,
    SetNode,
    TransferNode,
    VoicemailNode,
)
from callbridge.domain.ivr.prompts import render

# Nodes run in a row without the caller pressing anything; past this a flow is looping (say
# -> branch -> say ...) and the call ends rather than spin.
MAX_QUIET_NODES = 200
PRESET = ("ani", "dnis")


@dataclass(frozen=True, slots=True)
class Caller:
    ani: str  # the calling number
    dnis: str  # the number called


@dataclass(frozen=True, slots=True)
class Step:
    """One thing that happened at a node, e.g. "menu: pressed 2 -> support"."""

    flow: str
    node: str
    note: str


class Walk:
    """One caller's way through a book of flows, starting at `flow`."""

    def __init__(self, book: FlowBook, flow: str, caller: Caller) -> None:
        if flow not in book:
            raise InvalidInput(f"no flow named '{flow}'", field="flow")
        self._book = book
        self.flow = flow  # the flow the walk is in now (a transfer moves it)
        self.node = book[flow].start  # the node the walk is at now
        self.caller = caller
        self.path: list[Step] = []
        self.variables: dict[str, str] = {"ani": caller.ani, "dnis": caller.dnis}
        self.variables.update(book[flow].variables)
        self.finished = False
        self.outcome: Terminal | None = None
        self.priority: int | None = None
        self.skills: dict[str, int] = {}
        self._pending: Action | None = None
        self._tries = 0
        self._quiet = 0

    @property
    def pending(self) -> Action | None:
        """The action waiting for a result, if any."""
        return self._pending

    def start(self, at: datetime) -> Action:
        """Run from the start node to the first action. `at` is timezone-aware."""
        if self.path or self._pending is not None or self.finished:
            raise InvalidState("the walk has started already")
        _aware(at)
        return self._run(self.node, at)

    def resume(self, result: Result, at: datetime) -> Action:
        """Go on with the driver's result for the pending action, to the next action."""
        pending = self._pending
        if self.finished or pending is None:
            raise InvalidState("the walk is over" if self.finished else "the walk has not started")
        _aware(at)
        if isinstance(result, CallerHungUp):
            self._step("caller hung up")
            return self._end(HangUp("caller", (), self._carried()))
        if not _fits(pending, result):
            raise InvalidState(
                f"{type(result).__name__} does not answer {_describe(pending)}", field="result"
            )
        self._pending = None
        if isinstance(result, Digits | NoInput):
            self._quiet = 0
        node = self._flow.nodes[self.node]
        try:
            return self._answer(node, pending, result, at)
        except ExpressionError as exc:
            return self._fail(exc.message)

    # --- running nodes ------------------------------------------------------------------------

    @property
    def _flow(self) -> Flow:
        return self._book[self.flow]

    def _run(self, name: str, at: datetime) -> Action:
        while True:
            self._quiet += 1
            if self._quiet > MAX_QUIET_NODES:
                self.node = name
                return self._fail(f"{MAX_QUIET_NODES} nodes in a row without the caller (a loop?)")
            self.node = name
            try:
                outcome = self._enter(self._flow.nodes[name], at)
            except ExpressionError as exc:
                return self._fail(exc.message)
            if not isinstance(outcome, str):
                return outcome
            name = outcome

    def _enter(self, node: Node, at: datetime) -> Action | str:
        """The action `node` hands out, or the name of the node to go to next."""
        if isinstance(node, SayNode):
            parts = self._render(node.parts)
            self._step(f"{node.kind}: {_shown(parts)}")
            return self._ask(Prompt(parts, node.barge_in))
        if isinstance(node, MenuNode | CollectNode):
            self._tries = 0
            return self._ask(self._gather_prompt(node, ()))
        if isinstance(node, SetNode):
            return self._set(node)
        if isinstance(node, BranchNode):
            for case in node.cases:
                if case.condition.test(self.variables):
                    self._step(f"branch: {case.condition.source} -> {case.target}")
                    return case.target
            self._step(f"branch: else -> {node.otherwise}")
            return node.otherwise
        if isinstance(node, HoursNode):
            schedule = node.schedule
            if schedule is None:  # the center's business hours, as they are now
                schedule = self._book.hours.get(node.schedule_name or "")
            if schedule is None:  # the book was checked; only a removal since can do this
                self._step(f"hours: no business hours '{node.schedule_name}' -> {node.closed}")
                return node.closed
            opening = schedule.status(at)
            when = f"{opening.local:%a %Y-%m-%d %H:%M} {schedule.timezone}"
            target = node.open if opening.open else node.closed
            state = "open" if opening.open else f"closed ({opening.reason})"
            self._step(f"hours: {state} at {when} -> {target}")
            return target
        if isinstance(node, LookupNode):
            value = as_text(node.value.evaluate(self.variables))
            if not value:
                self._step(f"lookup: no {node.by} to look up -> {node.not_found}")
                return node.not_found
            return self._ask(Lookup(node.by, value))
        if isinstance(node, TransferNode) and node.flow is not None:
            self._step(f"transfer: to flow {node.flow}")
            self.flow = node.flow
            return self._flow.start
        return self._terminal(node)

    def _terminal(self, node: QueueNode | VoicemailNode | TransferNode | HangupNode) -> Action:
        carried = self._carried()
        if isinstance(node, QueueNode):
            priority = self.priority if node.priority is None else _priority(node.priority, self)
            skills = {**self.skills, **node.skills}
            extra = "" if priority is None else f", priority {priority}"
            extra += "".join(f", {s}>={p}" for s, p in skills.items())
            self._step(f"queue: {node.queue}{extra}")
            return self._end(Route(node.queue, priority, skills, carried, node.wait))
        if isinstance(node, VoicemailNode):
            self._step(f"voicemail: {node.queue}")
            prompt = self._render(node.prompt)
            return self._end(Voicemail(node.queue, prompt, node.max_s, carried))
        if isinstance(node, TransferNode):
            assert node.number is not None  # a transfer to a flow does not end the walk
            self._step(f"transfer: to {node.number}")
            return self._end(TransferOut(node.number, carried))
        self._step("hangup")
        return self._end(HangUp("flow", self._render(node.prompt), carried))

    def _set(self, node: SetNode) -> str:
        shown: list[str] = []
        for name, expression in node.values.items():
            self.variables[name] = as_text(expression.evaluate(self.variables))
            shown.append(f"{name}={self.variables[name]}")
        if node.priority is not None:
            self.priority = _priority(node.priority, self)
            shown.append(f"priority={self.priority}")
        for skill, level in node.skills.items():
            self.skills[skill] = level
            shown.append(f"{skill}>={level}")
        self._step(f"set: {', '.join(shown)}")
        return node.next

    # --- answers ------------------------------------------------------------------------------

    def _answer(self, node: Node, pending: Action, result: Result, at: datetime) -> Action:
        if isinstance(node, SayNode):
            return self._run(node.next, at)
        if isinstance(node, MenuNode):
            return self._menu(node, result, at)
        if isinstance(node, CollectNode):
            return self._collect(node, result, at)
        assert isinstance(node, LookupNode) and isinstance(pending, Lookup)  # the last that waits
        return self._lookup(node, pending, result, at)

    def _menu(self, node: MenuNode, result: Result, at: datetime) -> Action:
        key = result.text if isinstance(result, Digits) else ""
        if key in node.options:
            self._step(f"menu: pressed {key} -> {node.options[key]}")
            return self._run(node.options[key], at)
        what = f"pressed {key} (not an option)" if key else "no input"
        return self._retry(node, what, bool(key), at)

    def _collect(self, node: CollectNode, result: Result, at: datetime) -> Action:
        text = result.text if isinstance(result, Digits) else ""
        if not text:
            return self._retry(node, "no input", False, at)
        shown = "*" * len(text) if node.secret else text
        problem = self._invalid(node, text)
        if problem is not None:
            return self._retry(node, f"entered {shown} ({problem})", True, at)
        self.variables[node.variable] = text
        self._step(f"collect: {node.variable}={shown} -> {node.next}")
        return self._run(node.next, at)

    def _invalid(self, node: CollectNode, text: str) -> str | None:
        if not node.min_digits <= len(text) <= node.max_digits:
            if node.min_digits == node.max_digits:
                return f"needs {node.max_digits} digits"
            return f"needs {node.min_digits} to {node.max_digits} digits"
        if node.validate == "luhn" and not luhn_ok(text):
            return "fails the Luhn check"
        if node.valid_if is not None:
            trial = {**self.variables, node.variable: text}
            if not node.valid_if.test(trial):
                return f"not {node.valid_if.source}"
        return None

    def _retry(
        self, node: MenuNode | CollectNode, what: str, invalid: bool, at: datetime
    ) -> Action:
        kind = "menu" if isinstance(node, MenuNode) else "collect"
        self._tries += 1
        if self._tries > node.retries:
            target = node.failure
            self._step(f"{kind}: {what}; no tries left -> {target or 'hang up'}")
            if target is None:
                return self._end(HangUp("flow", (), self._carried()))
            return self._run(target, at)
        self._step(f"{kind}: {what}; try {self._tries + 1} of {node.retries + 1}")
        return self._ask(self._gather_prompt(node, node.invalid if invalid else node.no_input))

    def _lookup(self, node: LookupNode, asked: Lookup, result: Result, at: datetime) -> Action:
        prefix = f"{node.into}."
        # a second dip must not leave the first record's fields behind
        for name in [n for n in self.variables if n.startswith(prefix)]:
            del self.variables[name]
        what = f"{node.by} {asked.value}"
        if isinstance(result, Found):
            self.variables[f"{prefix}name"] = result.name
            self.variables[f"{prefix}type"] = result.record_type
            for key, value in result.fields.items():
                self.variables[f"{prefix}{key}"] = value
            shown = f"{result.record_type} '{result.name}'"
            self._step(f"lookup: {what} -> found {shown} -> {node.found}")
            return self._run(node.found, at)
        self._step(f"lookup: {what} -> not found -> {node.not_found}")
        return self._run(node.not_found, at)

    # --- helpers ------------------------------------------------------------------------------

    def _gather_prompt(self, node: MenuNode | CollectNode, before: tuple[Speech, ...]) -> Prompt:
        if isinstance(node, MenuNode):
            gather = Gather(1, 1, None, node.timeout_s)
        else:
            gather = Gather(
                node.max_digits,
                node.min_digits,
                node.terminator,
                node.timeout_s,
                node.inter_digit_s,
            )
        return Prompt(self._render(before + node.prompt), node.barge_in, gather)

    def _ask(self, action: Prompt | Lookup) -> Action:
        self._pending = action
        return action

    def _render(self, parts: tuple[Speech, ...]) -> tuple[Speech, ...]:
        return render(parts, self.variables)

    def _step(self, note: str) -> None:
        self.path.append(Step(self.flow, self.node, note))

    def _carried(self) -> dict[str, str]:
        return {k: v for k, v in self.variables.items() if k not in PRESET}

    def _fail(self, why: str) -> Action:
        node = self._flow.nodes[self.node]
        self._step(f"error: {why} ({self._flow.origin}:{node.line})")
        return self._end(HangUp("error", (), self._carried()))

    def _end(self, action: Terminal) -> Action:
        self._pending = None
        self.finished = True
        self.outcome = action
        return action


def _aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("the walk needs a timezone-aware time", field="at")


def _fits(pending: Action, result: Result) -> bool:
    if isinstance(pending, Prompt):
        if pending.gather is None:
            return isinstance(result, Played)
        return isinstance(result, Digits | NoInput)
    return isinstance(pending, Lookup) and isinstance(result, Found | NotFound)


def _describe(action: Action) -> str:
    if isinstance(action, Prompt):
        return "a prompt that gathers digits" if action.gather else "a prompt"
    return "a lookup" if isinstance(action, Lookup) else type(action).__name__


def _priority(expression: Expression, walk: Walk) -> int:
    value = expression.evaluate(walk.variables)
    number = as_number(value)
    if number is None or number != int(number):
        raise ExpressionError(f"priority {as_text(value)!r} is not a whole number")
    return int(number)


def _shown(parts: tuple[Speech, ...], width: int = 60) -> str:
    text = " ".join(
        p.text if isinstance(p, Say) else f"[{os.path.basename(p.path)}]" for p in parts
    )
    return text if len(text) <= width else text[: width - 3] + "..."
