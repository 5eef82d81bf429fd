"""The flows a center runs, by name, with the inbound numbers that start each one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

from callbridge.domain.ivr.errors import FlowError
from callbridge.domain.ivr.nodes import Flow


class FlowBook(Mapping[str, Flow]):
    """An immutable mapping of flow name -> `Flow` whose transfers all reach a flow in it."""

    __slots__ = ("_flows", "_numbers")

    def __init__(self, flows: Mapping[str, Flow], numbers: Mapping[str, str]) -> None:
        self._flows = MappingProxyType(dict(flows))
        self._numbers = MappingProxyType(dict(numbers))

    @classmethod
    def of(cls, flows: Iterable[Flow]) -> FlowBook:
        """A book of `flows`; `FlowError` for a name or number used twice, or a transfer to a
        flow that is not in the book."""
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
        return cls(by_name, numbers)

    def __getitem__(self, name: str) -> Flow:
        return self._flows[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._flows)

    def __len__(self) -> int:
        return len(self._flows)

    @property
    def numbers(self) -> Mapping[str, str]:
        """Entry points: inbound number -> flow name."""
        return self._numbers

    def flow_for(self, dnis: str) -> str | None:
        """The flow the number called starts, if any."""
        return self._numbers.get(dnis)
