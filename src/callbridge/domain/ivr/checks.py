"""The graph checks a flow passes before it runs: every edge goes to a node that exists, every
node can be reached from the start, every node can reach an end (no loop with no exit), and every
prompt file is there. Each failure is a `FlowError` at the line that caused it.
"""

from __future__ import annotations

from collections.abc import Callable

from callbridge.domain.ivr.errors import FlowError
from callbridge.domain.ivr.nodes import TERMINAL_NODES, CollectNode, Flow, MenuNode


def check_flow(flow: Flow) -> None:
    """Raise `FlowError` for the first unknown target, unreachable node or exitless loop."""
    for ref in flow.refs:
        if ref.target not in flow.nodes:
            raise FlowError(
                f"unknown node '{ref.target}' in '{ref.field}'",
                file=flow.origin,
                line=ref.line,
                node=ref.node,
                field=ref.field,
            )
    graph = _graph(flow)
    reachable = _closure([flow.start], graph)
    for name, node in flow.nodes.items():
        if name not in reachable:
            raise FlowError(
                f"unreachable node: no path from the start node '{flow.start}' leads here",
                file=flow.origin,
                line=node.line,
                node=name,
            )
    reverse: dict[str, list[str]] = {name: [] for name in flow.nodes}
    for source, targets in graph.items():
        for target in targets:
            reverse[target].append(source)
    ends = [name for name, node in flow.nodes.items() if _ends(node)]
    leaving = _closure(ends, reverse)
    for name, node in flow.nodes.items():
        if name not in leaving:
            cycle = " -> ".join(_cycle(name, graph))
            raise FlowError(
                f"loop with no exit: {cycle} never reaches a queue, voicemail, transfer or hangup",
                file=flow.origin,
                line=node.line,
                node=name,
            )


def check_files(flow: Flow, exists: Callable[[str], bool]) -> None:
    """Raise `FlowError` for the first prompt or music file that `exists` says is missing."""
    for ref in flow.files:
        if not exists(ref.path):
            raise FlowError(
                f"prompt file does not exist: {ref.path}",
                file=flow.origin,
                line=ref.line,
                node=ref.node,
            )


def _ends(node: object) -> bool:
    # a menu or collect without `failure` hangs up when its tries run out: that is an end
    if isinstance(node, MenuNode | CollectNode):
        return node.failure is None
    return isinstance(node, TERMINAL_NODES)


def _graph(flow: Flow) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {name: [] for name in flow.nodes}
    for ref in flow.refs:
        graph[ref.node].append(ref.target)
    return graph


def _closure(starts: list[str], graph: dict[str, list[str]]) -> set[str]:
    seen = set(starts)
    todo = list(starts)
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _cycle(start: str, graph: dict[str, list[str]]) -> list[str]:
    """A loop that `start` falls into; every node on the way cannot reach an end, so each has
    somewhere to go and the walk must come back to a node it has seen."""
    order = [start]
    while True:
        following = graph[order[-1]][0]
        if following in order:
            return [*order[order.index(following) :], following]
        order.append(following)
