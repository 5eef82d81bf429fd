"""The Salesforce connector behind the Crm port.

Cost model (contract §7): a screen pop is served from the local phone index (no request);
a miss costs one SOSL search, and a number Salesforce does not know is not searched again for
`miss_ttl_s`. Activities cost one request per 200. Keeping the index current costs two
requests per record type per poll (SOQL on SystemModstamp, getDeleted)."""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import anyio
import structlog

from callbridge.adapters.crm.salesforce import dialing, lookup
from callbridge.adapters.crm.salesforce.activities import log_activities as log_tasks
from callbridge.adapters.crm.salesforce.changes import (
    CHANGE_TYPES,
    PHONE_FIELDS,
    ChangeFeed,
    FeedCursor,
)
from callbridge.adapters.crm.salesforce.client import SalesforceClient
from callbridge.adapters.crm.salesforce.errors import SalesforceError
from callbridge.adapters.crm.salesforce.mapping import default_task_fields, to_record
from callbridge.adapters.crm.salesforce.payload import as_object, is_record_id, text
from callbridge.adapters.crm.salesforce.phone_index import IndexedRecord, PhoneIndex
from callbridge.domain.clock import Clock
from callbridge.domain.crm.records import (
    PHONE_TYPES,
    Activity,
    ActivityResult,
    ChangePage,
    ConnectorState,
    CrmHealth,
    CrmMatch,
    CrmRecord,
    DialingListMember,
    DncEntry,
    FieldValue,
    LookupKey,
    RecordRef,
    RecordType,
)
from callbridge.domain.errors import CallbridgeError, InvalidInput
from callbridge.ports import MappedActivity

log = structlog.get_logger(__name__)
INDEX_CURSOR = "salesforce.phone_index"
_MISS_CACHE_SIZE = 10_000


class SalesforceConnector:
    """Implements the Crm port over Salesforce's REST API."""

    name = "salesforce"

    def __init__(
        self,
        client: SalesforceClient,
        index: PhoneIndex,
        clock: Clock,
        *,
        external_id_field: str = "CC_SessionId__c",
        region: str = "US",
        miss_ttl_s: float = 600.0,
    ) -> None:
        self.client, self.index, self.clock = client, index, clock
        self.external_id_field, self.region, self.miss_ttl_s = external_id_field, region, miss_ttl_s
        self.feed = ChangeFeed(client, clock, region)
        self._misses: OrderedDict[str, float] = OrderedDict()  # number -> searched again after
        self._misses_lock = threading.Lock()
        self._sync_lock = threading.Lock()

    # -- screen pop -----------------------------------------------------------------------

    def lookup(self, key: LookupKey, value: str, limit: int = 10) -> list[CrmMatch]:
        """Phone: the index, then one SOSL search on a miss (what it finds joins the index).
        Email, account and case numbers: SOQL."""
        if not value.strip():
            return []
        if key is not LookupKey.PHONE:
            return lookup.by_field(self.client, key, value, limit)
        number = dialing.e164(value, self.region)
        if number is None:
            return []
        found = self.index.find(number, limit)
        if found or self._recently_missed(number):
            return found
        found = lookup.by_phone(self.client, number, limit)
        if found:
            self.index.add([IndexedRecord(m.ref, m.name, m.account_name, (number,)) for m in found])
        else:
            self._remember_miss(number)
        return found

    def _recently_missed(self, number: str) -> bool:
        with self._misses_lock:
            until = self._misses.get(number)
            if until is not None and until <= self.clock.now():
                del self._misses[number]
                until = None
            return until is not None

    def _remember_miss(self, number: str) -> None:
        with self._misses_lock:
            self._misses[number] = self.clock.now() + self.miss_ttl_s
            self._misses.move_to_end(number)
            while len(self._misses) > _MISS_CACHE_SIZE:
                self._misses.popitem(last=False)

    def get_record(self, ref: RecordRef) -> CrmRecord | None:
        if not is_record_id(ref.id):
            return None
        try:
            answer = self.client.rest(f"sobjects/{ref.type.value}/{ref.id}")
        except SalesforceError as exc:
            if exc.details.get("status") == 404:
                return None
            raise
        record = to_record(ref.type, as_object(answer, "record"))
        for name in (*PHONE_FIELDS.get(ref.type, ()), "Fax"):
            value = record.fields.get(name)
            if isinstance(value, str):
                record.fields[name] = dialing.e164(value, self.region) or value
        return record

    def search(
        self, text: str, types: Sequence[RecordType] = (), limit: int = 20
    ) -> list[CrmMatch]:
        return lookup.search(self.client, text, types, limit)

    # -- writes -----------------------------------------------------------------------------

    def default_fields(self, activity: Activity) -> dict[str, FieldValue]:
        """The Task fields of an activity when no mapping file is configured."""
        return default_task_fields(activity, self.external_id_field)

    def log_activities(self, activities: Sequence[MappedActivity]) -> list[ActivityResult]:
        return log_tasks(self.client, activities, self.external_id_field)

    def upsert_record(
        self, type: RecordType, fields: Mapping[str, FieldValue], external_key: str | None = None
    ) -> RecordRef:
        body = dict(fields)
        if external_key is None:
            answer = self.client.rest(
                f"sobjects/{type.value}/", "POST", body=body, idempotent=False
            )
            return RecordRef(type, _saved_id(answer))
        value = body.pop(external_key, None)
        if value is None or value == "":
            raise InvalidInput(f"no value for the external key {external_key}", field=external_key)
        path = f"sobjects/{type.value}/{quote(external_key, safe='')}/{quote(str(value), safe='')}"
        answer = self.client.rest(path, "PATCH", body=body)
        if answer is None:  # APIs before 46.0 answer an update with 204 and no id
            answer = self.client.rest(path, params={"fields": "Id"})
        return RecordRef(type, _saved_id(answer))

    # -- dialing and do-not-call ----------------------------------------------------------

    def dialing_list(self, source: str, limit: int = 10_000) -> list[DialingListMember]:
        """`source`: a campaign id (its members), or `query:<SOQL>`."""
        if source.startswith("query:"):
            return dialing.query_members(self.client, source[6:], limit, self.region)
        return dialing.campaign_members(self.client, source.strip(), limit, self.region)

    def dnc_numbers(self) -> list[DncEntry]:
        return dialing.dnc_numbers(self.client, self.region)

    def add_dnc(self, entries: Sequence[DncEntry]) -> None:
        """DoNotCall on every contact and lead holding one of the numbers (found as a screen
        pop finds them). Salesforce keeps do-not-call on people, not numbers: a number no
        contact or lead holds becomes a lead marked DoNotCall, so the request is kept."""
        refs: list[RecordRef] = []
        unknown: list[str] = []
        for entry in entries:
            number = dialing.e164(entry.number, self.region)
            if number is None:
                continue
            found = [m.ref for m in self.lookup(LookupKey.PHONE, number, limit=200)]
            people = [ref for ref in found if ref.type in dialing.PEOPLE]
            if people:
                refs += people
            elif number not in unknown:
                unknown.append(number)
        dialing.mark_do_not_call(self.client, refs)
        made = dialing.create_dnc_leads(self.client, unknown)
        self.index.add([IndexedRecord(ref, name, company, (n,)) for ref, name, company, n in made])

    # -- changes and the phone index --------------------------------------------------------

    def changes(self, cursor: str | None) -> ChangePage:
        """Contacts, leads and accounts changed or deleted after `cursor`; what it reads also
        refreshes the phone index."""
        poll = self.feed.poll(FeedCursor.from_text(cursor), CHANGE_TYPES)
        self._apply(poll.records, poll.deleted)
        return ChangePage(poll.changes(), poll.cursor.to_text())

    def sync_phone_index(self) -> int:
        """Bring the phone index up to date: everything on the first run (and after the
        deletion log aged out), then what changed since. Returns the records read."""
        with self._sync_lock:
            cursor = self.index.cursor(INDEX_CURSOR)
            poll = self.feed.poll(FeedCursor.from_text(cursor))
            if poll.stale:
                log.warning("salesforce_index_reload", reason="deletions aged out")
                poll = self.feed.poll(FeedCursor())
                cursor = None
            if cursor is None:
                self.index.clear()
            self._apply(poll.records, poll.deleted)
            self.index.set_cursor(INDEX_CURSOR, poll.cursor.to_text(), self.clock.now())
            return len(poll.records) + len(poll.deleted)

    async def keep_index(self, interval_s: float = 60.0) -> None:
        """Sync the phone index every `interval_s` (three requests when nothing changed),
        for as long as the app runs; a failed sync is logged and tried again next time."""
        while True:
            try:
                await anyio.to_thread.run_sync(self.sync_phone_index)
            except CallbridgeError as exc:
                log.warning("salesforce_index_sync_failed", error=exc.message)
            await anyio.sleep(interval_s)

    def _apply(
        self,
        records: Sequence[tuple[IndexedRecord, float]],
        deleted: Sequence[tuple[RecordRef, float]],
    ) -> None:
        self.index.replace([r for r, _ in records if r.ref.type in PHONE_TYPES])
        self.index.remove([ref for ref, _ in deleted if ref.type in PHONE_TYPES])

    # -- health -----------------------------------------------------------------------------

    def health(self) -> CrmHealth:
        """From what the last requests showed; asks `/limits/` only before the first one."""
        if self.client.usage is None and self.client.last_error is None:
            with contextlib.suppress(SalesforceError):  # recorded in last_error
                self.client.rest("limits/")
        usage, error = self.client.usage, self.client.last_error
        used, most = (usage.used, usage.max) if usage else (None, None)
        if error is not None:
            return CrmHealth(ConnectorState.DOWN, error.message, used, most)
        if usage is not None and self.client.throttled:
            detail = (
                f"{usage.remaining} API requests left of {usage.max} today, under the floor of "
                f"{self.client.pacing.floor}: requests are spaced out"
            )
            return CrmHealth(ConnectorState.DEGRADED, detail, used, most)
        return CrmHealth(ConnectorState.CONNECTED, "", used, most)

    def close(self) -> None:
        self.client.close()


def _saved_id(answer: object) -> str:
    record_id = text(as_object(answer, "save result"), "id") or text(
        as_object(answer, "save result"), "Id"
    )
    if record_id is None:
        raise SalesforceError("Salesforce saved the record without telling its id")
    return record_id
