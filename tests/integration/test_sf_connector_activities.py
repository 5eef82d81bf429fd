"""Call logging against the stand-in: 1,000 activities in five requests, upserted on the
interaction id so a second delivery changes nothing, one bad record failing alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sf_support import Harness, calls, standin_and_connector

from callbridge.adapters.crm.salesforce.mapping import default_task_fields
from callbridge.domain.crm.records import RecordRef, RecordType
from callbridge.ports import MappedActivity


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with standin_and_connector(f"sqlite:///{tmp_path / 'cb.db'}", tmp_path) as h:
        yield h


def test_a_thousand_activities_cost_five_requests_and_a_second_delivery_changes_nothing(
    harness: Harness,
) -> None:
    crm, standin = harness.connector, harness.standin
    who = crm.upsert_record(RecordType.CONTACT, {"LastName": "Doe", "Phone": "4155550142"})
    batch = calls(1000, who=who)
    before = harness.calls()
    first = crm.log_activities(batch)
    assert harness.calls() - before == 5  # 200 per sObject Collections request
    assert [r.external_id for r in first] == [m.activity.external_id for m in batch]
    assert all(r.ok and r.record_id for r in first)
    tasks = standin.records("Task")
    assert len(tasks) == 1000
    assert {t["CC_SessionId__c"] for t in tasks} == {m.activity.external_id for m in batch}
    assert all(t["WhoId"] == who.id and t["Status"] == "Completed" for t in tasks)

    before = harness.calls()
    again = crm.log_activities(batch)
    # an update may not set the create-only TaskSubtype: those records go once more without
    assert harness.calls() - before == 10
    assert [r.record_id for r in again] == [r.record_id for r in first]
    assert all(r.ok for r in again)
    assert len(standin.records("Task")) == 1000


def test_the_default_task_is_what_salesforce_keeps(harness: Harness) -> None:
    crm = harness.connector
    lead = crm.upsert_record(RecordType.LEAD, {"LastName": "Lee", "Company": "Initech"})
    case = crm.upsert_record(RecordType.CASE, {"Subject": "Broken"})
    activity = replace(calls(1)[0].activity, who=lead, what=case, notes="Wants a callback")
    [result] = crm.log_activities([MappedActivity(activity, default_task_fields(activity))])
    assert result.ok and result.record_id
    task = crm.get_record(RecordRef(RecordType.TASK, result.record_id))
    assert task is not None
    expected = {
        "Subject": "Inbound call 0", "Status": "Completed", "Priority": "Normal",
        "TaskSubtype": "Call", "CallType": "Inbound", "CallDurationInSeconds": 75,
        "CallObject": "ix-00000", "CallDisposition": "Resolved", "WhoId": lead.id,
        "WhatId": None, "CC_SessionId__c": "ix-00000", "IsClosed": True,
        "ActivityDate": "2027-01-15",
    }  # fmt: skip
    assert {k: task.fields[k] for k in expected} == expected
    assert str(task.fields["Description"]).startswith("Wants a callback\nCustomer: +1415")


def test_one_interaction_twice_in_a_batch_is_one_task(harness: Harness) -> None:
    batch = calls(2)
    results = harness.connector.log_activities([batch[0], batch[1], batch[0]])
    assert [r.ok for r in results] == [True, True, True]
    assert results[0].record_id == results[2].record_id
    assert len(harness.standin.records("Task")) == 2


def test_a_refused_record_fails_alone_and_is_not_retried(harness: Harness) -> None:
    ghost = RecordRef(RecordType.CONTACT, "003000000000000AAA")
    batch = calls(1) + calls(1, start=1, who=ghost) + calls(1, start=2)
    results = harness.connector.log_activities(batch)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error and not results[1].retryable
    assert harness.sleeps == []
