"""Reading fields (with parent dot paths) and rendering records as the REST API returns them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sfstandin.errors import SfError
from sfstandin.schema import SCHEMA, FieldDef, SObjectDef
from sfstandin.store import Row, Store
from sfstandin.timefmt import format_datetime

_NO_COLUMN = (
    "No such column '{name}' on entity '{entity}'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)


@dataclass(frozen=True)
class FieldPath:
    """`Contact.Account.Name` on CampaignMember: relationship steps, then a leaf field."""

    steps: tuple[FieldDef, ...]  # reference fields followed
    leaf: FieldDef
    leaf_types: tuple[str, ...]  # the object types the leaf may live on

    @property
    def names(self) -> tuple[str, ...]:
        rels = tuple(s.relationship_name or s.name for s in self.steps)
        return (*rels, self.leaf.name)

    @property
    def text(self) -> str:
        return ".".join(self.names)


def _targets(fdef: FieldDef) -> tuple[str, ...]:
    return tuple(t for t in fdef.reference_to if t in SCHEMA)


def compile_path(sobject: str, dotted: str) -> FieldPath:
    """Resolve a dotted field name against the schema, or raise INVALID_FIELD."""
    parts = dotted.split(".")
    types: tuple[str, ...] = (sobject,)
    steps: list[FieldDef] = []
    for i, part in enumerate(parts):
        defs = [SCHEMA[t] for t in types]
        if i == len(parts) - 1:
            leaf = _field_on(defs, part)
            if leaf is None:
                raise SfError(400, "INVALID_FIELD", _NO_COLUMN.format(name=part, entity=types[0]))
            return FieldPath(tuple(steps), leaf, types)
        rel = next((d.relationship(part) for d in defs if d.relationship(part)), None)
        if rel is None:
            raise SfError(
                400,
                "INVALID_FIELD",
                f"Didn't understand relationship '{part}' in field path. If you are attempting "
                "to use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name. Please reference your WSDL or the describe call for the "
                "appropriate names.",
            )
        steps.append(rel)
        types = _targets(rel)
    raise AssertionError("unreachable")


def _field_on(defs: list[SObjectDef], name: str) -> FieldDef | None:
    found = [d.field(name) for d in defs]
    if len(defs) > 1:  # polymorphic: only fields every target has (the "Name" entity)
        return found[0] if all(found) else None
    return found[0]


def read_path(store: Store, sobject: str, row: Row | None, path: FieldPath) -> Any:
    """The value at `path`, or None when a relationship on the way is empty."""
    current_type, current = sobject, row
    for step in path.steps:
        if current is None:
            return None
        ref = current.get(step.name)
        located = store.locate(ref) if ref else None
        if located is None:
            return None
        current_type, current = located
    if current is None:
        return None
    return store.value(current_type, current, path.leaf.name)


def json_value(fdef: FieldDef, value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if fdef.type == "double" and isinstance(value, int):
        return float(value)
    return value


def attributes(
    sobject: str, record_id: str, version: str, *, kind: str | None = None
) -> dict[str, str]:
    return {
        "type": kind or sobject,
        "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}",
    }


def render(
    store: Store, sobject: str, row: Row, paths: list[FieldPath], version: str
) -> dict[str, Any]:
    """A record with its `attributes`, parent fields nested under their relationship names."""
    out: dict[str, Any] = {"attributes": attributes(sobject, row["Id"], version)}
    for path in paths:
        _place(store, out, sobject, row, path.steps, path.leaf, version)
    return out


def _place(
    store: Store, out: dict[str, Any], sobject: str, row: Row,
    steps: tuple[FieldDef, ...], leaf: FieldDef, version: str,
) -> None:  # fmt: skip
    if not steps:
        out[leaf.name] = json_value(leaf, store.value(sobject, row, leaf.name))
        return
    step = steps[0]
    rel = step.relationship_name or step.name
    ref = row.get(step.name)
    located = store.locate(ref) if ref else None
    if located is None:
        out[rel] = None
        return
    parent_type, parent = located
    nested = out.get(rel)
    if not isinstance(nested, dict):
        polymorphic = len(step.reference_to) > 1 or step.name == "OwnerId"
        kind = "Name" if polymorphic else None
        nested = {"attributes": attributes(parent_type, parent["Id"], version, kind=kind)}
        out[rel] = nested
    _place(store, nested, parent_type, parent, steps[1:], leaf, version)


def full_record(store: Store, sobject: str, row: Row, version: str) -> dict[str, Any]:
    """Every field of a record, as a GET without `fields` returns it."""
    sdef = SCHEMA[sobject]
    out: dict[str, Any] = {"attributes": attributes(sobject, row["Id"], version)}
    for fdef in sdef.fields:
        out[fdef.name] = json_value(fdef, store.value(sobject, row, fdef.name))
    return out


def select_fields(
    store: Store, sobject: str, row: Row, names: list[str], version: str
) -> dict[str, Any]:
    """A record limited to `names` (the `fields` parameter), which must all exist."""
    return render(store, sobject, row, [compile_path(sobject, n) for n in names], version)
