"""A simulated caller that answers a walk from a script, for `flow run` and the tests.

The script is what the caller keys, in order, as a phone would send it: a menu takes one key, a
collect takes keys up to its length or its terminator. An empty item is a pause (a gather that
has nothing yet times out; one that has digits ends with them). When the keys run out the caller
stays silent, and after `patience` silent gathers hangs up.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime

from callbridge.domain.ivr.actions import (
    Action,
    CallerHungUp,
    Digits,
    Found,
    Gather,
    Lookup,
    NoInput,
    NotFound,
    Played,
    Prompt,
    Result,
    Terminal,
)
from callbridge.domain.ivr.interpreter import Walk

PAUSE = ""


class ScriptedCaller:
    """Answers prompts and gathers from `keys`; a CRM dip finds `record` (None: not found)."""

    def __init__(
        self, keys: Iterable[str] = (), record: Found | None = None, patience: int = 10
    ) -> None:
        self._keys: deque[str] = deque()
        for item in keys:
            # each item's keys in order; an empty item is a pause
            self._keys.extend(item if item else [PAUSE])
        self.record = record
        self.patience = patience
        self.silent = 0

    def answer(self, action: Prompt | Lookup) -> Result:
        """The caller's (or the CRM's) result for `action`."""
        if isinstance(action, Lookup):
            return self.record or NotFound()
        if action.gather is None:
            return Played()
        return self._gather(action.gather)

    def _gather(self, gather: Gather) -> Result:
        got = ""
        while self._keys:
            key = self._keys.popleft()
            if key == PAUSE:
                break
            if key == gather.terminator:
                return Digits(got)
            got += key
            if len(got) >= gather.max_digits:
                return Digits(got)
        if got:
            return Digits(got)
        if not self._keys:
            self.silent += 1
            if self.silent > self.patience:
                return CallerHungUp()
        return NoInput()


def walk_through(walk: Walk, caller: ScriptedCaller, at: datetime) -> Terminal:
    """Run `walk` to its end with `caller` answering, all at time `at`."""
    action: Action = walk.start(at)
    while not walk.finished:
        assert isinstance(action, Prompt | Lookup)  # anything else finishes the walk
        action = walk.resume(caller.answer(action), at)
    assert walk.outcome is not None  # a finished walk has one
    return walk.outcome


def keys_of(text: str) -> list[str]:
    """Script items from `--digits 1,2,#` (an empty item, as in `1,,2`, is a pause)."""
    return [item.strip() for item in text.split(",")] if text else []
