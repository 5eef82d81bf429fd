"""Call scripts: parsed once into text and merge fields, filled in with a visible blank."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import QueueId
from callbridge.domain.queues import Queue
from callbridge.domain.scripts import ScriptField, ScriptText, merge, parse_script


def test_text_and_fields_in_order() -> None:
    parts = parse_script("Hi {{record.FirstName}}, I'm {{ agent.name }}.\nRef {{ivr.account}}")
    assert parts == (
        ScriptText("Hi "),
        ScriptField("record", "FirstName"),
        ScriptText(", I'm "),
        ScriptField("agent", "name"),
        ScriptText(".\nRef "),
        ScriptField("ivr", "account"),
    )


def test_merge_fills_fields_and_marks_the_missing() -> None:
    parts = parse_script("Hi {{record.FirstName}} ({{record.Plan__c}}), {{customer.address}}")
    values = {"record.FirstName": "Dana", "customer.address": "+14155550142"}
    assert merge(parts, values) == "Hi Dana (____), +14155550142"
    assert merge(parts, {"record.Plan__c": ""}, blank="?") == "Hi ? (?), ?"


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("Hello {{record.Name", "never closed (opened at line 1, column 7)"),
        ("One\ntwo {{name}}", "{{name}} at line 2, column 5 is not a merge field"),
        ("a }} b", "'}}' without an opening '{{' at line 1, column 3"),
        ("x\n\n  {{crm.Name}}", "unknown namespace 'crm' at line 3, column 3"),
        ("{{record.}}", "{{record.}} at line 1, column 1 is not a merge field"),
    ],
)
def test_a_malformed_script_names_where(source: str, where: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_script(source)
    assert where in str(caught.value)
    assert caught.value.details["field"] == "script"


def test_a_queue_refuses_a_bad_script_and_keeps_a_good_one_parsed() -> None:
    with pytest.raises(InvalidInput, match="unknown namespace"):
        Queue(QueueId("q"), "Q", script="{{account.Name}}")
    queue = Queue(QueueId("q"), "Q", script="Hi {{record.Name}}")
    assert queue.script_parts == (ScriptText("Hi "), ScriptField("record", "Name"))
    assert Queue(QueueId("q"), "Q").script_parts == ()


@given(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=200))
def test_text_without_braces_is_itself(text: str) -> None:
    assert merge(parse_script(text), {}) == text
