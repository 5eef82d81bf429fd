"""Answering-machine detection: who answered, a person or a machine, from the rhythm of what
they said in the first seconds after the answer.

A person says a short "Hello?" and waits for an answer; a machine speaks a long greeting
without stopping ("Hi, you've reached Sam, I can't take your call right now, please leave...").
The input is one flag per 20 ms frame after the answer: was the called party speaking (the
adapter compares each frame's energy with a threshold, `voiced`). Time is the frame count:
no clock. The rules, after Asterisk's app_amd (its defaults in brackets):

- words: runs of speech at least `min_word_s` long (shorter bursts are clicks and breaths),
  split by silences of at least `between_words_s` [100 ms, 50 ms];
- the greeting runs from the first word to the end of the last; a greeting longer than
  `max_greeting_s` without a pause is a machine, and so is one of more than `max_words` words
  [1.5 s, 3 words; we allow 2.5 s and 4, since a false "machine" hangs up on a person];
- a greeting followed by `after_greeting_silence_s` of silence is a person [800 ms];
- nobody speaking for `initial_silence_s` is unknown, not a machine (Asterisk says machine):
  a silent person waiting for the caller to speak is common, and the dialer treats unknown as
  a person; so does running out of `total_analysis_s` [5 s].

`AmdDetector` decides as the frames come (`feed` one, a verdict once it is sure); `classify`
runs it over a whole sequence. A verdict depends only on the frames before it, and is final.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from callbridge.domain.errors import InvalidInput

FRAME_S = 0.02


class Answerer(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class AmdSettings:
    """The detector's thresholds, in seconds (see the module's docstring)."""

    initial_silence_s: float = 2.5
    max_greeting_s: float = 2.5
    after_greeting_silence_s: float = 0.8
    total_analysis_s: float = 5.0
    min_word_s: float = 0.1
    between_words_s: float = 0.05
    max_words: int = 4

    def __post_init__(self) -> None:
        for name in (
            "initial_silence_s",
            "max_greeting_s",
            "after_greeting_silence_s",
            "total_analysis_s",
            "min_word_s",
            "between_words_s",
        ):
            if getattr(self, name) <= 0:
                raise InvalidInput(f"amd {name} must be positive", field=f"amd.{name}")
        if self.max_words < 1:
            raise InvalidInput("amd max_words must be at least 1", field="amd.max_words")
        if self.total_analysis_s < max(self.initial_silence_s, self.after_greeting_silence_s):
            raise InvalidInput(
                "amd total_analysis_s must cover the initial and after-greeting silences",
                field="amd.total_analysis_s",
            )


@dataclass(frozen=True, slots=True)
class AmdResult:
    """Who answered and why. Times are seconds after the answer: `decided_s` when the verdict
    came, `speech_s` when the called party began to speak (None: they never did),
    `greeting_end_s` when their greeting ended (a person's: their "completed greeting")."""

    answerer: Answerer
    reason: str
    decided_s: float
    speech_s: float | None = None
    greeting_end_s: float | None = None
    words: int = 0


def _frames(seconds: float) -> int:
    return max(1, round(seconds / FRAME_S))


class AmdDetector:
    """Feed it one voice-activity flag per 20 ms frame; it answers once it is sure."""

    def __init__(self, settings: AmdSettings | None = None) -> None:
        s = self.settings = settings or AmdSettings()
        self._initial = _frames(s.initial_silence_s)
        self._greeting = _frames(s.max_greeting_s)
        self._after = _frames(s.after_greeting_silence_s)
        self._total = _frames(s.total_analysis_s)
        self._word = _frames(s.min_word_s)
        self._gap = _frames(s.between_words_s)
        self.frames = 0
        self.result: AmdResult | None = None
        self._voiced_run = 0  # frames of speech in a row, up to now
        self._silent_run = 0  # frames of silence in a row, up to now
        self._words = 0
        self._in_word = False
        self._first: int | None = None  # frame the first word began
        self._last_end: int | None = None  # frame after the last word's last voiced frame

    def feed(self, voiced: bool) -> AmdResult | None:
        """One more frame; the verdict once there is one (then the same verdict for ever)."""
        if self.result is not None:
            return self.result
        self.frames += 1
        if voiced:
            self._voiced_run += 1
            self._silent_run = 0
            if not self._in_word and self._voiced_run >= self._word:
                self._in_word = True
                self._words += 1
                if self._first is None:
                    self._first = self.frames - self._voiced_run
            if self._in_word:
                self._last_end = self.frames
        else:
            self._silent_run += 1
            self._voiced_run = 0
            if self._in_word and self._silent_run >= self._gap:
                self._in_word = False
        self.result = self._verdict()
        return self.result

    def ended(self) -> AmdResult:
        """The verdict if the audio ends now: the one given, else unknown."""
        return self.result or self._decide(Answerer.UNKNOWN, "the audio ended before a verdict")

    def _seconds(self, frames: int | None) -> float | None:
        return None if frames is None else frames * FRAME_S

    def _decide(self, answerer: Answerer, reason: str) -> AmdResult:
        greeting_end = self._last_end if answerer is Answerer.HUMAN else None
        return AmdResult(
            answerer,
            reason,
            self.frames * FRAME_S,
            self._seconds(self._first),
            self._seconds(greeting_end),
            self._words,
        )

    def _verdict(self) -> AmdResult | None:
        s = self.settings
        first = self._first
        if first is None:
            if self.frames >= self._initial:
                return self._decide(
                    Answerer.UNKNOWN, f"nobody spoke in the first {s.initial_silence_s:g} s"
                )
            return None
        assert self._last_end is not None
        if self._words > s.max_words:
            return self._decide(
                Answerer.MACHINE, f"{self._words} words without a pause (a person says fewer)"
            )
        if self._last_end - first > self._greeting:
            return self._decide(
                Answerer.MACHINE,
                f"a greeting longer than {s.max_greeting_s:g} s without a pause",
            )
        if not self._in_word and self._silent_run >= self._after:
            return self._decide(
                Answerer.HUMAN,
                f"a short greeting ({(self._last_end - first) * FRAME_S:.2f} s), then "
                f"{s.after_greeting_silence_s:g} s of silence",
            )
        if self.frames >= self._total:
            return self._decide(
                Answerer.UNKNOWN, f"no verdict in {s.total_analysis_s:g} s of listening"
            )
        return None


def classify(frames: Iterable[bool], settings: AmdSettings | None = None) -> AmdResult:
    """The verdict on a sequence of voice-activity flags, one per 20 ms after the answer (the
    audio ending before a verdict is unknown)."""
    detector = AmdDetector(settings)
    for voiced in frames:
        result = detector.feed(voiced)
        if result is not None:
            return result
    return detector.ended()


class GreetingEnd:
    """After a machine verdict: the end of its greeting (and of the beep after it), for a
    message left on it to be recorded whole. Done after `silence_s` of silence following
    speech, or after `max_s` whatever is said."""

    def __init__(self, silence_s: float = 1.0, max_s: float = 30.0) -> None:
        self._silence, self._max = _frames(silence_s), _frames(max_s)
        self._frames = self._silent_run = 0

    def feed(self, voiced: bool) -> bool:
        self._frames += 1
        self._silent_run = 0 if voiced else self._silent_run + 1
        return self._silent_run >= self._silence or self._frames >= self._max


def grace_start_s(result: AmdResult, from_greeting: bool) -> float:
    """Seconds after the answer from which an agent's grace counts, once the detector has
    spoken: the completed greeting where the rule counts from it (US) and the person greeted
    (else, conservatively, when they began to speak, or the answer); the answer otherwise."""
    if not from_greeting:
        return 0.0
    if result.greeting_end_s is not None:
        return result.greeting_end_s
    return result.speech_s or 0.0


def voiced(energies: Iterable[float], threshold: float) -> list[bool]:
    """Voice activity from each frame's energy (mean absolute sample, say): at or above
    `threshold` is speech."""
    return [energy >= threshold for energy in energies]
