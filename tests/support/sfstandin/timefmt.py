"""Salesforce's date and datetime text forms."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})",
    re.IGNORECASE,
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def format_datetime(value: datetime) -> str:
    """`2024-03-05T14:07:22.000+0000`: milliseconds, and an offset without a colon."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime | None:
    """An aware datetime from ISO-8601 with `Z` or an offset (with or without a colon)."""
    m = _DATETIME.fullmatch(text.strip())
    if m is None:
        return None
    offset = m.group(8).upper()
    if offset != "Z" and ":" not in offset:
        offset = offset[:3] + ":" + offset[3:]
    fraction = (m.group(7) or "0")[:6].ljust(6, "0")
    iso = f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}:{m.group(5)}:{m.group(6)}"
    try:
        parsed = datetime.fromisoformat(f"{iso}.{fraction}{'+00:00' if offset == 'Z' else offset}")
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def parse_date(text: str) -> date | None:
    if not _DATE.fullmatch(text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def truncate_ms(value: datetime) -> datetime:
    """Salesforce keeps milliseconds."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def floor_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)
