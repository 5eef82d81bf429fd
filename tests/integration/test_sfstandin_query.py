"""SOQL (/query, /queryAll, paging) and SOSL (/search) on the stand-in (contract §3.4-3.5)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
import sfstandin_fixture
from sfstandin import Fault, StandIn
from sfstandin_fixture import content_of
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from simple_salesforce.format import format_soql

# fixtures, bound to names here (an import shadowed by a parameter trips ruff's F811)
salesforce = sfstandin_fixture.salesforce
salesforce_client = sfstandin_fixture.salesforce_client
salesforce_server = sfstandin_fixture.salesforce_server


@pytest.fixture
def shared(salesforce_server: StandIn) -> StandIn:
    """The session's stand-in with a fresh org: cheaper for the parametrized cases."""
    salesforce_server.reset()
    return salesforce_server


def get(sf: StandIn, path: str, **params: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {sf.issue_token()}"}
    with sf.http_session() as s:
        return s.get(
            f"{sf.base_url}/services/data/v62.0{path}", params=params, headers=headers, timeout=10
        )


def seed_contacts(sf: StandIn, n: int) -> list[str]:
    return [
        sf.insert("Contact", {"LastName": f"C{i:03d}", "Phone": f"415555{i:04d}"}) for i in range(n)
    ]


def test_paging_with_next_records_url_and_query_all(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    seed_contacts(salesforce, 7)
    salesforce.set_page_size(3)
    first = salesforce_client.query("SELECT Id, LastName FROM Contact ORDER BY LastName")
    assert (first["totalSize"], first["done"], len(first["records"])) == (7, False, 3)
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-3")
    everything = salesforce_client.query_all("SELECT Id, LastName FROM Contact ORDER BY LastName")
    names = [r["LastName"] for r in everything["records"]]
    assert names == [f"C{i:03d}" for i in range(7)]
    assert everything["done"] is True and everything["totalSize"] == 7


def test_last_page_has_no_next_records_url_and_locators_expire(salesforce: StandIn) -> None:
    seed_contacts(salesforce, 3)
    salesforce.set_page_size(2)
    first = get(salesforce, "/query/", q="SELECT Id FROM Contact").json()
    last = get(salesforce, first["nextRecordsUrl"].removeprefix("/services/data/v62.0")).json()
    assert last["done"] is True and "nextRecordsUrl" not in last
    again = get(salesforce, first["nextRecordsUrl"].removeprefix("/services/data/v62.0"))
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_relationship_fields_nest_and_null_parents_are_null(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    account = salesforce.insert("Account", {"Name": "Acme"})
    salesforce.insert("Contact", {"LastName": "Has", "AccountId": account})
    salesforce.insert("Contact", {"LastName": "Lacks"})
    result = salesforce_client.query(
        "SELECT Id, Name, Account.Name FROM Contact WHERE LastName IN ('Has', 'Lacks') "
        "ORDER BY LastName"
    )
    has, lacks = result["records"]
    assert has["Account"]["Name"] == "Acme"
    assert has["Account"]["attributes"]["type"] == "Account"
    assert lacks["Account"] is None


def test_dialing_list_query_with_campaign_member_parents(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    campaign = salesforce.insert("Campaign", {"Name": "Spring", "IsActive": True})
    contact = salesforce.insert(
        "Contact", {"LastName": "Dial", "MobilePhone": "+1 415 555 0101", "DoNotCall": True}
    )
    lead = salesforce.insert("Lead", {"LastName": "L", "Company": "Co", "Phone": "415-555-0102"})
    salesforce.insert("CampaignMember", {"CampaignId": campaign, "ContactId": contact})
    salesforce.insert("CampaignMember", {"CampaignId": campaign, "LeadId": lead})
    soql = format_soql(
        "SELECT Id, CampaignId, LeadId, ContactId, Status, Contact.Phone, Contact.MobilePhone, "
        "Lead.Phone, Contact.DoNotCall, Lead.DoNotCall FROM CampaignMember "
        "WHERE CampaignId = {} AND SystemModstamp > {:literal}",
        campaign,
        "2000-01-01T00:00:00Z",
    )
    rows = salesforce_client.query_all(soql)["records"]
    by_type = {("Contact" if r["ContactId"] else "Lead"): r for r in rows}
    assert by_type["Contact"]["Contact"]["MobilePhone"] == "+1 415 555 0101"
    assert by_type["Contact"]["Contact"]["DoNotCall"] is True
    assert by_type["Contact"]["Lead"] is None
    assert by_type["Lead"]["Lead"]["Phone"] == "415-555-0102"
    assert by_type["Lead"]["Status"] == "Sent"


def test_watermark_polling_and_query_all_sees_deleted_rows(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    first, second = seed_contacts(salesforce, 2)
    stamp = salesforce.records("Contact")[0]["SystemModstamp"]
    watermark = stamp[:23] + "Z"
    salesforce.delete("Contact", second)
    soql = (
        f"SELECT Id, IsDeleted FROM Contact WHERE SystemModstamp >= {watermark} "  # noqa: S608
        "ORDER BY SystemModstamp ASC"
    )
    live = salesforce_client.query(soql)["records"]
    every = salesforce_client.query(soql, include_deleted=True)["records"]
    assert [r["Id"] for r in live] == [first]
    assert {(r["Id"], r["IsDeleted"]) for r in every} == {(first, False), (second, True)}


@pytest.mark.parametrize(
    ("where", "count"),
    [
        ("LastName = 'c001'", 1),  # = on text is case-insensitive
        ("LastName != 'C001'", 3),
        ("LastName LIKE 'C00%'", 4),
        ("LastName IN ('C000', 'C003')", 2),
        ("LastName NOT IN ('C000')", 3),
        ("(LastName = 'C000' OR LastName = 'C001') AND DoNotCall = false", 2),
        ("NOT LastName = 'C000'", 3),
        ("LastName > 'C001'", 2),
        ("CreatedDate = TODAY", 4),
        ("CreatedDate > LAST_N_DAYS:2", 0),
        ("CreatedDate = LAST_N_DAYS:2", 4),
        ("AccountId = null", 4),
        ("Phone != null", 4),
    ],
)
def test_where_operators(shared: StandIn, where: str, count: int) -> None:
    seed_contacts(shared, 4)
    resp = get(shared, "/query", q=f"SELECT COUNT() FROM Contact WHERE {where}")  # noqa: S608
    assert resp.status_code == 200, resp.json()
    assert resp.json() == {"totalSize": count, "done": True, "records": []}


def test_order_limit_offset(salesforce: StandIn) -> None:
    seed_contacts(salesforce, 5)
    resp = get(
        salesforce,
        "/query",
        q="SELECT LastName FROM Contact ORDER BY LastName DESC LIMIT 2 OFFSET 1",
    )
    assert [r["LastName"] for r in resp.json()["records"]] == ["C003", "C002"]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY"),
        (
            "SELECT Id FROM Contact WHERE LastName = 'a' AND Phone = 'b' OR Email = 'c'",
            "MALFORMED_QUERY",
        ),
        ("SELECT Id FROM Contact WHERE SystemModstamp > 2024-03-05T00:00:00", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE SystemModstamp > '2024-03-05T00:00:00Z'", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE DoNotCall = 'false'", "INVALID_FIELD"),
        ("SELECT Id, Shoe__c FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
        ("SELECT Id, Foo.Name FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE AccountId = 'nope'", "INVALID_QUERY_FILTER_OPERATOR"),
    ],
)
def test_query_errors_are_400_arrays(shared: StandIn, soql: str, code: str) -> None:
    resp = get(shared, "/query/", q=soql)
    assert resp.status_code == 400
    content: Any = resp.json()
    assert isinstance(content, list) and content[0]["errorCode"] == code


def test_sosl_phone_search_ignores_formatting(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    account = salesforce.insert("Account", {"Name": "Acme", "Phone": "415.555.1212"})
    contact = salesforce.insert(
        "Contact", {"LastName": "Smith", "Phone": "(415) 555-1212", "AccountId": account}
    )
    lead = salesforce.insert(
        "Lead", {"LastName": "Doe", "Company": "Co", "MobilePhone": "+1 415 555 1212"}
    )
    salesforce.insert("Contact", {"LastName": "Other", "Phone": "(415) 555-9999"})
    found = salesforce_client.search(
        "FIND {4155551212} IN PHONE FIELDS RETURNING Contact(Id, Name, Phone, AccountId), "
        "Lead(Id, Name, Phone, Company), Account(Id, Name, Phone)"
    )
    assert found is not None
    records = found["searchRecords"]
    assert [(r["attributes"]["type"], r["Id"]) for r in records] == [
        ("Contact", contact),
        ("Lead", lead),
        ("Account", account),
    ]
    assert records[0] == {
        "attributes": {
            "type": "Contact",
            "url": f"/services/data/v62.0/sobjects/Contact/{contact}",
        },
        "Id": contact,
        "Name": "Smith",
        "Phone": "(415) 555-1212",
        "AccountId": account,
    }
    with_country = salesforce_client.search(
        "FIND {+1 \\(415\\) 555\\-1212} IN PHONE FIELDS RETURNING Contact(Id)"
    )
    assert with_country is not None and [r["Id"] for r in with_country["searchRecords"]] == [
        contact
    ]


def test_sosl_no_hits_all_fields_and_errors(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    salesforce.insert("Contact", {"LastName": "Smithers", "Email": "w@example.com"})
    assert salesforce_client.search("FIND {4155550000} IN PHONE FIELDS RETURNING Contact(Id)") == {
        "searchRecords": []
    }
    hits = salesforce_client.search("FIND {smith*} IN ALL FIELDS RETURNING Contact(Id, LastName)")
    assert hits is not None and hits["searchRecords"][0]["LastName"] == "Smithers"
    with pytest.raises(SalesforceMalformedRequest) as short:
        salesforce_client.search("FIND {a} RETURNING Contact(Id)")
    assert content_of(short.value)[0]["errorCode"] == "MALFORMED_SEARCH"


def test_sosl_index_lag(salesforce: StandIn, salesforce_client: Salesforce) -> None:
    salesforce.inject(Fault.search_lag(2.0))  # wide enough for a busy machine
    salesforce.insert("Contact", {"LastName": "Fresh", "Phone": "4155557777"})
    soql = "FIND {4155557777} IN PHONE FIELDS RETURNING Contact(Id)"
    assert salesforce_client.search(soql) == {"searchRecords": []}
    time.sleep(2.1)
    later = salesforce_client.search(soql)
    assert later is not None and len(later["searchRecords"]) == 1
