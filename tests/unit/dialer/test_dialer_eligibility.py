"""Whether a number may be dialled now, and which record is next."""

from __future__ import annotations

from datetime import timedelta

from dialer_helpers import T0, campaign

from callbridge.domain.dialer.attempts import NumberHistory, RecordProgress
from callbridge.domain.dialer.dnc import DncBook, DncEntry, RegistryCopy
from callbridge.domain.dialer.eligibility import check_dial, next_dial
from callbridge.domain.dialer.ids import RecordId
from callbridge.domain.dialer.lists import DialingRecord

FRESH_REGISTRY = RegistryCopy(T0 - timedelta(days=2), frozenset({"+12125550111"}))
BOOK = DncBook.of(registry=FRESH_REGISTRY)


def record(rid: str, *phones: str, position: int = 0) -> DialingRecord:
    return DialingRecord(RecordId(rid), tuple(phones), position=position)


def test_a_number_in_hours_and_on_no_list_may_be_dialled() -> None:
    c = campaign()
    r = record("r1", "+12125550100")
    check = check_dial(
        c,
        r,
        "+12125550100",
        T0,
        progress=RecordProgress(),
        history=NumberHistory("+12125550100"),
        dnc=BOOK,
    )
    assert check.allowed and check.reasons == () and check.local_times[0].hour == 10


def test_every_reason_is_given() -> None:
    c = campaign()
    r = record("r1", "+12125550100")
    tired = NumberHistory("+12125550100", (T0 - timedelta(hours=1),) * 3)
    night = T0 + timedelta(hours=12)  # 22:00 in New York
    check = check_dial(
        c, r, "+12125550100", night, progress=RecordProgress(), history=tired, dnc=BOOK
    )
    assert not check.allowed and not check.halt
    assert len(check.reasons) == 2
    assert any("outside calling hours" in why for why in check.reasons)


def test_a_stale_registry_halts_the_campaign() -> None:
    stale = DncBook.of(registry=RegistryCopy(T0 - timedelta(days=40), frozenset()))
    result = next_dial(campaign(), [record("r1", "+12125550100")], {}, {}, stale, T0)
    assert result.halt and result.record is None


def test_the_next_dial_skips_what_may_not_be_called_and_says_why() -> None:
    records = [
        record("blocked", "+12125550111", position=0),  # on the national registry
        record("internal", "+12125550122", position=1),
        record("done", "+12125550133", position=2),
        record("second-number", "+12125550144", "+12125550155", position=3),
    ]
    book = DncBook.of(
        internal=[DncEntry("+12125550122", T0 - timedelta(days=1)), DncEntry("+12125550144", T0)],
        registry=FRESH_REGISTRY,
    )
    progress = {RecordId("done"): RecordProgress(attempts=1, done=True)}
    result = next_dial(campaign(), records, progress, {}, book, T0)
    assert result.record is not None and result.record.record_id == "second-number"
    assert result.number == "+12125550155"
    assert [rid for rid, _ in result.skipped] == ["blocked", "internal"]
    assert "national registry" in result.skipped[0][1][0]
