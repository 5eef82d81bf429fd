"""Dialing-list files: CSV text validated into `DialingRecord`s before any is stored.

The first line names the columns: `record_id` and `phone` (or `phones`) are required; `name`,
`time_zone`, `state` and `priority` are optional; any other column is a mistake (a misspelt
`priority` would otherwise vanish). A cell may hold several numbers separated by `;`, tried in
that order. Numbers in national form are read in the upload's region and kept as E.164.
Every mistake is a `ListFileError` naming the line and the column; one mistake rejects the
whole file, so an upload is stored whole or not at all.
"""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from callbridge.domain.dialer.ids import RecordId
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.domain.errors import InvalidInput

REQUIRED = ("record_id",)
PHONE_COLUMNS = ("phone", "phones")
OPTIONAL = ("name", "time_zone", "state", "priority")
MAX_RECORDS = 200_000


class ListFileError(InvalidInput):
    """A dialing-list file that cannot be loaded; the message names the line and the column."""

    code = "invalid_list"


def parse_list_csv(text: str, region: str = "US") -> list[DialingRecord]:
    """The records in `text`, in file order (`position` counts from 0)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ListFileError("the file is empty: give a header line", field="header") from None
    except csv.Error as exc:
        raise _error(1, "header", str(exc)) from None
    _check_header(header)
    phone_column = next(c for c in PHONE_COLUMNS if c in header)
    records: list[DialingRecord] = []
    seen: dict[str, int] = {}
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise _error(
                    line, "row", f"{len(row)} cells, the header names {len(header)} columns"
                )
            cells = {column: cell.strip() for column, cell in zip(header, row, strict=True)}
            record = _record(cells, phone_column, region, line, len(records))
            if record.record_id in seen:
                raise _error(
                    line,
                    "record_id",
                    f"{record.record_id!r} is already on line {seen[record.record_id]}",
                )
            seen[record.record_id] = line
            records.append(record)
            if len(records) > MAX_RECORDS:
                raise _error(line, "row", f"more than {MAX_RECORDS} records: split the file")
    except csv.Error as exc:
        raise _error(reader.line_num, "row", str(exc)) from None
    if not records:
        raise ListFileError("the file has a header but no records", field="records")
    return records


def _check_header(header: list[str]) -> None:
    known = (*REQUIRED, *PHONE_COLUMNS, *OPTIONAL)
    for column in header:
        if column not in known:
            raise _error(1, column, f"unknown column (known: {', '.join(known)})")
    if len(set(header)) != len(header):
        raise _error(1, "header", "a column is named twice")
    if "record_id" not in header:
        raise _error(1, "record_id", "the header must name a record_id column")
    if sum(c in header for c in PHONE_COLUMNS) != 1:
        raise _error(1, "phone", "the header must name one phone (or phones) column")


def _record(
    cells: dict[str, str], phone_column: str, region: str, line: int, position: int
) -> DialingRecord:
    record_id = cells["record_id"]
    if not record_id:
        raise _error(line, "record_id", "empty")
    raw = [p.strip() for p in cells[phone_column].split(";") if p.strip()]
    if not raw:
        raise _error(line, phone_column, "no phone number")
    phones = tuple(dict.fromkeys(_e164(p, region, line, phone_column) for p in raw))
    zone = cells.get("time_zone") or None
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise _error(line, "time_zone", f"unknown time zone {zone!r}") from None
    state = (cells.get("state") or "").upper() or None
    if state is not None and not (len(state) == 2 and state.isalpha()):
        raise _error(line, "state", f"{state!r} is not a two-letter state code")
    priority_text = cells.get("priority") or "0"
    try:
        priority = int(priority_text)
    except ValueError:
        raise _error(line, "priority", f"{priority_text!r} is not a whole number") from None
    return DialingRecord(
        RecordId(record_id),
        phones,
        cells.get("name", ""),
        zone,
        state,
        priority,
        position,
    )


def _e164(text: str, region: str, line: int, column: str) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise _error(line, column, f"{text!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise _error(line, column, f"{text!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _error(line: int, column: str, message: str) -> ListFileError:
    return ListFileError(f"line {line}, {column}: {message}", field=column, line=line)
