"""The small expression language of flows: conditions in `branch`, values in `set`, a
collect's `valid_if`, a lookup's `value`.

    crm.Tier in ("gold", "platinum") and not startswith(ani, "+44")
    len(account) == 8 or account == "0"
    crm.score + 1

A tokenizer and a recursive-descent parser build a tree once, when the flow loads; evaluating it
reads variables and nothing else. There is no `eval` and no Python `ast`: a flow file cannot run
code. Every mistake is an `ExpressionError` naming the 1-based column.

Variables are text (a flow's variables travel with the interaction as strings). A name that is
not set reads as "". Comparing a number with text that reads as a number compares numbers;
anything else compares as text. Text is false when it is "", "0" or "false".
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from callbridge.domain.errors import InvalidInput

Value = str | int | float | bool

MAX_LENGTH = 1000
MAX_DEPTH = 40  # nesting; deeper would only exhaust Python's stack
MAX_NUMBER_DIGITS = 30  # past this, text is not a number (and int() of it is not cheap)
NUMBER_TEXT = re.compile(r"-?\d{1,30}(?:\.\d{1,30})?")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")


class ExpressionError(InvalidInput):
    """An expression that does not parse, or that failed on the values it met; `column` is
    1-based (0 when the failure is not tied to one place)."""

    code = "expression_invalid"

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message, column=column)
        self.column = column


# --- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    value: Value


@dataclass(frozen=True, slots=True)
class Name:
    name: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Node
    column: int


@dataclass(frozen=True, slots=True)
class Logical:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Member:
    item: Node
    choices: tuple[Node, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class Arithmetic:
    op: str  # "+" | "-"
    left: Node
    right: Node
    column: int


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    args: tuple[Node, ...]
    column: int


Node = Literal | Name | Not | Negate | Logical | Compare | Member | Arithmetic | Call


# --- values -----------------------------------------------------------------------------------


def as_text(value: Value) -> str:
    """How a value reads as a variable: true/false, 3 (not 3.0), 2.5, or the text itself."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def as_number(value: Value) -> int | float | None:
    """The number a value stands for, or None (text that does not read as one, true/false)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    text = value.strip()
    if not NUMBER_TEXT.fullmatch(text):
        return None
    return float(text) if "." in text else int(text)


def truthy(value: Value) -> bool:
    """Whether a value counts as true in `and`, `or`, `not` and a branch's `if`."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return value.strip().lower() not in ("", "0", "false")


def _is_number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _pair(left: Value, right: Value) -> tuple[int | float, int | float] | tuple[str, str]:
    """Both as numbers when one is a number and the other reads as one; else both as text."""
    if _is_number(left) or _is_number(right):
        a, b = as_number(left), as_number(right)
        if a is not None and b is not None:
            return a, b
    return as_text(left), as_text(right)


ORDERINGS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(op: str, left: Value, right: Value) -> bool:
    a, b = _pair(left, right)  # both numbers or both text, so ordering them cannot fail
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    return bool(ORDERINGS[op](a, b))


def _to_int(value: Value, column: int) -> int:
    number = as_number(value)
    if number is None:
        raise ExpressionError(f"int(): {as_text(value)!r} is not a number", column)
    return int(number)


FUNCTIONS: dict[str, tuple[int, Callable[[list[Value], int], Value]]] = {
    "len": (1, lambda a, c: len(as_text(a[0]))),
    "int": (1, lambda a, c: _to_int(a[0], c)),
    "lower": (1, lambda a, c: as_text(a[0]).lower()),
    "upper": (1, lambda a, c: as_text(a[0]).upper()),
    "startswith": (2, lambda a, c: as_text(a[0]).startswith(as_text(a[1]))),
    "endswith": (2, lambda a, c: as_text(a[0]).endswith(as_text(a[1]))),
    "contains": (2, lambda a, c: as_text(a[1]) in as_text(a[0])),
}


# --- tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "name", "number", "string", "op", "keyword", "end"
    text: str
    column: int  # 1-based
    value: Value = ""


ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}
SYMBOLS = ("==", "!=", "<=", ">=", "<", ">", "(", ")", ",", "+", "-")


def tokenize(source: str) -> list[Token]:
    """The tokens of `source`, ending with an "end" token."""
    tokens: list[Token] = []
    i = 0
    while i < len(source):
        char = source[i]
        column = i + 1
        if char in " \t\r\n":
            i += 1
        elif char in "'\"":
            text, i = _string(source, i)
            tokens.append(Token("string", source[column - 1 : i], column, text))
        elif char.isascii() and char.isdigit():
            match = re.compile(r"\d+(?:\.\d+)?").match(source, i)
            assert match is not None  # a digit always matches
            literal = match.group()
            if len(literal.replace(".", "")) > MAX_NUMBER_DIGITS:
                raise ExpressionError("number too long", column)
            end = match.end()
            if end < len(source) and (source[end].isalnum() or source[end] in "_."):
                raise ExpressionError(f"bad number {source[i : end + 1]!r}", column)
            value: Value = float(literal) if "." in literal else int(literal)
            tokens.append(Token("number", literal, column, value))
            i = end
        elif char.isascii() and (char.isalpha() or char == "_"):
            match = NAME.match(source, i)
            assert match is not None  # a letter always matches
            word = match.group()
            end = match.end()
            if end < len(source) and source[end] == ".":
                raise ExpressionError(f"bad name {source[i : end + 1]!r}", column)
            tokens.append(Token("keyword" if word in KEYWORDS else "name", word, column))
            i = end
        else:
            symbol = next((s for s in SYMBOLS if source.startswith(s, i)), None)
            if symbol is None:
                shown = "'='; compare with '=='" if char == "=" else repr(char)
                raise ExpressionError(f"unexpected character {shown}", column)
            tokens.append(Token("op", symbol, column))
            i += len(symbol)
    tokens.append(Token("end", "", len(source) + 1))
    return tokens


def _string(source: str, start: int) -> tuple[str, int]:
    quote = source[start]
    out: list[str] = []
    i = start + 1
    while i < len(source):
        char = source[i]
        if char == quote:
            return "".join(out), i + 1
        if char == "\\":
            escaped = source[i + 1 : i + 2]
            if escaped not in ESCAPES:
                raise ExpressionError(f"unknown escape '\\{escaped}'", i + 1)
            out.append(ESCAPES[escaped])
            i += 2
            continue
        out.append(char)
        i += 1
    raise ExpressionError("text not closed: missing " + quote, start + 1)


# --- parser -----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def is_(self, kind: str, *texts: str) -> bool:
        return self.token.kind == kind and (not texts or self.token.text in texts)

    def expect(self, kind: str, text: str) -> Token:
        if not self.is_(kind, text):
            raise ExpressionError(
                f"expected '{text}', found {_shown(self.token)}", self.token.column
            )
        return self.take()

    def expression(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("expression nested too deeply", self.token.column)
        node = self.disjunction()
        self.depth -= 1
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.is_("keyword", "or"):
            self.take()
            node = Logical("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.is_("keyword", "and"):
            self.take()
            node = Logical("and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self.is_("keyword", "not"):
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError("expression nested too deeply", self.token.column)
            node = Not(self.negation())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        if self.is_("op", *COMPARISONS):
            op = self.take().text
            node: Node = Compare(op, left, self.sum())
        elif self.is_("keyword", "in") or (
            self.is_("keyword", "not") and self.tokens[self.at + 1].text == "in"
        ):
            negated = self.take().text == "not"
            if negated:
                self.take()
            node = Member(left, self.choices(), negated)
        else:
            return left
        if self.is_("op", *COMPARISONS) or self.is_("keyword", "in"):
            raise ExpressionError(
                f"comparisons do not chain: use 'and' before {_shown(self.token)}",
                self.token.column,
            )
        return node

    def choices(self) -> tuple[Node, ...]:
        self.expect("op", "(")
        items = [self.expression()]
        while self.is_("op", ","):
            self.take()
            items.append(self.expression())
        self.expect("op", ")")
        return tuple(items)

    def sum(self) -> Node:
        node = self.unary()
        while self.is_("op", "+", "-"):
            token = self.take()
            node = Arithmetic(token.text, node, self.unary(), token.column)
        return node

    def unary(self) -> Node:
        if self.is_("op", "-"):
            token = self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError("expression nested too deeply", token.column)
            node = Negate(self.unary(), token.column)
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        token = self.token
        if token.kind in ("number", "string"):
            self.take()
            return Literal(token.value)
        if self.is_("keyword", "true", "false"):
            self.take()
            return Literal(token.text == "true")
        if token.kind == "name":
            self.take()
            if self.is_("op", "("):
                return self.call(token)
            return Name(token.text)
        if self.is_("op", "("):
            self.take()
            node = self.expression()
            self.expect("op", ")")
            return node
        raise ExpressionError(f"expected a value, found {_shown(token)}", token.column)

    def call(self, name: Token) -> Node:
        if name.text not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(f"unknown function '{name.text}' (known: {known})", name.column)
        self.expect("op", "(")
        args: list[Node] = []
        if not self.is_("op", ")"):
            args.append(self.expression())
            while self.is_("op", ","):
                self.take()
                args.append(self.expression())
        self.expect("op", ")")
        arity = FUNCTIONS[name.text][0]
        if len(args) != arity:
            plural = "s" if arity != 1 else ""
            raise ExpressionError(
                f"{name.text}() takes {arity} argument{plural}, got {len(args)}", name.column
            )
        return Call(name.text, tuple(args), name.column)


def _shown(token: Token) -> str:
    return "the end" if token.kind == "end" else repr(token.text)


# --- the public face --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression; `source` is the text it came from."""

    source: str
    tree: Node

    @classmethod
    def parse(cls, source: str) -> Expression:
        """Parse `source`, or raise `ExpressionError` naming the column."""
        if len(source) > MAX_LENGTH:
            raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH)
        if not source.strip():
            raise ExpressionError("empty expression", 1)
        parser = _Parser(tokenize(source))
        tree = parser.expression()
        if parser.token.kind != "end":
            raise ExpressionError(f"unexpected {_shown(parser.token)}", parser.token.column)
        return cls(source, tree)

    def names(self) -> frozenset[str]:
        """The variables the expression reads."""
        return frozenset(_names(self.tree))

    def evaluate(self, variables: Mapping[str, str]) -> Value:
        """The value with these variables; `ExpressionError` when a function cannot apply."""
        return _evaluate(self.tree, variables)

    def test(self, variables: Mapping[str, str]) -> bool:
        """Whether the expression is true with these variables."""
        return truthy(self.evaluate(variables))


def _names(node: Node) -> list[str]:
    if isinstance(node, Name):
        return [node.name]
    if isinstance(node, Not | Negate):
        return _names(node.operand)
    if isinstance(node, Logical | Compare | Arithmetic):
        return _names(node.left) + _names(node.right)
    if isinstance(node, Member):
        return _names(node.item) + [n for c in node.choices for n in _names(c)]
    if isinstance(node, Call):
        return [n for a in node.args for n in _names(a)]
    return []


def _evaluate(node: Node, variables: Mapping[str, str]) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        return variables.get(node.name, "")
    if isinstance(node, Not):
        return not truthy(_evaluate(node.operand, variables))
    if isinstance(node, Logical):
        left = truthy(_evaluate(node.left, variables))
        # short-circuit, so `x != "" and int(x) > 3` is safe
        if node.op == "and":
            return left and truthy(_evaluate(node.right, variables))
        return left or truthy(_evaluate(node.right, variables))
    if isinstance(node, Compare):
        return _compare(node.op, _evaluate(node.left, variables), _evaluate(node.right, variables))
    if isinstance(node, Member):
        item = _evaluate(node.item, variables)
        found = any(_compare("==", item, _evaluate(c, variables)) for c in node.choices)
        return found != node.negated
    if isinstance(node, Negate):
        return -_number(_evaluate(node.operand, variables), node.column)
    if isinstance(node, Arithmetic):
        return _arithmetic(node, _evaluate(node.left, variables), _evaluate(node.right, variables))
    args = [_evaluate(a, variables) for a in node.args]
    return FUNCTIONS[node.function][1](args, node.column)


def _number(value: Value, column: int) -> int | float:
    number = as_number(value)
    if number is None:
        raise ExpressionError(f"{as_text(value)!r} is not a number", column)
    return number


def _arithmetic(node: Arithmetic, left: Value, right: Value) -> Value:
    if node.op == "+":
        # a number on either side adds (crm.score + 1); text on both sides joins ("ACCT-" + x)
        if _is_number(left) or _is_number(right):
            a, b = as_number(left), as_number(right)
            if a is not None and b is not None:
                return a + b
        return as_text(left) + as_text(right)
    return _number(left, node.column) - _number(right, node.column)
