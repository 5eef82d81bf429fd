"""SOSL: FIND {term} [IN ALL|NAME|EMAIL|PHONE FIELDS] [RETURNING T(fields [WHERE ...]), ...].

Phone fields match on digits whatever the stored formatting, with or without a leading
country code 1; other fields match whole words case-insensitively (`*` and `?` wildcards).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from sfstandin.errors import SfError
from sfstandin.records import render
from sfstandin.schema import SEARCHABLE, SObjectDef, sobject_def
from sfstandin.soql import parse as parse_soql
from sfstandin.soql_eval import run
from sfstandin.store import Row, Store

_RESERVED_SPLIT = re.compile(r"[\s?&|!\[\]()^~:\"'+\-]+")
_NAME_FIELDS = frozenset({"Name", "FirstName", "LastName", "Company", "Subject", "CaseNumber"})


def _malformed(message: str) -> SfError:
    return SfError(400, "MALFORMED_SEARCH", message)


@dataclass(frozen=True)
class Search:
    term: str
    scope: str  # ALL, NAME, EMAIL, PHONE
    returning: tuple[str, ...]  # SOQL statements, one per object
    limit: int


def phone_digits(value: str) -> str:
    """The digits of a phone number, without a leading North-American country code."""
    digits = re.sub(r"\D", "", value)
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse(source: str) -> Search:
    """Parse SOSL, raising MALFORMED_SEARCH for what Salesforce would refuse."""
    m = re.match(r"\s*FIND\s*\{((?:\\.|[^\\{}])*)\}(.*)\Z", source, re.IGNORECASE | re.DOTALL)
    if m is None:
        raise _malformed("No search term found. The search term must be enclosed in braces.")
    term, rest = m.group(1), m.group(2).strip()
    scope = "ALL"
    sm = re.match(r"IN\s+(ALL|NAME|EMAIL|PHONE|SIDEBAR)\s+FIELDS\b\s*", rest, re.IGNORECASE)
    if sm:
        scope, rest = sm.group(1).upper(), rest[sm.end() :]
    limit = 2000
    lm = re.search(r"\bLIMIT\s+(\d+)\s*\Z", rest, re.IGNORECASE)
    if lm and rest[: lm.start()].count("(") == rest[: lm.start()].count(")"):
        limit, rest = min(int(lm.group(1)), 2000), rest[: lm.start()].strip()
    returning: list[str] = []
    if rest:
        rm = re.match(r"RETURNING\s+(.*)\Z", rest, re.IGNORECASE | re.DOTALL)
        if rm is None:
            raise _malformed(f"unexpected token: {rest.split()[0]}")
        for spec in _split_top(rm.group(1)):
            returning.append(_spec_to_soql(spec))
    else:
        returning = [f"SELECT Id FROM {name}" for name in SEARCHABLE]  # noqa: S608 (SOQL)
    plain = re.sub(r"\\(.)", r"\1", term)
    if len(re.sub(r"[\s*?]", "", plain)) < 2:
        raise _malformed("search term must be longer than one character")
    return Search(term, scope, tuple(returning), limit)


def _spec_to_soql(spec: str) -> str:
    sm = re.fullmatch(r"(\w+)\s*(?:\((.*)\))?", spec, re.DOTALL)
    if sm is None:
        raise _malformed(f"unexpected token: {spec}")
    name, inner = sm.group(1), (sm.group(2) or "").strip()
    if not inner:
        return f"SELECT Id FROM {name}"  # noqa: S608 (SOQL, not SQL)
    km = re.search(r"\b(WHERE|ORDER\s+BY|LIMIT)\b", inner, re.IGNORECASE)
    fields, tail = (inner[: km.start()], inner[km.start() :]) if km else (inner, "")
    return f"SELECT {fields.strip().rstrip(',')} FROM {name} {tail}"  # noqa: S608


def _alternatives(term: str) -> list[list[str]]:
    """OR-separated alternatives, each a list of AND-ed words (escapes removed)."""
    out = []
    for alt in re.split(r"\s+OR\s+", term, flags=re.IGNORECASE):
        alt = re.sub(r"\s+AND\s+", " ", alt, flags=re.IGNORECASE)
        plain = re.sub(r"\\(.)", r"\1", alt)
        words = [w for w in _RESERVED_SPLIT.split(plain) if w]
        out.append(words or [plain])
    return out


def _word_pattern(word: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in word)
    return re.compile(body, re.IGNORECASE)


def _row_matches(store: Store, sdef: SObjectDef, row: Row, search: Search) -> bool:
    phones = [
        phone_digits(str(v))
        for f in sdef.phone_fields
        if (v := store.value(sdef.name, row, f.name))
    ]
    if search.scope == "PHONE":
        texts: list[str] = []
    elif search.scope == "NAME":
        texts = [
            str(row[f.name]) for f in sdef.fields if f.name in _NAME_FIELDS and row.get(f.name)
        ]
    elif search.scope == "EMAIL":
        texts = [str(row[f.name]) for f in sdef.fields if f.type == "email" and row.get(f.name)]
    else:
        texts = [
            str(row[f.name])
            for f in sdef.fields
            if f.type in ("string", "textarea", "email", "phone", "combobox", "url", "picklist")
            and row.get(f.name)
        ]
    tokens = [t for text in texts for t in re.split(r"[^\w@.]+", text) if t]
    for words in _alternatives(search.term):
        digits = phone_digits(" ".join(words))
        if search.scope in ("PHONE", "ALL") and len(digits) >= 2 and digits in phones:
            return True
        if tokens and all(any(_word_pattern(w).fullmatch(t) for t in tokens) for w in words):
            return True
    return False


def execute(
    store: Store, search: Search, version: str, *, lag_seconds: float = 0.0
) -> list[dict[str, Any]]:
    """`searchRecords`: matches grouped in RETURNING order, each rendered with its fields."""
    found: list[dict[str, Any]] = []
    cutoff = time.monotonic() - lag_seconds
    with store.lock:
        for statement in search.returning:
            query = parse_soql(statement)
            per_object, query.limit = query.limit, None
            result = run(store, query, include_deleted=False)
            sdef = sobject_def(result.sobject)
            assert sdef is not None
            hits = 0
            for row in result.rows:
                if len(found) >= search.limit or (per_object is not None and hits >= per_object):
                    break
                if lag_seconds and store.written_at.get(row["Id"], 0.0) > cutoff:
                    continue  # not indexed yet
                if _row_matches(store, sdef, row, search):
                    hits += 1
                    found.append(render(store, result.sobject, row, result.paths, version))
    return found
