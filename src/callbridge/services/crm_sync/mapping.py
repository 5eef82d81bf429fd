"""Field mapping: a validated YAML file that says which CRM field gets what from an activity.

    object: Task
    fields:
      Subject:               {from: subject, truncate: 255}
      CallDurationInSeconds: {from: duration_s}
      CallDisposition:       {from: disposition_code, transform: label, truncate: 255}
      Description:           {template: "{notes}\\nQueue: {queue}", truncate: 32000}
      Status:                {value: Completed}
      ActivityDate:          {from: ended_at, transform: date}

Each field takes exactly one of `from` (an activity field), `template` (activity fields in
braces) or `value` (a constant), then optionally `transform`, `default` and `truncate`. A
mistake is reported with the file, the line and the field, before anything is delivered.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from callbridge.documents import NotYaml, line_of, read_yaml
from callbridge.domain.crm.records import (
    Activity,
    ActivityDirection,
    FieldValue,
    RecordRef,
    RecordType,
)
from callbridge.domain.errors import InvalidInput

# What a dry run maps when no real interaction is named: an inbound call, wrapped up.
SAMPLE_ACTIVITY = Activity(
    external_id="sample-interaction",
    subject="Inbound call - Support",
    channel="voice",
    direction=ActivityDirection.INBOUND,
    started_at=1_800_000_000.0,
    ended_at=1_800_000_240.0,
    duration_s=212,
    customer_address="+14155550100",
    queue="Support",
    agent="Ann Agent",
    disposition_code="resolved",
    disposition_label="Resolved",
    notes="Customer asked about a refund; sent.",
    who=RecordRef(RecordType.CONTACT, "003000000000001AAA"),
    what=RecordRef(RecordType.CASE, "500000000000001AAA"),
)


class MappingError(InvalidInput):
    """A field mapping that cannot be used: the message names the line and the field."""


ATTACHED = "attached."  # `from: attached.account` reads what an IVR or an agent attached


def sources(activity: Activity) -> dict[str, FieldValue]:
    """The values a mapping can draw on, by name."""
    return {
        "interaction_id": activity.external_id,
        "subject": activity.subject,
        "channel": activity.channel,
        "direction": activity.direction.value,
        "started_at": activity.started_at,
        "ended_at": activity.ended_at,
        "duration_s": activity.duration_s,
        "customer_address": activity.customer_address,
        "queue": activity.queue,
        "agent": activity.agent,
        "disposition_code": activity.disposition_code,
        "disposition_label": activity.disposition_label,
        "notes": activity.notes,
        "who_type": None if activity.who is None else activity.who.type.value,
        "who_id": None if activity.who is None else activity.who.id,
        "what_type": None if activity.what is None else activity.what.type.value,
        "what_id": None if activity.what is None else activity.what.id,
        "recording_url": activity.recording_url,
        "end_reason": activity.end_reason,
        **{ATTACHED + name: value for name, value in activity.attached.items()},
    }


# The names `sources` gives values for, besides attached ones (a test keeps the two in step).
SOURCE_FIELDS = (
    "interaction_id",
    "subject",
    "channel",
    "direction",
    "started_at",
    "ended_at",
    "duration_s",
    "customer_address",
    "queue",
    "agent",
    "disposition_code",
    "disposition_label",
    "notes",
    "who_type",
    "who_id",
    "what_type",
    "what_id",
    "recording_url",
    "end_reason",
)


def _date(value: FieldValue) -> FieldValue:
    if not isinstance(value, int | float):
        return value
    return datetime.fromtimestamp(value, UTC).date().isoformat()


def _datetime(value: FieldValue) -> FieldValue:
    if not isinstance(value, int | float):
        return value
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _seconds(value: FieldValue) -> FieldValue:
    return round(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _minutes(value: FieldValue) -> FieldValue:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(value / 60, 2)
    return value


def _text(fn: Callable[[str], str]) -> Callable[[FieldValue], FieldValue]:
    return lambda value: fn(value) if isinstance(value, str) else value


Transform = Literal["seconds", "minutes", "date", "datetime", "upper", "lower", "label"]
TRANSFORMS: dict[str, Callable[[FieldValue], FieldValue]] = {
    "seconds": _seconds,
    "minutes": _minutes,
    "date": _date,
    "datetime": _datetime,
    "upper": _text(str.upper),
    "lower": _text(str.lower),
}


class FieldRule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str | None = Field(default=None, alias="from")
    template: str | None = None
    value: str | int | float | bool | None = None
    transform: Transform | None = None
    default: str | int | float | bool | None = None
    truncate: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_source(self) -> FieldRule:
        given = [
            name
            for name, present in (
                ("from", self.from_ is not None),
                ("template", self.template is not None),
                ("value", "value" in self.model_fields_set),
            )
            if present
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of from, template, value"
                + (f" (got {', '.join(given)})" if given else "")
            )
        known = set(SOURCE_FIELDS)
        if self.from_ is not None and not (
            self.from_ in known or (self.from_.startswith(ATTACHED) and self.from_ != ATTACHED)
        ):
            raise ValueError(
                f"unknown activity field {self.from_!r}; known: {', '.join(sorted(known))}, "
                "or attached.NAME"
            )
        if self.template is not None:
            for _, name, _, _ in string.Formatter().parse(self.template):
                if name is not None and name not in known:
                    raise ValueError(f"template names unknown activity field {name!r}")
        if self.transform == "label" and self.from_ != "disposition_code":
            raise ValueError("transform label works on from: disposition_code")
        return self


class MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object: str = Field(default="Task", min_length=1)
    fields: dict[str, FieldRule] = Field(min_length=1)


@dataclass(frozen=True)
class FieldMapping:
    """A validated mapping; `apply` turns an activity into CRM fields."""

    object: str
    rules: dict[str, FieldRule]
    origin: str
    text: str = ""  # the YAML it was read from

    def apply(self, activity: Activity) -> dict[str, FieldValue]:
        values = sources(activity)
        filled = {k: "" if v is None else v for k, v in values.items()}  # for templates
        out: dict[str, FieldValue] = {}
        for name, rule in self.rules.items():
            value: FieldValue
            if rule.from_ is not None:
                value = values.get(rule.from_)  # an attached value the interaction lacks: None
                if rule.transform == "label":
                    value = activity.disposition_label or activity.disposition_code
                elif rule.transform is not None:
                    value = TRANSFORMS[rule.transform](value)
            elif rule.template is not None:
                value = rule.template.format(**filled).strip()
                if rule.transform is not None and rule.transform != "label":
                    value = TRANSFORMS[rule.transform](value)
            else:
                value = rule.value
            if value is None or value == "":
                value = rule.default
            if rule.truncate is not None and isinstance(value, str):
                value = value[: rule.truncate]
            out[name] = value
        return out


def load_mapping(path: Path) -> FieldMapping:
    """Read and validate a mapping file; MappingError names the line and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot be read: {exc}", field="crm_mapping_file") from exc
    return parse_mapping(text, str(path))


def parse_mapping(text: str, origin: str = "<mapping>") -> FieldMapping:
    try:
        root, data = read_yaml(text, origin)
    except NotYaml as exc:
        raise MappingError(str(exc), field="yaml") from exc
    if not isinstance(data, dict):
        raise MappingError(
            f"{origin}: a mapping file is a YAML mapping with `fields`", field="fields"
        )
    try:
        parsed = MappingFile.model_validate(data)
    except ValidationError as exc:
        # an unknown key usually explains a missing one: report it first
        error = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        loc = [str(p) for p in error["loc"]]
        where = line_of(root, loc)
        field_name = loc[1] if len(loc) > 1 and loc[0] == "fields" else ".".join(loc) or "file"
        part = f" ({'.'.join(loc[2:])})" if len(loc) > 2 and loc[0] == "fields" else ""
        message = error["msg"].removeprefix("Value error, ")
        raise MappingError(
            f"{origin} line {where}, field {field_name}{part}: {message}",
            field=field_name,
            line=where,
        ) from exc
    return FieldMapping(parsed.object, parsed.fields, origin, text)


def mapping_json(mapping: FieldMapping) -> Mapping[str, Any]:
    return {"object": mapping.object, "fields": sorted(mapping.rules)}
