"""The error a flow file gets: it names the file, the line, the node and the field."""

from __future__ import annotations

from callbridge.domain.errors import InvalidInput


class FlowError(InvalidInput):
    """A flow that cannot run. `str()` reads `file:line: node 'x': reason`."""

    code = "flow_invalid"

    def __init__(
        self,
        reason: str,
        *,
        file: str,
        line: int | None = None,
        node: str | None = None,
        field: str | None = None,
    ) -> None:
        where = file if line is None else f"{file}:{line}"
        about = f" node '{node}':" if node is not None else ""
        super().__init__(f"{where}:{about} {reason}", file=file, line=line, node=node, field=field)
        self.reason = reason
        self.file = file
        self.line = line
        self.node = node
        self.field = field
