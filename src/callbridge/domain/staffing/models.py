"""The staffing vocabulary: which queue model, the workload it carries, how it performs.

Units: rates are per second and times are in seconds inside the domain; a `Workload` takes calls
per hour because that is how planners count.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum

from callbridge.domain.errors import InvalidInput

SECONDS_PER_HOUR = 3600.0


class Model(StrEnum):
    ERLANG_C = "erlang_c"  # M/M/N: every caller waits as long as it takes
    ERLANG_A = "erlang_a"  # M/M/N+M (Palm): callers abandon after an exponential patience


@dataclass(frozen=True, slots=True)
class Workload:
    """Calls offered to one queue: arrivals per hour, mean handle time, and (Erlang A) patience.

    `patience_s` is the mean of an exponential patience; None means nobody abandons (Erlang C).
    """

    calls_per_hour: float
    aht_s: float
    patience_s: float | None = None

    def __post_init__(self) -> None:
        require_at_least(self.calls_per_hour, 0.0, "calls_per_hour", "calls per hour")
        require_positive(self.aht_s, "aht", "the average handle time")
        if self.patience_s is not None:
            require_positive(self.patience_s, "patience", "the mean patience")

    @property
    def model(self) -> Model:
        return Model.ERLANG_C if self.patience_s is None else Model.ERLANG_A

    @property
    def arrival_rate(self) -> float:
        """Calls per second."""
        return self.calls_per_hour / SECONDS_PER_HOUR

    @property
    def load(self) -> float:
        """Offered load in Erlang: arrival rate times handle time."""
        return self.arrival_rate * self.aht_s


@dataclass(frozen=True, slots=True)
class Performance:
    """How a queue with `agents` agents performs in steady state; times in seconds.

    - `p_wait`: probability that a caller finds every agent busy.
    - `p_abandon`: probability that a caller hangs up before an agent answers (0 for Erlang C).
    - `asa_s`: average speed of answer over answered calls, those answered at once included.
    - `mean_wait_s`: mean time in queue over all callers, abandoners up to when they hang up.
    - `service_level`: answered within `sl_seconds`, over all offered calls.
    - `service_level_virtual`: callers whose wait would be at most `sl_seconds` if they were
      patient enough (equal to `service_level` for Erlang C).
    - `occupancy`: fraction of agent time spent handling calls.
    - `p_abandon_within_t`: abandoned within `sl_seconds`, over all offered calls.
    """

    model: Model
    agents: int
    p_wait: float
    p_abandon: float
    asa_s: float
    mean_wait_s: float
    service_level: float
    service_level_virtual: float
    occupancy: float
    p_abandon_within_t: float
    sl_seconds: float

    def as_dict(self) -> dict[str, float | int | str]:
        """The JSON shape: every field, the model by name."""
        data: dict[str, float | int | str] = asdict(self)
        data["model"] = self.model.value
        return data


def probability(value: float) -> float:
    """`value` as a plain float in [0, 1]: sums of many terms may stray by a rounding error."""
    return min(1.0, max(0.0, float(value)))


def require_finite(value: float, field: str, what: str) -> None:
    if not math.isfinite(value):
        raise InvalidInput(f"{what} must be a finite number, not {value}", field=field)


def require_positive(value: float, field: str, what: str) -> None:
    require_finite(value, field, what)
    if value <= 0:
        raise InvalidInput(f"{what} must be greater than 0, not {value:g}", field=field)


def require_at_least(value: float, low: float, field: str, what: str) -> None:
    require_finite(value, field, what)
    if value < low:
        raise InvalidInput(f"{what} must be at least {low:g}, not {value:g}", field=field)


def require_fraction(value: float, field: str, what: str, *, upper_inclusive: bool) -> None:
    """A fraction in (0, 1), or (0, 1] when `upper_inclusive`."""
    require_finite(value, field, what)
    above = value > 1 if upper_inclusive else value >= 1
    if value <= 0 or above:
        bound = "at most 1" if upper_inclusive else "below 1"
        raise InvalidInput(
            f"{what} must be a fraction above 0 and {bound} (0.8 is 80 %), not {value:g}",
            field=field,
        )


def require_agents(agents: int) -> None:
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 1:
        raise InvalidInput(
            f"agents must be a whole number of at least 1, not {agents}", field="agents"
        )
