"""Salesforce record ids: key prefixes, the 18-character checksum, and an id factory."""

from __future__ import annotations

import re
import string
import threading
from typing import NewType

RecordId = NewType("RecordId", str)
"""An 18-character, case-safe Salesforce id."""

KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Organization": "00D",
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
    "CampaignMember": "00v",
    "Case": "500",
    "Campaign": "701",
    "BulkJob": "750",
    "BulkBatch": "751",
    "QueryLocator": "01g",
}

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_ID_SHAPE = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")


def checksum(id15: str) -> str:
    """The three case-encoding characters that turn a 15-character id into 18."""
    out = []
    for chunk in range(3):
        bits = 0
        for j, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << j
        out.append(_CHECKSUM_ALPHABET[bits])
    return "".join(out)


def to18(id15: str) -> RecordId:
    """The 18-character form of a 15-character id."""
    return RecordId(id15 + checksum(id15))


def parse_id(value: object) -> RecordId | None:
    """The canonical 18-character id for a 15- or 18-character id, or None if malformed.

    An 18-character id is case-insensitive: its checksum restores the case of the first 15.
    """
    if not isinstance(value, str) or not _ID_SHAPE.fullmatch(value):
        return None
    if len(value) == 15:
        return to18(value)
    suffix = value[15:].upper()
    chars = list(value[:15])
    for chunk, code in enumerate(suffix):
        bits = _CHECKSUM_ALPHABET.find(code)
        if bits < 0:
            return None
        for j in range(5):
            pos = chunk * 5 + j
            upper = bool(bits & (1 << j))
            if chars[pos].isalpha():
                chars[pos] = chars[pos].upper() if upper else chars[pos].lower()
            elif upper:
                return None
    return to18("".join(chars))


def prefix_of(record_id: str) -> str:
    """The three-character key prefix that names an id's object type."""
    return record_id[:3]


def sobject_for_prefix(prefix: str) -> str | None:
    """The object type whose key prefix is `prefix`, if the stand-in knows it."""
    for name, known in KEY_PREFIXES.items():
        if known == prefix:
            return name
    return None


class IdFactory:
    """Hands out realistic ids: key prefix, pod "5e", a reserved 0, and 9 base-62 digits."""

    def __init__(self, start: int = 10 * 62**5 + 987_654) -> None:
        self._next = start
        self._lock = threading.Lock()

    def make(self, prefix: str) -> RecordId:
        with self._lock:
            number = self._next
            self._next += 1
        digits = []
        for _ in range(9):
            number, rest = divmod(number, 62)
            digits.append(_BASE62[rest])
        return to18(prefix + "5e0" + "".join(reversed(digits)))

    def for_type(self, sobject: str) -> RecordId:
        return self.make(KEY_PREFIXES[sobject])
