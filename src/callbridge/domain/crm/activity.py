"""What a closed interaction leaves in the CRM (pure: the runtime calls it as it closes)."""

from __future__ import annotations

from callbridge.domain.channels import Channel, Direction
from callbridge.domain.crm.records import Activity, ActivityDirection, RecordRef, RecordType
from callbridge.domain.interactions import Interaction

CHANNEL_NOUN = {
    Channel.VOICE: "call",
    Channel.CHAT: "chat",
    Channel.EMAIL: "email",
    Channel.SMS: "text",
    Channel.VOICEMAIL: "voicemail",
}


# attached keys that are the system's own bookkeeping, not the customer's business
INTERNAL_ATTACHED = frozenset({"sip_call_id"})


def activity_for(
    ix: Interaction,
    *,
    queue_name: str | None,
    agent_name: str | None,
    disposition_label: str | None,
) -> Activity:
    """The activity record of a closed interaction: handled and wrapped up, or ended before an
    agent took it (abandoned, voicemail, overflow disconnect).

    The duration is the time with an agent (answer to end); 0 when no agent answered. The
    customer's address is the caller for inbound, the called party for outbound.
    """
    inbound = ix.direction is Direction.INBOUND
    direction = ActivityDirection.INBOUND if inbound else ActivityDirection.OUTBOUND
    ended = ix.ended_at if ix.ended_at is not None else ix.created_at
    talked = 0 if ix.answered_at is None else max(0, round(ended - ix.answered_at))
    noun = CHANNEL_NOUN[ix.channel]
    subject = f"{direction.value} {noun}"
    if queue_name:
        subject += f" - {queue_name}"
    if ix.answered_at is None and ix.end_reason is not None:
        subject += f" ({ix.end_reason.value})"
    return Activity(
        external_id=ix.id,
        subject=subject,
        channel=ix.channel.value,
        direction=direction,
        started_at=ix.created_at,
        ended_at=ended,
        duration_s=talked,
        customer_address=ix.from_address if inbound else ix.to_address,
        queue=queue_name,
        agent=agent_name,
        disposition_code=ix.disposition,
        disposition_label=disposition_label,
        notes=ix.notes,
        what=_what(ix),
        recording_url=ix.attached.get("recording_url"),
        end_reason=None if ix.end_reason is None else ix.end_reason.value,
        attached={k: v for k, v in ix.attached.items() if k not in INTERNAL_ATTACHED},
    )


def _what(ix: Interaction) -> RecordRef | None:
    """What the interaction was about, if the IVR or an agent attached a CRM record to it
    (`crm_what_type` and `crm_what_id`, such as a case the caller keyed in)."""
    kind, record_id = ix.attached.get("crm_what_type"), ix.attached.get("crm_what_id")
    if not record_id or kind not in {t.value for t in RecordType}:
        return None
    return RecordRef(RecordType(kind), record_id)
