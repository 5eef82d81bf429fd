"""The org's records: validated writes, soft deletes, system dates and a change log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sfstandin.coerce import coerce_value
from sfstandin.errors import SfError, invalid_field, not_found
from sfstandin.ids import IdFactory, RecordId, parse_id, sobject_for_prefix
from sfstandin.schema import SCHEMA, FieldDef, SObjectDef
from sfstandin.timefmt import truncate_ms

Row = dict[str, Any]
ChangeKind = Literal["CREATE", "UPDATE", "DELETE"]


@dataclass(frozen=True)
class Change:
    """One entry of the change log (the raw material of getUpdated/getDeleted and CDC)."""

    seq: int
    sobject: str
    record_id: RecordId
    kind: ChangeKind
    at: datetime
    fields: tuple[str, ...]
    origin: str | None


_CM_MIRRORS = ("Phone", "MobilePhone", "Fax", "DoNotCall", "Email", "FirstName", "LastName")
_CASCADES = {
    "Account": (("Contact", "AccountId"), ("Case", "AccountId")),
    "Contact": (("CampaignMember", "ContactId"),),
    "Lead": (("CampaignMember", "LeadId"),),
    "Campaign": (("CampaignMember", "CampaignId"),),
}


def _sdef(sobject: str) -> SObjectDef:
    sdef = SCHEMA.get(sobject)
    if sdef is None:
        raise not_found()
    return sdef


class Store:
    """All records of the org, guarded by one lock (the server thread and tests share it)."""

    def __init__(self, ids: IdFactory, clock: Callable[[], datetime], user_id: RecordId) -> None:
        self.lock = threading.RLock()
        self.ids = ids
        self.clock = clock
        self.user_id = user_id
        self.tables: dict[str, dict[RecordId, Row]] = {name: {} for name in SCHEMA}
        self.deleted_at: dict[RecordId, datetime] = {}
        self.written_at: dict[RecordId, float] = {}
        self.changes: list[Change] = []
        self._case_number = 1000
        self.created_at = truncate_ms(clock())

    def now(self) -> datetime:
        return truncate_ms(self.clock())

    # -- reads ---------------------------------------------------------------

    def get(self, sobject: str, record_id: str, *, include_deleted: bool = False) -> Row | None:
        rid = parse_id(record_id)
        if rid is None:
            return None
        with self.lock:
            row = self.tables.get(sobject, {}).get(rid)
            if row is None or (row["IsDeleted"] and not include_deleted):
                return None
            return row

    def locate(self, record_id: str) -> tuple[str, Row] | None:
        """The type and row of any live record, from its key prefix."""
        rid = parse_id(record_id)
        sobject = sobject_for_prefix(rid[:3]) if rid else None
        if rid is None or sobject is None or sobject not in self.tables:
            return None
        row = self.get(sobject, rid)
        return (sobject, row) if row is not None else None

    def rows(self, sobject: str, *, include_deleted: bool = False) -> list[Row]:
        with self.lock:
            return [
                r for r in self.tables[sobject].values() if include_deleted or not r["IsDeleted"]
            ]

    def find(self, sobject: str, field: FieldDef, value: Any) -> list[Row]:
        """Live rows whose external-id `field` equals `value` (case-insensitive text)."""
        want = str(value).lower()
        return [
            r
            for r in self.rows(sobject)
            if r.get(field.name) is not None and str(r[field.name]).lower() == want
        ]

    def value(self, sobject: str, row: Row, name: str) -> Any:
        """A field's value, computing the read-only mirrors that follow other records."""
        if sobject == "CampaignMember" and (name in _CM_MIRRORS or name == "CompanyOrAccount"):
            parent = self.get("Contact", row["ContactId"]) if row["ContactId"] else None
            if parent is None and row["LeadId"]:
                parent = self.get("Lead", row["LeadId"])
            if parent is None:
                return False if name == "DoNotCall" else None
            if name == "CompanyOrAccount":
                if "Company" in parent:
                    return parent["Company"]
                account = self.get("Account", parent["AccountId"]) if parent["AccountId"] else None
                return account["Name"] if account else None
            return parent.get(name)
        return row.get(name)

    # -- writes --------------------------------------------------------------

    def create(
        self, sobject: str, values: dict[str, Any], *, trusted: bool = False,
        origin: str | None = None,
    ) -> RecordId:  # fmt: skip
        """Validate and insert one record; `trusted` (test seeding) may set read-only fields."""
        sdef = _sdef(sobject)
        with self.lock:
            given = self._resolve(sdef, values, "create", trusted)
            row: Row = {f.name: f.default for f in sdef.fields}
            row.update(given)
            self._check_required(sdef, row)
            self._check_rules(sdef, row, None)
            self._check_unique(sdef, row, None)
            rid = self.ids.for_type(sobject)
            now = self.now()
            stamps = {
                "Id": rid, "IsDeleted": False, "CreatedDate": now, "LastModifiedDate": now,
                "SystemModstamp": now, "CreatedById": self.user_id,
                "LastModifiedById": self.user_id,
            }  # fmt: skip
            for key, stamp in stamps.items():
                if not (trusted and key in given and key != "Id"):
                    row[key] = stamp
            if "OwnerId" in row and row["OwnerId"] is None:
                row["OwnerId"] = self.user_id
            self._derive(sdef, row, created=True)
            self.tables[sobject][rid] = row
            self._log(sobject, rid, "CREATE", row["SystemModstamp"], (), origin)
            return rid

    def update(
        self, sobject: str, record_id: str, values: dict[str, Any], *, trusted: bool = False,
        origin: str | None = None,
    ) -> None:  # fmt: skip
        """Validate and apply a partial update."""
        sdef = _sdef(sobject)
        with self.lock:
            row = self._live_for_write(sobject, record_id)
            given = self._resolve(sdef, values, "update", trusted)
            given.pop("Id", None)
            merged = dict(row) | given
            self._check_required(sdef, merged)
            self._check_rules(sdef, merged, row)
            self._check_unique(sdef, merged, row["Id"])
            changed = tuple(k for k, v in given.items() if row.get(k) != v)
            now = self.now()
            merged["LastModifiedDate"] = merged["SystemModstamp"] = now
            merged["LastModifiedById"] = self.user_id
            if trusted:
                merged.update({k: v for k, v in given.items() if k in stamp_fields()})
            self._derive(sdef, merged, created=False)
            row.clear()
            row.update(merged)
            self._log(sobject, row["Id"], "UPDATE", now, (*changed, "LastModifiedDate"), origin)

    def delete(self, sobject: str, record_id: str, *, origin: str | None = None) -> None:
        """Soft delete: the row stays for queryAll and getDeleted, with IsDeleted = true."""
        with self.lock:
            row = self._live_for_write(sobject, record_id)
            self._soft_delete(sobject, row, origin)

    def _soft_delete(self, sobject: str, row: Row, origin: str | None) -> None:
        now = self.now()
        row["IsDeleted"] = True
        row["LastModifiedDate"] = row["SystemModstamp"] = now
        self.deleted_at[row["Id"]] = now
        self._log(sobject, row["Id"], "DELETE", now, (), origin)
        for child, link in _CASCADES.get(sobject, ()):
            for other in self.rows(child):
                if other.get(link) == row["Id"]:
                    self._soft_delete(child, other, origin)

    def _live_for_write(self, sobject: str, record_id: str) -> Row:
        rid = parse_id(record_id)
        row = self.tables[sobject].get(rid) if rid else None
        if row is None:
            raise not_found()
        if row["IsDeleted"]:
            raise SfError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        return row

    # -- all-or-none ---------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything written inside is rolled back if the block raises."""
        with self.lock:
            tables = {
                name: {rid: dict(r) for rid, r in t.items()} for name, t in self.tables.items()
            }
            deleted, written = dict(self.deleted_at), dict(self.written_at)
            n_changes, case_number = len(self.changes), self._case_number
            try:
                yield
            except BaseException:
                for name, table in tables.items():
                    live = self.tables[name]
                    for rid in list(live):
                        if rid not in table:
                            del live[rid]
                    for rid, saved in table.items():
                        live.setdefault(rid, {}).clear()
                        live[rid].update(saved)
                self.deleted_at, self.written_at = deleted, written
                del self.changes[n_changes:]
                self._case_number = case_number
                raise

    # -- validation ----------------------------------------------------------

    def _resolve(
        self, sdef: SObjectDef, values: dict[str, Any], op: str, trusted: bool
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        locked: list[str] = []
        for key, raw in values.items():
            if key == "attributes":
                continue
            fdef = sdef.field(key)
            if fdef is None:
                raise invalid_field(sdef.name, key)
            if fdef.name == "Id":
                if op == "create" and not trusted:
                    raise SfError(400, "INVALID_FIELD", "cannot specify Id in an insert call", [])
                continue
            allowed = fdef.createable if op == "create" else fdef.updateable
            if not allowed and not trusted:
                locked.append(fdef.name)
                continue
            out[fdef.name] = coerce_value(self, sdef, fdef, raw)
        if locked:
            raise SfError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(locked)}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                locked,
            )
        return out

    def _check_required(self, sdef: SObjectDef, row: Row) -> None:
        missing = [f.name for f in sdef.fields if f.required and row.get(f.name) in (None, "")]
        if missing:
            raise SfError(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )

    def _check_rules(self, sdef: SObjectDef, row: Row, before: Row | None) -> None:
        if sdef.name == "Task":
            who, what = row.get("WhoId"), row.get("WhatId")
            if who and what and who.startswith("00Q"):
                raise SfError(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    "Related To ID: You can't associate a task with a lead and a related-to "
                    "record at the same time.",
                    ["WhatId"],
                )
        if sdef.name == "CampaignMember" and before is None:
            if not row.get("LeadId") and not row.get("ContactId"):
                raise SfError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    "Required fields are missing: [ContactId, LeadId]",
                    ["ContactId", "LeadId"],
                )
            for other in self.rows("CampaignMember"):
                same_person = (row["LeadId"] and other["LeadId"] == row["LeadId"]) or (
                    row["ContactId"] and other["ContactId"] == row["ContactId"]
                )
                if other["CampaignId"] == row["CampaignId"] and same_person:
                    raise SfError(400, "DUPLICATE_VALUE", "Already a campaign member.", [])

    def _check_unique(self, sdef: SObjectDef, row: Row, own_id: str | None) -> None:
        for fdef in sdef.fields:
            if not fdef.unique or row.get(fdef.name) is None:
                continue
            for other in self.find(sdef.name, fdef, row[fdef.name]):
                if other["Id"] != own_id:
                    raise SfError(
                        400,
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {fdef.name} duplicates value on record with "
                        f"id: {other['Id'][:15]}",
                        [],
                    )

    def _derive(self, sdef: SObjectDef, row: Row, *, created: bool) -> None:
        if sdef.name in ("Contact", "Lead", "User"):
            row["Name"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
        elif sdef.name == "Task":
            was_closed = bool(row.get("IsClosed"))
            row["IsClosed"] = row.get("Status") == "Completed"
            if row["IsClosed"] and not was_closed:
                row["CompletedDateTime"] = row["LastModifiedDate"]
            what = self.locate(row["WhatId"]) if row.get("WhatId") else None
            who = self.locate(row["WhoId"]) if row.get("WhoId") else None
            if what is not None and what[0] == "Account":
                row["AccountId"] = what[1]["Id"]
            elif what is not None and what[1].get("AccountId"):
                row["AccountId"] = what[1]["AccountId"]
            elif who is not None:
                row["AccountId"] = who[1].get("AccountId")
        elif sdef.name == "Case":
            row["IsClosed"] = row.get("Status") == "Closed"
            if created and not row.get("CaseNumber"):
                self._case_number += 1
                row["CaseNumber"] = f"{self._case_number:08d}"
        elif sdef.name == "CampaignMember":
            row["Type"] = "Contact" if row.get("ContactId") else "Lead"
            row["LeadOrContactId"] = row.get("ContactId") or row.get("LeadId")
            row["HasResponded"] = row.get("Status") == "Responded"

    def _log(
        self, sobject: str, rid: RecordId, kind: ChangeKind, at: datetime,
        fields: tuple[str, ...], origin: str | None,
    ) -> None:  # fmt: skip
        self.written_at[rid] = time.monotonic()
        self.changes.append(Change(len(self.changes) + 1, sobject, rid, kind, at, fields, origin))

    # -- replication ---------------------------------------------------------

    def updated_ids(self, sobject: str, start: datetime, end: datetime) -> list[RecordId]:
        with self.lock:
            return [
                r["Id"]
                for r in self.tables[sobject].values()
                if not r["IsDeleted"] and start <= r["SystemModstamp"] < end
            ]

    def deleted_since(
        self, sobject: str, start: datetime, end: datetime
    ) -> list[tuple[str, datetime]]:
        with self.lock:
            return [
                (rid, at)
                for rid, at in self.deleted_at.items()
                if rid in self.tables[sobject] and start <= at < end
            ]

    def retention_start(self, days: int) -> datetime:
        return max(self.created_at, self.now() - timedelta(days=days)).replace(
            second=0, microsecond=0
        )


def stamp_fields() -> frozenset[str]:
    return frozenset({"CreatedDate", "LastModifiedDate", "SystemModstamp"})
