"""Screen-pop rules from a YAML file (setting `crm_screen_pop_file`):

    default:
      inbound: [case_number, account_number, phone, email]
      outbound: [phone]
    queues:
      billing:
        inbound: [account_number, phone]

Keys are tried in order; the first that finds anyone decides. A mistake names the line.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from callbridge.documents import line_of
from callbridge.domain.channels import Direction
from callbridge.domain.crm.records import LookupKey
from callbridge.domain.crm.screen_pop import DEFAULT_ORDER, ScreenPopRules
from callbridge.services.crm_sync.mapping import MappingError


class DirectionRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inbound: list[LookupKey] | None = None
    outbound: list[LookupKey] | None = None

    def orders(self) -> dict[Direction, tuple[LookupKey, ...]]:
        out: dict[Direction, tuple[LookupKey, ...]] = {}
        if self.inbound is not None:
            out[Direction.INBOUND] = tuple(self.inbound)
        if self.outbound is not None:
            out[Direction.OUTBOUND] = tuple(self.outbound)
        return out


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: DirectionRules | None = None
    queues: dict[str, DirectionRules] = {}


def load_rules(path: Path | None) -> ScreenPopRules:
    """The rules in `path`, or the defaults (IVR data first, then the number) without one."""
    if path is None:
        return ScreenPopRules()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot be read: {exc}", field="crm_screen_pop_file") from exc
    return parse_rules(text, str(path))


def parse_rules(text: str, origin: str = "<rules>") -> ScreenPopRules:
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise MappingError(f"{origin}: not valid YAML: {exc}", field="yaml") from exc
    try:
        parsed = RulesFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(p) for p in error["loc"]]
        raise MappingError(
            f"{origin} line {line_of(root, loc)}, {'.'.join(loc)}: {error['msg']}",
            field=".".join(loc),
        ) from exc
    default = dict(DEFAULT_ORDER)
    if parsed.default is not None:
        default.update(parsed.default.orders())
    return ScreenPopRules(default, {q: r.orders() for q, r in parsed.queues.items()})
