"""A parser for the SOQL subset the connector issues (contract §3.4).

SELECT fields | COUNT() FROM T [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
[LIMIT n] [OFFSET n]. Conditions: =, !=, <>, <, <=, >, >=, LIKE, [NOT] IN, AND, OR, NOT and
parentheses; AND and OR may not be mixed without parentheses, as in Salesforce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sfstandin.errors import SfError, malformed_query
from sfstandin.timefmt import parse_date, parse_datetime

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<string>'(?:\\.|[^'\\])*')
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
    |(?P<number>-?\d+(?:\.\d+)?(?![\w-]))
    |(?P<ident>[A-Za-z_][A-Za-z0-9_.]*(?::\d+)?)
    |(?P<op>!=|<>|<=|>=|=|<|>|\(|\)|,)""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}

ValueKind = Literal["string", "number", "bool", "null", "datetime", "date", "literal"]


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class Value:
    kind: ValueKind
    value: Any  # str, float, bool, None, datetime, date, or a date-literal name such as TODAY


@dataclass(frozen=True)
class Compare:
    path: str
    op: str  # = != < <= > >= LIKE
    value: Value


@dataclass(frozen=True)
class InList:
    path: str
    values: tuple[Value, ...]
    negate: bool


@dataclass(frozen=True)
class BoolOp:
    op: Literal["AND", "OR"]
    parts: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    part: Cond


Cond = Compare | InList | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    path: str
    descending: bool
    nulls_last: bool


@dataclass
class Query:
    sobject: str
    fields: list[str] = field(default_factory=list)
    count: bool = False
    where: Cond | None = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _unexpected(text, pos, text[pos:].split()[0] if text[pos:].split() else "")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    return tokens


def _unexpected(source: str, pos: int, token: str) -> SfError:
    shown = token or "<EOF>"
    return malformed_query(
        f"\n{source}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\nunexpected token: {shown}"
    )


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def keyword(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "ident" and tok.text.upper() in words

    def error(self) -> SfError:
        tok = self.peek()
        if tok is None:
            return _unexpected(self.source, len(self.source), "")
        return _unexpected(self.source, tok.pos, tok.text)

    def take(self, kind: str | None = None, text: str | None = None) -> Token:
        tok = self.peek()
        if tok is None or (kind and tok.kind != kind) or (text and tok.text.upper() != text):
            raise self.error()
        self.i += 1
        return tok

    def parse(self) -> Query:
        self.take("ident", "SELECT")
        fields, count = self.select_list()
        self.take("ident", "FROM")
        query = Query(self.take("ident").text, fields, count)
        if self.keyword("WHERE"):
            self.i += 1
            query.where = self.condition()
        if self.keyword("ORDER"):
            self.i += 1
            self.take("ident", "BY")
            query.order = self.order_list()
        if self.keyword("LIMIT"):
            self.i += 1
            query.limit = int(float(self.take("number").text))
        if self.keyword("OFFSET"):
            self.i += 1
            query.offset = int(float(self.take("number").text))
        if self.peek() is not None:
            raise self.error()
        return query

    def select_list(self) -> tuple[list[str], bool]:
        tok = self.peek()
        nxt = self.peek(1)
        if tok and tok.text.upper() == "COUNT" and nxt and nxt.text == "(":
            self.i += 2
            if self.peek() is not None and self.peek().text != ")":  # type: ignore[union-attr]
                raise SfError(
                    400,
                    "MALFORMED_QUERY",
                    "The stand-in supports COUNT() only, not COUNT(field) aggregates",
                )
            self.take("op", ")")
            return [], True
        fields: list[str] = []
        while True:
            tok = self.take()
            if tok.kind != "ident" or tok.text.upper() in ("FROM", "TYPEOF", "FIELDS"):
                raise _unexpected(self.source, tok.pos, tok.text)
            if any(f.lower() == tok.text.lower() for f in fields):
                raise SfError(400, "INVALID_FIELD", f"duplicate field selected: {tok.text}")
            fields.append(tok.text)
            if self.peek() is None or self.peek().text != ",":  # type: ignore[union-attr]
                return fields, False
            self.i += 1

    def condition(self) -> Cond:
        parts = [self.unary()]
        ops: set[str] = set()
        while self.keyword("AND", "OR"):
            op = self.take().text.upper()
            if ops and op not in ops:
                raise _unexpected(self.source, self.tokens[self.i - 1].pos, op)
            ops.add(op)
            parts.append(self.unary())
        if len(parts) == 1:
            return parts[0]
        return BoolOp("AND" if "AND" in ops else "OR", tuple(parts))

    def unary(self) -> Cond:
        if self.keyword("NOT"):
            self.i += 1
            return Not(self.unary())
        tok = self.peek()
        if tok is not None and tok.text == "(":
            self.i += 1
            inner = self.condition()
            self.take("op", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Cond:
        path = self.take("ident").text
        if self.keyword("NOT") and (nxt := self.peek(1)) and nxt.text.upper() == "IN":
            self.i += 2
            return InList(path, self.value_list(), True)
        if self.keyword("IN"):
            self.i += 1
            return InList(path, self.value_list(), False)
        if self.keyword("LIKE"):
            self.i += 1
            return Compare(path, "LIKE", self.value())
        tok = self.take()
        if tok.kind != "op" or tok.text in "(),":
            raise _unexpected(self.source, tok.pos, tok.text)
        return Compare(path, "!=" if tok.text == "<>" else tok.text, self.value())

    def value_list(self) -> tuple[Value, ...]:
        self.take("op", "(")
        values = [self.value()]
        while (tok := self.peek()) is not None and tok.text == ",":
            self.i += 1
            values.append(self.value())
        self.take("op", ")")
        return tuple(values)

    def value(self) -> Value:
        tok = self.take()
        if tok.kind == "string":
            body = tok.text[1:-1]
            return Value("string", re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), body))
        if tok.kind == "number":
            return Value("number", float(tok.text))
        if tok.kind == "datetime":
            parsed = parse_datetime(tok.text)
            if parsed is None:
                raise _unexpected(self.source, tok.pos, tok.text)
            return Value("datetime", parsed)
        if tok.kind == "date":
            day = parse_date(tok.text)
            if day is None:
                raise _unexpected(self.source, tok.pos, tok.text)
            return Value("date", day)
        if tok.kind == "ident":
            word = tok.text.upper()
            if word in ("TRUE", "FALSE"):
                return Value("bool", word == "TRUE")
            if word == "NULL":
                return Value("null", None)
            return Value("literal", word)
        raise _unexpected(self.source, tok.pos, tok.text)

    def order_list(self) -> list[OrderItem]:
        items: list[OrderItem] = []
        while True:
            path = self.take("ident").text
            descending = False
            if self.keyword("ASC", "DESC"):
                descending = self.take().text.upper() == "DESC"
            nulls_last = descending
            if self.keyword("NULLS"):
                self.i += 1
                nulls_last = self.take("ident").text.upper() == "LAST"
            items.append(OrderItem(path, descending, nulls_last))
            if (tok := self.peek()) is None or tok.text != ",":
                return items
            self.i += 1


def parse(source: str) -> Query:
    """Parse SOQL, raising MALFORMED_QUERY the way Salesforce words it."""
    return _Parser(source.strip()).parse()
