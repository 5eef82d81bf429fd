"""Bulk API 2.0 ingest (§3.8): create, PUT CSV batches, close, poll, result CSVs."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sfstandin.errors import SfError, not_found
from sfstandin.org import Org
from sfstandin.rest import ApiRequest, ApiResponse, Router
from sfstandin.schema import sobject_def
from sfstandin.sobjects import upsert_one
from sfstandin.timefmt import format_datetime

Args = tuple[str, ...]
DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
TERMINAL = ("JobComplete", "Failed", "Aborted")


@dataclass
class IngestJob:
    id: str
    sobject: str
    operation: str
    external_id_field: str | None
    column_delimiter: str
    line_ending: str
    created: datetime
    api_version: str
    state: str = "Open"
    modstamp: datetime | None = None
    uploads: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    successes: list[list[str]] = field(default_factory=list)
    failures: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    error_message: str | None = None

    def info(self, org: Org, *, full: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id, "operation": self.operation, "object": self.sobject,
            "createdById": org.user_id, "createdDate": format_datetime(self.created),
            "systemModstamp": format_datetime(self.modstamp or self.created), "state": self.state,
            "concurrencyMode": "Parallel", "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "contentUrl": f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches",
            "lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter,
        }  # fmt: skip
        if self.external_id_field:
            body["externalIdFieldName"] = self.external_id_field
        if full:
            body |= {
                "jobType": "V2Ingest", "retries": 0, "totalProcessingTime": 0,
                "apiActiveProcessingTime": 0, "apexProcessingTime": 0,
                "numberRecordsProcessed": len(self.successes) + len(self.failures),
                "numberRecordsFailed": len(self.failures),
            }  # fmt: skip
            if self.error_message:
                body["errorMessage"] = self.error_message
        return body


def _job(org: Org, job_id: str) -> IngestJob:
    with org.lock:
        job = org.jobs.get(job_id)
    if job is None:
        raise not_found()
    return job


def create(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    body = req.json_object()
    sdef = sobject_def(str(body.get("object", "")))
    operation = str(body.get("operation", ""))
    if sdef is None:
        raise SfError(400, "INVALIDJOB", f"InvalidJob : Invalid object: {body.get('object')}")
    if operation not in OPERATIONS:
        raise SfError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    ext = body.get("externalIdFieldName")
    if operation == "upsert":
        fdef = sdef.field(str(ext or ""))
        if fdef is None or not fdef.external_id:
            raise SfError(
                400, "INVALIDJOB", f"InvalidJob : External ID was blank or invalid for {sdef.name}"
            )
        ext = fdef.name
    delimiter = str(body.get("columnDelimiter", "COMMA"))
    if delimiter not in DELIMITERS:
        raise SfError(400, "INVALIDJOB", f"InvalidJob : Invalid column delimiter: {delimiter}")
    job = IngestJob(
        org.ids.make("750"), sdef.name, operation, ext if operation == "upsert" else None,
        delimiter, str(body.get("lineEnding", "LF")), org.store.now(), req.version,
    )  # fmt: skip
    with org.lock:
        org.jobs[job.id] = job
    return ApiResponse(200, job.info(org, full=False))


def upload(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    job = _job(org, args[0])
    if job.state != "Open":
        raise SfError(409, "INVALIDJOBSTATE", f"Job {job.id} is not in Open state")
    job.uploads.append(req.body.decode("utf-8"))
    return ApiResponse(201)


def change_state(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    job = _job(org, args[0])
    target = req.json_object().get("state")
    if target == "UploadComplete" and job.state == "Open":
        job.state = "UploadComplete"
    elif target == "Aborted" and job.state not in TERMINAL:
        job.state = "Aborted"
        job.unprocessed = _rows(job)[1]
    else:
        raise SfError(
            400, "INVALIDJOBSTATE", f"Invalid state transition to {target} from {job.state}"
        )
    job.modstamp = org.store.now()
    return ApiResponse(200, job.info(org, full=False))


def get_job(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    """Each poll moves a closed job one step: UploadComplete -> InProgress -> JobComplete."""
    job = _job(org, args[0])
    if job.state == "InProgress":
        job.state = "Failed" if job.error_message else "JobComplete"
        job.modstamp = org.store.now()
    elif job.state == "UploadComplete":
        _process(org, job)
        job.state = "InProgress"
        job.modstamp = org.store.now()
    return ApiResponse(200, job.info(org, full=True))


def list_jobs(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    with org.lock:
        jobs = list(org.jobs.values())
    records = [j.info(org, full=False) for j in jobs]
    return ApiResponse(200, {"done": True, "records": records, "nextRecordsUrl": None})


def delete_job(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    job = _job(org, args[0])
    if job.state in ("Open", "InProgress"):
        raise SfError(
            400, "INVALIDJOBSTATE", "Job must be closed, aborted or complete to delete it"
        )
    with org.lock:
        org.jobs.pop(job.id, None)
    return ApiResponse(204)


def _rows(job: IngestJob) -> tuple[list[str], list[list[str]]]:
    header: list[str] = []
    rows: list[list[str]] = []
    for text in job.uploads:
        reader = csv.reader(
            io.StringIO(text, newline=""), delimiter=DELIMITERS[job.column_delimiter]
        )
        lines = [line for line in reader if line]
        if lines:
            header = lines[0]
            rows.extend(lines[1:])
    return header, rows


def _process(org: Org, job: IngestJob) -> None:
    job.header, rows = _rows(job)
    sdef = sobject_def(job.sobject)
    assert sdef is not None
    unknown = [h for h in job.header if sdef.field(h) is None]
    if unknown:
        job.error_message = f"InvalidBatch : Field name not found : {unknown[0]}"
        return
    with org.limits.lock:
        org.limits.bulk_batches_used += max(1, math.ceil(len(rows) / 10000))
    for row in rows:
        values = {
            h: (None if v == "#N/A" else v)
            for h, v in zip(job.header, row, strict=False)
            if v != ""
        }
        known_id = next((v for k, v in values.items() if k.lower() == "id" and v), "")
        try:
            record_id, created = _apply(org, job, values)
            job.successes.append([record_id, "true" if created else "false", *row])
        except SfError as err:
            fields = ",".join(err.fields or [])
            message = (
                f"{err.code}:{err.message}:{fields} --"
                if fields
                else f"{err.code}:{err.message}:--"
            )
            job.failures.append([known_id or "", message, *row])


def _apply(org: Org, job: IngestJob, values: dict[str, Any]) -> tuple[str, bool]:
    record_id = next((str(v) for k, v in values.items() if k.lower() == "id" and v), None)
    fields = {k: v for k, v in values.items() if k.lower() != "id"}
    if job.operation == "insert":
        return org.store.create(job.sobject, fields), True
    if job.operation == "upsert":
        assert job.external_id_field is not None
        key = next(
            (str(v) for k, v in fields.items() if k.lower() == job.external_id_field.lower()), None
        )
        if key is None:
            raise SfError(400, "MISSING_ARGUMENT", f"{job.external_id_field} not specified", [])
        outcome = upsert_one(org, job.sobject, job.external_id_field, key, fields, None)
        if isinstance(outcome, list):
            raise SfError(
                400, "DUPLICATE_EXTERNAL_ID", "more than one record found for external id field", []
            )
        return outcome
    if record_id is None:
        raise SfError(400, "MISSING_ARGUMENT", "Id not specified in an update call", [])
    if job.operation == "update":
        org.store.update(job.sobject, record_id, fields)
    else:
        org.store.delete(job.sobject, record_id)
    return record_id, False


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def results(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    job = _job(org, args[0])
    kind = args[1].lower()
    if kind == "successfulresults":
        text = _csv(["sf__Id", "sf__Created", *job.header], job.successes)
    elif kind == "failedresults":
        text = _csv(["sf__Id", "sf__Error", *job.header], job.failures)
    else:
        header = job.header or _rows(job)[0]
        text = _csv(header, job.unprocessed)
    return ApiResponse(200, text, media_type="text/csv")


def register(router: Router) -> None:
    router.add(r"/jobs/ingest", POST=create, GET=list_jobs)
    router.add(
        r"/jobs/ingest/(750[0-9A-Za-z]+)", GET=get_job, PATCH=change_state, DELETE=delete_job
    )
    router.add(r"/jobs/ingest/(750[0-9A-Za-z]+)/batches", PUT=upload)
    router.add(
        r"/jobs/ingest/(750[0-9A-Za-z]+)/(successfulResults|failedResults|unprocessedRecords)",
        GET=results,
    )
