"""sObject CRUD, external-id upsert, validation, describe and replication (contract §3.1-3.3)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import sfstandin_fixture
from sfstandin import StandIn, running_standin
from sfstandin_fixture import content_of, rest, sobject
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

# fixtures, bound to names here (an import shadowed by a parameter trips ruff's F811)
salesforce = sfstandin_fixture.salesforce
salesforce_client = sfstandin_fixture.salesforce_client


DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")


def call(sf: StandIn, method: str, path: str, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {sf.issue_token()}"}
    with sf.http_session() as s:
        return s.request(method, f"{sf.base_url}{path}", headers=headers, timeout=10, **kw)


def test_create_get_update_delete_with_simple_salesforce(salesforce_client: Salesforce) -> None:
    created = sobject(salesforce_client, "Contact").create(
        {"LastName": "Smith", "Phone": "(415) 555-1212"}
    )
    assert created["success"] is True and created["errors"] == []
    cid = created["id"]
    assert len(cid) == 18 and cid.startswith("003")
    record = sobject(salesforce_client, "Contact").get(cid)
    assert record["attributes"] == {
        "type": "Contact",
        "url": f"/services/data/v62.0/sobjects/Contact/{cid}",
    }
    assert record["Name"] == "Smith" and record["DoNotCall"] is False
    assert DATETIME.fullmatch(record["CreatedDate"])
    assert record["SystemModstamp"] == record["LastModifiedDate"]
    assert sobject(salesforce_client, "Contact").update(cid, {"FirstName": "John"}) == 204
    updated = sobject(salesforce_client, "Contact").get(cid)
    assert updated["Name"] == "John Smith"
    assert updated["SystemModstamp"] >= record["SystemModstamp"]
    assert sobject(salesforce_client, "Contact").delete(cid) == 204
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sobject(salesforce_client, "Contact").get(cid)
    assert (
        content_of(caught.value)
        == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
        or content_of(caught.value)[0]["errorCode"] == "NOT_FOUND"
    )


def test_ids_carry_key_prefixes_and_15_char_ids_are_accepted(salesforce: StandIn) -> None:
    prefixes = {
        "Account": "001",
        "Contact": "003",
        "Lead": "00Q",
        "Case": "500",
        "Campaign": "701",
        "Task": "00T",
    }
    seeds = {
        "Account": {"Name": "A"},
        "Contact": {"LastName": "C"},
        "Lead": {"LastName": "L", "Company": "Co"},
        "Case": {},
        "Campaign": {"Name": "Spring"},
        "Task": {},
    }
    for name, prefix in prefixes.items():
        rid = salesforce.insert(name, seeds[name])
        assert rid.startswith(prefix) and len(rid) == 18
    account = salesforce.records("Account")[0]["Id"]
    got = call(salesforce, "GET", f"/services/data/v62.0/sobjects/Account/{account[:15]}")
    assert got.status_code == 200 and got.json()["Id"] == account


def test_get_with_fields_and_trailing_slash_variants(salesforce: StandIn) -> None:
    account = salesforce.insert("Account", {"Name": "Acme"})
    path = f"/services/data/v62.0/sobjects/Account/{account}"
    plain = call(salesforce, "GET", path, params={"fields": "Id,Name"})
    slashed = call(salesforce, "GET", path + "/", params={"fields": "Id,Name"})
    assert plain.json() == slashed.json()
    assert set(plain.json()) == {"attributes", "Id", "Name"}
    bad = call(salesforce, "GET", path, params={"fields": "Id,Nope"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"


def test_required_fields_and_defaults(salesforce_client: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sobject(salesforce_client, "Lead").create({"LastName": "Doe"})
    assert content_of(caught.value) == [
        {
            "message": "Required fields are missing: [Company]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Company"],
        }
    ]
    lead = sobject(salesforce_client, "Lead").create({"LastName": "Doe", "Company": "Acme"})["id"]
    assert sobject(salesforce_client, "Lead").get(lead)["Status"] == "Open - Not Contacted"
    task = sobject(salesforce_client, "Task").get(
        sobject(salesforce_client, "Task").create({"Subject": "Call"})["id"]
    )
    assert (task["Status"], task["Priority"]) == ("Not Started", "Normal")
    with pytest.raises(SalesforceMalformedRequest) as nulled:
        sobject(salesforce_client, "Task").update(task["Id"], {"Status": None})
    assert content_of(nulled.value)[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_unknown_and_read_only_fields_are_refused(salesforce_client: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sobject(salesforce_client, "Contact").create({"LastName": "X", "Shoe_Size__c": 9})
    assert content_of(unknown.value)[0]["errorCode"] == "INVALID_FIELD"
    assert "Shoe_Size__c" in content_of(unknown.value)[0]["message"]
    with pytest.raises(SalesforceMalformedRequest) as readonly:
        sobject(salesforce_client, "Contact").create({"LastName": "X", "Name": "Y"})
    assert content_of(readonly.value)[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_unique_external_id_gives_duplicate_value(salesforce_client: Salesforce) -> None:
    sobject(salesforce_client, "Task").create({"CC_SessionId__c": "sess-1"})
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sobject(salesforce_client, "Task").create({"CC_SessionId__c": "SESS-1"})
    error = content_of(caught.value)[0]
    assert error["errorCode"] == "DUPLICATE_VALUE"
    assert error["message"].startswith("duplicate value found: CC_SessionId__c duplicates value")


def test_task_on_a_lead_cannot_also_have_a_what_id(salesforce: StandIn) -> None:
    lead = salesforce.insert("Lead", {"LastName": "Doe", "Company": "Acme"})
    account = salesforce.insert("Account", {"Name": "Acme"})
    resp = call(
        salesforce,
        "POST",
        "/services/data/v62.0/sobjects/Task/",
        json={"WhoId": lead, "WhatId": account},
    )
    assert resp.status_code == 400
    assert resp.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    contact = salesforce.insert("Contact", {"LastName": "Ok", "AccountId": account})
    ok = call(
        salesforce,
        "POST",
        "/services/data/v62.0/sobjects/Task/",
        json={"WhoId": contact, "WhatId": account, "Status": "Completed"},
    )
    assert ok.status_code == 201
    task = salesforce.records("Task")[0]
    assert task["AccountId"] == account and task["IsClosed"] is True


def test_references_are_checked(salesforce: StandIn) -> None:
    bad = call(
        salesforce,
        "POST",
        "/services/data/v62.0/sobjects/Contact",
        json={"LastName": "X", "AccountId": "nope"},
    )
    assert bad.json()[0]["errorCode"] == "MALFORMED_ID"
    missing = call(
        salesforce,
        "POST",
        "/services/data/v62.0/sobjects/Contact",
        json={"LastName": "X", "AccountId": "001000000000000AAA"},
    )
    assert missing.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_upsert_statuses(salesforce_client: Salesforce, salesforce: StandIn) -> None:
    assert (
        sobject(salesforce_client, "Task").upsert("CC_SessionId__c/abc-123", {"Subject": "a"})
        == 201
    )
    assert (
        sobject(salesforce_client, "Task").upsert("CC_SessionId__c/abc-123", {"Subject": "b"})
        == 200
    )
    tasks = salesforce.records("Task")
    assert len(tasks) == 1 and tasks[0]["Subject"] == "b"
    found = sobject(salesforce_client, "Task").get_by_custom_id("CC_SessionId__c", "abc-123")
    assert found["Id"] == tasks[0]["Id"]
    raw = call(
        salesforce,
        "PATCH",
        "/services/data/v62.0/sobjects/Task/CC_SessionId__c/abc-123",
        json={"Subject": "c"},
    )
    assert raw.json() == {"id": tasks[0]["Id"], "success": True, "errors": [], "created": False}
    old = call(
        salesforce,
        "PATCH",
        "/services/data/v45.0/sobjects/Task/CC_SessionId__c/abc-123",
        json={"Subject": "d"},
    )
    assert old.status_code == 204
    update_only = call(
        salesforce,
        "PATCH",
        "/services/data/v62.0/sobjects/Task/CC_SessionId__c/new-one",
        params={"updateOnly": "true"},
        json={"Subject": "x"},
    )
    assert update_only.status_code == 404


def test_upsert_on_a_non_unique_external_id_with_two_matches_gives_300(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    first = salesforce.insert("Contact", {"LastName": "A", "CC_ExternalId__c": "k1"})
    second = salesforce.insert("Contact", {"LastName": "B", "CC_ExternalId__c": "k1"})
    with pytest.raises(SalesforceMoreThanOneRecord) as caught:
        sobject(salesforce_client, "Contact").upsert("CC_ExternalId__c/k1", {"LastName": "C"})
    assert content_of(caught.value) == [
        f"/services/data/v62.0/sobjects/Contact/{first}",
        f"/services/data/v62.0/sobjects/Contact/{second}",
    ]


def test_unknown_external_id_field_or_type_is_404(salesforce: StandIn) -> None:
    field = call(salesforce, "PATCH", "/services/data/v62.0/sobjects/Task/Subject/x", json={})
    sobject = call(salesforce, "POST", "/services/data/v62.0/sobjects/Widget__c/", json={})
    assert field.status_code == sobject.status_code == 404
    assert sobject.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_version_gate_and_version_list(salesforce: StandIn) -> None:
    assert call(salesforce, "GET", "/services/data/v99.0/limits").status_code == 404
    assert call(salesforce, "GET", "/services/data/v59.0/limits").status_code == 200
    with salesforce.http_session() as s:
        versions = s.get(f"{salesforce.base_url}/services/data/", timeout=10).json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    assert versions[-1]["version"] == "62.0"


def test_method_not_allowed_and_unknown_path(salesforce: StandIn) -> None:
    put = call(salesforce, "PUT", "/services/data/v62.0/sobjects/Account/001000000000000AAA")
    assert put.status_code == 405 and put.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    assert call(salesforce, "GET", "/services/data/v62.0/nothing").status_code == 404


def test_describe_lists_our_custom_fields(salesforce_client: Salesforce) -> None:
    describe = sobject(salesforce_client, "Task").describe()
    fields = {f["name"]: f for f in describe["fields"]}
    assert describe["keyPrefix"] == "00T"
    assert fields["CC_SessionId__c"]["externalId"] and fields["CC_SessionId__c"]["unique"]
    assert fields["CallObject"]["type"] == "string"
    assert "Task" in {s["name"] for s in rest(salesforce_client, "sobjects/")["sobjects"]}


class SteppedClock:
    """The org's clock, moved by the test (getUpdated only covers whole past minutes)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_updated_and_deleted_replication() -> None:
    clock = SteppedClock(datetime.now(UTC).replace(second=30) - timedelta(minutes=30))
    with running_standin(clock=clock) as standin, standin.http_session() as session:
        sf = Salesforce(
            instance_url=standin.base_url,
            session_id=standin.issue_token(),
            session=session,
            version="62.0",
        )
        keep = standin.insert("Contact", {"LastName": "Keep"})
        gone = standin.insert("Contact", {"LastName": "Gone"})
        standin.delete("Contact", gone)
        start, end = clock.now - timedelta(minutes=5), clock.now + timedelta(minutes=5)
        same_minute = sobject(sf, "Contact").updated(start, end)
        clock.now += timedelta(minutes=2)
        updated = sobject(sf, "Contact").updated(start, end)
        deleted = sobject(sf, "Contact").deleted(start, end)
    assert same_minute["ids"] == []  # the current minute is not covered yet
    assert updated["ids"] == [keep]
    assert [d["id"] for d in deleted["deletedRecords"]] == [gone]
    assert DATETIME.fullmatch(deleted["earliestDateAvailable"])
    assert updated["latestDateCovered"] == (clock.now.replace(second=0)).strftime(
        "%Y-%m-%dT%H:%M:00.000+0000"
    )


def test_delete_cascades_and_soft_delete_is_visible_to_records(salesforce: StandIn) -> None:
    campaign = salesforce.insert("Campaign", {"Name": "Spring", "IsActive": True})
    contact = salesforce.insert("Contact", {"LastName": "Member", "Phone": "555 0100"})
    member = salesforce.insert("CampaignMember", {"CampaignId": campaign, "ContactId": contact})
    assert salesforce.records("CampaignMember")[0]["Phone"] == "555 0100"
    salesforce.delete("Contact", contact)
    assert salesforce.records("CampaignMember") == []
    deleted = salesforce.records("CampaignMember", include_deleted=True)
    assert deleted[0]["Id"] == member and deleted[0]["IsDeleted"] is True
    again = call(salesforce, "DELETE", f"/services/data/v62.0/sobjects/Contact/{contact}")
    assert again.status_code == 404 and again.json()[0]["errorCode"] == "ENTITY_IS_DELETED"
