"""Call scripts: what the agent reads to the customer, per queue, with fields merged in.

A script is text with merge fields in double braces: `{{record.FirstName}}` (a field of the
customer's CRM record, by its API name; `record.Name` is the record's display name),
`{{ivr.account}}` (a variable the IVR attached), `{{agent.name}}` (the agent's name) and
`{{customer.address}}` (the number or address the customer came from). A script is parsed
once, when its queue is made, into text and field parts; the desktop fills the fields in from
what it already holds, so a field with no value shows as a visible blank, never as the raw
braces. A malformed script (an unclosed brace, an unknown namespace, an empty name) is refused
with the line and column of the mistake.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from callbridge.domain.errors import InvalidInput

NAMESPACES = ("record", "ivr", "agent", "customer")
MAX_LENGTH = 20_000

_FIELD = re.compile(r"\{\{\s*([A-Za-z_][\w]*)\.([A-Za-z_][\w]*)\s*\}\}")


@dataclass(frozen=True, slots=True)
class ScriptText:
    text: str


@dataclass(frozen=True, slots=True)
class ScriptField:
    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}.{self.name}"


ScriptPart = ScriptText | ScriptField


def _where(source: str, offset: int) -> str:
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def parse_script(source: str) -> tuple[ScriptPart, ...]:
    """The script's parts in order; InvalidInput (field `script`) naming where it is wrong."""
    if len(source) > MAX_LENGTH:
        raise InvalidInput(f"a script is at most {MAX_LENGTH:,} characters", field="script")
    parts: list[ScriptPart] = []
    at = 0
    while at < len(source):
        start = source.find("{{", at)
        stray = source.find("}}", at, len(source) if start < 0 else start)
        if stray >= 0:
            raise InvalidInput(
                f"'}}}}' without an opening '{{{{' at {_where(source, stray)}", field="script"
            )
        if start < 0:
            parts.append(ScriptText(source[at:]))
            break
        if start > at:
            parts.append(ScriptText(source[at:start]))
        match = _FIELD.match(source, start)
        if match is None:
            close = source.find("}}", start)
            if close < 0:
                raise InvalidInput(
                    f"'{{{{' is never closed (opened at {_where(source, start)})", field="script"
                )
            inner = source[start + 2 : close].strip()
            raise InvalidInput(
                f"{{{{{inner}}}}} at {_where(source, start)} is not a merge field: write "
                f"{{{{namespace.Name}}}} with a namespace of {', '.join(NAMESPACES)}",
                field="script",
            )
        namespace, name = match.group(1), match.group(2)
        if namespace not in NAMESPACES:
            raise InvalidInput(
                f"unknown namespace {namespace!r} at {_where(source, start)}: use one of "
                f"{', '.join(NAMESPACES)}",
                field="script",
            )
        parts.append(ScriptField(namespace, name))
        at = match.end()
    return tuple(parts)


def merge(parts: tuple[ScriptPart, ...], values: Mapping[str, str], blank: str = "____") -> str:
    """The script as the agent reads it: each field's value (by `namespace.Name`), `blank`
    where there is none."""
    return "".join(
        p.text if isinstance(p, ScriptText) else (values.get(p.key) or blank) for p in parts
    )
