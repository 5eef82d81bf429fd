"""Campaign use cases: define campaigns from campaign files, start / pause / resume / stop them,
load their lists, keep do-not-call (internal and campaign lists with dates, the national
registry copy, consent and business-relationship exemptions), and read the pacing log and the
compliance report.

HTTP and the CLI call these, so both check the same things and audit the same way. Each change
is checked first (the file parsed, the transition allowed, every CSV line read) and then written
in one transaction with its audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from callbridge.domain.clock import Clock
from callbridge.domain.crm.records import DialingListMember
from callbridge.domain.dialer.campaign_file import parse_campaign
from callbridge.domain.dialer.campaigns import (
    Campaign,
    CampaignAction,
    CampaignState,
    CampaignStatus,
    transition,
)
from callbridge.domain.dialer.decisions import PacingDecision
from callbridge.domain.dialer.dnc import DncEntry, Exemption, ExemptionKind, RegistryCopy
from callbridge.domain.dialer.ids import CampaignId, ListId, RecordId
from callbridge.domain.dialer.list_file import parse_list_csv
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.domain.dialer.report import ComplianceReport, compliance_report
from callbridge.domain.errors import AlreadyExists, InvalidInput, InvalidState, NotFound
from callbridge.ports import AuditRecord, CampaignStore, JsonValue, StoredCampaign
from callbridge.services.dnc_registry import RegistryImport, parse_registry
from callbridge.services.security.accounts import Actor
from callbridge.services.security.crypto import normalise_address

MAX_CRM_MEMBERS = 200_000


class CampaignAdmin(CampaignStore, Protocol):
    """The campaign store, with the writes only administration makes (each with its audit)."""

    def save_campaign(self, stored: StoredCampaign, audit: Sequence[AuditRecord] = ()) -> None:
        """Insert or replace the campaign, its audit entries in the same transaction."""
        ...

    def add_dnc(
        self,
        entries: Sequence[DncEntry],
        campaign_id: CampaignId | None = None,
        *,
        added_at: datetime,
        audit: Sequence[AuditRecord] = (),
    ) -> int:
        """Add to the internal list (None) or a campaign's; how many numbers were new."""
        ...

    def add_registry(
        self,
        copy: RegistryCopy,
        region: str,
        imported_at: datetime,
        audit: Sequence[AuditRecord] = (),
    ) -> int:
        """Keep a registry copy; its id."""
        ...

    def add_exemptions(
        self, exemptions: Iterable[Exemption], audit: Sequence[AuditRecord] = ()
    ) -> None:
        """Record consent or business relationships."""
        ...


class CrmListMembers(Protocol):
    """Dialing lists already pulled from the CRM (adapters/store/lists.ListStore)."""

    def members(
        self, list_id: str, limit: int = 1000, offset: int = 0
    ) -> list[DialingListMember]: ...


@dataclass(frozen=True, slots=True)
class RegistryLoaded:
    copy_id: int
    imported: RegistryImport


def campaign_json(stored: StoredCampaign) -> JsonValue:
    """What the audit log keeps of a campaign: its status and the file as written."""
    status = stored.status
    return {
        "name": stored.campaign.name,
        "mode": stored.campaign.mode.value,
        "state": status.state.value,
        "since": None if status.since is None else status.since.isoformat(),
        "source": stored.source,
    }


class Campaigns:
    def __init__(
        self,
        store: CampaignAdmin,
        clock: Clock,
        region: str = "US",
        crm_lists: CrmListMembers | None = None,
    ) -> None:
        self.store, self.clock, self.region, self.crm_lists = store, clock, region, crm_lists

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    # --- campaigns -------------------------------------------------------------------------

    def get(self, campaign_id: str) -> StoredCampaign:
        """The campaign; NotFound if there is none."""
        stored = self.store.campaign(CampaignId(campaign_id))
        if stored is None:
            raise NotFound(f"no campaign {campaign_id}", field="campaign_id")
        return stored

    def create(self, source: str, actor: Actor) -> StoredCampaign:
        """A new draft campaign from its file; AlreadyExists if its id is taken."""
        campaign = parse_campaign(source, "campaign file")
        if self.store.campaign(campaign.campaign_id) is not None:
            raise AlreadyExists(
                f"campaign {campaign.campaign_id} exists: PUT /campaigns/"
                f"{campaign.campaign_id} replaces it",
                field="campaign",
            )
        stored = StoredCampaign(campaign, CampaignStatus(), source)
        self._save(stored, "campaign.create", actor, None)
        return stored

    def replace(self, campaign_id: str, source: str, actor: Actor) -> StoredCampaign:
        """The campaign's file replaced (made if new), its status kept. A running campaign
        must be paused first, so no call is placed under half of each definition."""
        campaign = parse_campaign(source, "campaign file")
        if campaign.campaign_id != campaign_id:
            raise InvalidInput(
                f"the file defines campaign {campaign.campaign_id}, not {campaign_id}",
                field="campaign",
            )
        before = self.store.campaign(campaign.campaign_id)
        if before is not None and before.status.state is CampaignState.RUNNING:
            raise InvalidState(
                f"campaign {campaign_id} is running: pause it before changing it",
                state=before.status.state.value,
            )
        status = before.status if before is not None else CampaignStatus()
        stored = StoredCampaign(campaign, status, source)
        action = "campaign.update" if before is not None else "campaign.create"
        self._save(stored, action, actor, before)
        return stored

    def act(self, campaign_id: str, action: CampaignAction, actor: Actor) -> StoredCampaign:
        """Start, pause, resume or stop; InvalidState when the campaign's state forbids it."""
        before = self.get(campaign_id)
        status = transition(before.status, action, self.now())
        stored = StoredCampaign(before.campaign, status, before.source)
        self._save(stored, f"campaign.{action.value}", actor, before)
        return stored

    def _save(
        self, stored: StoredCampaign, action: str, actor: Actor, before: StoredCampaign | None
    ) -> None:
        record = actor.record(
            self.clock.now(),
            action,
            "campaign",
            stored.campaign.campaign_id,
            None if before is None else campaign_json(before),
            campaign_json(stored),
        )
        self.store.save_campaign(stored, [record])

    # --- lists -----------------------------------------------------------------------------

    def _list_of(self, campaign_id: str, list_id: str) -> Campaign:
        campaign = self.get(campaign_id).campaign
        if ListId(list_id) not in {lst.list_id for lst in campaign.lists}:
            dials = ", ".join(lst.list_id for lst in campaign.lists)
            raise NotFound(
                f"campaign {campaign_id} dials no list {list_id} (it dials {dials})",
                field="list_id",
            )
        return campaign

    def load_csv(self, campaign_id: str, list_id: str, text: str) -> int:
        """Add the records of a CSV upload to one of the campaign's lists (a record id already
        there is replaced in place). One bad line rejects the whole upload, naming the line."""
        self._list_of(campaign_id, list_id)
        records = parse_list_csv(text, self.region)
        return self.store.add_records(ListId(list_id), records)

    def load_crm_list(self, campaign_id: str, list_id: str, dialing_list_id: str) -> int:
        """Add the members of a dialing list pulled from the CRM; record ids are
        `<type>:<id>` of the CRM record."""
        self._list_of(campaign_id, list_id)
        if self.crm_lists is None:
            raise NotFound("no CRM is configured", field="dialing_list_id")
        members = self.crm_lists.members(dialing_list_id, limit=MAX_CRM_MEMBERS)
        if not members:
            raise NotFound(
                f"dialing list {dialing_list_id} has no members (pull it first)",
                field="dialing_list_id",
            )
        records = [
            DialingRecord(
                RecordId(f"{m.ref.type.value}:{m.ref.id}"),
                (m.phone,),
                m.name,
                position=n,
            )
            for n, m in enumerate(members)
            if m.phone.startswith("+")
        ]
        return self.store.add_records(ListId(list_id), records)

    # --- do-not-call -----------------------------------------------------------------------

    def _number(self, number: str) -> str:
        normal = normalise_address(number, self.region)
        if not normal.startswith("+"):
            raise InvalidInput(f"not a phone number: {number!r}", field="number")
        return normal

    def add_dnc(
        self,
        number: str,
        actor: Actor,
        *,
        effective_at: datetime | None = None,
        expires_at: datetime | None = None,
        campaign_id: str | None = None,
        source: str = "callbridge",
    ) -> bool:
        """Put a number on the internal list (or the campaign's), blocking from `effective_at`
        (default: now) until `expires_at` (default: for good); whether it was new there."""
        now = self.now()
        if campaign_id is not None:
            self.get(campaign_id)
        for name, at in (("effective_at", effective_at), ("expires_at", expires_at)):
            if at is not None and at.tzinfo is None:
                raise InvalidInput(f"{name} must carry a time zone", field=name)
        entry = DncEntry(self._number(number), effective_at or now, expires_at, source)
        where = "internal" if campaign_id is None else f"campaign:{campaign_id}"
        record = actor.record(
            now.timestamp(),
            "dnc.add",
            "dnc",
            where,
            None,
            {
                "effective_at": entry.effective_at.isoformat(),
                "expires_at": None if expires_at is None else expires_at.isoformat(),
                "source": source,
            },
        )
        cid = None if campaign_id is None else CampaignId(campaign_id)
        return self.store.add_dnc([entry], cid, added_at=now, audit=[record]) == 1

    def import_registry(
        self,
        lines: Iterable[str],
        obtained_at: datetime,
        actor: Actor,
        region: str | None = None,
        name: str = "national registry",
    ) -> RegistryLoaded:
        """Keep a national registry download as the copy dials are screened against."""
        where = (region or self.region).upper()
        if obtained_at > self.now():
            raise InvalidInput("the copy cannot be obtained in the future", field="obtained_at")
        imported = parse_registry(lines, obtained_at, where, name)
        if not imported.copy.numbers:
            raise InvalidInput("the registry file holds no numbers", field="registry")
        record = actor.record(
            self.clock.now(),
            "dnc.registry.import",
            "dnc_registry",
            name,
            None,
            {
                "obtained_at": obtained_at.isoformat(),
                "region": where,
                "numbers": len(imported.copy.numbers),
                "rejected": imported.rejected,
            },
        )
        copy_id = self.store.add_registry(imported.copy, where, self.now(), [record])
        return RegistryLoaded(copy_id, imported)

    def add_exemption(
        self,
        number: str,
        kind: ExemptionKind,
        since: datetime,
        actor: Actor,
        revoked_at: datetime | None = None,
    ) -> Exemption:
        """Consent or a business relationship that lifts the registry block for a number."""
        exemption = Exemption(self._number(number), kind, since, revoked_at)
        record = actor.record(
            self.clock.now(),
            "dnc.exemption",
            "dnc_exemption",
            kind.value,
            None,
            {
                "since": since.isoformat(),
                "revoked_at": None if revoked_at is None else revoked_at.isoformat(),
            },
        )
        self.store.add_exemptions([exemption], [record])
        return exemption

    # --- reading ---------------------------------------------------------------------------

    def pacing(self, campaign_id: str, limit: int = 100) -> list[PacingDecision]:
        """The campaign's logged pacing decisions, newest first."""
        self.get(campaign_id)
        return self.store.decisions(CampaignId(campaign_id), limit)

    def report(self, campaign_id: str) -> ComplianceReport:
        """The compliance report over every call the campaign has made."""
        stored = self.get(campaign_id)
        calls = self.store.calls(stored.campaign.campaign_id)
        return compliance_report(stored.campaign, stored.status.first_started, calls)
