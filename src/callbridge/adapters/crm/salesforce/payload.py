"""Reading Salesforce's JSON without trusting its shape, and its date-times both ways."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from callbridge.adapters.crm.salesforce.errors import SalesforceError
from callbridge.domain.crm.records import FieldValue

Json = dict[str, object]
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


def as_object(value: object, what: str) -> Json:
    if not isinstance(value, dict):
        raise SalesforceError(f"unexpected Salesforce answer for {what}: not an object")
    return {str(k): v for k, v in value.items()}


def as_list(value: object, what: str) -> list[object]:
    if not isinstance(value, list):
        raise SalesforceError(f"unexpected Salesforce answer for {what}: not a list")
    return value


def objects(value: object, what: str) -> list[Json]:
    return [as_object(item, what) for item in as_list(value, what)]


def text(record: Json, name: str) -> str | None:
    """A string field; a dotted name follows parent relationships (`Account.Name`)."""
    head, _, rest = name.partition(".")
    value = record.get(head)
    if rest:
        return text(as_object(value, head), rest) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value else None


def flag(record: Json, name: str) -> bool:
    head, _, rest = name.partition(".")
    value = record.get(head)
    if rest:
        return isinstance(value, dict) and flag(as_object(value, head), rest)
    return value is True


def scalars(record: Json) -> dict[str, FieldValue]:
    """The record's plain fields, without `attributes` and nested relationships."""
    return {
        k: v
        for k, v in record.items()
        if k != "attributes" and (v is None or isinstance(v, str | int | float | bool))
    }


def record_type(record: Json) -> str | None:
    attributes = record.get("attributes")
    return text(as_object(attributes, "attributes"), "type") if attributes else None


def is_record_id(value: str) -> bool:
    """A 15- or 18-character Salesforce id (kept out of URLs and SOQL otherwise)."""
    return _ID.fullmatch(value) is not None


def to_datetime(value: str) -> datetime:
    """`2024-03-05T14:07:22.000+0000` (or ISO-8601 with Z / +00:00) as an aware UTC datetime."""
    cleaned = value.strip().replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", cleaned):
        cleaned = f"{cleaned[:-2]}:{cleaned[-2:]}"
    moment = datetime.fromisoformat(cleaned)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_datetime(value: str) -> float:
    """Epoch seconds of a Salesforce date-time."""
    return to_datetime(value).timestamp()


def soql_datetime(moment: datetime) -> str:
    """An unquoted SOQL date-time literal, to the millisecond: `2024-03-05T14:07:22.123Z`.
    Built from the datetime, not a float, so a watermark never drifts below itself."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def iso_datetime(at: float) -> str:
    """The `start`/`end` of getUpdated/getDeleted: ISO-8601 with an offset, whole seconds."""
    return datetime.fromtimestamp(int(at), UTC).isoformat()
