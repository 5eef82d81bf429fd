"""A running campaign's pacing state read from the live center: its agents (ready, talking,
wrapping up, with since when) and its calls (ringing, answered and waiting for an agent).

Pure: the dialer service passes the center's agents and interactions and its own calls.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from callbridge.domain.agents import Agent, AgentState
from callbridge.domain.channels import Channel
from callbridge.domain.dialer.calls import works_campaign
from callbridge.domain.dialer.campaigns import Campaign
from callbridge.domain.dialer.pacing.state import PacingState
from callbridge.domain.ids import InteractionId, QueueId
from callbridge.domain.interactions import Interaction, InteractionState


def campaign_agents(campaign: Campaign, agents: Iterable[Agent]) -> list[Agent]:
    """The logged-in agents who work the campaign."""
    return [
        a
        for a in agents
        if a.state is not AgentState.LOGGED_OUT
        and works_campaign(a, campaign.agents, campaign.skills)
    ]


def pacing_state(
    campaign: Campaign,
    agents: Iterable[Agent],
    interactions: Mapping[InteractionId, Interaction],
    served_queues: Collection[QueueId],
    ringing_since: Collection[float],
    waiting: int,
    now: float,
) -> PacingState:
    """The campaign's `PacingState` at `now`. Ready agents count after the inbound reserve,
    and none while an inbound call waits in a queue they serve (`served_queues`); an agent
    whose phone rings with an offer counts as talking from now."""
    team = campaign_agents(campaign, agents)
    ready = sum(1 for a in team if a.can_take(Channel.VOICE))
    inbound = sum(
        1
        for ix in interactions.values()
        if ix.state is InteractionState.QUEUED and ix.queue_id in served_queues
    )
    talking: list[float] = []
    wrapping: list[float] = []
    for agent in team:
        state = agent.state
        if state in (AgentState.BUSY, AgentState.RESERVED):
            talking.append(_since(agent, interactions, now, wrap=False))
        elif state is AgentState.WRAP_UP:
            wrapping.append(_since(agent, interactions, now, wrap=True))
    return PacingState(
        now,
        campaign.ready_for_outbound(ready, inbound),
        waiting,
        tuple(talking),
        tuple(wrapping),
        tuple(ringing_since),
        logged_in=len(team),
    )


def _since(
    agent: Agent, interactions: Mapping[InteractionId, Interaction], now: float, *, wrap: bool
) -> float:
    """When the agent's voice call was answered (talk) or ended (wrap-up)."""
    for iid, item in agent.work.items():
        ix = interactions.get(iid)
        if item.channel is Channel.VOICE and ix is not None:
            moment = ix.ended_at if wrap else ix.answered_at
            if moment is not None:
                return min(moment, now)
    return now
