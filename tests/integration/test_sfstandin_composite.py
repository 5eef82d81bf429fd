"""sObject Collections, Composite and Bulk API 2.0 on the stand-in (contract §3.6-3.8)."""

from __future__ import annotations

import csv
import io
from typing import Any

import sfstandin_fixture
from sfstandin import StandIn
from sfstandin_fixture import bulk2, rest
from simple_salesforce.api import Salesforce

# fixtures, bound to names here (an import shadowed by a parameter trips ruff's F811)
salesforce = sfstandin_fixture.salesforce
salesforce_client = sfstandin_fixture.salesforce_client


ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}


def task(session_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "attributes": {"type": "Task"},
        "CC_SessionId__c": session_id,
        "Status": "Completed",
        "Priority": "Normal",
        "TaskSubtype": "Call",
        **fields,
    }


def test_collections_upsert_by_external_id_reports_created_flags(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    body: dict[str, Any] = {"allOrNone": False, "records": [task("s-1"), task("s-2")]}
    first = rest(
        salesforce_client, "composite/sobjects/Task/CC_SessionId__c", method="PATCH", json=body
    )
    assert [(r["success"], r["created"]) for r in first] == [(True, True), (True, True)]
    body["records"] = [task("s-2", CallDisposition="Resolved"), task("s-3")]
    del body["records"][0]["TaskSubtype"]
    second = rest(
        salesforce_client, "composite/sobjects/Task/CC_SessionId__c", method="PATCH", json=body
    )
    assert [r["created"] for r in second] == [False, True]
    assert second[0]["id"] == first[1]["id"]
    assert len(salesforce.records("Task")) == 3
    assert salesforce.api_calls() == 2  # one call per collection
    # TaskSubtype is set on create only: resending it on an existing Task is refused
    body["records"] = [task("s-1")]
    again = rest(
        salesforce_client, "composite/sobjects/Task/CC_SessionId__c", method="PATCH", json=body
    )
    assert again[0]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert again[0]["errors"][0]["fields"] == ["TaskSubtype"]


def test_collections_upsert_rejects_repeated_keys_in_one_request(
    salesforce_client: Salesforce,
) -> None:
    body = {"allOrNone": False, "records": [task("dup"), task("DUP"), task("ok")]}
    result = rest(
        salesforce_client, "composite/sobjects/Task/CC_SessionId__c", method="PATCH", json=body
    )
    assert [r["success"] for r in result] == [False, False, True]
    assert result[0]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"


def test_collections_create_partial_success_and_all_or_none(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    records = [
        {"attributes": {"type": "Contact"}, "LastName": "Ok"},
        {"attributes": {"type": "Contact"}, "FirstName": "NoLastName"},
    ]
    partial = rest(
        salesforce_client,
        "composite/sobjects",
        method="POST",
        json={"allOrNone": False, "records": records},
    )
    assert partial[0]["success"] is True and partial[0]["id"].startswith("003")
    assert partial[1] == {
        "id": None,
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [LastName]",
                "fields": ["LastName"],
            }
        ],
    }
    before = len(salesforce.records("Contact"))
    atomic = rest(
        salesforce_client,
        "composite/sobjects",
        method="POST",
        json={"allOrNone": True, "records": records},
    )
    assert atomic[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert atomic[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert len(salesforce.records("Contact")) == before


def test_collections_update_delete_and_retrieve(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    a = salesforce.insert("Account", {"Name": "A"})
    b = salesforce.insert("Account", {"Name": "B"})
    updated = rest(
        salesforce_client,
        "composite/sobjects",
        method="PATCH",
        json={"records": [{"attributes": {"type": "Account"}, "id": a, "Name": "A2"}]},
    )
    assert updated == [{"id": a, "success": True, "errors": []}]
    got = rest(
        salesforce_client,
        "composite/sobjects/Account",
        params={"ids": f"{a},001000000000000AAA", "fields": "Id,Name"},
    )
    assert got[0]["Name"] == "A2" and got[1] is None
    deleted = rest(
        salesforce_client,
        "composite/sobjects",
        method="DELETE",
        params={"ids": f"{b},001RM000003oLrB000", "allOrNone": "false"},
    )
    assert deleted[0] == {"id": b, "success": True, "errors": []}
    assert deleted[1]["errors"][0]["statusCode"] == "MALFORMED_ID"


def test_collections_refuse_more_than_200_records(salesforce: StandIn) -> None:
    body = {"records": [{"attributes": {"type": "Task"}} for _ in range(201)]}
    with salesforce.http_session() as s:
        resp = s.post(
            f"{salesforce.base_url}/services/data/v62.0/composite/sobjects",
            json=body,
            headers={"Authorization": f"Bearer {salesforce.issue_token()}"},
            timeout=10,
        )
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def composite(sf: Salesforce, all_or_none: bool, *subs: dict[str, Any]) -> list[dict[str, Any]]:
    body = {"allOrNone": all_or_none, "compositeRequest": list(subs)}
    result = rest(sf, "composite", method="POST", json=body)
    return list(result["compositeResponse"])


def test_composite_references_previous_results(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    out = composite(
        salesforce_client,
        True,
        {
            "method": "POST",
            "url": "/services/data/v62.0/sobjects/Account",
            "referenceId": "refAccount",
            "body": {"Name": "Sample Account"},
        },
        {
            "method": "POST",
            "url": "/services/data/v62.0/sobjects/Contact",
            "referenceId": "refContact",
            "body": {"LastName": "Sample", "AccountId": "@{refAccount.id}"},
        },
        {
            "method": "GET",
            "url": "/services/data/v62.0/sobjects/Contact/@{refContact.id}?fields=AccountId",
            "referenceId": "check",
        },
    )
    assert [e["httpStatusCode"] for e in out] == [201, 201, 200]
    assert out[2]["body"]["AccountId"] == out[0]["body"]["id"]
    assert out[0]["httpHeaders"]["Location"].endswith(out[0]["body"]["id"])
    assert salesforce.api_calls() == 1


def test_composite_all_or_none_rolls_back_with_processing_halted(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    out = composite(
        salesforce_client,
        True,
        {
            "method": "POST",
            "url": "/services/data/v62.0/sobjects/Account",
            "referenceId": "ok",
            "body": {"Name": "Kept?"},
        },
        {
            "method": "POST",
            "url": "/services/data/v62.0/sobjects/Contact",
            "referenceId": "bad",
            "body": {"FirstName": "NoLastName"},
        },
    )
    assert out[0]["httpStatusCode"] == 400
    assert out[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert out[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert salesforce.records("Account") == []


def test_composite_without_all_or_none_skips_dependents(salesforce_client: Salesforce) -> None:
    out = composite(
        salesforce_client,
        False,
        {
            "method": "POST",
            "url": "/services/data/v62.0/sobjects/Account",
            "referenceId": "refAccount",
            "body": {},
        },
        {
            "method": "POST",
            "url": "/services/data/v62.0/sobjects/Contact",
            "referenceId": "refContact",
            "body": {"LastName": "Sample", "AccountId": "@{refAccount.id}"},
        },
        {
            "method": "GET",
            "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+Account",
            "referenceId": "q",
        },
    )
    assert out[0]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert out[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert out[1]["body"][0]["message"].startswith(
        "Invalid reference specified. No value for refAccount.id"
    )
    assert out[2]["httpStatusCode"] == 200 and out[2]["body"]["totalSize"] == 0


def test_bulk2_upsert_round_trip_with_simple_salesforce(
    salesforce: StandIn, salesforce_client: Salesforce
) -> None:
    salesforce.insert("Task", {"CC_SessionId__c": "b-1", "Subject": "old"})
    records = [
        {"CC_SessionId__c": f"b-{i}", "Subject": f"call {i}", "CallDurationInSeconds": str(i)}
        for i in range(1, 5)
    ]
    records.append({"CC_SessionId__c": "b-bad", "Subject": "x", "CallDurationInSeconds": "many"})
    [result] = bulk2(salesforce_client, "Task").upsert(
        records=records, external_id_field="CC_SessionId__c", wait=0
    )
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (5, 1)
    job = str(result["job_id"])
    ok = list(
        csv.DictReader(io.StringIO(bulk2(salesforce_client, "Task").get_successful_records(job)))
    )
    assert [(r["sf__Created"], r["CC_SessionId__c"]) for r in ok] == [
        ("false", "b-1"),
        ("true", "b-2"),
        ("true", "b-3"),
        ("true", "b-4"),
    ]
    failed = list(
        csv.DictReader(io.StringIO(bulk2(salesforce_client, "Task").get_failed_records(job)))
    )
    assert failed[0]["sf__Error"].startswith("JSON_PARSER_ERROR:") and failed[0][
        "sf__Error"
    ].endswith("--")
    assert {t["Subject"] for t in salesforce.records("Task")} == {f"call {i}" for i in range(1, 5)}


def test_bulk2_state_progression_by_hand(salesforce: StandIn) -> None:
    base = f"{salesforce.base_url}/services/data/v62.0/jobs/ingest"
    headers = {"Authorization": f"Bearer {salesforce.issue_token()}"}
    with salesforce.http_session() as s:
        s.headers.update(headers)
        job = s.post(
            base + "/",
            json={
                "object": "Contact",
                "operation": "insert",
                "contentType": "CSV",
                "lineEnding": "LF",
            },
        ).json()
        assert job["state"] == "Open" and job["id"].startswith("750")
        put = s.put(
            f"{base}/{job['id']}/batches",
            data=b"LastName,Phone\nA,1\nB,2\n",
            headers={"Content-Type": "text/csv"},
        )
        assert put.status_code == 201 and put.content == b""
        closed = s.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}).json()
        states = [closed["state"]] + [
            s.get(f"{base}/{job['id']}").json()["state"] for _ in range(3)
        ]
        unprocessed = s.get(f"{base}/{job['id']}/unprocessedrecords")
    assert states == ["UploadComplete", "InProgress", "JobComplete", "JobComplete"]
    assert unprocessed.text == '"LastName","Phone"\n'
    assert sorted(r["LastName"] for r in salesforce.records("Contact")) == ["A", "B"]


def test_limits_count_bulk_batches(salesforce: StandIn, salesforce_client: Salesforce) -> None:
    bulk2(salesforce_client, "Contact").insert(records=[{"LastName": "X"}], wait=0)
    limits = salesforce_client.limits()
    assert limits["DailyBulkApiBatches"]["Remaining"] == 14999
