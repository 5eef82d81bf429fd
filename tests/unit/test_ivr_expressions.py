"""The flow expression language: parsing, evaluation, and errors that name the column."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callbridge.domain.ivr.expressions import Expression, ExpressionError, Value

VARS = {
    "tier": "gold",
    "crm.Tier": "platinum",
    "account": "10001",
    "score": "7",
    "empty": "",
    "flag": "false",
    "ani": "+441234567890",
}


def value(source: str, variables: dict[str, str] | None = None) -> Value:
    return Expression.parse(source).evaluate(VARS if variables is None else variables)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('tier == "gold"', True),
        ("tier == 'silver'", False),
        ('tier != "gold"', False),
        ('crm.Tier in ("gold", "platinum")', True),
        ('crm.Tier not in ("gold", "platinum")', False),
        ("score > 5", True),
        ("score >= 7 and score <= 7", True),
        ("score < 10", True),
        ('score < "10"', False),  # text on both sides compares as text
        ("account == 10001", True),  # a number and text that reads as one compare as numbers
        ("len(account) == 5", True),
        ('startswith(ani, "+44")', True),
        ('endswith(ani, "90")', True),
        ('contains(ani, "1234")', True),
        ('lower("ABC") == "abc" and upper(tier) == "GOLD"', True),
        ("int(score) + 1", 8),
        ("score + 1", 8),
        ('"ACCT-" + account', "ACCT-10001"),
        ("-score", -7),
        ("2.5 + 1", 3.5),
        ("not empty", True),
        ("not flag", True),  # "false" is false
        ("missing == ''", True),  # an unset name reads as ""
        ("(score > 5 or tier == 'x') and not (account == 1)", True),
        ("true and not false", True),
        ('"a \\"quoted\\" word"', 'a "quoted" word'),
        ("empty == '' or int(empty) > 3", True),  # `or` stops before int("") could fail
    ],
)
def test_evaluates(source: str, expected: Value) -> None:
    assert value(source) == expected


@pytest.mark.parametrize(
    ("source", "column", "message"),
    [
        ("tier = 'gold'", 6, "'='; compare with '=='"),
        ("tier == ", 9, "expected a value, found the end"),
        ("(tier == 'gold'", 16, "expected ')'"),
        ("tier == 'gold", 9, "text not closed"),
        ("tier == 'gold' 'x'", 16, "unexpected \"'x'\""),
        ("1 < score < 10", 11, "comparisons do not chain"),
        ("eval('1')", 1, "unknown function 'eval'"),
        ("len(a, b)", 1, "len() takes 1 argument, got 2"),
        ("startswith(a)", 1, "startswith() takes 2 arguments, got 1"),
        ("a in b", 6, "expected '('"),
        ("12abc", 1, "bad number"),
        ("crm. tier", 1, "bad name"),
        ("a == 'x\\q'", 8, "unknown escape"),
        ("", 1, "empty expression"),
        ("$x", 1, "unexpected character '$'"),
    ],
)
def test_parse_errors_name_the_column(source: str, column: int, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        Expression.parse(source)
    assert caught.value.column == column
    assert message in caught.value.message
    assert caught.value.code == "expression_invalid"


def test_deep_nesting_is_an_expression_error_not_a_crash() -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        Expression.parse("(" * 200 + "1" + ")" * 200)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        Expression.parse("not " * 200 + "x")
    with pytest.raises(ExpressionError, match="longer than 1000"):
        Expression.parse("x" * 1001)


def test_a_long_flat_expression_evaluates() -> None:
    assert value("+".join(["1"] * 499)) == 499
    assert value(" and ".join(["score"] * 90)) is True


def test_runtime_errors_are_expression_errors() -> None:
    with pytest.raises(ExpressionError, match="'gold' is not a number") as caught:
        value("int(tier)")
    assert caught.value.column == 1
    with pytest.raises(ExpressionError, match="is not a number"):
        value("tier - 1")


def test_names_lists_the_variables_read() -> None:
    expression = Expression.parse('crm.Tier == "gold" and len(account) > int(score) or x in (y)')
    assert expression.names() == {"crm.Tier", "account", "score", "x", "y"}


def test_there_is_no_python_underneath() -> None:
    # what would run code in Python is only text or a syntax error here
    for source in ("__import__('os')", "().__class__", "[1]", "{}", "a.b()", "lambda: 1"):
        with pytest.raises(ExpressionError):
            Expression.parse(source).evaluate(VARS)


ALPHABET = st.sampled_from(
    [*list("abcxyz_.0123456789 ()'\"\\,+-=!<>#$*"), "and", "or", "not", "in"]
)


@given(st.text(max_size=80))
def test_any_text_parses_or_fails_with_an_expression_error(source: str) -> None:
    try:
        Expression.parse(source)
    except ExpressionError as exc:
        assert 0 <= exc.column <= len(source) + 1


@given(
    st.lists(ALPHABET, max_size=40).map("".join),
    st.dictionaries(st.sampled_from(["a", "b", "x", "c.d"]), st.text(max_size=8), max_size=4),
)
def test_near_expressions_fail_only_with_expression_errors(
    source: str, variables: dict[str, str]
) -> None:
    try:
        result = Expression.parse(source).evaluate(variables)
    except ExpressionError as exc:
        assert 0 <= exc.column <= len(source) + 1
    else:
        assert isinstance(result, str | int | float | bool)
