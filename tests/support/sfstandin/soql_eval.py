"""Running a parsed SOQL query against the store, with Salesforce's type rules for filters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sfstandin.errors import SfError, invalid_type
from sfstandin.ids import parse_id
from sfstandin.records import FieldPath, compile_path, read_path, render
from sfstandin.schema import sobject_def
from sfstandin.soql import BoolOp, Compare, Cond, InList, Not, Query, Value
from sfstandin.store import Row, Store

_TEXT = frozenset({"string", "textarea", "phone", "email", "url", "picklist", "combobox"})
_TYPE_NAMES = {"datetime": "dateTime", "int": "int", "double": "double", "date": "date"}


@dataclass
class Result:
    sobject: str
    rows: list[Row]
    paths: list[FieldPath]
    count_only: bool


def _filter_error(fdef_name: str, type_name: str, quoted: bool) -> SfError:
    how = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    return SfError(
        400,
        "INVALID_FIELD",
        f"value of filter criterion for field '{fdef_name}' must be of type {type_name} and {how}",
    )


def _check_value(path: FieldPath, value: Value, op: str) -> None:
    """Salesforce rejects a filter value whose literal kind does not fit the field type."""
    ftype, name = path.leaf.type, path.leaf.name
    if value.kind == "null":
        return
    if op == "LIKE" and ftype not in _TEXT | {"id", "reference"}:
        raise SfError(400, "INVALID_FIELD", f"invalid operator on {ftype} field: {name}")
    if ftype == "boolean" and value.kind != "bool":
        raise _filter_error(name, "boolean", False)
    if ftype == "datetime" and value.kind not in ("datetime", "literal"):
        raise _filter_error(name, "dateTime", False)
    if ftype == "date" and value.kind not in ("date", "literal"):
        raise _filter_error(name, "date", False)
    if ftype in ("int", "double") and value.kind != "number":
        raise _filter_error(name, _TYPE_NAMES[ftype], False)
    if ftype in _TEXT and value.kind != "string":
        raise _filter_error(name, "string", True)
    if ftype in ("id", "reference"):
        if value.kind != "string":
            raise _filter_error(name, "reference", True)
        if op != "LIKE" and parse_id(value.value) is None:
            raise SfError(400, "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value.value}")
    if value.kind == "literal":
        _literal_range(value.value, datetime.now(UTC))


def _literal_range(word: str, now: datetime) -> tuple[datetime, datetime]:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    day = timedelta(days=1)
    name, _, arg = word.partition(":")
    n = int(arg) if arg.isdigit() else 0
    ranges = {
        "TODAY": (today, today + day),
        "YESTERDAY": (today - day, today),
        "TOMORROW": (today + day, today + 2 * day),
        "LAST_N_DAYS": (today - n * day, today + day),
        "NEXT_N_DAYS": (today + day, today + (n + 1) * day),
        "N_DAYS_AGO": (today - n * day, today - (n - 1) * day),
        "LAST_90_DAYS": (today - 90 * day, today + day),
        "THIS_MONTH": (today.replace(day=1), (today.replace(day=28) + 4 * day).replace(day=1)),
    }
    if name not in ranges or (name.startswith(("LAST_N", "NEXT_N", "N_DAYS")) and not arg):
        raise SfError(400, "MALFORMED_QUERY", f"unexpected token: {word}")
    return ranges[name]


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str) and len(value) == 10:
        return _as_datetime(date.fromisoformat(value))
    return None


def _like(pattern: str) -> re.Pattern[str]:
    out = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(out, re.IGNORECASE | re.DOTALL)


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value


def _compare(path: FieldPath, actual: Any, op: str, value: Value, now: datetime) -> bool:
    if value.kind == "null":
        return (actual is None) == (op == "=") if op in ("=", "!=") else False
    if value.kind == "literal":
        moment = _as_datetime(actual)
        if moment is None:
            return op == "!="
        start, end = _literal_range(value.value, now)
        return {
            "=": start <= moment < end, "!=": not start <= moment < end,
            "<": moment < start, "<=": moment < end, ">": moment >= end, ">=": moment >= start,
        }[op]  # fmt: skip
    if actual is None:
        return op == "!="
    if op == "LIKE":
        return bool(_like(value.value).fullmatch(str(actual)))
    want: Any = value.value
    if path.leaf.type in ("id", "reference"):
        want = parse_id(want) or want
    elif value.kind in ("datetime", "date"):
        actual, want = _as_datetime(actual), _as_datetime(want)
    a, w = _norm(actual), _norm(want)
    if op == "=":
        return bool(a == w)
    if op == "!=":
        return bool(a != w)
    try:
        return bool({"<": a < w, "<=": a <= w, ">": a > w, ">=": a >= w}[op])
    except TypeError:
        return False


class _Evaluator:
    def __init__(self, store: Store, sobject: str) -> None:
        self.store = store
        self.sobject = sobject
        self.paths: dict[str, FieldPath] = {}
        self.now = store.now()

    def path(self, text: str) -> FieldPath:
        key = text.lower()
        if key not in self.paths:
            self.paths[key] = compile_path(self.sobject, text)
        return self.paths[key]

    def check(self, cond: Cond) -> None:
        if isinstance(cond, Compare):
            _check_value(self.path(cond.path), cond.value, cond.op)
        elif isinstance(cond, InList):
            for v in cond.values:
                _check_value(self.path(cond.path), v, "=")
        elif isinstance(cond, BoolOp):
            for part in cond.parts:
                self.check(part)
        else:
            self.check(cond.part)

    def test(self, cond: Cond, row: Row) -> bool:
        if isinstance(cond, Compare):
            path = self.path(cond.path)
            actual = read_path(self.store, self.sobject, row, path)
            return _compare(path, actual, cond.op, cond.value, self.now)
        if isinstance(cond, InList):
            path = self.path(cond.path)
            actual = read_path(self.store, self.sobject, row, path)
            hit = any(_compare(path, actual, "=", v, self.now) for v in cond.values)
            return hit != cond.negate
        if isinstance(cond, BoolOp):
            results = (self.test(p, row) for p in cond.parts)
            return all(results) if cond.op == "AND" else any(results)
        assert isinstance(cond, Not)
        return not self.test(cond.part, row)


def run(store: Store, query: Query, *, include_deleted: bool) -> Result:
    """The rows a query selects, in order, after OFFSET and LIMIT."""
    sdef = sobject_def(query.sobject)
    if sdef is None:
        raise invalid_type(query.sobject)
    ev = _Evaluator(store, sdef.name)
    paths = [ev.path(f) for f in query.fields]
    if query.where is not None:
        ev.check(query.where)
    order = [(ev.path(o.path), o) for o in query.order]
    with store.lock:
        rows = [
            r
            for r in store.rows(sdef.name, include_deleted=include_deleted)
            if query.where is None or ev.test(query.where, r)
        ]
        for path, item in reversed(order):
            present = [r for r in rows if read_path(store, sdef.name, r, path) is not None]
            absent = [r for r in rows if read_path(store, sdef.name, r, path) is None]
            present.sort(
                key=lambda r, p=path: _norm(read_path(store, sdef.name, r, p)),  # type: ignore[misc]
                reverse=item.descending,
            )
            rows = present + absent if item.nulls_last else absent + present
    rows = rows[query.offset :]
    if query.limit is not None:
        rows = rows[: query.limit]
    return Result(sdef.name, rows, paths, query.count)


def render_rows(store: Store, result: Result, version: str) -> list[dict[str, Any]]:
    with store.lock:
        return [render(store, result.sobject, r, result.paths, version) for r in result.rows]
