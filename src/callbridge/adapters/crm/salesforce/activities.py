"""Call logging (contract §0.4, §3.6): Tasks upserted on the external-id field through sObject
Collections, up to 200 per request, allOrNone=false so one bad record fails alone.

A Task delivered again is an update, and Salesforce refuses create-only fields on update
(TaskSubtype): the records refused for that alone are sent once more without them. That extra
request happens only on redelivery."""

from __future__ import annotations

from collections.abc import Sequence

from callbridge.adapters.crm.salesforce.client import SalesforceClient
from callbridge.adapters.crm.salesforce.errors import SalesforceAuthError, SalesforceError
from callbridge.adapters.crm.salesforce.mapping import (
    activity_results,
    chunks,
    failed_results,
    record_errors,
    task_records,
)
from callbridge.adapters.crm.salesforce.payload import Json, as_object, objects
from callbridge.domain.crm.records import ActivityResult
from callbridge.ports import MappedActivity

CREATE_ONLY_TASK_FIELDS = frozenset({"TaskSubtype"})


def log_activities(
    client: SalesforceClient, activities: Sequence[MappedActivity], external_id_field: str
) -> list[ActivityResult]:
    results: list[ActivityResult] = []
    for chunk in chunks(activities):
        records, slots = task_records(chunk, external_id_field)
        try:
            answer = upsert_tasks(client, records, external_id_field)
        except SalesforceError as exc:
            # a refused login is a setting to fix, not a reason to drop the activities
            retryable = exc.retryable or isinstance(exc, SalesforceAuthError)
            results += failed_results(chunk, exc.message, retryable)
            continue
        results += activity_results(chunk, slots, answer)
    return results


def upsert_tasks(
    client: SalesforceClient, records: list[Json], external_id_field: str
) -> list[Json]:
    """One Collections upsert (<= 200 records); one result per record, in order."""
    answer = _send(client, records, external_id_field)
    again = [i for i, entry in enumerate(answer) if _refused_create_only(entry)]
    if again:
        trimmed = [
            {k: v for k, v in records[i].items() if k not in CREATE_ONLY_TASK_FIELDS} for i in again
        ]
        for i, entry in zip(again, _send(client, trimmed, external_id_field), strict=True):
            answer[i] = entry
    return answer


def _send(client: SalesforceClient, records: list[Json], external_id_field: str) -> list[Json]:
    body = {"allOrNone": False, "records": records}
    answer = objects(
        client.rest(f"composite/sobjects/Task/{external_id_field}", "PATCH", body=body),
        "composite/sobjects",
    )
    if len(answer) != len(records):
        raise SalesforceError(
            f"Salesforce answered {len(answer)} results for {len(records)} Tasks",
            retryable=True,
        )
    return [as_object(entry, "composite/sobjects") for entry in answer]


def _refused_create_only(entry: Json) -> bool:
    if entry.get("success") is True:
        return False
    codes, _ = record_errors(entry)
    if codes != ["INVALID_FIELD_FOR_INSERT_UPDATE"]:
        return False
    errors = entry.get("errors")
    named = {
        str(name)
        for error in (errors if isinstance(errors, list) else [])
        if isinstance(error, dict)
        for name in (error.get("fields") or [])
    }
    return bool(named) and named <= CREATE_ONLY_TASK_FIELDS
