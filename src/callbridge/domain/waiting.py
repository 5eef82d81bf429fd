"""What a waiting caller is told: their place in line and how long the wait should still be.

Both come from the live queue, not from a guess: the place is counted in the same order the
router takes interactions (priority, then line order), among those on the same channel; the
expected wait assumes the agents who could take the call each finish their current work at the
queue's recent handle time, so the k-th interaction in line (after the free agents have taken
those ahead) waits about k handle times divided by the number of those agents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callbridge.domain.center import ContactCenter
from callbridge.domain.errors import InvalidState
from callbridge.domain.ids import InteractionId, QueueId
from callbridge.domain.interactions import Interaction
from callbridge.domain.interactions import InteractionState as S

DEFAULT_HANDLE_TIME_S = 180.0
# weight of the newest handle time in the running average (about the last 10 calls count)
SMOOTHING = 0.1


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    position: int  # 1: next in line
    expected_wait_s: float | None  # None: nobody logged in could take it
    agents: int  # logged in and able to take it now or once free
    free_agents: int


def position(center: ContactCenter, ix: Interaction) -> int:
    """1-based place in line among interactions on the same channel in the same queue."""
    if ix.state is not S.QUEUED or ix.queue_id is None:
        raise InvalidState(
            f"interaction {ix.id} is {ix.state.value}, not queued", interaction_id=ix.id
        )
    ahead = 0
    for (priority, channel), bucket in center.index.waiting[ix.queue_id].items():
        if channel is not ix.channel or priority < ix.priority:
            continue
        if priority > ix.priority:
            ahead += len(bucket)
        else:
            ahead += sum(1 for seq, _ in bucket if seq < ix.seq)
    return ahead + 1


def estimate(
    center: ContactCenter, interaction_id: InteractionId, handle_time_s: float
) -> WaitEstimate:
    """Where the interaction stands and its expected remaining wait in seconds."""
    ix = center.interaction(interaction_id)
    place = position(center, ix)
    assert ix.queue_id is not None
    queue_id = ix.queue_id
    agents = 0
    for agent_id, levels in center.index.agent_levels.items():
        level = levels.get(queue_id)
        agent = center.agents[agent_id]
        if (
            level is not None
            and level <= ix.escalation_level
            and agent.logged_in_at is not None
            and agent.capacity.get(ix.channel, 0) > 0
        ):
            agents += 1
    free = sum(
        1
        for agent_id, level in center.index.available[queue_id].items()
        if level <= ix.escalation_level and center.agents[agent_id].can_take(ix.channel)
    )
    if agents == 0:
        return WaitEstimate(place, None, 0, 0)
    behind_free = place - free
    wait = 0.0 if behind_free <= 0 else behind_free * handle_time_s / agents
    return WaitEstimate(place, wait, agents, free)


@dataclass
class HandleTimes:
    """A running average of each queue's handle time (answer to the end of wrap-up), fed
    from the event log as it happens."""

    default_s: float = DEFAULT_HANDLE_TIME_S
    _by_queue: dict[QueueId, float] = field(default_factory=dict)
    _started: dict[InteractionId, tuple[QueueId, float]] = field(default_factory=dict)

    def connected(self, interaction_id: InteractionId, queue_id: QueueId, at: float) -> None:
        self._started.setdefault(interaction_id, (queue_id, at))

    def finished(self, interaction_id: InteractionId, at: float) -> None:
        """Wrap-up is over: the agent is free again; count the whole time they spent."""
        started = self._started.pop(interaction_id, None)
        if started is None:
            return
        queue_id, since = started
        sample = max(0.0, at - since)
        before = self._by_queue.get(queue_id)
        self._by_queue[queue_id] = (
            sample if before is None else before + SMOOTHING * (sample - before)
        )

    def forget(self, interaction_id: InteractionId) -> None:
        self._started.pop(interaction_id, None)

    def of(self, queue_id: QueueId) -> float:
        return self._by_queue.get(queue_id, self.default_s)
