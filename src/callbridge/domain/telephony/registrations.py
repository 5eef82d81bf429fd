"""The registrar's location service: which contacts each address-of-record (AOR) is bound to,
following RFC 3261 section 10.3, and which phones ring for an agent. Pure: the SIP adapter
parses the REGISTER, authenticates it, and passes the parts in with the time; it maps the typed
results to a 200 OK and the typed errors to failure responses.

Decisions where the RFC leaves a choice:
- The AOR is the SIP username (the account's `username`); the adapter has checked that the
  authenticated user is that AOR (step 4) before calling `register`.
- Contact URIs are compared as the strings the adapter passes: it gives equal URIs (RFC 3261
  section 19.1.4) the same canonical form.
- Expires: the contact's parameter, else the Expires header, else `default_expires`; 0 < e <
  `min_expires` fails the whole request (423 with Min-Expires); above `max_expires` it is
  shortened (the 200 OK says by how much).
- A REGISTER is all or nothing: any failure changes no binding (step 7).
- At most `max_bindings` per AOR. With `replace_oldest` (the default) a new contact that would
  go over evicts the bindings refreshed longest ago that this request did not touch: a phone
  that restarts comes back on a new port and Call-ID, and its old binding must not lock it out
  for an hour. Without it, the request fails.
- An absent q ranks as q=1.0 (and is not echoed); ties go to the most recently refreshed.
- `agent_of(aor)` is what the AOR's latest accepted REGISTER said (the adapter takes it from
  the account's SIP credentials); an AOR without bindings has no agent, and an agent has one
  AOR, the one registered for it last.

Suggested SIP statuses for the errors: `InvalidRegistration` 400, `IntervalTooBrief` 423 (with
`Min-Expires: <min_expires>`), `StaleRegistration` 500 (the request is out of order: the phone
retries with a higher CSeq), `TooManyBindings` 403.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from callbridge.domain.agents import Agent, Presence
from callbridge.domain.errors import CallbridgeError, InvalidInput
from callbridge.domain.ids import AgentId

MAX_CSEQ = 2**31  # RFC 3261 section 8.1.1.5: the sequence number is below 2**31
ONE_HOUR = 3600
DEFAULT_Q = 1.0


class RegistrationError(CallbridgeError):
    """A REGISTER the registrar refuses; no binding was changed."""

    code = "registration_error"


class InvalidRegistration(RegistrationError):
    """Malformed: a bad expires or q value, `*` with other contacts or a non-zero Expires."""

    code = "registration_invalid"


class IntervalTooBrief(RegistrationError):
    """A contact asked for less than the minimum; the phone may retry with `min_expires`."""

    code = "registration_interval_too_brief"

    def __init__(self, message: str, *, min_expires: int, **details: object) -> None:
        super().__init__(message, min_expires=min_expires, **details)
        self.min_expires = min_expires


class StaleRegistration(RegistrationError):
    """Same Call-ID as a binding, CSeq not higher: an old or repeated request."""

    code = "registration_stale"


class TooManyBindings(RegistrationError):
    """The AOR would hold more contacts than allowed."""

    code = "registration_too_many_bindings"


@dataclass(frozen=True, slots=True)
class RegistrarPolicy:
    min_expires: int = 60
    max_expires: int = ONE_HOUR
    default_expires: int = ONE_HOUR  # when neither the contact nor the header says
    max_bindings: int = 5
    replace_oldest: bool = True  # a full AOR evicts its stalest bindings instead of refusing

    def __post_init__(self) -> None:
        # RFC 3261 allows 423 only for intervals under an hour, so the minimum stays below it
        if not 1 <= self.min_expires <= min(self.max_expires, ONE_HOUR):
            raise InvalidInput(
                "min_expires: must be from 1 to max_expires and at most 3600", field="min_expires"
            )
        if not self.min_expires <= self.default_expires:
            raise InvalidInput(
                "default_expires: must be at least min_expires", field="default_expires"
            )
        if self.max_bindings < 1:
            raise InvalidInput("max_bindings: must be at least 1", field="max_bindings")


@dataclass(frozen=True, slots=True)
class ContactRequest:
    """One Contact of a REGISTER, as the adapter parsed it."""

    uri: str  # canonical: equal SIP URIs give equal strings
    expires: int | None = None  # the contact's expires parameter
    q: float | None = None


@dataclass(frozen=True, slots=True)
class Register:
    """A REGISTER, once authenticated: the parts that change the location service."""

    aor: str
    call_id: str
    cseq: int
    contacts: tuple[ContactRequest, ...] = ()  # none: a query for the current bindings
    wildcard: bool = False  # `Contact: *`
    expires: int | None = None  # the Expires header
    source: str | None = None  # where it came from ("udp:192.0.2.7:5062"), to reach a NATed phone


@dataclass(frozen=True, slots=True)
class Binding:
    aor: str
    uri: str
    expires_at: float
    q: float | None
    call_id: str
    cseq: int
    registered_at: float  # when it was last added or refreshed
    source: str | None = None

    def live(self, now: float) -> bool:
        return now < self.expires_at

    def remaining(self, now: float) -> int:
        """Whole seconds left, rounded up, so a live binding never shows 0 (that means gone)."""
        left = self.expires_at - now
        # to the millisecond first: float noise must not turn 3600 s into 3601
        return 0 if left <= 0 else max(1, math.ceil(round(left, 3)))

    @property
    def priority(self) -> float:
        return DEFAULT_Q if self.q is None else self.q


@dataclass(frozen=True, slots=True)
class BoundContact:
    """One Contact of the 200 OK: a current binding and its remaining expires."""

    uri: str
    expires: int
    q: float | None


@dataclass(frozen=True, slots=True)
class Registered:
    """The outcome of an accepted REGISTER: what the 200 OK lists, and what changed."""

    aor: str
    contacts: tuple[BoundContact, ...]  # every current binding, best first
    added: tuple[str, ...] = ()
    refreshed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    evicted: tuple[str, ...] = ()  # dropped to make room (`replace_oldest`)


class Registrations:
    """The bindings of every AOR, and which agent each AOR's phones belong to."""

    def __init__(self, policy: RegistrarPolicy | None = None) -> None:
        self.policy = policy or RegistrarPolicy()
        self._bindings: dict[str, dict[str, Binding]] = {}
        self._agent_by_aor: dict[str, AgentId] = {}
        self._aor_by_agent: dict[AgentId, str] = {}

    # --- REGISTER ----------------------------------------------------------------------------

    def register(
        self, request: Register, now: float, agent_id: AgentId | None = None
    ) -> Registered:
        """Apply a REGISTER (RFC 3261 section 10.3, steps 6 to 8), all or nothing.

        `agent_id` is the agent the authenticated account works as: the AOR's phones are that
        agent's from now on (None: nobody's). Raises a `RegistrationError` and changes nothing
        on failure.
        """
        _check_request(request)
        current = {uri: b for uri, b in self._bindings.get(request.aor, {}).items() if b.live(now)}
        if not request.contacts and not request.wildcard:  # a query
            self._commit(request.aor, current, agent_id)
            return self._registered(request.aor, current, now)
        if request.wildcard:
            return self._remove_all(request, current)
        wanted = {c.uri: c for c in request.contacts}  # a repeated URI: the last one counts
        after = dict(current)
        added: list[str] = []
        refreshed: list[str] = []
        removed: list[str] = []
        for uri, contact in wanted.items():
            expires = self._expires(contact, request)
            old = current.get(uri)
            if old is not None and old.call_id == request.call_id and request.cseq <= old.cseq:
                raise StaleRegistration(
                    f"{request.aor}: CSeq {request.cseq} is not after {old.cseq} for {uri}",
                    aor=request.aor,
                    contact=uri,
                )
            if expires == 0:
                if after.pop(uri, None) is not None:
                    removed.append(uri)
                continue
            after[uri] = Binding(
                aor=request.aor,
                uri=uri,
                expires_at=now + expires,
                q=contact.q,
                call_id=request.call_id,
                cseq=request.cseq,
                registered_at=now,
                source=request.source,
            )
            (refreshed if old is not None else added).append(uri)
        evicted = self._make_room(request.aor, after, set(added) | set(refreshed))
        self._commit(request.aor, after, agent_id)
        return replace(
            self._registered(request.aor, after, now),
            added=tuple(added),
            refreshed=tuple(refreshed),
            removed=tuple(removed),
            evicted=tuple(evicted),
        )

    def _expires(self, contact: ContactRequest, request: Register) -> int:
        if contact.expires is not None:
            asked = contact.expires
        elif request.expires is not None:
            asked = request.expires
        else:
            asked = self.policy.default_expires
        if 0 < asked < self.policy.min_expires:
            raise IntervalTooBrief(
                f"{contact.uri}: expires {asked} is below the minimum {self.policy.min_expires}",
                min_expires=self.policy.min_expires,
                contact=contact.uri,
            )
        return min(asked, self.policy.max_expires)

    def _remove_all(self, request: Register, current: dict[str, Binding]) -> Registered:
        if request.contacts or request.expires != 0:
            raise InvalidRegistration(
                "Contact: * needs Expires: 0 and no other contact", field="Contact"
            )
        for binding in current.values():
            if binding.call_id == request.call_id and request.cseq <= binding.cseq:
                raise StaleRegistration(
                    f"{request.aor}: CSeq {request.cseq} is not after {binding.cseq}",
                    aor=request.aor,
                    contact=binding.uri,
                )
        self._commit(request.aor, {}, None)
        return Registered(request.aor, (), removed=tuple(sorted(current)))

    def _make_room(self, aor: str, after: dict[str, Binding], touched: set[str]) -> list[str]:
        over = len(after) - self.policy.max_bindings
        if over <= 0:
            return []
        others = sorted(
            (b for b in after.values() if b.uri not in touched),
            key=lambda b: (b.registered_at, b.expires_at, b.uri),
        )
        if not self.policy.replace_oldest or len(others) < over:
            raise TooManyBindings(
                f"{aor}: at most {self.policy.max_bindings} contacts may be registered",
                aor=aor,
                max_bindings=self.policy.max_bindings,
            )
        evicted = [b.uri for b in others[:over]]
        for uri in evicted:
            del after[uri]
        return evicted

    def _commit(self, aor: str, bindings: dict[str, Binding], agent_id: AgentId | None) -> None:
        self._unmap(aor)
        if not bindings:
            self._bindings.pop(aor, None)
            return
        self._bindings[aor] = bindings
        if agent_id is not None:
            # one AOR per agent: the account that registered last is the agent's
            stale_aor = self._aor_by_agent.get(agent_id)
            if stale_aor is not None:
                self._agent_by_aor.pop(stale_aor, None)
            self._agent_by_aor[aor] = agent_id
            self._aor_by_agent[agent_id] = aor

    def _unmap(self, aor: str) -> None:
        agent_id = self._agent_by_aor.pop(aor, None)
        if agent_id is not None and self._aor_by_agent.get(agent_id) == aor:
            del self._aor_by_agent[agent_id]

    def _registered(self, aor: str, bindings: dict[str, Binding], now: float) -> Registered:
        ordered = _best_first(b for b in bindings.values() if b.live(now))
        return Registered(aor, tuple(BoundContact(b.uri, b.remaining(now), b.q) for b in ordered))

    # --- reading and housekeeping ------------------------------------------------------------

    def contacts(self, aor: str, now: float) -> list[Binding]:
        """The AOR's live bindings, highest q first, then the most recently refreshed."""
        return _best_first(b for b in self._bindings.get(aor, {}).values() if b.live(now))

    def agent_of(self, aor: str) -> AgentId | None:
        return self._agent_by_aor.get(aor)

    def contacts_for_agent(self, agent_id: AgentId, now: float) -> list[Binding]:
        """The live bindings of the AOR registered for the agent (none if there is none)."""
        aor = self._aor_by_agent.get(agent_id)
        return [] if aor is None else self.contacts(aor, now)

    def expire(self, now: float) -> list[Binding]:
        """Drop the bindings that have run out; returns them."""
        dropped: list[Binding] = []
        for aor in list(self._bindings):
            bindings = self._bindings[aor]
            gone = [b for b in bindings.values() if not b.live(now)]
            if not gone:
                continue
            dropped.extend(gone)
            self._commit(
                aor,
                {u: b for u, b in bindings.items() if b.live(now)},
                self._agent_by_aor.get(aor),
            )
        return dropped

    def drop(self, aor: str) -> list[Binding]:
        """Forget every binding of an AOR (its SIP password was cleared, its user disabled)."""
        gone = list(self._bindings.get(aor, {}).values())
        self._commit(aor, {}, None)
        return gone


def ringable_contacts(registrations: Registrations, agent: Agent, now: float) -> list[Binding]:
    """The contacts to ring for an agent's call: the registered phones, but only while the agent
    is logged in. A phone registered by someone who is logged out rings for nobody: the location
    is bound to the agent's login, not only to the phone's registration."""
    if agent.presence is Presence.LOGGED_OUT:
        return []
    return registrations.contacts_for_agent(agent.id, now)


def _best_first(bindings: Iterable[Binding]) -> list[Binding]:
    return sorted(bindings, key=lambda b: (-b.priority, -b.registered_at, b.uri))


def _check_request(request: Register) -> None:
    if not request.aor:
        raise InvalidRegistration("the address-of-record is empty", field="To")
    if not request.call_id:
        raise InvalidRegistration("Call-ID is empty", field="Call-ID")
    if not 0 <= request.cseq < MAX_CSEQ:
        raise InvalidRegistration(f"CSeq {request.cseq} is out of range", field="CSeq")
    if request.expires is not None and request.expires < 0:
        raise InvalidRegistration("Expires must not be negative", field="Expires")
    for contact in request.contacts:
        if not contact.uri:
            raise InvalidRegistration("a contact URI is empty", field="Contact")
        if contact.expires is not None and contact.expires < 0:
            raise InvalidRegistration(
                f"{contact.uri}: expires must not be negative", field="Contact"
            )
        if contact.q is not None and not 0.0 <= contact.q <= 1.0:
            raise InvalidRegistration(f"{contact.uri}: q must be from 0 to 1", field="Contact")
