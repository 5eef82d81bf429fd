"""A live contact center for the demo: simulated customers and agents in real time.

Everything they do goes through the same services the REST API calls, so what a newcomer sees
through the API is the real engine at work, not a recording.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import anyio
import structlog
from anyio.abc import TaskGroup

from callbridge.domain.channels import Channel
from callbridge.domain.errors import CallbridgeError
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId, QueueId
from callbridge.domain.interactions import InteractionState
from callbridge.ports import EventBus
from callbridge.services import agents as agent_svc
from callbridge.services import interactions as svc
from callbridge.services.runtime import Runtime
from callbridge.sim.customers import DEMO_CUSTOMERS, KNOWN_SHARE, customer_email, customer_phone

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Traffic:
    """How the simulated center behaves; times in seconds."""

    arrivals_per_minute: float = 10.0
    mean_talk_s: float = 40.0
    mean_patience_s: float = 150.0
    ring_s: tuple[float, float] = (1.0, 4.0)
    wrap_s: tuple[float, float] = (2.0, 8.0)
    reject_share: float = 0.03
    break_share: float = 0.05
    channels: tuple[tuple[Channel, float], ...] = (
        (Channel.VOICE, 0.6),
        (Channel.CHAT, 0.25),
        (Channel.EMAIL, 0.1),
        (Channel.SMS, 0.05),
    )


class LiveSimulation:
    def __init__(
        self,
        rt: Runtime,
        bus: EventBus,
        rng: random.Random,
        traffic: Traffic | None = None,
        *,
        customers: bool = True,
        humans: frozenset[AgentId] = frozenset(),
    ) -> None:
        self.rt, self.bus, self.rng = rt, bus, rng
        self.traffic = traffic or Traffic()
        self.customers = customers
        self.humans = humans  # agents a person works (with a real phone): left alone
        self.created = 0

    async def run(self) -> None:
        """Log every agent in, make them Ready, then work offers and send customers."""
        for agent_id in list(self.rt.center.agents):
            if agent_id in self.humans:
                continue
            if self.rt.center.agents[agent_id].logged_in_at is None:
                self._try(partial(agent_svc.do_login, self.rt, agent_id))
            self._try(partial(agent_svc.do_set_ready, self.rt, agent_id))
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._work_offers, tg)
            if self.customers:
                tg.start_soon(self._send_customers, tg)

    def _try(self, action: Callable[[], object]) -> None:
        try:
            action()
        except CallbridgeError as exc:  # the world moved on (a customer hung up, say)
            log.debug("sim_action_skipped", code=exc.code, error=exc.message)

    async def _later(self, delay: float, action: Callable[[], Awaitable[None] | None]) -> None:
        await anyio.sleep(delay)
        result = action()
        if result is not None:
            await result

    # --- agents ----------------------------------------------------------------------------

    async def _work_offers(self, tg: TaskGroup) -> None:
        async for event in self.bus.subscribe():
            if event.agent_id in self.humans:
                continue
            if event.kind == "interaction_offered" and event.agent_id and event.interaction_id:
                iid, agent = InteractionId(event.interaction_id), AgentId(event.agent_id)
                ring = self.rng.uniform(*self.traffic.ring_s)
                tg.start_soon(self._later, ring, partial(self._answer, tg, iid, agent))
            elif (
                event.kind == "agent_presence_changed"
                and event.agent_id
                and event.payload.get("reason") == "missed"
            ):
                tg.start_soon(self._later, 10.0, partial(self._ready, AgentId(event.agent_id)))

    def _ready(self, agent: AgentId) -> None:
        self._try(lambda: agent_svc.do_set_ready(self.rt, agent))

    def _answer(self, tg: TaskGroup, iid: InteractionId, agent: AgentId) -> None:
        if self.rng.random() < self.traffic.reject_share:
            self._try(lambda: svc.do_reject(self.rt, iid, agent))
            return
        self._try(lambda: svc.do_accept(self.rt, iid, agent))
        talk = min(self.rng.expovariate(1 / self.traffic.mean_talk_s), 6 * self.traffic.mean_talk_s)
        tg.start_soon(self._later, talk, lambda: self._hang_up(tg, iid, agent))

    def _hang_up(self, tg: TaskGroup, iid: InteractionId, agent: AgentId) -> None:
        self._try(lambda: svc.do_end(self.rt, iid, "agent", agent))
        wrap = self.rng.uniform(*self.traffic.wrap_s)
        tg.start_soon(self._later, wrap, lambda: self._wrap_up(tg, iid, agent))

    def _wrap_up(self, tg: TaskGroup, iid: InteractionId, agent: AgentId) -> None:
        codes = sorted(self.rt.center.dispositions)
        code = DispositionCode(self.rng.choice(codes)) if codes else None
        self._try(lambda: svc.do_wrap_up(self.rt, iid, agent, code, "handled in the demo"))
        if self.rng.random() < self.traffic.break_share:
            self._try(lambda: agent_svc.do_set_not_ready(self.rt, agent, "break"))
            tg.start_soon(self._later, self.rng.uniform(15, 45), lambda: self._ready(agent))

    # --- customers -------------------------------------------------------------------------

    async def _send_customers(self, tg: TaskGroup) -> None:
        rate = self.traffic.arrivals_per_minute / 60.0
        # customers go to the queues simulated agents serve
        human_skills = {s for a in self.humans if a in self.rt.center.agents
                        for s in self.rt.center.agents[a].skills}  # fmt: skip
        queues = sorted(
            q.id
            for q in self.rt.center.queues.values()
            if not any(r.skill in human_skills for r in q.requirements)
        )
        channels = [c for c, _ in self.traffic.channels]
        weights = [w for _, w in self.traffic.channels]
        while queues:
            await anyio.sleep(self.rng.expovariate(rate))
            channel = self.rng.choices(channels, weights)[0]
            # most callers are customers the demo seed put in the CRM, so screen pops find them
            known = self.rng.random() < KNOWN_SHARE
            who = self.rng.randrange(DEMO_CUSTOMERS if known else 10**4)
            new = svc.NewInteraction(
                channel=channel,
                from_address=customer_phone(who if known else self.rng.randrange(10**7))
                if channel in (Channel.VOICE, Channel.SMS)
                else customer_email(who),
                to_address="+18005550100",
                queue_id=QueueId(self.rng.choice(queues)),
                attached={"source": "demo"},
            )
            try:
                events = svc.do_create_interaction(self.rt, new)
            except CallbridgeError as exc:
                log.warning("sim_arrival_failed", code=exc.code, error=exc.message)
                continue
            self.created += 1
            iid = InteractionId(str(events[0].interaction_id))
            patience = self.rng.expovariate(1 / self.traffic.mean_patience_s)
            tg.start_soon(self._later, patience, partial(self._give_up, iid))

    def _give_up(self, iid: InteractionId) -> None:
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.state is InteractionState.QUEUED and ix.callback_number is None:
            self._try(lambda: svc.do_end(self.rt, iid, "customer"))
