"""One builder per node kind: a node's fields, read and checked, into its typed node."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from callbridge.documents import line_of
from callbridge.domain.crm.records import LookupKey
from callbridge.domain.ivr.actions import Say, WaitPolicy
from callbridge.domain.ivr.document import KEYS, Fields
from callbridge.domain.ivr.expressions import Expression
from callbridge.domain.ivr.hours import HOURS_NAME, Schedule
from callbridge.domain.ivr.nodes import (
    BranchNode,
    Case,
    CollectNode,
    FlowRef,
    HangupNode,
    HoursNode,
    HoursRef,
    LookupNode,
    MenuNode,
    Node,
    QueueNode,
    SayNode,
    SetNode,
    TransferNode,
    VoicemailNode,
)

NUMBER = re.compile(r"\+?[0-9]{2,20}")
LOOKUP_KEYS = tuple(k.value for k in LookupKey if k is not LookupKey.NAME)

# the fields of each kind, besides the kind itself
RETRY_FIELDS = ("retries", "invalid", "no_input", "failure", "timeout", "barge_in")
FIELDS: dict[str, tuple[str, ...]] = {
    "say": ("next", "barge_in"),
    "play": ("next", "barge_in"),
    "menu": ("options", *RETRY_FIELDS),
    "collect": (
        "prompt", "next", "digits", "min_digits", "terminator", "inter_digit", "validate",
        "valid_if", "secret", *RETRY_FIELDS,
    ),
    "set": ("next", "priority", "skills"),
    "branch": ("else",),
    "hours": ("open", "closed"),
    "lookup": ("value", "into", "found", "not_found", "next"),
    "queue": ("priority", "skills", "wait"),
    "voicemail": ("prompt", "max_seconds"),
    "transfer": (),
    "hangup": (),
}  # fmt: skip
WAIT_FIELDS = (
    "announce_every", "announce_position", "announce_wait", "callback_after",
    "callback_when_wait_over", "callback_key", "music",
)  # fmt: skip
DEFAULT_INVALID = (Say("Sorry, that is not a valid choice."),)
DEFAULT_COLLECT_INVALID = (Say("Sorry, that entry is not valid."),)
DEFAULT_VOICEMAIL = (Say("Please leave a message after the tone. Hang up when you are done."),)


def _name(f: Fields) -> tuple[str, int]:
    assert f.node is not None  # builders only run on nodes
    return f.node, line_of(f.doc.root, f.loc)


def _say(f: Fields) -> Node:
    name, line = _name(f)
    kind = f.kind
    parts = f.doc.speech(f.raw(kind), f.at(kind), name, kind)
    next_ = f.target("next")
    assert next_ is not None  # required
    return SayNode(name, line, parts, next_, f.flag("barge_in", True), kind)


def _menu(f: Fields) -> Node:
    name, line = _name(f)
    prompt = f.prompt("menu")
    options = f.mapping("options", required=True)
    if not options:
        raise f.error("options", "missing branch: a menu needs at least one option")
    targets: dict[str, str] = {}
    for key in options:
        digit = str(key)
        if digit not in KEYS or isinstance(key, bool):
            raise f.doc.error(
                f"option '{key}' is not a key (0-9, * or #; quote * and #)",
                [*f.at("options"), digit],
                name,
            )
        target = f.target(digit, loc=[*f.at("options"), digit])
        assert target is not None  # required
        targets[digit] = target
    return MenuNode(
        name,
        line,
        prompt,
        targets,
        timeout_s=f.seconds("timeout", 5.0, 0.5),
        retries=f.integer("retries", 2, 0, 10),
        invalid=f.prompt("invalid", required=False) or DEFAULT_INVALID,
        no_input=f.prompt("no_input", required=False),
        failure=f.target("failure", required=False),
        barge_in=f.flag("barge_in", True),
    )


def _collect(f: Fields) -> Node:
    name, line = _name(f)
    variable = f.doc.variable_name(f.text("collect"), f.at("collect"), name)
    terminator = f.raw("terminator", None)
    if terminator is not None and (not isinstance(terminator, str) or terminator not in KEYS):
        raise f.error("terminator", "'terminator' is one key, usually \"#\" (quoted)")
    max_digits = f.integer("digits", 20 if terminator else None, 1, 64)
    min_digits = f.integer("min_digits", 1 if terminator else max_digits, 1, 64)
    if min_digits > max_digits:
        raise f.error("min_digits", "'min_digits' is more than 'digits'")
    validate = f.text("validate", "length")
    if validate not in ("length", "luhn"):
        raise f.error("validate", f"'validate' is length or luhn, not '{validate}'")
    next_ = f.target("next")
    assert next_ is not None  # required
    return CollectNode(
        name,
        line,
        variable,
        f.prompt("prompt"),
        next_,
        max_digits,
        min_digits,
        terminator=terminator,
        timeout_s=f.seconds("timeout", 5.0, 0.5),
        inter_digit_s=f.seconds("inter_digit", 3.0, 0.5),
        validate=validate,
        valid_if=f.expression("valid_if", required=False),
        retries=f.integer("retries", 2, 0, 10),
        invalid=f.prompt("invalid", required=False) or DEFAULT_COLLECT_INVALID,
        no_input=f.prompt("no_input", required=False),
        failure=f.target("failure", required=False),
        secret=f.flag("secret", False),
        barge_in=f.flag("barge_in", True),
    )


def _set(f: Fields) -> Node:
    name, line = _name(f)
    values: dict[str, Expression] = {}
    raw = f.raw("set", {})
    if not isinstance(raw, Mapping):
        raise f.error("set", "'set' maps variables to expressions, e.g. tier: crm.Tier")
    for key, value in raw.items():
        where = [*f.at("set"), str(key)]
        variable = f.doc.variable_name(str(key), where, name)
        if isinstance(value, str | int | float | bool) and not isinstance(value, str):
            value = _literal(value)  # YAML numbers and booleans are the values themselves
        values[variable] = f.doc.expression(value, where, name)
    priority = f.expression("priority", required=False)
    skills = f.skills("skills")
    if not values and priority is None and not skills:
        raise f.error("set", "a set node sets something: variables, 'priority' or 'skills'")
    next_ = f.target("next")
    assert next_ is not None  # required
    return SetNode(name, line, values, next_, priority, skills)


def _literal(value: int | float | bool) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _branch(f: Fields) -> Node:
    name, line = _name(f)
    cases_raw = f.raw("branch")
    if not isinstance(cases_raw, list) or not cases_raw:
        raise f.error("branch", "'branch' is a list of {if: condition, then: node}")
    cases: list[Case] = []
    for i, case in enumerate(cases_raw):
        where = [*f.at("branch"), str(i)]
        if not isinstance(case, Mapping) or set(case) - {"if", "then"} or "if" not in case:
            raise f.doc.error("each case is {if: condition, then: node}", where, name)
        condition = f.doc.expression(case["if"], [*where, "if"], name)
        target = f.target("then", loc=[*where, "then"])
        assert target is not None  # required
        cases.append(Case(condition, target))
    if f.data.get("else") is None:
        raise f.doc.error("missing branch: a branch needs 'else'", f.loc, name)
    otherwise = f.target("else")
    assert otherwise is not None  # checked above
    return BranchNode(name, line, tuple(cases), otherwise)


def _hours(f: Fields) -> Node:
    name, line = _name(f)
    value = f.raw("hours")
    schedule_name = None
    schedule: Schedule | None
    if isinstance(value, str):
        # not one of the flow's schedules: the center's business hours of that name, which
        # the flow book checks (`FlowBook.of`) against those stored
        schedule_name, schedule = value, f.doc.schedules.get(value)
        if schedule is None:
            if not HOURS_NAME.fullmatch(value):
                raise f.error("hours", f"'{value}' is not a schedule's name")
            f.doc.hours_refs.append(HoursRef(name, value, line_of(f.doc.root, f.at("hours"))))
    else:
        schedule = f.doc.schedule(value, f.at("hours"), name)
    for key in ("open", "closed"):
        if f.data.get(key) is None:
            raise f.doc.error("missing branch: hours needs 'open' and 'closed'", f.loc, name)
    open_, closed = f.target("open"), f.target("closed")
    assert open_ is not None and closed is not None  # checked above
    return HoursNode(name, line, schedule, open_, closed, schedule_name)


def _lookup(f: Fields) -> Node:
    name, line = _name(f)
    by = f.text("lookup")
    if by not in LOOKUP_KEYS:
        raise f.error("lookup", f"'lookup' is one of {', '.join(LOOKUP_KEYS)}, not '{by}'")
    value = f.expression("value", required=by != LookupKey.PHONE) or Expression.parse("ani")
    into = f.doc.variable_name(f.text("into", "crm"), f.at("into"), name)
    next_ = f.target("next", required=False)
    if next_ is None and (f.data.get("found") is None or f.data.get("not_found") is None):
        raise f.doc.error(
            "missing branch: a lookup needs 'found' and 'not_found' (or 'next' for both)",
            f.loc,
            name,
        )
    found = f.target("found", required=False) or next_
    not_found = f.target("not_found", required=False) or next_
    assert found is not None and not_found is not None  # checked above
    return LookupNode(name, line, by, value, found, not_found, into)


def _queue(f: Fields) -> Node:
    name, line = _name(f)
    queue = f.text("queue")
    wait = f.mapping("wait")
    w = Fields(f.doc, name, f.at("wait"), wait, WAIT_FIELDS, "wait")
    music = w.raw("music", None)
    if music is not None and not isinstance(music, str):
        raise w.error("music", "'music' is a WAV file")
    key = w.text("callback_key", "1")
    if key not in KEYS:
        raise w.error("callback_key", "'callback_key' is one key (0-9, * or #)")
    policy = WaitPolicy(
        announce_every_s=w.number("announce_every", None, 5.0),
        announce_position=w.flag("announce_position", True),
        announce_wait=w.flag("announce_wait", True),
        callback_after_s=w.number("callback_after", None, 0.0),
        callback_when_wait_over_s=w.number("callback_when_wait_over", None, 0.0),
        callback_key=key,
        music=None if music is None else f.doc.file(music, w.at("music"), name),
    )
    w.finish()
    return QueueNode(
        name, line, queue, f.expression("priority", required=False), f.skills("skills"), policy
    )


def _voicemail(f: Fields) -> Node:
    name, line = _name(f)
    return VoicemailNode(
        name,
        line,
        f.text("voicemail"),
        f.prompt("prompt", required=False) or DEFAULT_VOICEMAIL,
        f.seconds("max_seconds", 120.0, 5.0),
    )


def _transfer(f: Fields) -> Node:
    name, line = _name(f)
    value = f.raw("transfer")
    if isinstance(value, Mapping) and set(value) == {"flow"} and isinstance(value["flow"], str):
        target = value["flow"]
        f.doc.flow_refs.append(
            FlowRef(name, target, line_of(f.doc.root, [*f.at("transfer"), "flow"]))
        )
        return TransferNode(name, line, flow=target)
    number = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(number, str) or not NUMBER.fullmatch(number):
        raise f.error(
            "transfer", "'transfer' is a phone number (\"+18005550100\", quoted) or {flow: name}"
        )
    return TransferNode(name, line, number=number)


def _hangup(f: Fields) -> Node:
    name, line = _name(f)
    value = f.data.get("hangup")
    if value is None or value is True or value == "":
        return HangupNode(name, line)
    return HangupNode(name, line, f.doc.speech(value, f.at("hangup"), name, "say"))


BUILDERS: dict[str, Callable[[Fields], Node]] = {
    "say": _say,
    "play": _say,
    "menu": _menu,
    "collect": _collect,
    "set": _set,
    "branch": _branch,
    "hours": _hours,
    "lookup": _lookup,
    "queue": _queue,
    "voicemail": _voicemail,
    "transfer": _transfer,
    "hangup": _hangup,
}
