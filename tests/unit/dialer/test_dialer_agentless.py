"""Agentless campaigns: their settings as a campaign file gives them (mistakes named by line and
field), the message a call hears, what each way a call ends is recorded as, and their pacing."""

from __future__ import annotations

import pytest
from campaign_fakes import uk_campaign

from callbridge.domain.dialer.calls import OPTED_OUT, CallResult, DialOutcome, disposition_of
from callbridge.domain.dialer.campaign_file import CampaignFileError, parse_campaign
from callbridge.domain.dialer.decisions import PacingReason
from callbridge.domain.dialer.dispositions import (
    ABANDONED,
    MESSAGE_PLAYED,
    TRANSFERRED,
    Effect,
)
from callbridge.domain.dialer.modes import AgentlessAction, AgentlessSettings
from callbridge.domain.dialer.pacing.progressive import agentless
from callbridge.domain.dialer.pacing.state import PacingState
from callbridge.domain.ids import DispositionCode, QueueId

PRESS_1 = (
    'agentless: {action: press_1, message: "{seller} here. Press 1 to talk. {opt_out}",\n'
    "  lines: 3, transfer_queue: sales, transfer_key: '#', wait_s: 8s}\n"
)

US = """\
campaign: reminders
name: Reminders
mode: agentless
compliance: {profile: us}
time_zone: America/New_York
caller_id: "+12125550100"
seller: {name: Acme Insurance, phone: "+12125550199"}
lists: [{list: calls}]
agentless:
  action: message
  message: "MESSAGE"
"""


def test_a_press_1_campaign_reads_its_queue_key_wait_and_message() -> None:
    campaign, _ = uk_campaign("agentless", agents="[]", extra=PRESS_1)
    settings = campaign.agentless
    assert settings is not None and settings.action is AgentlessAction.PRESS_1
    assert settings.transfer_queue == "sales" and settings.transfer_key == "#"
    assert settings.wait_s == 8.0 and settings.lines == 3
    assert campaign.message == "Acme Energy here. Press 1 to talk. To stop further calls, press 9."


def test_a_campaign_with_an_agent_reads_the_abandon_message_as_its_message() -> None:
    campaign, _ = uk_campaign("progressive")
    assert campaign.message.startswith("This call was made on behalf of Acme Energy")


@pytest.mark.parametrize("lines", [0, 501])
def test_lines_out_of_range_are_refused_naming_the_field_and_line(lines: int) -> None:
    extra = f'agentless: {{action: message, message: "Hello", lines: {lines}}}\n'
    with pytest.raises(CampaignFileError, match=r"line 1\d, agentless\.lines: .*between 1 and 500"):
        uk_campaign("agentless", agents="[]", extra=extra)


def test_the_transfer_key_cannot_be_the_opt_out_key() -> None:
    extra = PRESS_1.replace("transfer_key: '#'", "transfer_key: '9'")
    with pytest.raises(CampaignFileError, match=r"agentless\.transfer_key: .*opt-out key"):
        uk_campaign("agentless", agents="[]", extra=extra)


def test_an_unknown_placeholder_in_the_message_names_the_message() -> None:
    extra = 'agentless: {action: message, message: "Hi {name}"}\n'
    with pytest.raises(CampaignFileError, match=r"agentless\.message: .*unknown placeholder"):
        uk_campaign("agentless", agents="[]", extra=extra)


def test_under_the_us_profile_a_prerecorded_message_names_the_seller_and_offers_the_opt_out() -> (
    None
):
    with pytest.raises(CampaignFileError, match=r"line 1[01], agentless\.message: under the us"):
        parse_campaign(US.replace("MESSAGE", "Your policy renews on Friday."), "us.yaml")
    good = "This is {seller}, call {phone}. Your policy renews on Friday. {opt_out}"
    campaign = parse_campaign(US.replace("MESSAGE", good), "us.yaml")
    assert "Acme Insurance" in campaign.message and "press 9" in campaign.message


def heard(**kw: object) -> CallResult:
    return CallResult(
        DialOutcome.ANSWERED,
        100.0,
        130.0,
        answered_at=105.0,
        agentless=True,
        message="m",
        **kw,  # type: ignore[arg-type]
    )


def test_how_an_agentless_call_ended_is_its_disposition() -> None:
    campaign, _ = uk_campaign("agentless", agents="[]", extra=PRESS_1)
    assert disposition_of(campaign, heard()) is MESSAGE_PLAYED
    assert MESSAGE_PLAYED.effect is Effect.FINAL and MESSAGE_PLAYED.human
    assert disposition_of(campaign, heard(transferred=True)) is TRANSFERRED
    talked = heard(transferred=True, connected_at=110.0)
    assert disposition_of(campaign, talked, DispositionCode("SALE")).code == "SALE"
    assert disposition_of(campaign, talked) is TRANSFERRED
    opted = disposition_of(campaign, heard(opted_out=True))
    assert opted.effect is Effect.DNC and opted.code == "DNC"  # the campaign's own
    bare, _ = uk_campaign(
        "agentless",
        agents="[]",
        extra="dispositions: [{code: OK, label: Fine, effect: final}]\n" + PRESS_1,
    )
    assert disposition_of(bare, heard(opted_out=True)) is OPTED_OUT
    assert disposition_of(campaign, heard(abandoned=True)) is ABANDONED  # nothing was heard
    assert heard().live and not heard().abandoned


def test_agentless_pacing_needs_no_agent_and_stops_without_its_queue() -> None:
    settings = AgentlessSettings(AgentlessAction.PRESS_1, "Press 1", 4, QueueId("sales"))
    nobody = PacingState(0.0, ready=0)
    assert agentless(nobody, settings, busy_lines=1).dial == 3
    held = agentless(nobody, settings, busy_lines=0, queue_exists=False)
    assert (held.dial, held.reason) == (0, PacingReason.NO_QUEUE)
    assert "sales" in held.explanation
