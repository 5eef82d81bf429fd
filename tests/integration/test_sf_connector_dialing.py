"""Dialing lists from campaign members and saved SOQL, and do-not-call both ways."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sf_support import Harness, standin_and_connector

from callbridge.domain.crm.records import DncEntry, RecordRef, RecordType
from callbridge.domain.errors import InvalidInput

T0 = 1_800_000_000.0


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with standin_and_connector(f"sqlite:///{tmp_path / 'cb.db'}", tmp_path) as h:
        yield h


def person(harness: Harness, sobject: str, name: str, **fields: object) -> RecordRef:
    extra = {"Company": "Beta"} if sobject == "Lead" else {}
    record_id = harness.standin.insert(sobject, {"LastName": name, **extra, **fields})
    return RecordRef(RecordType(sobject), record_id)


def test_a_campaign_lists_its_members_who_may_be_called(harness: Harness) -> None:
    campaign = harness.standin.insert("Campaign", {"Name": "Spring", "IsActive": True})
    ann = person(harness, "Contact", "Ann", Phone="(415) 555-0101")
    mo = person(harness, "Contact", "Mo", MobilePhone="415.555.0102")
    dnc = person(harness, "Contact", "Dee", Phone="4155550103", DoNotCall=True)
    mute = person(harness, "Contact", "Mute")
    lee = person(harness, "Lead", "Lee", Phone="+1 646 555 0104")
    won = person(harness, "Lead", "Won", Phone="6465550105", IsConverted=True)
    for ref in (ann, mo, dnc, mute, lee, won):
        harness.standin.insert("CampaignMember", {"CampaignId": campaign, f"{ref.type}Id": ref.id})
    members = harness.connector.dialing_list(campaign)
    assert [(m.ref, m.name, m.phone) for m in members] == [
        (ann, "Ann", "+14155550101"),
        (mo, "Mo", "+14155550102"),
        (lee, "Lee", "+16465550104"),
    ]
    assert members[0].fields["CampaignId"] == campaign
    assert str(members[0].fields["CampaignMemberId"]).startswith("00v")
    assert harness.calls() == 1
    assert harness.connector.dialing_list(campaign, limit=2) == members[:2]


def test_a_saved_query_is_a_dialing_list_too(harness: Harness) -> None:
    ann = person(harness, "Contact", "Ann", Phone="(415) 555-0101", Title="CFO")
    person(harness, "Contact", "Bea", Phone="(415) 555-0102", Title="Clerk")
    members = harness.connector.dialing_list(
        "query:SELECT Id, Name, Phone, DoNotCall FROM Contact WHERE Title = 'CFO'"
    )
    assert [(m.ref, m.phone) for m in members] == [(ann, "+14155550101")]
    with pytest.raises(InvalidInput):
        harness.connector.dialing_list("query:DELETE FROM Contact")
    with pytest.raises(InvalidInput):
        harness.connector.dialing_list("not-an-id' OR Name != '")


def test_do_not_call_is_read_from_contacts_and_leads(harness: Harness) -> None:
    person(harness, "Contact", "Ann", Phone="(415) 555-0101", MobilePhone="415 555 0109",
           DoNotCall=True)  # fmt: skip
    person(harness, "Contact", "Bea", Phone="(415) 555-0102")
    person(harness, "Lead", "Lee", Phone="+1 646 555 0104", DoNotCall=True)
    numbers = {e.number for e in harness.connector.dnc_numbers()}
    assert numbers == {"+14155550101", "+14155550109", "+16465550104"}
    assert harness.calls() == 2


def test_do_not_call_is_written_to_every_person_holding_the_number(harness: Harness) -> None:
    ann = person(harness, "Contact", "Ann", Phone="(415) 555-0101")
    lee = person(harness, "Lead", "Lee", MobilePhone="415-555-0101")
    bea = person(harness, "Contact", "Bea", Phone="(415) 555-0102")
    harness.connector.sync_phone_index()
    before = harness.calls()
    harness.connector.add_dnc([DncEntry("+14155550101", T0, "callbridge")])
    assert harness.calls() - before == 1  # found in the index; one Collections update
    flags = {r["Id"]: r["DoNotCall"] for r in harness.standin.records("Contact")}
    flags |= {r["Id"]: r["DoNotCall"] for r in harness.standin.records("Lead")}
    assert flags == {ann.id: True, lee.id: True, bea.id: False}


def test_a_number_nobody_holds_is_kept_as_a_do_not_call_lead(harness: Harness) -> None:
    crm = harness.connector
    crm.add_dnc([DncEntry("(212) 555-0199", T0, "callbridge")])
    crm.add_dnc([DncEntry("+12125550199", T0 + 60, "callbridge")])
    leads = harness.standin.records("Lead")
    assert [(r["Phone"], r["DoNotCall"]) for r in leads] == [("+12125550199", True)]
    assert [e.number for e in crm.dnc_numbers()] == ["+12125550199"]
