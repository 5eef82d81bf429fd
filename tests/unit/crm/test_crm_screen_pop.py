"""Screen-pop rules: what is looked up, in which order, and what the agent is shown."""

from __future__ import annotations

import pytest

from callbridge.domain.channels import Channel, Direction
from callbridge.domain.crm.records import CrmMatch, LookupKey, RecordRef, RecordType
from callbridge.domain.crm.screen_pop import Outcome, ScreenPopRules, decide, lookups
from callbridge.domain.ids import InteractionId, QueueId
from callbridge.domain.interactions import Interaction
from callbridge.services.crm_sync.mapping import MappingError
from callbridge.services.crm_sync.rules_file import parse_rules


def call(
    attached: dict[str, str] | None = None,
    *,
    queue: str = "support",
    direction: Direction = Direction.INBOUND,
    channel: Channel = Channel.VOICE,
    from_: str = "+14155550100",
    to: str = "+18005550000",
) -> Interaction:
    ix = Interaction(InteractionId("ix"), channel, direction, from_, to, 0.0, attached or {})
    ix.queue_id = QueueId(queue)
    return ix


def match(n: int) -> CrmMatch:
    return CrmMatch(RecordRef(RecordType.CONTACT, f"c{n}"), f"Person {n}", LookupKey.PHONE)


def test_ivr_data_comes_before_the_calling_number() -> None:
    tried = lookups(ScreenPopRules(), call({"account_number": "A-17", "case_number": "00001"}))
    assert tried == [
        (LookupKey.CASE_NUMBER, "00001"),
        (LookupKey.ACCOUNT_NUMBER, "A-17"),
        (LookupKey.PHONE, "+14155550100"),
    ]


def test_email_uses_the_sender_and_outbound_the_called_number() -> None:
    email = call(channel=Channel.EMAIL, from_="Ann@Example.com")
    assert lookups(ScreenPopRules(), email) == [(LookupKey.EMAIL, "Ann@Example.com")]
    out = call(direction=Direction.OUTBOUND, from_="+18005550000", to="+14155550199")
    assert lookups(ScreenPopRules(), out) == [(LookupKey.PHONE, "+14155550199")]


def test_one_many_none() -> None:
    tried = [(LookupKey.PHONE, "+14155550100")]
    single = decide("ix", tried, [match(1), match(1)])  # the same record twice is one
    assert single.outcome is Outcome.SINGLE and single.record == match(1).ref
    several = decide("ix", tried, [match(1), match(2)])
    assert several.outcome is Outcome.MULTIPLE and several.record is None
    none = decide("ix", tried, [])
    assert none.outcome is Outcome.NONE and dict(none.prefill) == {"Phone": "+14155550100"}


def test_rules_per_queue_and_direction_from_a_file() -> None:
    rules = parse_rules(
        "default:\n  inbound: [phone]\nqueues:\n  billing:\n    inbound: [account_number, phone]\n"
    )
    attached = {"account_number": "A-17", "case_number": "00001"}
    assert [k for k, _ in lookups(rules, call(attached, queue="billing"))] == [
        LookupKey.ACCOUNT_NUMBER,
        LookupKey.PHONE,
    ]
    assert [k for k, _ in lookups(rules, call(attached, queue="sales"))] == [LookupKey.PHONE]
    outbound = call(direction=Direction.OUTBOUND, queue="billing")
    assert [k for k, _ in lookups(rules, outbound)] == [LookupKey.PHONE]  # the default's


def test_a_bad_rules_file_names_the_line() -> None:
    with pytest.raises(MappingError, match=r"line 5, queues.billing.inbound.1"):
        parse_rules("queues:\n  billing:\n    inbound:\n      - phone\n      - fax\n", "r.yaml")
