"""What the interpreter asks the telephony driver to do, and what the driver reports back.

The walk is a pure state machine: it hands out one `Action` at a time and waits for the
`Result` of it. The four terminal actions end the walk; the driver carries them out (enqueue,
record a voicemail, bridge to a number, hang up).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Say:
    """Text to speech."""

    text: str


@dataclass(frozen=True, slots=True)
class PlayFile:
    """A WAV file; the path is absolute (resolved against the flow file's directory)."""

    path: str


Speech = Say | PlayFile


@dataclass(frozen=True, slots=True)
class Gather:
    """Collect digits while or after the prompt plays."""

    max_digits: int
    min_digits: int = 1
    terminator: str | None = None  # ends input, not part of the digits
    timeout_s: float = 5.0  # from the end of the prompt to the first digit
    inter_digit_s: float = 3.0


@dataclass(frozen=True, slots=True)
class Prompt:
    """Play the parts in order; with `gather`, collect digits (barge-in: a digit stops the
    playing)."""

    parts: tuple[Speech, ...]
    barge_in: bool = True
    gather: Gather | None = None


@dataclass(frozen=True, slots=True)
class Lookup:
    """A CRM data dip through the Crm port; `by` is a `LookupKey` value."""

    by: str
    value: str


@dataclass(frozen=True, slots=True)
class WaitPolicy:
    """How the caller's wait in queue goes; the defaults are silent music on hold."""

    announce_every_s: float | None = None
    announce_position: bool = True
    announce_wait: bool = True
    callback_after_s: float | None = None  # offer a callback after this wait
    callback_when_wait_over_s: float | None = None  # or at once when the expected wait exceeds it
    callback_key: str = "1"
    music: str | None = None  # absolute path of a WAV; None: the default music


@dataclass(frozen=True, slots=True)
class Route:
    """Enqueue the caller."""

    queue: str
    priority: int | None
    skills: dict[str, int]  # extra required skills: skill -> minimum proficiency
    variables: dict[str, str]  # every variable the flow set, attached to the interaction
    wait: WaitPolicy = field(default_factory=WaitPolicy)


@dataclass(frozen=True, slots=True)
class Voicemail:
    """Record a message for a queue."""

    queue: str
    prompt: tuple[Speech, ...]
    max_s: float
    variables: dict[str, str]


@dataclass(frozen=True, slots=True)
class TransferOut:
    """Bridge the caller to an outside number."""

    number: str
    variables: dict[str, str]


@dataclass(frozen=True, slots=True)
class HangUp:
    """End the call after playing `prompt` (which may be empty).

    `reason`: "flow" (a hangup node), "caller" (the caller hung up), "error" (a runtime guard).
    """

    reason: str
    prompt: tuple[Speech, ...]
    variables: dict[str, str]


Action = Prompt | Lookup | Route | Voicemail | TransferOut | HangUp
Terminal = Route | Voicemail | TransferOut | HangUp


@dataclass(frozen=True, slots=True)
class Played:
    """A prompt without gather finished."""


@dataclass(frozen=True, slots=True)
class Digits:
    """What the caller entered for a gather, terminator stripped; may be shorter than asked."""

    text: str


@dataclass(frozen=True, slots=True)
class NoInput:
    """A gather timed out with nothing entered."""


@dataclass(frozen=True, slots=True)
class Found:
    """The data dip found a record."""

    name: str
    record_type: str
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class NotFound:
    """The data dip found nothing."""


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The caller hung up while the action was under way."""


Result = Played | Digits | NoInput | Found | NotFound | CallerHungUp
