"""The center's business hours: schedules by name, kept in the store, that IVR flows' hours
steps name (`hours: main`) and supervisors edit in the browser.

`live` is the mapping the running flow book reads at each hours step, so a change applies to
the next caller (and to a caller still in the IVR at their next hours step) without a restart.
A schedule a running flow uses cannot be removed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from callbridge.domain.errors import InvalidInput, InvalidState, NotFound, StorageError
from callbridge.domain.ivr import FlowBook
from callbridge.domain.ivr.hours import HOURS_NAME, Schedule, parse_schedule
from callbridge.ports import AuditRecord, JsonValue

# (action, before, after) -> the audit record of the change, made by the caller who knows who
Audit = Callable[[str, JsonValue, JsonValue], AuditRecord]


class HoursStore(Protocol):
    """Where the schedules are kept (adapters/store/hours.py)."""

    def all(self) -> dict[str, dict[str, Any]]: ...

    def save(
        self, name: str, definition: Mapping[str, Any], at: float, audit: Sequence[AuditRecord]
    ) -> None: ...

    def delete(self, name: str, audit: Sequence[AuditRecord]) -> bool: ...


class BusinessHours:
    """The stored schedules, checked, and their live form for the flows."""

    def __init__(self, store: HoursStore) -> None:
        self._store = store
        self.definitions: dict[str, dict[str, Any]] = {}
        self.live: dict[str, Schedule] = {}
        for name, definition in store.all().items():
            try:
                schedule = parse_schedule(definition)
            except InvalidInput as exc:  # saved through the same check: a damaged row
                raise StorageError(f"business hours '{name}' as stored: {exc.message}") from None
            self.definitions[name], self.live[name] = definition, schedule

    def save(self, name: str, definition: Mapping[str, Any], at: float, audit: Audit) -> Schedule:
        """Create or replace `name`; `HoursError` (422) naming the field of a mistake, and
        then nothing changes."""
        if not HOURS_NAME.fullmatch(name):
            raise InvalidInput(
                f"'{name}' is not a name for business hours (lower-case letters, digits, - and _)",
                field="name",
            )
        schedule = parse_schedule(definition)
        stored = dict(definition)
        before = self.definitions.get(name)
        action = "hours.update" if before is not None else "hours.create"
        self._store.save(name, stored, at, [audit(action, before, stored)])
        self.definitions[name], self.live[name] = stored, schedule
        return schedule

    def delete(self, name: str, book: FlowBook | None, audit: Audit) -> None:
        """Remove `name`, unless a running flow's hours step uses it (409, naming the flows)."""
        before = self.definitions.get(name)
        if before is None:
            raise NotFound(f"no business hours named '{name}'", field="name")
        users = [] if book is None else book.uses_hours(name)
        if users:
            raise InvalidState(
                f"business hours '{name}' are used by flow {', '.join(users)}; change the "
                "flow first",
                field="name",
            )
        self._store.delete(name, [audit("hours.delete", before, None)])
        del self.definitions[name], self.live[name]
