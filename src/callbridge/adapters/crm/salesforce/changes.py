"""Change polling (contract §3.10, §6.5).

Each poll asks, per record type, one queryAll for `SystemModstamp > watermark`: it returns
what was created, changed and deleted (deleted rows carry IsDeleted = true and a new
SystemModstamp), so a deletion shows on the next poll. Records purged from the recycle bin
never show there; getDeleted catches those, once every `deleted_every_s` per type. The first
poll (no cursor) reads every live record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from callbridge.adapters.crm.salesforce.client import SalesforceClient
from callbridge.adapters.crm.salesforce.errors import SalesforceError
from callbridge.adapters.crm.salesforce.mapping import account_name, display_name
from callbridge.adapters.crm.salesforce.payload import (
    Json,
    as_object,
    flag,
    iso_datetime,
    objects,
    parse_datetime,
    soql_datetime,
    text,
    to_datetime,
)
from callbridge.adapters.crm.salesforce.phone_index import IndexedRecord
from callbridge.domain.clock import Clock
from callbridge.domain.crm.records import PHONE_TYPES, Change, RecordRef, RecordType
from callbridge.domain.errors import InvalidInput
from callbridge.services.security.crypto import normalise_address

PHONE_FIELDS: dict[RecordType, tuple[str, ...]] = {
    RecordType.CONTACT: ("Phone", "MobilePhone", "HomePhone", "OtherPhone", "AssistantPhone"),
    RecordType.LEAD: ("Phone", "MobilePhone"),
    RecordType.ACCOUNT: ("Phone",),
}
_DESCRIPTIVE: dict[RecordType, tuple[str, ...]] = {
    RecordType.CONTACT: ("Name", "Account.Name"),
    RecordType.LEAD: ("Name", "Company", "IsConverted"),
    RecordType.ACCOUNT: ("Name",),
    RecordType.CASE: ("CaseNumber", "Subject", "Account.Name"),
    RecordType.CAMPAIGN: ("Name",),
}
# What `changes` reports: the records a screen pop or a dialing list can involve.
CHANGE_TYPES = (*PHONE_TYPES, RecordType.CASE, RecordType.CAMPAIGN)


def change_soql(kind: RecordType, since: datetime | None) -> str:
    """The records of `kind` changed after `since` (all live ones for None), oldest first;
    with a `since`, meant for queryAll (deleted rows included)."""
    deleted = () if since is None else ("IsDeleted",)
    phones = PHONE_FIELDS.get(kind, ())
    fields = ", ".join(("Id", *deleted, *_DESCRIPTIVE[kind], *phones, "SystemModstamp"))
    where = "" if since is None else f" WHERE SystemModstamp > {soql_datetime(since)}"
    # names from constants, a formatted date-time: nothing from outside goes in
    return f"SELECT {fields} FROM {kind.value}{where} ORDER BY SystemModstamp ASC"  # noqa: S608


def e164_phones(kind: RecordType, record: Json, region: str) -> tuple[str, ...]:
    """The record's numbers as E.164, once each; free text that is no number is skipped."""
    found: list[str] = []
    for name in PHONE_FIELDS.get(kind, ()):
        raw = text(record, name)
        number = normalise_address(raw, region) if raw else ""
        if number.startswith("+") and number not in found:
            found.append(number)
    return tuple(found)


def indexed(kind: RecordType, record: Json, region: str) -> IndexedRecord:
    """The record as the phone index keeps it; a converted lead keeps no numbers."""
    ref = RecordRef(kind, text(record, "Id") or "")
    converted = kind is RecordType.LEAD and flag(record, "IsConverted")
    phones = () if converted else e164_phones(kind, record, region)
    return IndexedRecord(ref, display_name(kind, record), account_name(kind, record), phones)


@dataclass
class TypeCursor:
    modstamp: str | None = None  # the newest SystemModstamp seen, as Salesforce wrote it
    deleted_from: float | None = None  # where the next getDeleted window starts


@dataclass
class FeedCursor:
    types: dict[RecordType, TypeCursor] = field(default_factory=dict)

    def to_text(self) -> str:
        return json.dumps(
            {k.value: [c.modstamp, c.deleted_from] for k, c in self.types.items()},
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_text(cls, value: str | None) -> FeedCursor:
        if not value:
            return cls()
        try:
            raw = json.loads(value)
            types = {
                RecordType(k): TypeCursor(m, None if d is None else float(d))
                for k, (m, d) in raw.items()
            }
        except (ValueError, TypeError, AttributeError) as exc:
            raise InvalidInput("not a Salesforce change cursor", field="cursor") from exc
        return cls(types)


@dataclass
class Poll:
    records: list[tuple[IndexedRecord, float]]  # changed or created, and when
    deleted: list[tuple[RecordRef, float]]
    cursor: FeedCursor
    stale: bool = False  # a deletion window fell out of retention: reload to be exact

    def changes(self) -> list[Change]:
        out = [Change(r.ref, False, r.phones, r.name, at) for r, at in self.records]
        out += [Change(ref, True, (), "", at) for ref, at in self.deleted]
        return out


class ChangeFeed:
    def __init__(
        self,
        client: SalesforceClient,
        clock: Clock,
        region: str = "US",
        *,
        deleted_every_s: float = 900.0,
    ) -> None:
        self.client, self.clock, self.region = client, clock, region
        self.deleted_every_s = deleted_every_s

    def poll(self, cursor: FeedCursor, types: Sequence[RecordType] = PHONE_TYPES) -> Poll:
        """What was created, changed and deleted since `cursor`, for `types`."""
        poll = Poll([], [], FeedCursor())
        for kind in types:
            before = cursor.types.get(kind, TypeCursor())
            now = self.clock.now()
            after = TypeCursor(before.modstamp, before.deleted_from)
            since = None if before.modstamp is None else to_datetime(before.modstamp)
            if since is None:
                after.deleted_from = now  # purges before the first read are in the read
            for record in self.client.query(change_soql(kind, since), include_deleted=bool(since)):
                stamp = text(record, "SystemModstamp")
                at = parse_datetime(stamp) if stamp else now
                if flag(record, "IsDeleted"):
                    poll.deleted.append((RecordRef(kind, text(record, "Id") or ""), at))
                else:
                    poll.records.append((indexed(kind, record, self.region), at))
                if stamp and (after.modstamp is None or _later(stamp, after.modstamp)):
                    after.modstamp = stamp
            start = after.deleted_from
            if since is not None and start is not None and now - start >= self.deleted_every_s:
                after.deleted_from, stale = self._deleted(kind, start, now, poll)
                poll.stale = poll.stale or stale
            poll.cursor.types[kind] = after
        return poll

    def _deleted(
        self, kind: RecordType, start: float, end: float, poll: Poll
    ) -> tuple[float, bool]:
        """getDeleted over [start, end): the next window's start, and whether records may
        have gone unseen (the window began before what Salesforce still remembers)."""
        try:
            answer = as_object(
                self.client.rest(
                    f"sobjects/{kind.value}/deleted/",
                    params={"start": iso_datetime(start), "end": iso_datetime(end)},
                ),
                "deleted",
            )
        except SalesforceError as exc:
            if "INVALID_REPLICATION_DATE" in exc.message:
                return end, True
            raise
        for item in objects(answer.get("deletedRecords", []), "deletedRecords"):
            record_id, when = text(item, "id"), text(item, "deletedDate")
            if record_id:
                poll.deleted.append(
                    (RecordRef(kind, record_id), parse_datetime(when) if when else end)
                )
        earliest, covered = text(answer, "earliestDateAvailable"), text(answer, "latestDateCovered")
        stale = earliest is not None and parse_datetime(earliest) > start
        return (parse_datetime(covered) if covered else end), stale


def _later(stamp: str, than: str) -> bool:
    return to_datetime(stamp) > to_datetime(than)
