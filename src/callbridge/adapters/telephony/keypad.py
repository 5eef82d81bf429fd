"""The digits a caller presses (RFC 4733 events from their RTP), for a flow or the wait in
queue to read at its own pace: pressed early, a digit waits to be read (type-ahead)."""

from __future__ import annotations

import math
from collections import deque

import anyio

from callbridge.adapters.telephony.media.dtmf import DtmfDigit

KEEP = 64  # a caller who leans on the keypad loses the oldest digits, not the call


class Keypad:
    def __init__(self) -> None:
        self._digits: deque[str] = deque(maxlen=KEEP)
        self._pressed = anyio.Event()

    def press(self, digit: DtmfDigit) -> None:
        """The media session's DTMF handler."""
        self._digits.append(digit.digit)
        pressed, self._pressed = self._pressed, anyio.Event()
        pressed.set()

    async def wait_pending(self) -> None:
        """Return once a digit waits to be read (at once if one does)."""
        while not self._digits:
            await self._pressed.wait()

    async def next(self, timeout_s: float = math.inf) -> str | None:
        """The next digit, or None when none comes within `timeout_s`."""
        with anyio.move_on_after(timeout_s):
            await self.wait_pending()
        return self._digits.popleft() if self._digits else None

    def pending(self) -> bool:
        return bool(self._digits)

    def clear(self) -> None:
        """Forget digits pressed so far (a new question wants a new answer)."""
        self._digits.clear()
