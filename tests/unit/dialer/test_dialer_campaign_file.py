"""Campaign files: YAML or JSON into a campaign, mistakes named by line and field."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import yaml
from dialer_helpers import CAMPAIGN, campaign

from callbridge.domain.dialer.campaign_file import CampaignFileError, parse_campaign, seconds
from callbridge.domain.dialer.dispositions import Effect
from callbridge.domain.dialer.lists import ListOrder
from callbridge.domain.dialer.modes import AgentlessAction, DialMode
from callbridge.domain.ids import DispositionCode

FULL = """
campaign: appointments
name: Appointment reminders
mode: agentless
compliance: {profile: uk}
time_zone: Europe/London
caller_id: "+442071234567"
seller: {name: Bright Dental, phone: "+442071234568"}
abandonment: {target: 0.015}
abandon_message: "This is {seller}; call {phone}."
opt_out_key: null
no_answer_timeout_s: 30s
lists:
  - {list: tomorrow, order: priority}
dispositions:
  - {code: OK, label: Confirmed, effect: final}
  - {code: LATER, label: Try later, effect: retry, retry_after: 2h}
  - {code: STOP, label: Stop calling, effect: dnc}
attempts: {per_record: 4, per_number: 2, period: 12h}
recycling: {dispositions: [NA], after: 1d, max_passes: 2}
hours: {mon-fri: "09:00-19:00", sat: "10:00-14:00", sun: null}
amd: {enabled: false, false_positive_share: 0.02}
agentless: {action: press_1, message: "Press 1 to confirm", lines: 12, transfer_queue: front-desk}
"""


def test_a_full_campaign_file() -> None:
    c = parse_campaign(FULL, "appointments.yaml")
    assert c.mode is DialMode.AGENTLESS and c.profile.name == "uk"
    assert c.agentless is not None and c.agentless.action is AgentlessAction.PRESS_1
    assert c.abandonment.target == 0.015 and c.ring_timeout_s == 30.0
    assert c.lists[0].order is ListOrder.PRIORITY
    assert c.disposition(DispositionCode("LATER")).retry_after_s == 7200.0
    assert c.disposition(DispositionCode("STOP")).effect is Effect.DNC
    assert c.attempts.period == timedelta(hours=12) and c.recycling.max_passes == 2
    assert c.hours[0].days[6] is None and c.amd.false_positive_share == 0.02


def test_json_is_read_the_same() -> None:
    as_json = json.dumps(yaml.safe_load(CAMPAIGN))
    assert parse_campaign(as_json, "renewals.json") == campaign()


def test_durations() -> None:
    assert [seconds(v) for v in (90, "90s", "30m", "24h", "2d", 1.5)] == [
        90.0,
        90.0,
        1800.0,
        86400.0,
        172800.0,
        1.5,
    ]
    with pytest.raises(ValueError, match="not a duration"):
        seconds("soon")


def edit(line: str) -> str:
    """The helpers' campaign (8 lines) with `line` replacing the line of its key, or added as
    line 9."""
    key = line.split(":")[0]
    lines = CAMPAIGN.strip("\n").splitlines()
    if any(ln.startswith(f"{key}:") for ln in lines):
        return "\n".join(line if ln.startswith(f"{key}:") else ln for ln in lines)
    return "\n".join([*lines, line])


@pytest.mark.parametrize(
    ("line", "at", "field", "says"),
    [
        ("mode: turbo", 3, "mode", "Input should be"),
        ("colour: blue", 9, "colour", "Extra inputs"),
        ("no_answer_timeout_s: 10", 9, "no_answer_timeout_s", "at least 15 s"),
        ('caller_id: "0800 123"', 6, "caller_id", "E.164"),
        ("abandonment: {target: 0.05}", 9, "abandonment.target", "at most the cap"),
        ("hours: {someday: '09:00-17:00'}", 9, "hours.someday", "not a day"),
    ],
)
def test_mistakes_name_the_line_and_the_field(line: str, at: int, field: str, says: str) -> None:
    with pytest.raises(CampaignFileError) as raised:
        parse_campaign(edit(line), "renewals.yaml")
    assert f"renewals.yaml line {at}, {field}: " in str(raised.value)
    assert says in str(raised.value)
    assert raised.value.details["field"] == field


def test_not_yaml_and_not_a_mapping() -> None:
    with pytest.raises(CampaignFileError, match="line 2"):
        parse_campaign("campaign: x\nname: [unclosed\n", "bad.yaml")
    with pytest.raises(CampaignFileError, match="a campaign is a mapping"):
        parse_campaign("- just\n- a list\n", "bad.yaml")
