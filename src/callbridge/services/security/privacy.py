"""Privacy requests: export everything held about a phone number or email address, or erase it.

Every holder of personal data the composition root lists (`PersonalDataHolder`: the interaction
store today; the CRM's activities and call recordings when they exist) is asked in turn. Both
requests are audited, and the audit entries carry no personal data: the subject is named by its
blind-index hash, what was done by counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from callbridge.domain.clock import Clock
from callbridge.domain.errors import InvalidInput, InvalidState
from callbridge.ports import AuditRecord, Changes, JsonValue, PersonalDataHolder, Store

EXPORT_FORMAT = "callbridge.privacy-export/1"
SUBJECT = "data_subject"


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked, for the audit log: "user:..." or "cli", and from where."""

    actor: str
    source: str


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure did: the subject's blind-index hash and records changed per holder."""

    subject: str
    erased: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.erased.values())


class PrivacyRequests:
    """Export and erasure over every holder of personal data."""

    def __init__(
        self,
        holders: Sequence[PersonalDataHolder],
        index: Callable[[str], str],
        store: Store,
        clock: Clock,
    ) -> None:
        """`index` is the blind-index hash (FieldCipher.index); `store` takes the audit."""
        self._holders = list(holders)
        self._index = index
        self._store = store
        self._clock = clock

    def subject(self, address: str) -> str:
        """The blind-index hash that names `address` in every holder and in the audit log."""
        if not address.strip():
            raise InvalidInput(
                "address: a phone number or email address is required", field="address"
            )
        return self._index(address)

    def export(self, address: str, requester: Requester) -> dict[str, JsonValue]:
        """Everything held about `address`, as one JSON document; the export is audited."""
        subject = self.subject(address)
        now = self._clock.now()
        held: dict[str, JsonValue] = {h.name: h.export(subject, address) for h in self._holders}
        counts: dict[str, JsonValue] = {name: _records(value) for name, value in held.items()}
        self._audit(requester, now, "privacy.export", subject, after={"records": counts})
        return {
            "format": EXPORT_FORMAT,
            "exported_at": datetime.fromtimestamp(now, UTC).isoformat(),
            "subject": {"address": address, "index": subject},
            "holders": held,
        }

    def erase(self, address: str, requester: Requester) -> Erasure:
        """Overwrite every personal field about `address` in every holder; audited.

        Refused, erasing nothing, while a holder still uses a record (an interaction that is
        open or in wrap-up would write the data back): end it and ask again.
        """
        subject = self.subject(address)
        busy = {h.name: n for h in self._holders if (n := h.in_use(subject, address))}
        if busy:
            raise InvalidState(
                "the subject's data is still in use (an interaction is open or in wrap-up); "
                "erase it once that has ended",
                in_use=", ".join(f"{name}: {n}" for name, n in busy.items()),
            )
        erased: dict[str, int] = {}
        try:
            for holder in self._holders:
                erased[holder.name] = holder.erase(subject, address)
        except Exception as exc:
            # What was erased stays erased; the log says how far it got and why it stopped.
            after: dict[str, JsonValue] = {"erased": dict(erased), "failed": type(exc).__name__}
            self._audit(requester, self._clock.now(), "privacy.erase", subject, after=after)
            raise
        done = Erasure(subject, erased)
        self._audit(
            requester,
            self._clock.now(),
            "privacy.erase",
            subject,
            after={"erased": dict(erased), "total": done.total},
        )
        return done

    def _audit(
        self, requester: Requester, at: float, action: str, subject: str, after: JsonValue
    ) -> None:
        record = AuditRecord(
            at, requester.actor, action, SUBJECT, subject, requester.source, None, after
        )
        self._store.commit(Changes(audit=[record]))


def _records(held: JsonValue) -> int:
    """How many records a holder's export holds: its list's length, or its lists' together."""
    if isinstance(held, list):
        return len(held)
    if isinstance(held, dict):
        return sum(len(v) for v in held.values() if isinstance(v, list))
    return 1
