"""The flows a center runs, by name, with the inbound numbers that start each one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

from callbridge.domain.ivr.errors import FlowError
from callbridge.domain.ivr.hours import Schedule
from callbridge.domain.ivr.nodes import Flow


class FlowBook(Mapping[str, Flow]):
    """An immutable mapping of flow name -> `Flow` whose transfers all reach a flow in it, with
    the center's business hours its hours steps may name.

    `hours` is a live view: the owner of the mapping may change a schedule (or add one), and
    the next hours step judged sees it; the book never changes it."""

    __slots__ = ("_flows", "_hours", "_numbers")

    def __init__(
        self,
        flows: Mapping[str, Flow],
        numbers: Mapping[str, str],
        hours: Mapping[str, Schedule] | None = None,
    ) -> None:
        self._flows = MappingProxyType(dict(flows))
        self._numbers = MappingProxyType(dict(numbers))
        self._hours: Mapping[str, Schedule] = MappingProxyType({}) if hours is None else hours

    @classmethod
    def of(cls, flows: Iterable[Flow], hours: Mapping[str, Schedule] | None = None) -> FlowBook:
        """A book of `flows`; `FlowError` for a name or number used twice, a transfer to a
        flow that is not in the book, or an hours step naming business hours not in `hours`.
        Without `hours` (a check away from the server's database) those names go unchecked;
        `unchecked_hours` lists them."""
        by_name: dict[str, Flow] = {}
        numbers: dict[str, str] = {}
        for flow in flows:
            if flow.name in by_name:
                raise FlowError(
                    f"flow '{flow.name}' is also defined in {by_name[flow.name].origin}",
                    file=flow.origin,
                    line=1,
                )
            by_name[flow.name] = flow
            for number in flow.numbers:
                if number in numbers:
                    raise FlowError(
                        f"number {number} already starts flow '{numbers[number]}'",
                        file=flow.origin,
                        line=1,
                    )
                numbers[number] = flow.name
        for flow in by_name.values():
            for ref in flow.flow_refs:
                if ref.flow not in by_name:
                    raise FlowError(
                        f"transfer to unknown flow '{ref.flow}'",
                        file=flow.origin,
                        line=ref.line,
                        node=ref.node,
                        field="transfer.flow",
                    )
            for used in flow.hours_refs:
                if hours is not None and used.hours not in hours:
                    known = ", ".join(sorted(hours)) or "none yet"
                    raise FlowError(
                        f"unknown schedule '{used.hours}': neither the flow's schedules nor the "
                        f"center's business hours ({known})",
                        file=flow.origin,
                        line=used.line,
                        node=used.node,
                        field="hours",
                    )
        return cls(by_name, numbers, hours)

    def __getitem__(self, name: str) -> Flow:
        return self._flows[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._flows)

    def __len__(self) -> int:
        return len(self._flows)

    @property
    def hours(self) -> Mapping[str, Schedule]:
        """The center's business hours by name, as they are now."""
        return self._hours

    def uses_hours(self, name: str) -> list[str]:
        """The flows with an hours step on the center's business hours `name`."""
        return sorted(
            f.name for f in self._flows.values() if any(r.hours == name for r in f.hours_refs)
        )

    def unchecked_hours(self) -> list[str]:
        """Business hours the flows name that the book has not been given (a check offline)."""
        named = {r.hours for f in self._flows.values() for r in f.hours_refs}
        return sorted(named - set(self._hours))

    @property
    def numbers(self) -> Mapping[str, str]:
        """Entry points: inbound number -> flow name."""
        return self._numbers

    def flow_for(self, dnis: str) -> str | None:
        """The flow the number called starts, if any."""
        return self._numbers.get(dnis)
