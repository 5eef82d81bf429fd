"""Campaign files: a campaign as YAML (or JSON, which is YAML too), validated into a `Campaign`.

Every mistake is a `CampaignFileError` naming the file, the line and the field, whether the
file's shape is wrong (a pydantic check) or a rule of the campaign is broken (the domain's
check, e.g. a no-answer timeout under the profile's minimum ring). docs/reference/campaigns.md
describes the format.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from callbridge.documents import NotYaml, line_of, read_yaml
from callbridge.domain.dialer.attempts import AttemptLimits
from callbridge.domain.dialer.calling_hours import HoursRule
from callbridge.domain.dialer.campaigns import (
    DEFAULT_MESSAGE,
    Amd,
    Campaign,
    CampaignList,
    MachineAction,
)
from callbridge.domain.dialer.compliance import Seller, profile
from callbridge.domain.dialer.dispositions import DEFAULT_AGENT, Disposition, Effect
from callbridge.domain.dialer.ids import CampaignId, ListId
from callbridge.domain.dialer.lists import ListOrder, Recycling
from callbridge.domain.dialer.modes import (
    AgentlessAction,
    AgentlessSettings,
    DialMode,
    PowerSettings,
    PreviewSettings,
)
from callbridge.domain.dialer.pacing.budget import AbandonmentLimits
from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import AgentId, DispositionCode, QueueId, SkillId

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$")
_UNITS = {None: 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
T = TypeVar("T")


class CampaignFileError(InvalidInput):
    """A campaign file that cannot be used; the message names the file, the line, the field."""

    code = "invalid_campaign"


def seconds(value: object) -> float:
    """90, "90s", "30m", "24h", "2d" as seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and (match := _DURATION.match(value)):
        return float(match[1]) * _UNITS[match[2]]
    raise ValueError(f"{value!r} is not a duration like 90s, 30m, 24h or 2d")


Seconds = Annotated[float, BeforeValidator(seconds)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Compliance(_Model):
    profile: Literal["us", "uk"]


class _Seller(_Model):
    name: str
    phone: str


class _Abandonment(_Model):
    target: float = 0.025
    cap: float | None = None


class _List(_Model):
    list_: str = Field(alias="list")
    order: ListOrder = ListOrder.AS_LOADED


class _Disposition(_Model):
    code: str
    label: str
    effect: Effect
    retry_after: Seconds | None = None
    human: bool = True
    contact: bool = True


class _Attempts(_Model):
    per_record: int = 6
    per_number: int = 3
    period: Seconds = 86400.0


class _Recycling(_Model):
    dispositions: list[str] = Field(default_factory=list)
    after: Seconds = 86400.0
    max_passes: int = 1


class _Amd(_Model):
    enabled: bool = False
    false_positive_share: float = 0.0
    machine_action: MachineAction = MachineAction.HANG_UP


def _amd(value: object) -> object:
    """`amd: on` / `amd: off` (YAML booleans) as shorthand for `{enabled: ...}`."""
    return {"enabled": value} if isinstance(value, bool) else value


class _Power(_Model):
    lines_per_agent: float = 1.5


class _Preview(_Model):
    timeout_s: Seconds | None = None


class _Agentless(_Model):
    action: AgentlessAction
    message: str
    lines: int = 10
    transfer_queue: str | None = None
    transfer_key: str = "1"
    wait_s: Seconds = 5.0


class _Campaign(_Model):
    campaign: str
    name: str
    mode: DialMode
    compliance: _Compliance
    caller_id: str
    seller: _Seller
    lists: list[_List]
    time_zone: str = "UTC"
    abandonment: _Abandonment = _Abandonment()
    abandon_message: str = DEFAULT_MESSAGE
    opt_out_key: str | None = "9"
    no_answer_timeout_s: Seconds | None = None
    dispositions: list[_Disposition] | None = None
    attempts: _Attempts = _Attempts()
    recycling: _Recycling = _Recycling(max_passes=0)
    skills: list[str] = Field(default_factory=list)
    agents: list[str] = Field(default_factory=list)
    hours: dict[str, str | None] | None = None
    inbound_reserve: int = 0
    amd: Annotated[_Amd, BeforeValidator(_amd)] = _Amd()
    power: _Power = _Power()
    preview: _Preview = _Preview()
    agentless: _Agentless | None = None


def parse_campaign(text: str, origin: str = "<campaign>") -> Campaign:
    """The campaign in `text` (YAML or JSON) from `origin`; CampaignFileError on any mistake."""
    try:
        root, data = read_yaml(text, origin)
    except NotYaml as exc:
        raise CampaignFileError(str(exc), field="yaml") from None
    if not isinstance(data, dict):
        raise CampaignFileError(f"{origin}: a campaign is a mapping", field="campaign")
    try:
        model = _Campaign.model_validate(data)
    except ValidationError as exc:
        error = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        loc = [str(p) for p in error["loc"] if not str(p).startswith(("function-", "tagged-"))]
        message = error["msg"].removeprefix("Value error, ")
        raise _error(root, origin, loc, message) from None
    return _build(model, root, origin)


def _error(root: yaml.Node | None, origin: str, loc: list[str], message: str) -> CampaignFileError:
    where = ".".join(loc) or "campaign"
    return CampaignFileError(f"{origin} line {line_of(root, loc)}, {where}: {message}", field=where)


def _at(root: yaml.Node | None, origin: str, loc: list[str], make: Callable[[], T]) -> T:
    """`make()`, with a domain InvalidInput re-raised as pointing at `loc` in the file."""
    try:
        return make()
    except CampaignFileError:
        raise
    except InvalidInput as exc:
        field = str(exc.details.get("field") or "")
        raise _error(root, origin, loc + [p for p in field.split(".") if p], exc.message) from None


def _disposition(d: _Disposition) -> Callable[[], Disposition]:
    return lambda: Disposition(
        DispositionCode(d.code), d.label, d.effect, d.retry_after, d.human, d.contact
    )


def _build(m: _Campaign, root: yaml.Node | None, origin: str) -> Campaign:
    rules = _at(root, origin, ["compliance", "profile"], lambda: profile(m.compliance.profile))
    cap = rules.abandon_cap if m.abandonment.cap is None else m.abandonment.cap
    limits = _at(
        root, origin, ["abandonment"], lambda: AbandonmentLimits(cap, m.abandonment.target)
    )
    seller = _at(root, origin, [], lambda: Seller(m.seller.name, m.seller.phone))
    dispositions = (
        DEFAULT_AGENT
        if m.dispositions is None
        else tuple(
            _at(root, origin, ["dispositions", str(i)], _disposition(d))
            for i, d in enumerate(m.dispositions)
        )
    )
    attempts = _at(
        root,
        origin,
        ["attempts"],
        lambda: AttemptLimits(
            m.attempts.per_record, m.attempts.per_number, timedelta(seconds=m.attempts.period)
        ),
    )
    r = m.recycling
    recycling = _at(
        root,
        origin,
        ["recycling"],
        lambda: Recycling(
            frozenset(DispositionCode(c) for c in r.dispositions),
            timedelta(seconds=r.after),
            r.max_passes,
        ),
    )
    hours = (
        ()
        if m.hours is None
        else (
            _at(
                root, origin, [], lambda: HoursRule.weekly(f"campaign {m.campaign}", m.hours or {})
            ),
        )
    )
    agentless = None
    if m.agentless is not None:
        a = m.agentless
        agentless = _at(
            root,
            origin,
            ["agentless"],
            lambda: AgentlessSettings(
                a.action,
                a.message,
                a.lines,
                None if a.transfer_queue is None else QueueId(a.transfer_queue),
                a.transfer_key,
                a.wait_s,
            ),
        )
    return _at(
        root,
        origin,
        [],
        lambda: Campaign(
            campaign_id=CampaignId(m.campaign),
            name=m.name,
            mode=m.mode,
            profile=rules,
            caller_id=m.caller_id,
            seller=seller,
            lists=tuple(CampaignList(ListId(lst.list_), lst.order) for lst in m.lists),
            time_zone=m.time_zone,
            abandonment=limits,
            abandon_message=m.abandon_message,
            opt_out_key=m.opt_out_key,
            no_answer_timeout_s=m.no_answer_timeout_s,
            dispositions=dispositions,
            attempts=attempts,
            recycling=recycling,
            skills=tuple(SkillId(s) for s in m.skills),
            agents=tuple(AgentId(a) for a in m.agents),
            hours=hours,
            inbound_reserve=m.inbound_reserve,
            amd=_at(
                root,
                origin,
                ["amd"],
                lambda: Amd(m.amd.enabled, m.amd.false_positive_share, m.amd.machine_action),
            ),
            preview=_at(root, origin, ["preview"], lambda: PreviewSettings(m.preview.timeout_s)),
            power=_at(root, origin, ["power"], lambda: PowerSettings(m.power.lines_per_agent)),
            agentless=agentless,
        ),
    )
