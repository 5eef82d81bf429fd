"""Pure conversions between domain objects and what the tables hold.

Nothing here touches a database. Rows are plain mappings keyed by column name; JSON documents
are `JsonValue`s. Reading checks shapes and raises `StorageError` naming the row and field, so a
damaged row is reported instead of half-loaded.

Personal data (addresses, numbers, notes, attached data) is sealed with a `FieldCipher` on the
way in and opened on the way out, with the column's name as associated data (see `sealing`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from callbridge.adapters.store.sealing import open_map, seal_map
from callbridge.domain.agents import Agent, Presence
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.errors import StorageError
from callbridge.domain.events import Event
from callbridge.domain.ids import (
    AgentId,
    DispositionCode,
    GroupName,
    InteractionId,
    QueueId,
    SkillId,
)
from callbridge.domain.interactions import EndReason, Interaction, InteractionState
from callbridge.domain.live import Disposition
from callbridge.domain.queues import (
    AddGroup,
    DropSkill,
    EscalationStep,
    OverflowAction,
    OverflowKind,
    Queue,
    RelaxProficiency,
    SkillRequirement,
    Strategy,
    WrapUpPolicy,
)
from callbridge.ports import JsonValue

if TYPE_CHECKING:
    from callbridge.services.security.crypto import FieldCipher

# A result row's mapping (SQLAlchemy's RowMapping) or a plain dict, keyed by column name.
Row = Mapping[Any, Any]
JsonObject = dict[str, JsonValue]
E = TypeVar("E", bound=Enum)
T = TypeVar("T")

# --- time: the one place where float epoch seconds meet datetimes ----------------------------


def to_datetime(at: float) -> datetime:
    """Epoch seconds as an aware UTC datetime, rounded to the microsecond."""
    return datetime.fromtimestamp(at, tz=UTC)


def from_datetime(value: datetime) -> float:
    """Back to epoch seconds. A naive value (SQLite keeps no zone) is UTC, as it was written."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


# --- JSON --------------------------------------------------------------------------------------


def to_json(value: object) -> JsonValue:
    """A JSON-ready copy: enums become their values, tuples and sets lists, keys strings,
    dataclass instances objects of their fields (as `dataclasses.asdict` would)."""
    if isinstance(value, Enum):
        return to_json(value.value)
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be stored as JSON")
        return value
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((to_json(v) for v in value), key=repr)
    if isinstance(value, dict):
        out: JsonObject = {}
        for key, v in value.items():
            if isinstance(key, Enum):
                key = key.value
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
            out[key] = to_json(v)
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise TypeError(f"a value of type {type(value).__name__} cannot be stored as JSON")


class _Reader:
    """Typed access to one stored JSON object, with errors that say where."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise _malformed(where, "should be a JSON object")
        self.data: dict[str, object] = value
        self.where = where

    def _get(self, key: str, types: tuple[type, ...], what: str) -> Any:
        value = self.data.get(key)
        # bool is an int to Python, never to a stored document
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise _malformed(f"{self.where}.{key}", f"should be {what}")
        return value

    def text(self, key: str) -> str:
        return str(self._get(key, (str,), "a string"))

    def opt_text(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.text(key)

    def integer(self, key: str) -> int:
        return int(self._get(key, (int,), "an integer"))

    def number(self, key: str) -> float:
        return float(self._get(key, (int, float), "a number"))

    def opt_number(self, key: str) -> float | None:
        return None if self.data.get(key) is None else self.number(key)

    def flag(self, key: str) -> bool:
        return bool(self._get(key, (bool,), "true or false"))

    def array(self, key: str) -> list[object]:
        return list(self._get(key, (list,), "a list"))

    def child(self, key: str) -> _Reader | None:
        value = self.data.get(key)
        return None if value is None else _Reader(value, f"{self.where}.{key}")


def _malformed(where: str, problem: str) -> StorageError:
    return StorageError(f"stored {where} {problem}", field=where)


def _str_map(value: object, where: str) -> dict[str, str]:
    reader = _Reader(value, where)
    return {key: reader.text(key) for key in reader.data}


def _int_map(value: object, where: str) -> dict[str, int]:
    reader = _Reader(value, where)
    return {key: reader.integer(key) for key in reader.data}


# --- queues ------------------------------------------------------------------------------------


def queue_config(queue: Queue) -> JsonObject:
    """The whole queue definition except id and name, which have their own columns."""
    return {
        "requirements": [
            {"skill": r.skill, "min_proficiency": r.min_proficiency} for r in queue.requirements
        ],
        "priority": queue.priority,
        "service_level_s": queue.service_level_s,
        "max_wait_s": queue.max_wait_s,
        "overflow": None if queue.overflow is None else _overflow_json(queue.overflow),
        "no_agent": None if queue.no_agent is None else _overflow_json(queue.no_agent),
        "escalation": [_step_json(step) for step in queue.escalation],
        "strategy": queue.strategy.value,
        "offer_timeout_s": queue.offer_timeout_s,
        "wrap_up": {
            "duration_s": queue.wrap_up.duration_s,
            "disposition_required": queue.wrap_up.disposition_required,
            "notes_required": queue.wrap_up.notes_required,
            "default_disposition": queue.wrap_up.default_disposition,
        },
        "script": queue.script,
    }


def _overflow_json(action: OverflowAction) -> JsonObject:
    return {
        "kind": action.kind.value,
        "target_queue": action.target_queue,
        "message": action.message,
    }


STEP_KINDS: dict[type[EscalationStep], str] = {
    RelaxProficiency: "relax_proficiency",
    DropSkill: "drop_skill",
    AddGroup: "add_group",
}


def _step_json(step: EscalationStep) -> JsonObject:
    out: JsonObject = {"kind": STEP_KINDS[type(step)], "after_s": step.after_s}
    if isinstance(step, RelaxProficiency):
        out |= {"skill": step.skill, "min_proficiency": step.min_proficiency}
    elif isinstance(step, DropSkill):
        out["skill"] = step.skill
    else:
        out["group"] = step.group
    return out


def queue_from_config(queue_id: str, name: str, config: object) -> Queue:
    where = f"queue {queue_id!r}"
    c = _Reader(config, where)
    requirements = []
    for i, item in enumerate(c.array("requirements")):
        r = _Reader(item, f"{where}.requirements[{i}]")
        requirements.append(
            SkillRequirement(SkillId(r.text("skill")), r.integer("min_proficiency"))
        )
    overflow = c.child("overflow")
    no_agent = c.child("no_agent")  # absent from queues stored before it existed
    wrap_up = c.child("wrap_up")
    return Queue(
        id=QueueId(queue_id),
        name=name,
        requirements=tuple(requirements),
        priority=c.integer("priority"),
        service_level_s=c.number("service_level_s"),
        max_wait_s=c.opt_number("max_wait_s"),
        overflow=None if overflow is None else _overflow_from(overflow),
        no_agent=None if no_agent is None else _overflow_from(no_agent),
        escalation=tuple(
            _step_from(_Reader(item, f"{where}.escalation[{i}]"))
            for i, item in enumerate(c.array("escalation"))
        ),
        strategy=_enum(Strategy, c.text("strategy"), f"{where}.strategy"),
        offer_timeout_s=c.number("offer_timeout_s"),
        wrap_up=WrapUpPolicy() if wrap_up is None else _wrap_up_from(wrap_up),
        script=c.opt_text("script"),  # absent from queues stored before scripts
    )


def _overflow_from(r: _Reader) -> OverflowAction:
    target = r.opt_text("target_queue")
    return OverflowAction(
        kind=_enum(OverflowKind, r.text("kind"), f"{r.where}.kind"),
        target_queue=None if target is None else QueueId(target),
        message=r.opt_text("message"),
    )


def _step_from(r: _Reader) -> EscalationStep:
    kind = r.text("kind")
    if kind == "relax_proficiency":
        return RelaxProficiency(
            r.number("after_s"), SkillId(r.text("skill")), r.integer("min_proficiency")
        )
    if kind == "drop_skill":
        return DropSkill(r.number("after_s"), SkillId(r.text("skill")))
    if kind == "add_group":
        return AddGroup(r.number("after_s"), GroupName(r.text("group")))
    raise _malformed(f"{r.where}.kind", f"is unknown: {kind!r}")


def _wrap_up_from(r: _Reader) -> WrapUpPolicy:
    default = r.opt_text("default_disposition")
    return WrapUpPolicy(
        duration_s=r.number("duration_s"),
        disposition_required=r.flag("disposition_required"),
        notes_required=r.flag("notes_required"),
        default_disposition=None if default is None else DispositionCode(default),
    )


def _enum(cls: type[E], value: str, where: str) -> E:
    try:
        return cls(value)
    except ValueError:
        raise _malformed(where, f"is not a known {cls.__name__}: {value!r}") from None


# --- agents ------------------------------------------------------------------------------------


def agent_row(agent: Agent) -> dict[str, object]:
    """The agents row. Skills go to agent_skills; work is not stored (restore derives it)."""
    return {
        "id": agent.id,
        "name": agent.name,
        "ordinal": agent.ordinal,
        "presence": agent.presence.value,
        "reason": agent.reason,
        "presence_since": agent.presence_since,
        "idle_since": agent.idle_since,
        "logged_in_at": agent.logged_in_at,
        "busy_seconds": agent.busy_seconds,
        "busy_since": agent.busy_since,
        "capacity": {channel.value: n for channel, n in agent.capacity.items()},
        "groups": sorted(agent.groups),
    }


def agent_skill_rows(agent: Agent) -> list[dict[str, object]]:
    return [
        {"agent_id": agent.id, "skill": skill, "proficiency": proficiency}
        for skill, proficiency in agent.skills.items()
    ]


def agent_from_row(row: Row, skills: Mapping[str, int]) -> Agent:
    where = f"agent {row['id']!r}"
    capacity = _int_map(row["capacity"], f"{where}.capacity")
    groups = row["groups"]
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise _malformed(f"{where}.groups", "should be a list of strings")
    return Agent(
        id=AgentId(row["id"]),
        name=row["name"],
        skills={SkillId(s): p for s, p in skills.items()},
        capacity={_enum(Channel, c, f"{where}.capacity"): n for c, n in capacity.items()},
        groups=frozenset(GroupName(g) for g in groups),
        presence=_enum(Presence, row["presence"], f"{where}.presence"),
        reason=row["reason"],
        presence_since=row["presence_since"],
        idle_since=row["idle_since"],
        logged_in_at=row["logged_in_at"],
        busy_seconds=row["busy_seconds"],
        busy_since=row["busy_since"],
        ordinal=row["ordinal"],
    )


# --- interactions ------------------------------------------------------------------------------


def interaction_row(ix: Interaction, cipher: FieldCipher) -> dict[str, object]:
    """The interactions row, personal fields sealed and the addresses' blind indexes set."""
    ad = "interactions."
    return {
        "id": ix.id,
        "channel": ix.channel.value,
        "direction": ix.direction.value,
        "from_address": cipher.seal(ix.from_address, ad + "from_address"),
        "to_address": cipher.seal(ix.to_address, ad + "to_address"),
        "from_index": _index(ix.from_address, cipher),
        "to_index": _index(ix.to_address, cipher),
        "callback_index": _index(ix.callback_number, cipher),
        "created_at": ix.created_at,
        "attached": seal_map(ix.attached, ad + "attached", cipher),
        "state": ix.state.value,
        "queue_id": ix.queue_id,
        "priority": ix.priority,
        "extra_skills": dict(ix.extra_skills),
        "seq": ix.seq,
        "queue_entered_at": ix.queue_entered_at,
        "agent_id": ix.agent_id,
        "offer_deadline": ix.offer_deadline,
        "callback_number": cipher.seal_opt(ix.callback_number, ad + "callback_number"),
        "answered_at": ix.answered_at,
        "ended_at": ix.ended_at,
        "end_reason": None if ix.end_reason is None else ix.end_reason.value,
        "last_agent_id": ix.last_agent_id,
        "wrap_up_deadline": ix.wrap_up_deadline,
        "disposition": ix.disposition,
        "notes": cipher.seal_opt(ix.notes, ad + "notes"),
        "escalation_level": ix.escalation_level,
        "version": ix.version,
    }


def _index(address: str | None, cipher: FieldCipher) -> str | None:
    # no index for a blank address: it would make every such interaction match each other
    return cipher.index(address) if address and address.strip() else None


def interaction_from_row(row: Row, cipher: FieldCipher) -> Interaction:
    where = f"interaction {row['id']!r}"
    end_reason = row["end_reason"]
    ad = "interactions."
    return Interaction(
        id=InteractionId(row["id"]),
        channel=_enum(Channel, row["channel"], f"{where}.channel"),
        direction=_enum(Direction, row["direction"], f"{where}.direction"),
        from_address=cipher.open(row["from_address"], ad + "from_address"),
        to_address=cipher.open(row["to_address"], ad + "to_address"),
        created_at=row["created_at"],
        attached=open_map(_str_map(row["attached"], f"{where}.attached"), ad + "attached", cipher),
        state=_enum(InteractionState, row["state"], f"{where}.state"),
        queue_id=_opt_id(QueueId, row["queue_id"]),
        priority=row["priority"],
        extra_skills={
            SkillId(s): p for s, p in _int_map(row["extra_skills"], f"{where}.extra_skills").items()
        },
        seq=row["seq"],
        queue_entered_at=row["queue_entered_at"],
        agent_id=_opt_id(AgentId, row["agent_id"]),
        offer_deadline=row["offer_deadline"],
        callback_number=cipher.open_opt(row["callback_number"], ad + "callback_number"),
        answered_at=row["answered_at"],
        ended_at=row["ended_at"],
        end_reason=None if end_reason is None else _enum(EndReason, end_reason, where),
        last_agent_id=_opt_id(AgentId, row["last_agent_id"]),
        wrap_up_deadline=row["wrap_up_deadline"],
        disposition=_opt_id(DispositionCode, row["disposition"]),
        notes=cipher.open_opt(row["notes"], ad + "notes"),
        escalation_level=row["escalation_level"],
        version=row["version"],
    )


def _opt_id(make: Callable[[str], T], value: str | None) -> T | None:
    return None if value is None else make(value)


# --- dispositions ------------------------------------------------------------------------------


def disposition_row(disposition: Disposition) -> dict[str, object]:
    return {"code": disposition.code, "label": disposition.label}


def disposition_from_row(row: Row) -> Disposition:
    return Disposition(DispositionCode(row["code"]), row["label"])


# --- events ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class EventRecord:
    """One event as the log stores it: `at` and the ids it is looked up by have own columns."""

    at: float
    kind: str
    interaction_id: InteractionId | None
    agent_id: AgentId | None
    queue_id: QueueId | None
    payload: JsonObject


def event_record(event: Event) -> EventRecord:
    """The payload is every field but `at`, as JSON (a routing decision becomes a nested object).

    The agent is the one the event is about, or else the one who transferred it; the queue is the
    one it is about, or else the one it was transferred to.
    """
    # not dataclasses.asdict: its deep copy costs more than the rest of the record, and
    # to_json copies anyway
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.name != "at"}
    payload = to_json(fields)
    assert isinstance(payload, dict)
    return EventRecord(
        at=event.at,
        kind=event.kind,
        interaction_id=_opt_id(InteractionId, _id_field(fields, "interaction_id")),
        agent_id=_opt_id(AgentId, _id_field(fields, "agent_id", "from_agent_id")),
        queue_id=_opt_id(QueueId, _id_field(fields, "queue_id", "to_queue_id")),
        payload=payload,
    )


def _id_field(fields: Mapping[str, object], *names: str) -> str | None:
    for name in names:
        value = fields.get(name)
        if isinstance(value, str) and value:
            return value
    return None
