"""Scenarios: what a simulation runs, as a validated YAML document.

A scenario names its queues in the same format the server's API takes (`QueueCreate`), the
traffic arriving at each queue (a constant rate or a day profile, handle-time and patience
distributions), the agents (skills with proficiency, capacity, shifts), how long to run, the
warm-up, the replications and the seed. Times of day are "HH:MM" (or seconds since midnight);
the simulated clock reads seconds since midnight, so intervals line up with the clock.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from callbridge.adapters.web.schemas import QueueCreate
from callbridge.documents import NotYaml, line_of, read_yaml
from callbridge.domain.channels import Channel
from callbridge.domain.errors import InvalidInput
from callbridge.sim.distributions import (
    Distribution,
    deterministic,
    empirical,
    exponential,
    lognormal,
    never,
    read_samples,
)

DAY_S = 86_400.0
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|min|h)$")


class Misplaced(ValueError):
    """A mistake found by a whole-scenario check, with where in the document it is."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class ScenarioError(InvalidInput):
    """A scenario that cannot run; the message names the file, the line and the field."""

    code = "invalid_scenario"


def clock_seconds(value: float | str) -> float:
    """ "08:30" (or "08:30:15", or a number of seconds) as seconds since midnight."""
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _CLOCK.match(value.strip())
        if match is None:
            raise ValueError(f"{value!r} is not a time of day like 08:30")
        h, m, s = int(match[1]), int(match[2]), int(match[3] or 0)
        if m > 59 or s > 59:
            raise ValueError(f"{value!r} is not a time of day like 08:30")
        seconds = h * 3600.0 + m * 60 + s
    if not 0 <= seconds <= 2 * DAY_S:
        raise ValueError(f"{value!r} is outside the two days a scenario can span")
    return seconds


def duration_seconds(value: float | str) -> float:
    """A duration: a number of seconds, or "90s", "15m", "8h"."""
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(value.strip())
        if match is None:
            raise ValueError(f"{value!r} is not a duration like 900, 15m or 8h")
        unit = {"s": 1, "m": 60, "min": 60, "h": 3600}[match[2]]
        seconds = float(match[1]) * unit
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not a duration")
    return seconds


Clock = Annotated[float | str, Field(description='"HH:MM" or seconds since midnight')]
Duration = Annotated[float | str, Field(description='seconds, or "15m", "8h"')]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DistributionSpec(Strict):
    """exponential (mean_s), lognormal (mean_s, sd_s), deterministic (value_s),
    empirical (file, optional column), or none (for patience: nobody abandons)."""

    distribution: Literal["exponential", "lognormal", "deterministic", "empirical", "none"]
    mean_s: Annotated[float, Field(gt=0)] | None = None
    sd_s: Annotated[float, Field(gt=0)] | None = None
    value_s: Annotated[float, Field(ge=0)] | None = None
    file: str | None = None
    column: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> DistributionSpec:
        needs = {
            "exponential": ("mean_s",),
            "lognormal": ("mean_s", "sd_s"),
            "deterministic": ("value_s",),
            "empirical": ("file",),
            "none": (),
        }[self.distribution]
        for name in needs:
            if getattr(self, name) is None:
                raise ValueError(f"a {self.distribution} distribution needs {name}")
        given = {
            n
            for n in ("mean_s", "sd_s", "value_s", "file", "column")
            if getattr(self, n) is not None
        }
        extra = given - set(needs) - ({"column"} if self.distribution == "empirical" else set())
        if extra:
            raise ValueError(
                f"a {self.distribution} distribution takes no {', '.join(sorted(extra))}"
            )
        return self

    def build(self, base: Path) -> Distribution:
        match self.distribution:
            case "exponential":
                assert self.mean_s is not None
                return exponential(self.mean_s)
            case "lognormal":
                assert self.mean_s is not None and self.sd_s is not None
                return lognormal(self.mean_s, self.sd_s)
            case "deterministic":
                assert self.value_s is not None
                return deterministic(self.value_s)
            case "empirical":
                assert self.file is not None
                path = (base / self.file) if not Path(self.file).is_absolute() else Path(self.file)
                return empirical(read_samples(path, self.column), path.name)
            case _:
                return never()


NO_PATIENCE = DistributionSpec(distribution="none")
INSTANT = DistributionSpec(distribution="deterministic", value_s=0.0)


class ProfileStep(Strict):
    """From `start` on (until the next step), calls arrive at this rate."""

    start: Clock
    calls_per_hour: Annotated[float, Field(ge=0)]

    @field_validator("start")
    @classmethod
    def _clock(cls, value: float | str) -> float:
        return clock_seconds(value)


class Arrivals(Strict):
    """Poisson arrivals to one queue: a constant rate, or a piecewise-constant day profile."""

    queue: str
    channel: Channel = Channel.VOICE
    calls_per_hour: Annotated[float, Field(ge=0)] | None = None
    profile: list[ProfileStep] | None = None
    handle_time: DistributionSpec
    patience: DistributionSpec = NO_PATIENCE

    @model_validator(mode="after")
    def _one_rate(self) -> Arrivals:
        if (self.calls_per_hour is None) == (self.profile is None):
            raise ValueError("give either calls_per_hour or profile")
        if self.profile is not None:
            if not self.profile:
                raise ValueError("profile: needs at least one step")
            starts = [float(step.start) for step in self.profile]
            if starts != sorted(starts) or len(set(starts)) != len(starts):
                raise ValueError("profile: steps must be in time order, one per start time")
        if self.handle_time.distribution == "none":
            raise ValueError("handle_time: every call ends; `none` is only for patience")
        return self

    def rate_steps(self, start: float) -> list[tuple[float, float]]:
        """(from time, calls per second) in time order, the first at or before `start`."""
        if self.calls_per_hour is not None:
            return [(start, self.calls_per_hour / 3600.0)]
        assert self.profile is not None
        steps = [(float(s.start), s.calls_per_hour / 3600.0) for s in self.profile]
        if steps[0][0] > start:
            steps.insert(0, (start, 0.0))
        return steps


class Shift(Strict):
    start: Clock
    end: Clock

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: float | str) -> float:
        return clock_seconds(value)

    @model_validator(mode="after")
    def _order(self) -> Shift:
        if float(self.end) <= float(self.start):
            raise ValueError("a shift ends after it starts")
        return self


class AgentGroup(Strict):
    """`count` identical agents, named <name>-1, <name>-2, ..."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]
    count: Annotated[int, Field(ge=1, le=50_000)]
    skills: dict[str, Annotated[int, Field(ge=1, le=10)]] = {}
    groups: list[str] = []
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=20)]] | None = None
    shifts: list[Shift] = []


class Scenario(Strict):
    name: str
    description: str = ""
    seed: int = 1
    start: Clock = 0.0
    duration: Duration
    warmup: Duration = 0.0
    replications: Annotated[int, Field(ge=1, le=1000)] = 1
    interval_s: Annotated[float, Field(ge=60, le=86_400)] = 900.0
    ring_time: DistributionSpec = INSTANT
    queues: Annotated[list[QueueCreate], Field(min_length=1)]
    arrivals: Annotated[list[Arrivals], Field(min_length=1)]
    agents: Annotated[list[AgentGroup], Field(min_length=1)]

    @field_validator("start")
    @classmethod
    def _clock(cls, value: float | str) -> float:
        return clock_seconds(value)

    @field_validator("duration", "warmup")
    @classmethod
    def _duration(cls, value: float | str) -> float:
        return duration_seconds(value)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if float(self.duration) <= 0:
            raise ValueError("duration must be more than 0")
        if float(self.warmup) >= float(self.duration):
            raise ValueError("warmup must be shorter than duration")
        if DAY_S % self.interval_s:
            raise ValueError("interval_s must divide a day (900, 1800, 3600, ...)")
        ids = [q.id for q in self.queues]
        for i, queue_id in enumerate(ids):
            if queue_id in ids[:i]:
                raise Misplaced(("queues", i, "id"), f"queue id {queue_id!r} is used twice")
        for i, arrivals in enumerate(self.arrivals):
            if arrivals.queue not in ids:
                known = ", ".join(ids)
                raise Misplaced(
                    ("arrivals", i, "queue"), f"no queue {arrivals.queue!r} (queues: {known})"
                )
        names = [g.name for g in self.agents]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise Misplaced(("agents", i, "name"), f"agent group {name!r} is named twice")
        return self

    @property
    def begin_s(self) -> float:
        return float(self.start)

    @property
    def end_s(self) -> float:
        """When arrivals stop (the counted window is [begin + warmup, end))."""
        return float(self.start) + float(self.duration)

    @property
    def count_from_s(self) -> float:
        return float(self.start) + float(self.warmup)


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read: {exc.strerror}", field="scenario") from None
    return parse_scenario(text, str(path))


def parse_scenario(text: str, origin: str = "<scenario>") -> Scenario:
    """Validate a scenario; ScenarioError names the file, the line and the field."""
    try:
        root, data = read_yaml(text, origin)
    except NotYaml as exc:
        raise ScenarioError(str(exc), field="yaml") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{origin}: a scenario is a YAML mapping", field="scenario")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        error = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        loc = [str(p) for p in error["loc"] if not str(p).startswith(("function-", "tagged-"))]
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, Misplaced):
            loc += [str(p) for p in cause.loc]
        where = ".".join(loc) or "scenario"
        message = error["msg"].removeprefix("Value error, ")
        raise ScenarioError(
            f"{origin} line {line_of(root, loc)}, {where}: {message}", field=where
        ) from None
