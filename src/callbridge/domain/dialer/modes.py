"""Dialing modes and the settings each takes.

- preview: the agent sees the record first and asks for the call; the dialer never paces.
- progressive: one call per ready agent, the agent reserved: nobody is ever abandoned.
- power: a fixed number of lines per ready agent; abandons happen and count.
- predictive: calls placed before agents are free, paced by a model of who answers when and who
  frees up when, under the abandonment budget (pacing/predictive.py).
- agentless: no agent; each answered call hears a message, or a press-1 offer that transfers to
  a queue (a transfer nobody takes in time is an abandon like any other).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import QueueId

MAX_LINES_PER_AGENT = 5.0  # far beyond this a power campaign is a nuisance generator


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
    """What an answered call hears, and how many calls may be up at once."""

    action: AgentlessAction
    message: str
    lines: int = 10
    transfer_queue: QueueId | None = None  # press_1 only

    def __post_init__(self) -> None:
        if self.lines < 1:
            raise InvalidInput("an agentless campaign needs at least one line", field="lines")
        if not self.message.strip():
            raise InvalidInput("an agentless campaign needs a message", field="message")
        if (self.action is AgentlessAction.PRESS_1) != (self.transfer_queue is not None):
            raise InvalidInput(
                "press_1 needs a transfer_queue, and only press_1 takes one",
                field="transfer_queue",
            )
