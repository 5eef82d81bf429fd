"""Checks on digits a caller keyed in."""

from __future__ import annotations


def luhn_ok(digits: str) -> bool:
    """Whether `digits` (only 0-9, at least two) pass the Luhn check of card and account
    numbers."""
    if len(digits) < 2 or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char)
        if i % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0
