"""The audit hash chain, without a database: encoding, hashing, and what `verify` names."""

from __future__ import annotations

import dataclasses
import itertools

from callbridge.ports import AuditRecord, JsonValue
from callbridge.services.security.audit import (
    GENESIS,
    AuditEntry,
    canonical,
    chain,
    entry_hash,
    timestamp,
    verify,
)


def record(n: int, after: JsonValue = None) -> AuditRecord:
    return AuditRecord(
        at=1_800_000_000.0 + n + 0.1234567,
        actor="user:ann",
        action="queue.save",
        object_type="queue",
        object_id=f"q{n}",
        source="127.0.0.1",
        before=None,
        after={"name": f"Queue {n}", "priority": n} if after is None else after,
    )


def log(n: int) -> list[AuditEntry]:
    return chain([record(i) for i in range(1, n + 1)], 1, GENESIS)


def test_the_encoding_is_canonical_and_rounds_time_to_the_microsecond() -> None:
    a = record(1, after={"b": 1, "a": [1, "x"], "c": None})
    b = dataclasses.replace(a, after={"c": None, "a": [1, "x"], "b": 1}, at=a.at + 1e-8)
    assert canonical(1, a) == canonical(1, b)
    assert b'"after":{"a":[1,"x"],"b":1,"c":null}' in canonical(1, a)
    assert timestamp(1_800_000_000.1234567) == "2027-01-15T08:00:00.123457+00:00"


def test_each_hash_covers_the_previous_one() -> None:
    entries = log(3)
    assert entries[0].prev_hash == GENESIS
    assert [e.id for e in entries] == [1, 2, 3]
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    assert entries[1].hash == entry_hash(entries[0].hash, 2, entries[1].record)
    assert entry_hash("1" * 64, 2, entries[1].record) != entries[1].hash
    assert len(entries[2].hash) == 64


def test_an_untouched_log_verifies() -> None:
    entries = log(5)
    result = verify(iter(entries), 5)
    assert result.ok
    assert (result.count, result.head_hash, result.bad_id) == (5, entries[-1].hash, None)
    empty = verify([], 0)
    assert empty.ok and empty.head_hash == GENESIS


def test_an_edited_entry_is_named() -> None:
    entries = log(4)
    edited = dataclasses.replace(entries[2].record, after={"name": "Queue 3", "priority": 99})
    entries[2] = dataclasses.replace(entries[2], record=edited)
    result = verify(entries, 4)
    assert not result.ok
    assert result.bad_id == 3
    assert result.problem is not None and "entry 3 has been altered" in result.problem


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link() -> None:
    entries = log(4)
    edited = dataclasses.replace(entries[1].record, actor="user:mallory")
    entries[1] = AuditEntry(2, edited, entries[0].hash, entry_hash(entries[0].hash, 2, edited))
    result = verify(entries, 4)
    assert result.bad_id == 3
    assert result.problem is not None and "does not link to entry 2" in result.problem


def test_a_deleted_entry_in_the_middle_or_at_the_start_is_named() -> None:
    entries = log(5)
    middle = verify(entries[:2] + entries[3:], 5)
    assert middle.bad_id == 3
    assert middle.problem is not None and "entry 3 is missing" in middle.problem
    first = verify(entries[1:], 5)
    assert first.bad_id == 1
    assert first.problem is not None and "entry 1 is missing" in first.problem


def test_a_deleted_tail_shows_against_the_counter() -> None:
    entries = log(5)
    result = verify(entries[:4], 5)
    assert result.bad_id == 5 and result.count == 4
    assert result.problem is not None and "5 entries were appended" in result.problem


def test_entries_beyond_the_counter_are_named() -> None:
    result = verify(log(3), 2)
    assert result.bad_id == 3
    assert result.problem is not None and "not appended through the log" in result.problem


def test_chaining_continues_from_a_head() -> None:
    first = log(2)
    more = chain([record(3)], 3, first[-1].hash)
    assert verify(first + more, 3).ok
