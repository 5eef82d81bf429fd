"""The registrar for agents' phones: REGISTER over SIP, authenticated with the SIP password on
the agent's account, into the location service (`domain/telephony/registrations.py`).

A phone registers as `sip:<username>@<callbridge>` with digest authentication (MD5 or
SHA-256, qop=auth). The digest username must be the address-of-record's user: nobody
registers a phone for someone else. The account must be enabled and linked to an agent. A
wrong password gets 403 after the challenge, not a fresh challenge, so a phone with a stale
password stops rather than retrying forever.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import structlog

from callbridge.adapters.telephony.sip import Headers, Request, Response, ServerTransaction
from callbridge.adapters.telephony.sip.digest import Algorithm, DigestServer
from callbridge.adapters.telephony.sip.errors import SipParseError
from callbridge.domain.ids import AgentId
from callbridge.domain.security.accounts import SipCredentials
from callbridge.domain.telephony.registrations import (
    ContactRequest,
    IntervalTooBrief,
    InvalidRegistration,
    Register,
    Registrations,
    StaleRegistration,
    TooManyBindings,
)

log = structlog.get_logger(__name__)

CredentialLookup = Callable[[str], SipCredentials | None]


class Registrar:
    def __init__(
        self,
        registrations: Registrations,
        credentials: CredentialLookup,
        realm: str,
        secret: bytes,
        clock: Callable[[], float],
        algorithms: tuple[Algorithm, ...] = ("MD5",),
    ) -> None:
        self.registrations = registrations
        self._credentials = credentials
        self._clock = clock
        self.digest = DigestServer(realm, secret, self._ha1, clock=clock, algorithms=algorithms)

    async def _lookup(self, username: str) -> SipCredentials | None:
        # the accounts store is synchronous: read it off the event loop
        return await anyio.to_thread.run_sync(self._credentials, username)

    async def _ha1(self, username: str, realm: str, algorithm: Algorithm) -> str | None:
        creds = await self._lookup(username)
        return None if creds is None else creds.ha1(realm, algorithm)

    def _challenge(self, tx: ServerTransaction, stale: bool = False) -> Response:
        headers = Headers()
        for value in self.digest.challenges(stale=stale):
            headers.add("WWW-Authenticate", value)
        return tx.response(401, headers=headers)

    async def on_register(self, tx: ServerTransaction, request: Request) -> Response:
        aor = request.to.uri.user
        if not aor:
            return tx.response(400, "To has no user part")
        if not request.headers.get_all("Authorization"):
            return self._challenge(tx)
        auth = await self.digest.verify(request)
        if auth.stale:
            return self._challenge(tx, stale=True)
        if not auth.ok:
            log.info("sip.register_refused", aor=aor, reason=auth.reason)
            return tx.response(403, "Forbidden")
        if auth.username != aor:
            return tx.response(403, "Not your address")
        creds = await self._lookup(aor)
        if creds is None:
            return tx.response(403, "No SIP account")
        try:
            register = self._parse(request, aor, tx)
            done = self.registrations.register(
                register, self._clock(), AgentId(creds.agent_id) if creds.agent_id else None
            )
        except IntervalTooBrief as exc:
            return tx.response(423, headers=Headers([("Min-Expires", str(exc.min_expires))]))
        except (InvalidRegistration, SipParseError, ValueError) as exc:
            return tx.response(400, str(exc)[:80])
        except StaleRegistration:
            return tx.response(500, "Out of order")
        except TooManyBindings:
            return tx.response(403, "Too many phones")
        headers = Headers()
        for contact in done.contacts:
            q = f";q={contact.q}" if contact.q is not None else ""
            headers.add("Contact", f"<{contact.uri}>;expires={contact.expires}{q}")
        log.info("sip.registered", aor=aor, agent_id=creds.agent_id, contacts=len(done.contacts))
        return tx.response(200, headers=headers)

    def _parse(self, request: Request, aor: str, tx: ServerTransaction) -> Register:
        values = request.headers.get_all("Contact")
        wildcard = any(v.strip() == "*" for v in values)
        contacts = []
        for contact in request.contacts():
            expires = contact.params.get("expires")
            q = contact.params.get("q")
            uri = contact.uri
            contacts.append(
                ContactRequest(
                    str(uri),
                    int(expires) if expires else None,
                    float(q) if q else None,
                )
            )
        header = request.headers.get("Expires")
        source = tx.source
        return Register(
            aor=aor,
            call_id=request.call_id,
            cseq=request.cseq.seq,
            contacts=tuple(contacts),
            wildcard=wildcard,
            expires=int(header) if header and header.strip().isdigit() else None,
            source=f"{source.transport}:{source.host}:{source.port}",
        )
