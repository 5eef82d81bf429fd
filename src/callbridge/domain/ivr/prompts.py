"""Say texts may name variables: "Welcome back, {crm.name}." fills in when the prompt plays."""

from __future__ import annotations

import re
from collections.abc import Mapping

from callbridge.domain.ivr.actions import Say, Speech

PLACE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}|[{}]")


def template_error(text: str) -> str | None:
    """What is wrong with the braces of `text`, or None."""
    for match in PLACE.finditer(text):
        if match.group() in ("{", "}"):
            return (
                f"stray '{match.group()}' at column {match.start() + 1} "
                "(a variable is {name}; write {{ or }} for a brace)"
            )
    return None


def fill(text: str, variables: Mapping[str, str]) -> str:
    """`text` with each {name} replaced by the variable's value ("" when unset)."""

    def one(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return variables.get(match.group(1), "")
        return match.group()[0]

    return PLACE.sub(one, text)


def render(parts: tuple[Speech, ...], variables: Mapping[str, str]) -> tuple[Speech, ...]:
    """The parts as they play now: variables filled into the texts."""
    return tuple(Say(fill(p.text, variables)) if isinstance(p, Say) else p for p in parts)
