"""Dialing modes and the settings each takes.

- preview: the agent sees the record first and asks for the call; the dialer never paces.
- progressive: one call per ready agent, the agent reserved: nobody is ever abandoned.
- power: a fixed number of lines per ready agent; abandons happen and count.
- predictive: calls placed before agents are free, paced by a model of who answers when and who
  frees up when, under the abandonment budget (pacing/predictive.py).
- agentless: no agent; each answered call hears a message, or a press-1 offer: the key press
  queues the call to `transfer_queue`, where the ACD handles it like any call. The message
  starts at the answer, so nobody waits in silence; a caller who pressed 1 waits in that queue
  (its service level and abandons, not the dialer's).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import QueueId

MAX_LINES_PER_AGENT = 5.0  # far beyond this a power campaign is a nuisance generator
MAX_AGENTLESS_LINES = 500  # calls up at once; a trunk of this size is already a large one
KEYS = "0123456789*#"


class DialMode(StrEnum):
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    POWER = "power"
    PREDICTIVE = "predictive"
    AGENTLESS = "agentless"

    @property
    def needs_agents(self) -> bool:
        return self is not DialMode.AGENTLESS


class AgentlessAction(StrEnum):
    MESSAGE = "message"  # play the message, then hang up
    PRESS_1 = "press_1"  # play the offer; on 1, transfer to the queue


@dataclass(frozen=True, slots=True)
class PreviewSettings:
    """`timeout_s`: after this long previewing, the call is placed anyway (None: never)."""

    timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise InvalidInput("the preview timeout must be positive", field="timeout_s")


@dataclass(frozen=True, slots=True)
class PowerSettings:
    """Lines dialled per ready agent: 1.0 is progressive without the reservation."""

    lines_per_agent: float = 1.5

    def __post_init__(self) -> None:
        if not 1.0 <= self.lines_per_agent <= MAX_LINES_PER_AGENT:
            raise InvalidInput(
                f"lines per agent must be between 1 and {MAX_LINES_PER_AGENT:g}",
                field="lines_per_agent",
            )


@dataclass(frozen=True, slots=True)
class AgentlessSettings:
    """What an answered call hears (`message`, with the {seller}, {phone} and {opt_out}
    placeholders of the abandon message), how many calls may be up at once (`lines`: ringing,
    hearing the message, or transferred and not yet over), and for press_1 the queue a key
    press goes to, the key, and how long after the message a key still counts (`wait_s`)."""

    action: AgentlessAction
    message: str
    lines: int = 10
    transfer_queue: QueueId | None = None  # press_1 only
    transfer_key: str = "1"
    wait_s: float = 5.0

    def __post_init__(self) -> None:
        if not 1 <= self.lines <= MAX_AGENTLESS_LINES:
            raise InvalidInput(
                f"an agentless campaign keeps between 1 and {MAX_AGENTLESS_LINES} lines up "
                f"(got {self.lines})",
                field="lines",
            )
        if len(self.transfer_key) != 1 or self.transfer_key not in KEYS:
            raise InvalidInput("the transfer key is one DTMF key", field="transfer_key")
        if not 0 <= self.wait_s <= 60:
            raise InvalidInput("wait_s is between 0 and 60 seconds", field="wait_s")
        if not self.message.strip():
            raise InvalidInput("an agentless campaign needs a message", field="message")
        if (self.action is AgentlessAction.PRESS_1) != (self.transfer_queue is not None):
            raise InvalidInput(
                "press_1 needs a transfer_queue, and only press_1 takes one",
                field="transfer_queue",
            )
