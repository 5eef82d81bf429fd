"""KpiCollector: the KPIs folded from hand-built domain events, every number worked out by hand.

Each scenario goes through both entry points, `observe` (domain events, the simulator's path)
and `observe_logged` (the event log's rows, the live path), which must agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from callbridge.domain.events import (
    AgentPresenceChanged,
    Event,
    InteractionConnected,
    InteractionCreated,
    InteractionEnded,
    InteractionOffered,
    InteractionQueued,
    InteractionTransferred,
    InteractionWrappedUp,
    OfferMissed,
    WrapUpStarted,
)
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.reporting.kpis import ALL_QUEUES, KpiCollector, KpiReport, Kpis, Tally
from callbridge.domain.routing.explanation import RoutingDecision, Trigger

SUPPORT = QueueId("support")
ANN, BOB = AgentId("ann"), AgentId("bob")
SL_S = 20.0
INTERVAL_S = 900.0


# --- building events ----------------------------------------------------------------------------


def ready(at: float, agent: AgentId) -> AgentPresenceChanged:
    return AgentPresenceChanged(at=at, agent_id=agent, presence="ready")


def not_ready(at: float, agent: AgentId, reason: str) -> AgentPresenceChanged:
    return AgentPresenceChanged(at=at, agent_id=agent, presence="not_ready", reason=reason)


def arrive(at: float, iid: str) -> InteractionQueued:
    return InteractionQueued(
        at=at,
        interaction_id=InteractionId(iid),
        queue_id=SUPPORT,
        priority=0,
        seq=0,
        reason="arrival",
    )


def requeue(at: float, iid: str) -> InteractionQueued:
    return InteractionQueued(
        at=at,
        interaction_id=InteractionId(iid),
        queue_id=SUPPORT,
        priority=0,
        seq=0,
        reason="returned",
    )


def offer(at: float, iid: str, agent: AgentId) -> InteractionOffered:
    decision = RoutingDecision(
        Trigger.INTERACTION_WAITING, InteractionId(iid), SUPPORT, agent, 0, "", "longest_idle", ""
    )
    return InteractionOffered(
        at=at,
        interaction_id=InteractionId(iid),
        agent_id=agent,
        queue_id=SUPPORT,
        deadline=at + 15,
        decision=decision,
    )


def connect(at: float, iid: str, agent: AgentId) -> InteractionConnected:
    return InteractionConnected(at=at, interaction_id=InteractionId(iid), agent_id=agent)


def miss(at: float, iid: str, agent: AgentId) -> OfferMissed:
    return OfferMissed(at=at, interaction_id=InteractionId(iid), agent_id=agent, reason="timeout")


def end(at: float, iid: str, by: str, agent: AgentId | None = None) -> InteractionEnded:
    reason = "completed" if by == "agent" else "abandoned"
    return InteractionEnded(
        at=at, interaction_id=InteractionId(iid), by=by, reason=reason, agent_id=agent
    )


def wrap(at: float, iid: str, agent: AgentId) -> InteractionWrappedUp:
    return InteractionWrappedUp(
        at=at,
        interaction_id=InteractionId(iid),
        agent_id=agent,
        disposition=None,
        notes=None,
        automatic=True,
    )


def handled(iid: str, agent: AgentId, offered: float, answered: float, done: float) -> list[Event]:
    """Offered, answered, ended by the agent and wrapped up at once."""
    return [
        offer(offered, iid, agent),
        connect(answered, iid, agent),
        end(done, iid, "agent", agent),
        wrap(done, iid, agent),
    ]


# --- running them -------------------------------------------------------------------------------


def new_collector() -> KpiCollector:
    return KpiCollector(interval_s=INTERVAL_S, origin=0.0, service_levels={SUPPORT: SL_S})


def logged(collector: KpiCollector, events: Sequence[Event]) -> None:
    """Feed the events as the log keeps them: kind, time, interaction, the rest as payload."""
    for event in events:
        payload = dataclasses.asdict(event)
        at = payload.pop("at")
        iid = payload.get("interaction_id")
        collector.observe_logged(event.kind, at, iid if isinstance(iid, str) else None, payload)


def report_of(events: Sequence[Event], until: float) -> KpiReport:
    """The report from `observe`, checked equal to the one from `observe_logged`."""
    direct = new_collector()
    direct.observe_all(events)
    from_log = new_collector()
    logged(from_log, events)
    report = direct.report(until=until)
    assert from_log.report(until=until) == report
    return report


def overall(report: KpiReport, queue: str = SUPPORT) -> Kpis:
    return report.overall[queue]


def interval(report: KpiReport, start: float, queue: str = ALL_QUEUES) -> Kpis:
    (row,) = [r for r in report.intervals if r.start == start and r.queue_id == queue]
    return row.kpis


# --- answered -----------------------------------------------------------------------------------


def test_offered_at_arrival_and_answered_after_ringing_is_not_delayed() -> None:
    events = [ready(0, ANN), arrive(100, "i1"), *handled("i1", ANN, 100, 105, 215)]
    report = report_of(events, until=900)
    k = overall(report)
    assert (k.offered, k.answered, k.abandoned, k.open) == (1, 1, 0, 0)
    assert k.p_wait == 0.0  # the 5 s of ringing is wait, but not a delay
    assert k.asa_s == 5.0 and k.mean_wait_s == 5.0
    assert k.service_level == 1.0 and k.service_level_excl == 1.0
    assert k.aht_s == 110.0  # answer at 105 to wrap-up at 215
    assert k.avg_waiting == 0.0  # never waited in line
    # Ann was Ready all 900 s and working from the offer (100) to the wrap-up (215)
    assert report.overall[ALL_QUEUES].occupancy == 115 / 900
    assert report.tallies[ALL_QUEUES].busy_s == 115.0
    assert report.tallies[ALL_QUEUES].staffed_s == 900.0


def test_an_answer_after_waiting_in_line_is_delayed() -> None:
    events = [
        not_ready(0, ANN, "login"),
        arrive(10, "i1"),
        ready(40, ANN),
        *handled("i1", ANN, 40, 43, 100),
    ]
    report = report_of(events, until=900)
    k = overall(report)
    assert (k.offered, k.answered) == (1, 1)
    assert k.p_wait == 1.0
    assert k.asa_s == 33.0  # arrival at 10 to answer at 43
    assert k.service_level == 0.0  # 33 s > 20 s
    assert k.avg_waiting == 30 / 900  # one in line from 10 to 40
    # Not Ready until 40 is not staffed; working 40 to 100, Ready idle after
    assert report.overall[ALL_QUEUES].occupancy == 60 / 860


# --- not answered -------------------------------------------------------------------------------


def test_abandons_within_and_beyond_the_service_level() -> None:
    events = [
        ready(0, ANN),
        arrive(0, "i3"),
        offer(0, "i3", ANN),
        arrive(1, "i1"),
        arrive(2, "i2"),
        connect(5, "i3", ANN),
        end(16, "i1", "customer"),  # left after 15 s, within the 20 s target
        end(32, "i2", "customer"),  # left after 30 s
    ]
    k = overall(report_of(events, until=900))
    assert (k.offered, k.answered, k.abandoned, k.open) == (3, 1, 2, 0)
    assert k.p_abandon == 2 / 3
    assert k.service_level == 1 / 3  # abandoners count against it...
    assert k.service_level_excl == 1 / 2  # ...except, here, the one who left within 20 s
    assert k.p_wait == 2 / 3
    assert k.asa_s == 5.0
    assert k.mean_wait_s == (5 + 15 + 30) / 3
    assert k.avg_waiting == (15 + 30) / 900


def test_ended_by_the_system_is_unanswered_but_not_abandoned() -> None:
    events = [arrive(0, "i1"), end(60, "i1", "system")]  # max wait: to voicemail
    k = overall(report_of(events, until=900))
    assert (k.offered, k.answered, k.abandoned) == (1, 0, 0)
    assert k.p_abandon == 0.0
    assert k.service_level == 0.0 and k.service_level_excl == 0.0
    assert k.mean_wait_s == 60.0
    assert k.asa_s is None and k.aht_s is None


def test_arrivals_still_open_are_reported_apart_from_the_rates() -> None:
    events = [
        ready(0, ANN),
        arrive(0, "i1"),
        offer(0, "i1", ANN),
        connect(2, "i1", ANN),  # answered, still talking: counted
        arrive(10, "i2"),  # still waiting: open
    ]
    k = overall(report_of(events, until=100))
    assert (k.offered, k.answered, k.open) == (1, 1, 1)
    assert k.service_level == 1.0
    assert k.avg_waiting == 90 / 100


def test_nothing_counted_leaves_the_rates_empty() -> None:
    k = overall(report_of([arrive(0, "i1")], until=100))
    assert (k.offered, k.open) == (0, 1)
    assert k.service_level is None and k.p_wait is None and k.asa_s is None


# --- offers that go elsewhere -------------------------------------------------------------------


def test_a_missed_offer_answered_by_another_agent_waits_from_arrival_and_is_delayed() -> None:
    events = [
        ready(0, ANN),
        ready(0, BOB),
        arrive(100, "i1"),
        offer(100, "i1", ANN),
        miss(115, "i1", ANN),
        not_ready(115, ANN, "missed"),
        requeue(115, "i1"),
        *handled("i1", BOB, 115, 118, 218),
    ]
    report = report_of(events, until=900)
    k = overall(report)
    assert (k.offered, k.answered) == (1, 1)
    assert k.asa_s == 18.0  # from arrival, not from the second offer
    assert k.service_level == 1.0
    assert k.p_wait == 1.0  # offered at once, but that offer was missed
    assert k.aht_s == 100.0
    # Ann: rang 100-115, Ready 0-115; Bob: worked 115-218, Ready all 900 s
    whole = report.tallies[ALL_QUEUES]
    assert (whole.busy_s, whole.staffed_s) == (15 + 103, 115 + 900)


def test_a_transfer_releases_the_first_agent() -> None:
    iid = InteractionId("i1")
    events = [
        ready(0, ANN),
        ready(0, BOB),
        arrive(10, "i1"),
        offer(10, "i1", ANN),
        connect(12, "i1", ANN),
        InteractionTransferred(at=72, interaction_id=iid, from_agent_id=ANN, to_agent_id=BOB),
        offer(72, "i1", BOB),
        connect(75, "i1", BOB),
        end(135, "i1", "agent", BOB),
        WrapUpStarted(at=135, interaction_id=iid, agent_id=BOB, deadline=135),
        wrap(135, "i1", BOB),
    ]
    report = report_of(events, until=900)
    k = overall(report)
    assert (k.offered, k.answered, k.asa_s) == (1, 1, 2.0)  # answered once, by Ann
    assert k.aht_s == 123.0  # first answer (12) to the last wrap-up (135)
    whole = report.tallies[ALL_QUEUES]
    assert whole.busy_s == 62 + 63  # Ann 10-72, Bob 72-135
    assert report.overall[ALL_QUEUES].occupancy == 125 / 1800


# --- time ---------------------------------------------------------------------------------------


def test_occupancy_splits_ready_not_ready_and_working_time_at_interval_bounds() -> None:
    events = [
        not_ready(0, ANN, "login"),
        ready(800, ANN),
        arrive(850, "i1"),
        offer(850, "i1", ANN),
        connect(850, "i1", ANN),
        end(1000, "i1", "agent", ANN),
        wrap(1050, "i1", ANN),
        not_ready(1100, ANN, "lunch"),
        ready(1500, ANN),
    ]
    report = report_of(events, until=1800)
    # [0, 900): Ready 800-900, working 850-900
    assert interval(report, 0).occupancy == 50 / 100
    # [900, 1800): working 900-1050, Ready idle 1050-1100, Not Ready 1100-1500, Ready 1500-1800
    assert interval(report, 900).occupancy == 150 / (200 + 300)
    assert report.overall[ALL_QUEUES].occupancy == 200 / 600
    # the call counts where it arrived, in the first interval
    assert interval(report, 0, SUPPORT).offered == 1
    assert [r.start for r in report.intervals if r.queue_id == SUPPORT] == [0]


def test_avg_waiting_is_the_time_average_of_the_line_per_interval() -> None:
    events = [
        arrive(0, "i1"),
        arrive(300, "i2"),
        end(600, "i1", "customer"),
        end(1200, "i2", "customer"),
    ]
    report = report_of(events, until=1800)
    # in [0, 900): i1 for 600 s, i2 for 600 s; in [900, 1800): i2 for 300 s
    assert interval(report, 0, SUPPORT).avg_waiting == 1200 / 900
    assert interval(report, 900, SUPPORT).avg_waiting == 300 / 900
    assert interval(report, 900).avg_waiting == 300 / 900  # the center: the one queue
    assert overall(report).avg_waiting == 1500 / 1800
    assert interval(report, 0, SUPPORT).abandoned == 2  # both arrived in the first interval
    assert interval(report, 900, SUPPORT).offered == 0


# --- a window that opens mid-day (the live path) ------------------------------------------------


def test_a_seeded_agent_is_released_by_the_interaction_it_held_before_the_window() -> None:
    collector = new_collector()
    collector.seed_agent(ANN, ready=True, working=1, at=1000, held={"old": True})
    logged(
        collector,
        [
            end(1100, "old", "agent", ANN),
            wrap(1200, "old", ANN),
            arrive(1300, "i1"),
            *handled("i1", ANN, 1300, 1305, 1400),
        ],
    )
    report = collector.report(until=1800, since=1000)
    assert report.start == 1000
    k = overall(report)
    assert (k.offered, k.answered, k.open) == (1, 1, 0)  # "old" arrived before: not counted
    whole = report.tallies[ALL_QUEUES]
    assert (whole.busy_s, whole.staffed_s) == (200 + 100, 800)


def test_a_seeded_offer_still_ringing_ends_when_the_caller_hangs_up() -> None:
    collector = new_collector()
    collector.seed_agent(ANN, ready=True, working=1, at=1000, held={"old": False})
    logged(collector, [end(1060, "old", "customer", ANN)])
    report = collector.report(until=1800, since=1000)
    assert report.tallies[ALL_QUEUES].busy_s == 60
    assert report.overall[ALL_QUEUES].offered == 0


def test_work_on_an_interaction_that_arrived_before_the_window_still_counts() -> None:
    collector = new_collector()
    collector.seed_agent(ANN, ready=True, working=0, at=1000)
    logged(collector, handled("before", ANN, 1100, 1110, 1200))
    report = collector.report(until=1800, since=1000)
    assert report.tallies[ALL_QUEUES].busy_s == 100
    assert report.overall[ALL_QUEUES].offered == 0


def test_since_sets_the_span_queue_length_is_averaged_over() -> None:
    collector = new_collector()
    logged(collector, [arrive(1000, "i1"), end(1090, "i1", "customer")])
    report = collector.report(until=1800, since=900)
    assert (report.start, report.end) == (900, 1800)
    assert overall(report).avg_waiting == 90 / 900


def test_seeding_more_held_interactions_than_work_is_refused() -> None:
    with pytest.raises(ValueError, match="holds 2"):
        new_collector().seed_agent(ANN, ready=True, working=1, at=0, held={"a": True, "b": True})


# --- both paths ---------------------------------------------------------------------------------


def test_observe_logged_gives_the_same_report_as_observe() -> None:
    iid = InteractionId("i1")
    created = InteractionCreated(
        at=0,
        interaction_id=iid,
        channel="voice",
        direction="inbound",
        from_address="+1",
        to_address="+2",
    )
    events: list[Event] = [
        not_ready(0, ANN, "login"),
        ready(0, BOB),
        created,
        arrive(0, "i1"),
        offer(0, "i1", BOB),
        miss(10, "i1", BOB),
        not_ready(10, BOB, "missed"),
        requeue(10, "i1"),
        ready(30, ANN),
        offer(30, "i1", ANN),
        connect(33, "i1", ANN),
        arrive(40, "i2"),
        end(70, "i2", "customer"),
        arrive(950, "i3"),
        end(1000, "i1", "agent", ANN),
        WrapUpStarted(at=1000, interaction_id=iid, agent_id=ANN, deadline=1030),
        wrap(1030, "i1", ANN),
        offer(1030, "i3", ANN),
    ]
    direct = new_collector()
    direct.observe_all(events)
    from_log = new_collector()
    logged(from_log, events)
    report = direct.report(until=1800)
    assert from_log.report(until=1800) == report
    k = overall(report)
    assert (k.offered, k.answered, k.abandoned, k.open) == (2, 1, 1, 1)
    assert [r.start for r in report.intervals if r.queue_id == SUPPORT] == [0, 900]


def test_adding_tallies_adds_every_field() -> None:
    ones = Tally(**{f.name: 1 for f in dataclasses.fields(Tally)})
    total = Tally()
    total.add(ones)
    total.add(ones)
    assert dataclasses.astuple(total) == (2,) * len(dataclasses.fields(Tally))
