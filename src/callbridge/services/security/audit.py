"""The audit log's hash chain: the canonical encoding of an entry, its hash, and verification.

Entry n's hash is SHA-256 over entry n-1's hash and entry n's canonical encoding, so editing
an entry breaks its own hash and deleting one breaks the link from the next. Ids are handed out
without gaps (the store numbers entries itself, from the `audit_count` counter), so a missing
id is a deleted entry; a counter ahead of the last entry is a deleted tail.

Nothing here touches a database: the store feeds entries in and stores what comes out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from callbridge.ports import AuditRecord, JsonValue

GENESIS = "0" * 64  # the previous hash of entry 1
ENCODING_VERSION = 1


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored entry: the record, its place in the log, and its links in the chain."""

    id: int
    record: AuditRecord
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What `verify` found: `bad_id` and `problem` name the first broken entry, if any."""

    count: int  # entries read
    head_hash: str  # the hash of the last good entry (GENESIS for an empty log)
    bad_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when every entry checked out and none is missing."""
        return self.problem is None


def timestamp(at: float) -> str:
    """`at` as the database keeps it: ISO 8601 UTC, rounded to the microsecond."""
    return datetime.fromtimestamp(at, tz=UTC).isoformat(timespec="microseconds")


def canonical(entry_id: int, record: AuditRecord) -> bytes:
    """The bytes an entry's hash covers: its fields as JSON with sorted keys, no spaces."""
    document: dict[str, JsonValue] = {
        "v": ENCODING_VERSION,
        "id": entry_id,
        "at": timestamp(record.at),
        "actor": record.actor,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "source": record.source,
        "before": record.before,
        "after": record.after,
    }
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return text.encode("ascii")


def entry_hash(prev_hash: str, entry_id: int, record: AuditRecord) -> str:
    """SHA-256 (hex) of the previous entry's hash and this entry's canonical encoding."""
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical(entry_id, record))
    return digest.hexdigest()


def chain(records: Sequence[AuditRecord], first_id: int, prev_hash: str) -> list[AuditEntry]:
    """Number `records` from `first_id` and link each to the one before, starting after
    `prev_hash` (the current head of the log, or GENESIS)."""
    entries: list[AuditEntry] = []
    for offset, record in enumerate(records):
        entry_id = first_id + offset
        digest = entry_hash(prev_hash, entry_id, record)
        entries.append(AuditEntry(entry_id, record, prev_hash, digest))
        prev_hash = digest
    return entries


def verify(entries: Iterable[AuditEntry], expected_count: int) -> VerifyResult:
    """Check the chain, reading `entries` in id order once; stop at the first broken entry.

    `expected_count` is how many entries were ever appended (the store's counter).
    """
    head, count, expected_id = GENESIS, 0, 1
    for entry in entries:
        if entry.id != expected_id:
            problem = (
                f"entry {expected_id} is missing (deleted): the log goes from entry "
                f"{expected_id - 1} to entry {entry.id}"
                if entry.id > expected_id
                else f"entry {entry.id} is out of order (expected entry {expected_id})"
            )
            return VerifyResult(count, head, min(expected_id, entry.id), problem)
        if entry.prev_hash != head:
            link = "the start of the log" if expected_id == 1 else f"entry {expected_id - 1}"
            return VerifyResult(
                count,
                head,
                entry.id,
                f"entry {entry.id} does not link to {link}: its prev_hash does not match "
                "(an entry before it was deleted or rewritten)",
            )
        if entry_hash(entry.prev_hash, entry.id, entry.record) != entry.hash:
            return VerifyResult(
                count,
                head,
                entry.id,
                f"entry {entry.id} has been altered: its hash does not match its contents",
            )
        head, count, expected_id = entry.hash, count + 1, expected_id + 1
    if count < expected_count:
        missing = count + 1
        return VerifyResult(
            count,
            head,
            missing,
            f"entry {missing} is missing (deleted): {expected_count} entries were appended "
            f"but the log ends at entry {count}",
        )
    if count > expected_count:
        return VerifyResult(
            count,
            head,
            expected_count + 1,
            f"entry {expected_count + 1} was not appended through the log: only "
            f"{expected_count} entries were appended but {count} are stored",
        )
    return VerifyResult(count, head)
