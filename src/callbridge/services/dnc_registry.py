"""Importing a national do-not-call registry copy (the FTC's National DNC Registry, the UK's TPS)
into the `RegistryCopy` the dialer checks every dial against.

The file is the registry's download: one number per line, in national or international form,
or the FTC's "area code,number" pairs; blank lines and lines starting with '#' are skipped.
Numbers are normalised to E.164 in `region`. When the copy was obtained is what the 31-day rule
counts from; it is the caller's to say (the download date), else the file's modification time.
A line that is not a possible number is counted, not fatal: registries carry a few.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import phonenumbers

from callbridge.domain.dialer.dnc import RegistryCopy
from callbridge.domain.errors import InvalidInput


@dataclass(frozen=True)
class RegistryImport:
    """The copy, and the lines that were not numbers (count and the first few, by line)."""

    copy: RegistryCopy
    rejected: int
    examples: tuple[tuple[int, str], ...]


def parse_registry(
    lines: Iterable[str], obtained_at: datetime, region: str = "US", name: str = "national registry"
) -> RegistryImport:
    """The registry copy in `lines` (no I/O: the text of the download)."""
    if obtained_at.tzinfo is None:
        raise InvalidInput("when the copy was obtained must carry a time zone", field="obtained_at")
    numbers: set[str] = set()
    rejected = 0
    examples: list[tuple[int, str]] = []
    for index, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        number = _e164(text.replace(",", "").replace(" ", ""), region)
        if number is None:
            rejected += 1
            if len(examples) < 5:
                examples.append((index, text))
            continue
        numbers.add(number)
    return RegistryImport(
        RegistryCopy(obtained_at, frozenset(numbers), name), rejected, tuple(examples)
    )


def load_registry(
    path: Path,
    region: str = "US",
    obtained_at: datetime | None = None,
    name: str = "national registry",
) -> RegistryImport:
    """Read the registry download at `path`; `obtained_at` defaults to the file's mtime."""
    try:
        when = obtained_at or datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        with path.open(encoding="utf-8", errors="replace") as lines:
            return parse_registry(lines, when, region, name)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read: {exc.strerror}", field="registry") from None


def _e164(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
