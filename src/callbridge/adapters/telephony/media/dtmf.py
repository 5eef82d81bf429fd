"""RFC 4733 telephone events: the payload, a detector that reports each digit once, a sender.

Receiving: a digit is sent as many packets that share one RTP timestamp (the event's start),
with a growing duration, and its end packet is repeated (three times is usual). The detector
reports a digit once per (SSRC, timestamp). One exception: a packet with the marker bit (the
start of an event) for the timestamp just reported, arriving after that event's end packets and
at least `replay_gap_s` later, is a new press. Real senders never reuse a timestamp, but sipp
replays the same capture for each press of the same digit.

Sending: `DtmfSender` is advanced once per 20 ms tick by the session and says what to send in
that tick: an event packet (marker bit on the first, duration growing by one frame each time),
then the end packet three times, then a gap of ordinary audio before the next digit.
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from dataclasses import dataclass

from callbridge.domain.errors import InvalidInput

EVENT_CODES = "0123456789*#ABCD"
DEFAULT_VOLUME = 10  # -10 dBm0
END_REPEATS = 3


def event_for_digit(digit: str) -> int:
    """The RFC 4733 event code of a DTMF digit (0-9, *, #, A-D)."""
    code = EVENT_CODES.find(digit.upper())
    if len(digit) != 1 or code < 0:
        raise InvalidInput("not a DTMF digit", digit=digit)
    return code


def digit_for_event(event: int) -> str | None:
    """The digit of an event code, or None for events that are not DTMF digits (flash, ...)."""
    return EVENT_CODES[event] if 0 <= event < len(EVENT_CODES) else None


@dataclass(frozen=True, slots=True)
class EventPayload:
    """The 4-byte payload of an RFC 4733 event packet."""

    event: int
    end: bool
    volume: int
    duration: int  # timestamp units since the event's start

    def to_bytes(self) -> bytes:
        flags = (0x80 if self.end else 0) | (self.volume & 0x3F)
        return struct.pack("!BBH", self.event, flags, min(self.duration, 0xFFFF))

    @classmethod
    def parse(cls, payload: bytes) -> EventPayload | None:
        if len(payload) < 4:
            return None
        event, flags, duration = struct.unpack_from("!BBH", payload)
        return cls(event, bool(flags & 0x80), flags & 0x3F, duration)


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """A digit the remote party pressed, reported once."""

    digit: str
    ssrc: int
    timestamp: int  # the RTP timestamp of the event's start


class DtmfDetector:
    """Turns a stream of event packets into digits, each reported once."""

    def __init__(self, replay_gap_s: float = 0.1, memory: int = 16) -> None:
        self._replay_gap_s = replay_gap_s
        self._recent: deque[tuple[int, int]] = deque(maxlen=memory)
        self._ended_at: float | None = None  # when the latest event's end was first seen

    def feed(
        self, ssrc: int, timestamp: int, marker: bool, payload: bytes, now: float
    ) -> DtmfDigit | None:
        """One event packet in; the digit if this packet starts a new press."""
        parsed = EventPayload.parse(payload)
        if parsed is None:
            return None
        key = (ssrc, timestamp)
        latest = self._recent[-1] if self._recent else None
        if key in self._recent:
            replay = (
                key == latest
                and marker
                and self._ended_at is not None
                and now - self._ended_at >= self._replay_gap_s
            )
            if not replay:
                if parsed.end and key == latest and self._ended_at is None:
                    self._ended_at = now
                return None
        self._recent.append(key)
        self._ended_at = now if parsed.end else None
        digit = digit_for_event(parsed.event)
        return None if digit is None else DtmfDigit(digit, ssrc, timestamp)


@dataclass(frozen=True, slots=True)
class EventFrame:
    """What the sender puts in one tick: an event packet for the event started at `start_tick`."""

    payload: bytes
    marker: bool
    start_tick: int


@dataclass(slots=True)
class _Press:
    event: int
    frames: int  # how many 20 ms frames the tone lasts
    done: asyncio.Future[None] | None  # set when the last packet of the batch is out


class DtmfSender:
    """A queue of digits played out one packet per tick (the session asks on every tick)."""

    def __init__(self, samples_per_frame: int = 160) -> None:
        self._samples = samples_per_frame
        self._queue: deque[_Press] = deque()
        self._current: _Press | None = None
        self._start_tick = 0
        self._step = 0  # frames of the current press sent so far (tone, then end repeats)
        self._gap_left = 0
        self._gap_frames = 0

    def enqueue(
        self,
        digits: str,
        duration_ms: int,
        gap_ms: int,
        done: asyncio.Future[None] | None,
    ) -> None:
        """Queue `digits`; `done` resolves after the last end packet of the last one."""
        if duration_ms < 40 or gap_ms < 20:
            raise InvalidInput("a digit lasts at least 40 ms with 20 ms between digits")
        events = [event_for_digit(d) for d in digits]
        if not events:
            raise InvalidInput("no digits to send")
        frames = max(1, round(duration_ms / 20))
        self._gap_frames = max(1, round(gap_ms / 20))
        for i, event in enumerate(events):
            last = i == len(events) - 1
            self._queue.append(_Press(event, frames, done if last else None))

    def active(self) -> bool:
        """Whether a digit or the gap after one is still being played out."""
        return self._current is not None or bool(self._queue) or self._gap_left > 0

    def next_frame(self, tick: int) -> EventFrame | None:
        """The event packet for this tick, or None when ordinary audio goes out instead."""
        if self._current is None:
            if self._gap_left > 0:
                self._gap_left -= 1
                return None
            if not self._queue:
                return None
            self._current = self._queue.popleft()
            self._start_tick = tick
            self._step = 0
        press = self._current
        self._step += 1
        ended = self._step > press.frames
        duration = min(self._step, press.frames) * self._samples
        payload = EventPayload(press.event, ended, DEFAULT_VOLUME, duration).to_bytes()
        frame = EventFrame(payload, marker=self._step == 1, start_tick=self._start_tick)
        if self._step >= press.frames + END_REPEATS:
            self._current = None
            self._gap_left = self._gap_frames
            if press.done is not None and not press.done.done():
                press.done.set_result(None)
        return frame

    def cancel(self) -> None:
        """Drop queued digits (the session is closing); waiting callers are cancelled."""
        presses = list(self._queue)
        if self._current is not None:
            presses.append(self._current)
        for press in presses:
            if press.done is not None and not press.done.done():
                press.done.cancel()
        self._queue.clear()
        self._current = None
        self._gap_left = 0
