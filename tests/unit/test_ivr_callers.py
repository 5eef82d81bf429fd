"""The scripted caller of `flow run`: keys as a phone sends them, pauses, patience."""

from __future__ import annotations

from callbridge.domain.ivr import (
    CallerHungUp,
    Digits,
    Found,
    Gather,
    Lookup,
    NoInput,
    NotFound,
    Played,
    Prompt,
    Say,
    ScriptedCaller,
    keys_of,
)

MENU = Prompt((Say("Press a key."),), gather=Gather(1))
ACCOUNT = Prompt((Say("Account, then hash."),), gather=Gather(8, 1, "#"))


def test_keys_are_consumed_as_a_phone_sends_them() -> None:
    caller = ScriptedCaller(keys_of("3,1234#,9"))
    assert caller.answer(MENU) == Digits("3")
    assert caller.answer(ACCOUNT) == Digits("1234")  # the terminator ends it, unsent
    assert caller.answer(MENU) == Digits("9")


def test_items_are_only_keys_so_one_item_can_serve_two_gathers() -> None:
    caller = ScriptedCaller(keys_of("31234#"))
    assert [caller.answer(MENU), caller.answer(ACCOUNT)] == [Digits("3"), Digits("1234")]


def test_a_gather_stops_at_its_length() -> None:
    caller = ScriptedCaller(keys_of("123456789"))
    assert caller.answer(ACCOUNT) == Digits("12345678")
    assert caller.answer(MENU) == Digits("9")


def test_an_empty_item_is_a_pause() -> None:
    caller = ScriptedCaller(keys_of("1,,12,,"))
    assert caller.answer(MENU) == Digits("1")
    assert caller.answer(MENU) == NoInput()
    assert caller.answer(ACCOUNT) == Digits("12")  # the pause ends the entry
    assert caller.answer(MENU) == NoInput()


def test_after_the_script_the_caller_is_silent_then_gives_up() -> None:
    caller = ScriptedCaller([], patience=2)
    assert [caller.answer(MENU) for _ in range(3)] == [NoInput(), NoInput(), CallerHungUp()]


def test_prompts_play_and_the_crm_finds_the_record_given() -> None:
    record = Found("Ann", "Contact", {})
    assert ScriptedCaller().answer(Prompt((Say("Hi."),))) == Played()
    assert ScriptedCaller(record=record).answer(Lookup("phone", "+1555")) == record
    assert ScriptedCaller().answer(Lookup("phone", "+1555")) == NotFound()
    assert keys_of("") == []
