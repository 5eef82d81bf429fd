"""What waiting callers are told, and the keypad that collects what they press."""

from __future__ import annotations

import anyio
import pytest

from callbridge.adapters.telephony.journey import spoken_digits, wait_sentences
from callbridge.adapters.telephony.keypad import KEEP, Keypad
from callbridge.adapters.telephony.media.dtmf import DtmfDigit


@pytest.mark.parametrize(
    ("position", "wait", "said"),
    [
        (1, 0.0, ("You are number 1 in line.", "Your expected wait is less than a minute.")),
        (3, 60.0, ("You are number 3 in line.", "Your expected wait is less than a minute.")),
        (4, 61.0, ("You are number 4 in line.", "Your expected wait is about 2 minutes.")),
        (
            2,
            None,
            (
                "You are number 2 in line.",
                "Nobody who can take your call is available at the moment.",
            ),
        ),
    ],
)
def test_the_wait_is_said_in_whole_minutes_rounded_up(
    position: int, wait: float | None, said: tuple[str, str]
) -> None:
    assert wait_sentences(position, wait) == said


def test_numbers_are_spoken_digit_by_digit() -> None:
    assert spoken_digits("+1 (555) 010-99#") == "1 5 5 5 0 1 0 9 9 #"


def _press(keypad: Keypad, keys: str) -> None:
    for key in keys:
        keypad.press(DtmfDigit(key, ssrc=1, timestamp=0))


def test_digits_pressed_early_wait_to_be_read_in_order() -> None:
    async def read() -> list[str | None]:
        keypad = Keypad()
        _press(keypad, "12#")
        return [await keypad.next(0.01) for _ in range(4)]

    assert anyio.run(read) == ["1", "2", "#", None]


def test_a_reader_wakes_when_a_digit_comes_and_clear_forgets() -> None:
    async def read() -> tuple[str | None, bool]:
        keypad = Keypad()
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: anyio.sleep(0.05))
            tg.start_soon(_later, keypad)
            got = await keypad.next(2.0)
        _press(keypad, "99")
        keypad.clear()
        return got, keypad.pending()

    assert anyio.run(read) == ("5", False)


async def _later(keypad: Keypad) -> None:
    await anyio.sleep(0.02)
    _press(keypad, "5")


def test_a_caller_leaning_on_the_keypad_loses_the_oldest_digits() -> None:
    keypad = Keypad()
    _press(keypad, "1" + "2" * KEEP)

    async def first() -> str | None:
        return await keypad.next(0.01)

    assert anyio.run(first) == "2"
