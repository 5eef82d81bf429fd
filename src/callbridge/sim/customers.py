"""The demo's known customers: the numbers and addresses the simulated traffic calls and writes
from, which the demo seed puts in the built-in CRM so that screen pops find people.

Customer i calls from +1 555 000 i (the same +1555... shape as any simulated caller) and writes
from customer<i>@example.com. Callers outside the pool pop the new-record form.
"""

from __future__ import annotations

DEMO_CUSTOMERS = 300  # customers 0..299: the first 240 are contacts, the rest leads
KNOWN_SHARE = 0.8  # of simulated arrivals, the share that comes from a known customer


def customer_phone(i: int) -> str:
    return f"+1555{i:07d}"


def customer_email(i: int) -> str:
    return f"customer{i}@example.com"
