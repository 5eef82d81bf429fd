"""YAML documents an admin writes (field mappings, screen-pop rules, scenarios, flows): where in
the file a validation error points."""

from __future__ import annotations

import yaml


class NotYaml(ValueError):
    """Text that is not YAML; the message names the origin and, when known, the line."""


def read_yaml(text: str, origin: str) -> tuple[yaml.Node | None, object]:
    """The document's node tree (where errors point) and its data."""
    try:
        return yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # where the broken construct starts, else where the parser gave up
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise NotYaml(f"{origin}{line}: not valid YAML: {exc}") from exc


def line_of(root: yaml.Node | None, loc: list[str]) -> int:
    """The 1-based line of the deepest node the error location reaches."""
    node = root
    line = 1 if root is None else root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
            continue
        if not isinstance(node, yaml.MappingNode):
            break
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value in (part, part.rstrip("_")):
                line = key.start_mark.line + 1
                node = value
                break
        else:
            break
    return line
