"""Who sees what of the event log: the one check behind the event stream, its replay, and
GET /events (see docs/design/pages.md, "Supervisors limited to some queues").

Three kinds of viewer:

- everything: interactions.read over every queue; every event as logged;
- an agent (no interactions.read): the events about its own agent;
- some queues (interactions.read, `scope.queues` a set): a projection of the log. An
  interaction belongs to the viewer while its queue is one of theirs; its queue is the one of
  its last `interaction_queued` event (created without one, queued, transferred and overflowed
  later), so membership is decided event by event (`Whereabouts`), the same way live and from
  the log. Its events are sent as logged; the one that brings it into the viewer's queues also
  carries what a wallboard shows of it (`payload.interaction`); the one that takes it out is
  sent as logged (the wallboard drops it, the queue not being one of its own). The agents the
  viewer sees are those who serve at least one of its queues (`views.agents_serving`): their
  presence as logged, and the steps of their work on other interactions withheld down to what
  their state needs (`payload.withheld`: no customer, no queue, no routing decision). Of the
  set-up: its queues' `queue_saved` and `queue_removed`, every `agent_saved` (withheld for an
  agent who does not serve its queues: it may be the one that makes it), dispositions. Any
  other event is not sent at all.

Which agents serve a queue follows from skills and requirements, read from the live center when
the events are sent, not when they happened; the two differ only after an `agent_saved` or
`queue_saved` that the viewer also gets, and on which its wallboard reads a fresh snapshot.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.live import LiveState
from callbridge.domain.security.permissions import Permission, Principal
from callbridge.ports import JsonValue, Store, StoredEvent
from callbridge.services.views import agents_serving

PRIME_PAGE = 1000

# The steps of an agent's work that change the state a wallboard shows for it.
WORK_KINDS = frozenset(
    {
        "interaction_offered",
        "offer_missed",
        "interaction_connected",
        "interaction_transferred",
        "interaction_ended",
        "wrap_up_started",
        "interaction_wrapped_up",
    }
)
QUEUE_KINDS = frozenset({"queue_saved", "queue_removed"})


class Form(enum.Enum):
    """How a viewer gets one event."""

    LOGGED = "logged"  # as logged
    WITHHELD = "withheld"  # only what an agent's state needs
    ENTERING = "entering"  # as logged, with the interaction that enters the viewer's queues


def queue_scope(principal: Principal) -> frozenset[str] | None:
    """The queues whose interactions the principal may see; None for every queue. Without
    interactions.read, none (an agent sees its own work, not a queue's)."""
    if Permission.INTERACTIONS_READ not in principal.permissions:
        return frozenset()
    return principal.scope.queues


@dataclass(frozen=True, slots=True)
class Placed:
    """Where an event's interaction was just before the event and is just after it, and, for
    `interaction_queued`, what a wallboard shows of it then."""

    before: QueueId | None = None
    after: QueueId | None = None
    entry: dict[str, JsonValue] | None = None


@dataclass(slots=True)
class _Facts:
    queue_id: QueueId | None = None
    channel: str = ""
    customer: str = ""
    callback: bool = False
    offered: bool = False  # an offer is out: ending now closes it (no wrap-up follows)


class Whereabouts:
    """Each open interaction's queue, followed event by event, and what a wallboard shows of it
    when it enters a queue. An interaction it has not followed from its creation is read from
    the log up to the event at hand (`prime`), so it gives the same answers live and replayed.
    An interaction is forgotten once closed (wrapped up, or ended with no wrap-up to come)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.facts: dict[InteractionId, _Facts] = {}

    def place(self, e: StoredEvent, *, prime: bool = True) -> Placed:
        """Follow one event (in log order). Without `prime`, an interaction not followed yet
        stays so (and the answer is empty): nobody needs it now."""
        iid = e.interaction_id
        if iid is None:
            return Placed()
        facts = self.facts.get(iid)
        if facts is None:
            if e.kind == "interaction_created":
                facts = self.facts[iid] = _Facts()
            elif not prime:
                return Placed()
            else:
                facts = self.facts[iid] = self._prime(iid, e.id)
        before = facts.queue_id
        closed = _apply(facts, e)
        entry: dict[str, JsonValue] | None = None
        if e.kind == "interaction_queued":
            entry = {
                "id": iid,
                "channel": facts.channel,
                "customer": facts.customer,
                "state": "queued",
                "queue_id": facts.queue_id,
                "agent_id": None,
                "entered_at": e.at,
                "callback": facts.callback,
            }
        if closed:
            del self.facts[iid]
        return Placed(before, facts.queue_id, entry)

    def _prime(self, iid: InteractionId, before_id: int) -> _Facts:
        facts = _Facts()
        after = 0
        while page := self.store.events(interaction_id=iid, after_id=after, limit=PRIME_PAGE):
            for e in page:
                if e.id >= before_id:
                    return facts
                _apply(facts, e)
            after = page[-1].id
        return facts


def _apply(facts: _Facts, e: StoredEvent) -> bool:
    """Move the facts on by one event; True when the interaction is closed by it."""
    p = e.payload
    kind = e.kind
    if kind == "interaction_created":
        inbound = p.get("direction") == "inbound"
        customer = p.get("from_address") if inbound else p.get("to_address")
        channel = p.get("channel")
        facts.customer = customer if isinstance(customer, str) else ""
        facts.channel = channel if isinstance(channel, str) else ""
    elif kind == "interaction_queued":
        queue_id = p.get("queue_id")
        facts.queue_id = QueueId(queue_id) if isinstance(queue_id, str) else None
        facts.offered = False
    elif kind == "callback_requested":
        facts.callback = True
    elif kind == "interaction_offered":
        facts.offered = True
    elif kind in ("offer_missed", "interaction_connected", "interaction_transferred"):
        facts.offered = False
    elif kind == "interaction_ended":
        return e.agent_id is None or facts.offered
    elif kind == "interaction_wrapped_up":
        return True
    return False


@dataclass(frozen=True, slots=True)
class Viewer:
    """What one principal may see, as of now: `queues` None for every queue, `agents` the
    agents whose work it follows (None: every agent), `own` an agent-only viewer's agent."""

    queues: frozenset[str] | None
    agents: frozenset[AgentId] | None
    own: AgentId | None = None

    @property
    def limited(self) -> bool:
        """Whether this viewer needs the events placed (`Whereabouts`)."""
        return self.queues is not None and self.own is None

    def form(self, e: StoredEvent, placed: Placed) -> Form | None:
        """How this viewer gets the event, if at all."""
        queues = self.queues
        if self.own is not None:
            return Form.LOGGED if e.agent_id == self.own else None
        if queues is None:
            return Form.LOGGED
        if e.interaction_id is None:
            if e.kind in QUEUE_KINDS:
                return Form.LOGGED if e.queue_id in queues else None
            if e.agent_id is None:
                return Form.LOGGED  # the center's set-up (dispositions): nobody's work
            seen = self.agents is None or e.agent_id in self.agents
            if e.kind == "agent_saved":  # may bring the agent in or take it out: always told
                return Form.LOGGED if seen else Form.WITHHELD
            return Form.LOGGED if seen else None
        if placed.after in queues:
            return Form.ENTERING if placed.before not in queues else Form.LOGGED
        if placed.before in queues:
            return Form.LOGGED  # queued elsewhere: it leaves the viewer's queues
        serves = e.agent_id is not None and (self.agents is None or e.agent_id in self.agents)
        return Form.WITHHELD if serves and e.kind in WORK_KINDS else None


def viewer_of(principal: Principal, center: LiveState) -> Viewer:
    """The principal's viewer, with the agents who serve its queues now."""
    if Permission.INTERACTIONS_READ not in principal.permissions:
        own = principal.scope.agent_id
        return Viewer(frozenset(), frozenset(), AgentId(own if own is not None else ""))
    queues = principal.scope.queues
    if queues is None:
        return Viewer(None, None)
    return Viewer(queues, frozenset(agents_serving(center, queues)))


def shown(e: StoredEvent, form: Form, placed: Placed) -> StoredEvent:
    """The event as a viewer gets it in this form."""
    if form is Form.LOGGED:
        return e
    if form is Form.ENTERING:
        return replace(e, payload={**e.payload, "interaction": placed.entry})
    payload: dict[str, JsonValue] = {"withheld": True}
    if e.kind == "interaction_transferred":
        payload["outside"] = e.payload.get("to_number") is not None
    return replace(e, queue_id=None, payload=payload)


def project(
    principal: Principal, center: LiveState, places: Whereabouts, events: list[StoredEvent]
) -> list[StoredEvent]:
    """The events (in log order, following on from what `places` has followed) as this one
    principal gets them."""
    viewer = viewer_of(principal, center)
    found: list[StoredEvent] = []
    for e in events:
        placed = places.place(e) if viewer.limited else Placed()
        form = viewer.form(e, placed)
        if form is not None:
            found.append(shown(e, form, placed))
    return found
