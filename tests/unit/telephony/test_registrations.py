"""The registrar's location service: RFC 3261 section 10.3 rules, the limits, expiry, the agent
view, and invariants under random REGISTER sequences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callbridge.domain.agents import Agent, Presence
from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import AgentId
from callbridge.domain.telephony.registrations import (
    Binding,
    BoundContact,
    ContactRequest,
    IntervalTooBrief,
    InvalidRegistration,
    Register,
    RegistrarPolicy,
    RegistrationError,
    Registrations,
    StaleRegistration,
    TooManyBindings,
    ringable_contacts,
)

T0 = 1_000.0
AOR = "alice"
DESK = "sip:alice@192.0.2.10:5060"
SOFT = "sip:alice@192.0.2.11:5062;transport=tcp"
A1 = AgentId("a1")


def reg(
    *contacts: ContactRequest | str,
    call_id: str = "c1",
    cseq: int = 1,
    expires: int | None = None,
    wildcard: bool = False,
    aor: str = AOR,
) -> Register:
    return Register(
        aor=aor,
        call_id=call_id,
        cseq=cseq,
        contacts=tuple(ContactRequest(c) if isinstance(c, str) else c for c in contacts),
        wildcard=wildcard,
        expires=expires,
        source="udp:192.0.2.10:5060",
    )


def uris(bindings: list[Binding]) -> list[str]:
    return [b.uri for b in bindings]


# --- adding, refreshing, removing ----------------------------------------------------------------


def test_a_contact_is_bound_and_the_answer_lists_it_with_its_expires() -> None:
    registrations = Registrations()
    done = registrations.register(reg(DESK, expires=600), T0, A1)
    assert done.contacts == (BoundContact(DESK, 600, None),)
    assert done.added == (DESK,) and done.refreshed == done.removed == done.evicted == ()
    [binding] = registrations.contacts(AOR, T0 + 1)
    assert (binding.call_id, binding.cseq, binding.expires_at) == ("c1", 1, T0 + 600)
    assert binding.source == "udp:192.0.2.10:5060"
    assert binding.remaining(T0 + 0.5) == 600  # rounded up: a live binding never says 0


def test_the_contact_parameter_beats_the_header_and_the_default_fills_in() -> None:
    registrations = Registrations(RegistrarPolicy(default_expires=1800))
    done = registrations.register(reg(ContactRequest(DESK, expires=120), SOFT, expires=900), T0, A1)
    assert {c.uri: c.expires for c in done.contacts} == {DESK: 120, SOFT: 900}
    again = registrations.register(reg("sip:alice@192.0.2.12", cseq=2), T0, A1)
    assert {c.uri: c.expires for c in again.contacts}["sip:alice@192.0.2.12"] == 1800


def test_a_refresh_moves_the_expiry_and_keeps_one_binding() -> None:
    registrations = Registrations()
    registrations.register(reg(DESK, expires=600), T0, A1)
    done = registrations.register(reg(DESK, cseq=2, expires=600), T0 + 300, A1)
    assert done.refreshed == (DESK,) and done.added == ()
    assert [(b.uri, b.expires_at, b.cseq) for b in registrations.contacts(AOR, T0 + 301)] == [
        (DESK, T0 + 900, 2)
    ]


def test_expires_zero_removes_that_contact_only() -> None:
    registrations = Registrations()
    registrations.register(reg(DESK, SOFT, expires=600), T0, A1)
    done = registrations.register(reg(ContactRequest(DESK, expires=0), cseq=2), T0 + 1, A1)
    assert done.removed == (DESK,)
    assert [c.uri for c in done.contacts] == [SOFT]
    nothing = registrations.register(
        reg(ContactRequest("sip:other@192.0.2.1", expires=0), cseq=3), T0 + 2, A1
    )
    assert nothing.removed == () and [c.uri for c in nothing.contacts] == [SOFT]


def test_star_with_expires_zero_removes_every_binding() -> None:
    registrations = Registrations()
    registrations.register(reg(DESK, expires=600), T0, A1)
    registrations.register(reg(SOFT, call_id="c2", expires=600), T0, A1)
    done = registrations.register(reg(wildcard=True, expires=0, call_id="c3"), T0 + 5, A1)
    assert sorted(done.removed) == sorted([DESK, SOFT]) and done.contacts == ()
    assert registrations.contacts(AOR, T0 + 5) == []
    assert registrations.agent_of(AOR) is None


@pytest.mark.parametrize(
    "request_",
    [
        reg(wildcard=True, expires=3600),  # * needs Expires: 0
        reg(wildcard=True),  # ... present
        reg(DESK, wildcard=True, expires=0),  # * alone
    ],
)
def test_star_otherwise_is_a_bad_request(request_: Register) -> None:
    registrations = Registrations()
    registrations.register(reg(DESK, call_id="c0", expires=600), T0, A1)
    with pytest.raises(InvalidRegistration):
        registrations.register(request_, T0 + 1, A1)
    assert uris(registrations.contacts(AOR, T0 + 1)) == [DESK]


def test_a_register_without_contacts_is_a_query() -> None:
    registrations = Registrations()
    registrations.register(reg(DESK, expires=600), T0, A1)
    done = registrations.register(reg(cseq=2), T0 + 100, A1)
    assert done.contacts == (BoundContact(DESK, 500, None),)
    assert (done.added, done.refreshed, done.removed) == ((), (), ())
    assert registrations.agent_of(AOR) == A1
    registrations.register(reg(cseq=3), T0 + 101, AgentId("a9"))  # the account was relinked
    assert registrations.agent_of(AOR) == "a9"
    assert registrations.register(reg(aor="bob"), T0, None).contacts == ()
    assert registrations.agent_of("bob") is None


# --- ordering of requests (Call-ID and CSeq) ----------------------------------------------------


@pytest.mark.parametrize("cseq", [1, 4, 5])
def test_same_call_id_with_a_cseq_not_higher_is_stale(cseq: int) -> None:
    registrations = Registrations()
    registrations.register(reg(DESK, cseq=5, expires=600), T0, A1)
    with pytest.raises(StaleRegistration) as refused:
        registrations.register(reg(DESK, cseq=cseq, expires=1200), T0 + 10, A1)
    assert refused.value.details["contact"] == DESK
    [binding] = registrations.contacts(AOR, T0 + 10)
    assert (binding.cseq, binding.expires_at) == (5, T0 + 600)  # untouched


def test_a_stale_removal_removes_nothing() -> None:
    registrations = Registrations()
    registrations.register(reg(DESK, cseq=5, expires=600), T0, A1)
    with pytest.raises(StaleRegistration):
        registrations.register(reg(ContactRequest(DESK, expires=0), cseq=5), T0, A1)
    with pytest.raises(StaleRegistration):
        registrations.register(reg(wildcard=True, expires=0, cseq=3), T0, A1)
    assert uris(registrations.contacts(AOR, T0)) == [DESK]


def test_a_new_call_id_may_start_over_at_any_cseq() -> None:
    # a phone that restarted: new Call-ID, CSeq back at 1
    registrations = Registrations()
    registrations.register(reg(DESK, call_id="before", cseq=90, expires=600), T0, A1)
    done = registrations.register(reg(DESK, call_id="after", cseq=1, expires=600), T0 + 5, A1)
    assert done.refreshed == (DESK,)
    [binding] = registrations.contacts(AOR, T0 + 5)
    assert (binding.call_id, binding.cseq) == ("after", 1)
    registrations.register(reg(wildcard=True, expires=0, call_id="third", cseq=1), T0 + 6, A1)
    assert registrations.contacts(AOR, T0 + 6) == []


# --- limits --------------------------------------------------------------------------------------


def test_too_brief_an_interval_fails_the_whole_request_with_the_minimum() -> None:
    registrations = Registrations(RegistrarPolicy(min_expires=60))
    with pytest.raises(IntervalTooBrief) as refused:
        registrations.register(reg(SOFT, ContactRequest(DESK, expires=30), expires=600), T0, A1)
    assert refused.value.min_expires == 60
    assert refused.value.details["contact"] == DESK
    assert registrations.contacts(AOR, T0) == []  # SOFT, valid on its own, was not bound
    ok = registrations.register(reg(DESK, expires=60), T0, A1)
    assert ok.contacts[0].expires == 60


def test_more_than_the_maximum_is_shortened() -> None:
    registrations = Registrations(RegistrarPolicy(max_expires=3600))
    done = registrations.register(reg(DESK, expires=2**32 - 1), T0, A1)
    assert done.contacts[0].expires == 3600


def test_a_full_aor_evicts_the_binding_refreshed_longest_ago() -> None:
    registrations = Registrations(RegistrarPolicy(max_bindings=3))
    for n in range(3):
        registrations.register(
            reg(f"sip:alice@192.0.2.{n}", call_id=f"c{n}", expires=600), T0 + n, A1
        )
    registrations.register(reg("sip:alice@192.0.2.0", call_id="c0", cseq=2), T0 + 10, A1)
    done = registrations.register(reg("sip:alice@192.0.2.9", call_id="c9"), T0 + 11, A1)
    assert done.evicted == ("sip:alice@192.0.2.1",)
    assert sorted(uris(registrations.contacts(AOR, T0 + 11))) == [
        "sip:alice@192.0.2.0",
        "sip:alice@192.0.2.2",
        "sip:alice@192.0.2.9",
    ]


def test_a_full_aor_refuses_without_replace_oldest_and_one_request_cannot_overfill() -> None:
    strict = Registrations(RegistrarPolicy(max_bindings=2, replace_oldest=False))
    strict.register(reg(DESK, SOFT), T0, A1)
    with pytest.raises(TooManyBindings):
        strict.register(reg("sip:alice@192.0.2.12", call_id="c2"), T0, A1)
    assert sorted(uris(strict.contacts(AOR, T0))) == sorted([DESK, SOFT])
    strict.register(reg(DESK, cseq=2), T0 + 1, A1)  # a refresh is not one more
    lenient = Registrations(RegistrarPolicy(max_bindings=2))
    with pytest.raises(TooManyBindings):
        lenient.register(reg(*(f"sip:alice@192.0.2.{n}" for n in range(3))), T0, A1)
    assert lenient.contacts(AOR, T0) == []


@pytest.mark.parametrize(
    "contact",
    [
        ContactRequest(DESK, expires=-1),
        ContactRequest(DESK, q=1.5),
        ContactRequest(DESK, q=float("nan")),
        ContactRequest(""),
    ],
)
def test_malformed_contacts_are_bad_requests(contact: ContactRequest) -> None:
    with pytest.raises(InvalidRegistration):
        Registrations().register(reg(contact), T0, A1)


@pytest.mark.parametrize(
    "request_",
    [reg(DESK, call_id=""), reg(DESK, cseq=2**31), reg(DESK, cseq=-1), reg(DESK, expires=-5)],
)
def test_malformed_requests_are_bad_requests(request_: Register) -> None:
    with pytest.raises(InvalidRegistration):
        Registrations().register(request_, T0, A1)


@pytest.mark.parametrize(
    "policy",
    [
        {"min_expires": 0},
        {"min_expires": 7200, "max_expires": 7200},  # 423 is for intervals under an hour
        {"min_expires": 600, "max_expires": 300},
        {"default_expires": 30},
        {"max_bindings": 0},
    ],
)
def test_policies_that_make_no_sense_are_refused(policy: dict[str, int]) -> None:
    with pytest.raises(InvalidInput):
        RegistrarPolicy(**policy)  # type: ignore[arg-type]


# --- reading, expiry, the agent view -------------------------------------------------------------


def test_contacts_are_ordered_by_q_then_most_recent() -> None:
    registrations = Registrations()
    registrations.register(reg(ContactRequest("sip:a@h1", q=0.5)), T0, A1)
    registrations.register(reg(ContactRequest("sip:a@h2"), call_id="c2"), T0 + 1, A1)  # q 1.0
    registrations.register(reg(ContactRequest("sip:a@h3", q=0.5), call_id="c3"), T0 + 2, A1)
    registrations.register(reg(ContactRequest("sip:a@h4", q=0.9), call_id="c4"), T0 + 3, A1)
    expected = ["sip:a@h2", "sip:a@h4", "sip:a@h3", "sip:a@h1"]
    assert uris(registrations.contacts(AOR, T0 + 4)) == expected
    query = registrations.register(reg(call_id="c5"), T0 + 4, A1)
    assert [c.uri for c in query.contacts] == expected
    assert [c.q for c in query.contacts] == [None, 0.9, 0.5, 0.5]


def test_expired_bindings_are_never_returned_and_expire_drops_them() -> None:
    registrations = Registrations()
    registrations.register(reg(DESK, expires=60), T0, A1)
    registrations.register(reg(SOFT, call_id="c2", expires=600), T0, A1)
    assert uris(registrations.contacts(AOR, T0 + 60)) == [SOFT]  # before any expire()
    assert uris(registrations.contacts_for_agent(A1, T0 + 60)) == [SOFT]
    assert uris(registrations.expire(T0 + 60)) == [DESK]
    assert registrations.expire(T0 + 60) == []
    assert uris(registrations.expire(T0 + 600)) == [SOFT]
    assert registrations.contacts(AOR, T0 + 600) == []
    assert registrations.agent_of(AOR) is None


def test_an_expired_binding_counts_as_gone_for_the_next_register() -> None:
    registrations = Registrations(RegistrarPolicy(max_bindings=1, replace_oldest=False))
    registrations.register(reg(DESK, cseq=9, expires=60), T0, A1)
    done = registrations.register(reg(DESK, cseq=1, expires=60), T0 + 61, A1)
    assert done.added == (DESK,)
    registrations.register(reg(SOFT, call_id="c2", expires=60), T0 + 200, A1)


def test_the_agent_view_follows_the_latest_registration() -> None:
    registrations = Registrations()
    registrations.register(reg(DESK), T0, A1)
    registrations.register(reg("sip:bob@192.0.2.20", aor="bob"), T0, AgentId("a2"))
    assert uris(registrations.contacts_for_agent(A1, T0)) == [DESK]
    assert registrations.agent_of("bob") == "a2"
    # agent a1 now belongs to the account "carol" (relinked): her phone rings, alice's does not
    registrations.register(reg("sip:carol@192.0.2.30", aor="carol"), T0 + 1, A1)
    assert uris(registrations.contacts_for_agent(A1, T0 + 1)) == ["sip:carol@192.0.2.30"]
    assert registrations.agent_of(AOR) is None
    assert uris(registrations.contacts(AOR, T0 + 1)) == [DESK]  # still bound, for nobody
    assert registrations.contacts_for_agent(AgentId("nobody"), T0) == []


def test_drop_forgets_an_aor() -> None:
    registrations = Registrations()
    registrations.register(reg(DESK, SOFT), T0, A1)
    assert sorted(uris(registrations.drop(AOR))) == sorted([DESK, SOFT])
    assert registrations.contacts_for_agent(A1, T0) == []
    assert registrations.drop(AOR) == []


@pytest.mark.parametrize(
    ("presence", "rings"),
    [(Presence.LOGGED_OUT, False), (Presence.NOT_READY, True), (Presence.READY, True)],
)
def test_phones_ring_only_while_the_agent_is_logged_in(presence: Presence, rings: bool) -> None:
    registrations = Registrations()
    registrations.register(reg(DESK), T0, A1)
    agent = Agent(id=A1, name="Alice", presence=presence)
    assert uris(ringable_contacts(registrations, agent, T0)) == ([DESK] if rings else [])
    other = Agent(id=AgentId("a2"), name="Bob", presence=Presence.READY)
    assert ringable_contacts(registrations, other, T0) == []


# --- invariants ----------------------------------------------------------------------------------

CONTACT_POOL = [f"sip:u@192.0.2.{n}" for n in range(8)]
EXPIRES = st.one_of(st.none(), st.sampled_from([0, 10, 59, 60, 61, 300, 3600, 86400]))
CONTACTS = st.lists(
    st.builds(
        ContactRequest,
        uri=st.sampled_from(CONTACT_POOL),
        expires=EXPIRES,
        q=st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0])),
    ),
    max_size=4,
).map(tuple)
REGISTERS = st.builds(
    Register,
    aor=st.sampled_from(["alice", "bob"]),
    call_id=st.sampled_from(["c1", "c2", "c3"]),
    cseq=st.integers(0, 6),
    contacts=CONTACTS,
    wildcard=st.booleans(),
    expires=EXPIRES,
)
WAITS = st.floats(0, 4000)
EXPIRE = st.just("expire")


@settings(max_examples=300, deadline=None)
@given(
    ops=st.lists(st.one_of(REGISTERS, WAITS, EXPIRE), max_size=40),
    cap=st.integers(1, 4),
    replace_oldest=st.booleans(),
)
def test_bindings_never_exceed_the_cap_and_expired_ones_never_show(
    ops: list[Register | float | str], cap: int, replace_oldest: bool
) -> None:
    policy = RegistrarPolicy(max_bindings=cap, replace_oldest=replace_oldest)
    registrations = Registrations(policy)
    now = T0
    agents = {"alice": A1, "bob": AgentId("a2")}

    def state() -> dict[str, list[Binding]]:
        return {aor: registrations.contacts(aor, now) for aor in agents}

    for op in ops:
        if isinstance(op, float):
            now += op
        elif isinstance(op, str):
            for binding in registrations.expire(now):
                assert not binding.live(now)
        else:
            before = state()
            try:
                done = registrations.register(op, now, agents[op.aor])
            except RegistrationError:
                assert state() == before  # all or nothing
            else:
                assert len(done.contacts) <= cap
                for contact in done.contacts:
                    assert 1 <= contact.expires <= policy.max_expires
        for aor, bindings in state().items():
            assert len(bindings) <= cap
            assert all(b.live(now) and b.remaining(now) <= policy.max_expires for b in bindings)
            assert len({b.uri for b in bindings}) == len(bindings)
            if bindings:
                assert registrations.contacts_for_agent(agents[aor], now) == bindings
