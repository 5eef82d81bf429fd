"""YAML text -> a checked `Flow`. Every mistake is a `FlowError` naming the file, the line, the
node and the field (docs/reference/flow-language.md lists the syntax).

Validation is by hand rather than by a pydantic model: a node's kind decides its fields, and the
messages can then speak of menus and branches instead of union members.
"""

from __future__ import annotations

import difflib
import os.path
import re
from collections.abc import Mapping

from callbridge.documents import NotYaml, read_yaml
from callbridge.domain.ivr.builders import BUILDERS, FIELDS
from callbridge.domain.ivr.checks import check_flow
from callbridge.domain.ivr.document import Document, Fields
from callbridge.domain.ivr.errors import FlowError
from callbridge.domain.ivr.nodes import Flow, Node

KINDS = tuple(FIELDS)  # say, play, menu, collect, set, branch, hours, lookup, queue, ...
TOP_FIELDS = ("flow", "description", "numbers", "start", "variables", "schedules", "nodes")


def parse_flow(text: str, origin: str, directory: str | None = None) -> Flow:
    """The flow in `text` from file `origin`, checked (unknown, unreachable and looping nodes).

    Play files resolve against `directory` (default: the directory of `origin`); whether they
    exist is for `checks.check_files`, since looking is I/O.
    """
    try:
        root, data = read_yaml(text, origin)
    except NotYaml as exc:
        mark = re.match(rf"{re.escape(origin)} line (\d+):", str(exc))
        cause = exc.__cause__
        problem = getattr(cause, "problem", None) or str(cause).splitlines()[0]
        context = getattr(cause, "context", None)
        reason = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
        raise FlowError(reason, file=origin, line=int(mark.group(1)) if mark else None) from None
    base = directory if directory is not None else os.path.dirname(os.path.abspath(origin))
    flow = _flow(Document(origin, base, root), data)
    check_flow(flow)
    return flow


def _flow(doc: Document, data: object) -> Flow:
    if not isinstance(data, Mapping):
        raise doc.error("a flow is a mapping with 'nodes' (and 'flow', 'start', ...)", [])
    top = Fields(doc, None, [], data, TOP_FIELDS, "flow")
    top.finish()
    default_name = os.path.splitext(os.path.basename(doc.origin))[0]
    name = top.text("flow", default_name)
    numbers = tuple(top.texts("numbers"))
    variables = top.mapping("variables")
    preset: dict[str, str] = {}
    for key, value in variables.items():
        if not isinstance(value, str | int | float | bool) or isinstance(key, bool):
            raise doc.error("a variable's value is text or a number", ["variables", str(key)])
        doc.variable_name(str(key), ["variables", str(key)], None)
        preset[str(key)] = _scalar_text(value)
    for key, value in top.mapping("schedules").items():
        doc.schedules[str(key)] = doc.schedule(value, ["schedules", str(key)], None)
    raw_nodes = top.mapping("nodes", required=True)
    if not raw_nodes:
        raise doc.error("a flow needs at least one node", ["nodes"])
    start = top.text("start", str(next(iter(raw_nodes))))
    nodes: dict[str, Node] = {}
    for key, value in raw_nodes.items():
        node_name = doc.node_name(key)
        nodes[node_name] = _node(doc, node_name, value)
    if start not in nodes:
        raise doc.error(f"start node '{start}' is not among the nodes", ["start"])
    return Flow(
        name=name,
        origin=doc.origin,
        start=start,
        nodes=nodes,
        numbers=numbers,
        variables=preset,
        refs=tuple(doc.refs),
        files=tuple(doc.files),
        flow_refs=tuple(doc.flow_refs),
        description=str(data.get("description") or ""),
        hours_refs=tuple(doc.hours_refs),
    )


def _node(doc: Document, name: str, data: object) -> Node:
    loc = ["nodes", name]
    if not isinstance(data, Mapping):
        raise doc.error(f"a node is a mapping with one of: {', '.join(KINDS)}", loc, name)
    kinds = [k for k in KINDS if k in data]
    if not kinds:
        unknown = next((str(k) for k in data), "")
        close = difflib.get_close_matches(unknown, KINDS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise doc.error(
            f"unknown node kind{hint}: give one of {', '.join(KINDS)}",
            loc + ([unknown] if unknown else []),
            name,
        )
    if len(kinds) > 1:
        raise doc.error(
            f"a node does one thing: both '{kinds[0]}' and '{kinds[1]}'", [*loc, kinds[1]], name
        )
    kind = kinds[0]
    fields = Fields(doc, name, loc, data, (kind, "description", *FIELDS[kind]), kind)
    made = BUILDERS[kind](fields)
    fields.finish()
    return made


def _scalar_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
