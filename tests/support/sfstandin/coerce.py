"""Field values from JSON or CSV input, checked against the field's type as Salesforce does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sfstandin.errors import SfError, json_parser_error
from sfstandin.ids import parse_id, sobject_for_prefix
from sfstandin.schema import FieldDef, SObjectDef
from sfstandin.timefmt import parse_date, parse_datetime, truncate_ms

if TYPE_CHECKING:
    from sfstandin.store import Store

_TEXT = frozenset({"string", "textarea", "phone", "email", "url", "picklist", "combobox", "id"})


def _deserialize_error(type_name: str, raw: object) -> SfError:
    kind = "VALUE_STRING" if isinstance(raw, str) else "VALUE_" + type(raw).__name__.upper()
    return json_parser_error(f"Cannot deserialize instance of {type_name} from {kind} value {raw}")


def coerce_value(store: Store, sdef: SObjectDef, fdef: FieldDef, raw: Any) -> Any:
    """The stored form of `raw` for `fdef`, or the error Salesforce gives for it."""
    label = fdef.label or fdef.name
    if raw is None:
        return False if fdef.type == "boolean" else None
    if fdef.type == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise _deserialize_error("boolean", raw)
    if fdef.type in ("int", "double"):
        if isinstance(raw, bool):
            raise _deserialize_error(fdef.type, raw)
        try:
            number = float(raw) if isinstance(raw, (str, int, float)) else None
        except ValueError:
            number = None
        if number is None:
            raise _deserialize_error(fdef.type, raw)
        return int(number) if fdef.type == "int" else number
    if fdef.type == "datetime":
        parsed = parse_datetime(raw) if isinstance(raw, str) else None
        if parsed is None:
            raise _deserialize_error("datetime", raw)
        return truncate_ms(parsed)
    if fdef.type == "date":
        text = raw[:10] if isinstance(raw, str) else ""
        if parse_date(text) is None:
            raise _deserialize_error("date", raw)
        return text
    if fdef.type == "reference":
        return _reference(store, fdef, label, raw)
    if fdef.type in _TEXT:
        if isinstance(raw, (dict, list)):
            raise _deserialize_error("string", raw)
        text = (
            raw if isinstance(raw, str) else str(raw).lower() if isinstance(raw, bool) else str(raw)
        )
        limit = 40 if fdef.type == "phone" else fdef.length
        if len(text) > limit:
            raise SfError(
                400,
                "STRING_TOO_LONG",
                f"{label}: data value too large: {text[:limit]} (max length={limit})",
                [fdef.name],
            )
        return text or None
    return raw


def _reference(store: Store, fdef: FieldDef, label: str, raw: Any) -> str | None:
    if raw == "":
        return None
    rid = parse_id(raw)
    if rid is None:
        raise SfError(
            400, "MALFORMED_ID", f"{label}: id value of incorrect type: {raw}", [fdef.name]
        )
    target = sobject_for_prefix(rid[:3])
    if target not in fdef.reference_to:
        raise SfError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            f"{label}: id value of incorrect type: {raw}",
            [fdef.name],
        )
    assert target is not None
    row = store.tables.get(target, {}).get(rid)
    if row is None:
        raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [fdef.name])
    if row["IsDeleted"]:
        raise SfError(400, "ENTITY_IS_DELETED", "entity is deleted", [fdef.name])
    return rid
