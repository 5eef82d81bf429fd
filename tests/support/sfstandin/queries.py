"""`/query`, `/queryAll` (with query locators) and `/search`."""

from __future__ import annotations

import re
from typing import Any

from sfstandin import sosl
from sfstandin.errors import SfError, malformed_query
from sfstandin.org import Cursor, Org
from sfstandin.rest import ApiRequest, ApiResponse, Router
from sfstandin.soql import parse
from sfstandin.soql_eval import render_rows, run

Args = tuple[str, ...]


def page_size(org: Org, req: ApiRequest) -> int:
    """The configured size, lowered by `Sforce-Query-Options: batchSize=N` (200..2000)."""
    size = org.page_size
    m = re.search(r"batchSize=(\d+)", req.headers.get("sforce-query-options", ""))
    if m:
        size = min(size, max(200, min(2000, int(m.group(1)))))
    return size


def page(
    org: Org, req: ApiRequest, records: list[dict[str, Any]], endpoint: str, offset: int,
    locator: str | None,
) -> dict[str, Any]:  # fmt: skip
    size = page_size(org, req)
    chunk = records[offset : offset + size]
    nxt = offset + len(chunk)
    body: dict[str, Any] = {"totalSize": len(records), "done": nxt >= len(records)}
    with org.lock:
        if nxt < len(records):
            locator = locator or org.ids.make("01g")
            org.cursors[locator] = Cursor(records, endpoint)
            body["nextRecordsUrl"] = f"/services/data/v{req.version}/{endpoint}/{locator}-{nxt}"
        elif locator is not None:
            org.cursors.pop(locator, None)
    body["records"] = chunk
    return body


def execute_soql(org: Org, req: ApiRequest, soql: str, endpoint: str) -> dict[str, Any]:
    """Run a SOQL statement and return its first page (also used by composite subrequests)."""
    query = parse(soql)
    result = run(org.store, query, include_deleted=endpoint == "queryAll")
    if result.count_only:
        return {"totalSize": len(result.rows), "done": True, "records": []}
    records = render_rows(org.store, result, req.version)
    return page(org, req, records, endpoint, 0, None)


def _query(org: Org, req: ApiRequest, endpoint: str) -> ApiResponse:
    soql = req.query.get("q")
    if not soql:
        raise malformed_query("A query string has to be specified")
    return ApiResponse(200, execute_soql(org, req, soql, endpoint))


def query(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    return _query(org, req, "query")


def query_all(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    return _query(org, req, "queryAll")


def more(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    locator, offset = args[1], int(args[2])
    with org.lock:
        cursor = org.cursors.get(locator)
    if cursor is None or offset > len(cursor.records):
        raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return ApiResponse(200, page(org, req, cursor.records, cursor.endpoint, offset, locator))


def search(org: Org, req: ApiRequest, args: Args) -> ApiResponse:
    text = req.query.get("q")
    if not text:
        raise SfError(
            400,
            "MALFORMED_SEARCH",
            "No search term found. The search term must be enclosed in braces.",
        )
    parsed = sosl.parse(text)
    found = sosl.execute(org.store, parsed, req.version, lag_seconds=org.faults.search_lag())
    return ApiResponse(200, {"searchRecords": found})


def register(router: Router) -> None:
    router.add(r"/query", GET=query)
    router.add(r"/queryAll", GET=query_all)
    router.add(r"/(query|queryAll)/(01g[0-9A-Za-z]{12,15})-(\d+)", GET=more)
    router.add(r"/search", GET=search)
