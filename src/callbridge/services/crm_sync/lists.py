"""Dialing lists and do-not-call, kept in step with the CRM.

A dialing list is pulled from a CRM campaign (its members) or a saved query, replacing what
the list held; the dialer reads it from Callbridge's own database. Do-not-call goes both ways:
numbers the CRM marks are added here, numbers added here (an agent's "don't call me again")
are pushed to the CRM, each once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anyio
import structlog

from callbridge.adapters.store.lists import DialingList, ListStore
from callbridge.domain.clock import Clock
from callbridge.domain.crm.records import DncEntry
from callbridge.domain.errors import CallbridgeError, InvalidInput, NotFound
from callbridge.ports import Crm
from callbridge.services.security.crypto import normalise_address

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DncSync:
    pulled: int  # numbers new here from the CRM
    pushed: int  # numbers written to the CRM


class Lists:
    def __init__(
        self, crm: Crm, store: ListStore, clock: Clock, new_id: Callable[[], str], region: str
    ) -> None:
        self.crm, self.store, self.clock, self.new_id, self.region = (
            crm,
            store,
            clock,
            new_id,
            region,
        )

    def pull(self, name: str, source: str, list_id: str | None = None) -> DialingList:
        """Create a list from a campaign or saved query, or refresh an existing one."""
        if not name.strip() or not source.strip():
            raise InvalidInput("name and source are required", field="source")
        existing = self.store.get_list(list_id) if list_id else None
        if list_id is not None and existing is None:
            raise NotFound(f"no dialing list {list_id}", field="list_id")
        members = self.crm.dialing_list(source)
        lst = existing or DialingList(
            self.new_id(), name, source, self.crm.name, self.clock.now(), None
        )
        self.store.replace_list(lst, members, self.clock.now())
        found = self.store.get_list(lst.id)
        assert found is not None
        return found

    def add_dnc(self, number: str, source: str = "callbridge") -> bool:
        """Add a number to do-not-call here; the next sync pushes it to the CRM."""
        normal = normalise_address(number, self.region)
        if not normal.startswith("+"):
            raise InvalidInput(f"not a phone number: {number!r}", field="number")
        entry = DncEntry(normal, self.clock.now(), source)
        return self.store.add_dnc([entry], pushed=False) == 1

    def sync_dnc(self) -> DncSync:
        """Pull the CRM's do-not-call numbers, push ours it does not have yet."""
        from_crm = self.crm.dnc_numbers()
        pulled = self.store.add_dnc(from_crm, pushed=True)
        todo = self.store.dnc_entries(unpushed_only=True)
        if todo:
            self.crm.add_dnc([entry for _, entry in todo])
            self.store.mark_pushed([key for key, _ in todo], self.clock.now())
        return DncSync(pulled, len(todo))

    async def keep_dnc(self, interval_s: float, *, now: bool = False) -> None:
        """Sync do-not-call both ways every `interval_s` (the first one at once with `now`),
        for as long as the app runs; a failed sync is logged and tried again next time."""
        if not now:
            await anyio.sleep(interval_s)
        while True:
            try:
                done = await anyio.to_thread.run_sync(self.sync_dnc)
                if done.pulled or done.pushed:
                    log.info("dnc_synced", pulled=done.pulled, pushed=done.pushed)
            except CallbridgeError as exc:
                log.warning("dnc_sync_failed", error=exc.message)
            await anyio.sleep(interval_s)
