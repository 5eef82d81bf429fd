"""Dialing-list CSV files: read into records, or refused whole with the line and column."""

from __future__ import annotations

import pytest

from callbridge.domain.dialer.list_file import ListFileError, parse_list_csv

GOOD = """record_id,phone,name,time_zone,state,priority
r1,(415) 555-0100,Ada,,CA,2
r2,+1 212 555 0101;212-555-0102,Grace,America/New_York,,
r3,4155550103,,,,
"""


def test_a_good_file_gives_records_in_file_order() -> None:
    r1, r2, r3 = parse_list_csv(GOOD, "US")
    assert (r1.record_id, r1.phones, r1.name, r1.state, r1.priority) == (
        "r1",
        ("+14155550100",),
        "Ada",
        "CA",
        2,
    )
    assert r2.phones == ("+12125550101", "+12125550102")
    assert r2.time_zone == "America/New_York" and r2.state is None
    assert (r3.name, r3.priority, r3.position) == ("", 0, 2)


def test_a_byte_order_mark_and_blank_lines_are_fine() -> None:
    text = "\ufeffrecord_id,phones\n\nr1,+14155550100\n"
    assert [r.record_id for r in parse_list_csv(text)] == ["r1"]


@pytest.mark.parametrize(
    ("text", "where", "column"),
    [
        ("record_id,phone\nr1,+14155550100\nr2,not a number\n", "line 3, phone", "phone"),
        ("record_id,phone\nr1,\n", "line 2, phone", "phone"),
        ("record_id,phone\n,+14155550100\n", "line 2, record_id", "record_id"),
        ("record_id,phone\nr1,+14155550100\nr1,+14155550101\n", "line 3, record_id", "record_id"),
        (
            "record_id,phone,time_zone\nr1,+14155550100,Mars/Olympus\n",
            "line 2, time_zone",
            "time_zone",
        ),
        ("record_id,phone,state\nr1,+14155550100,California\n", "line 2, state", "state"),
        ("record_id,phone,priority\nr1,+14155550100,high\n", "line 2, priority", "priority"),
        ("record_id,phone,prioirty\nr1,+14155550100,1\n", "line 1, prioirty", "prioirty"),
        ("id,phone\nr1,+14155550100\n", "line 1, id", "id"),
        ("record_id,name\nr1,Ada\n", "line 1, phone", "phone"),
        ("record_id,phone\nr1,+14155550100,extra\n", "line 2, row", "row"),
    ],
)
def test_a_mistake_names_the_line_and_column(text: str, where: str, column: str) -> None:
    with pytest.raises(ListFileError) as caught:
        parse_list_csv(text)
    assert caught.value.message.startswith(where), caught.value.message
    assert caught.value.details["field"] == column


def test_an_empty_file_or_a_header_alone_is_refused() -> None:
    with pytest.raises(ListFileError, match="empty"):
        parse_list_csv("")
    with pytest.raises(ListFileError, match="no records"):
        parse_list_csv("record_id,phone\n")
