"""Liveness and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from callbridge.adapters.web.auth import public, requires
from callbridge.domain.agents import AgentState
from callbridge.domain.errors import CallbridgeError
from callbridge.domain.security.permissions import Permission
from callbridge.services import views
from callbridge.services.runtime import Runtime

router = APIRouter(tags=["operations"])


@router.get("/healthz", dependencies=[Depends(public)])
async def healthz(request: Request, response: Response) -> dict[str, str]:
    """200 "ok", or 503 "degraded" while the store does not answer (open: reveals nothing).

    The store is asked every time: a request can fail on it (reading a session, say) before
    the runtime ever notices."""
    rt: Runtime = request.app.state.runtime
    try:
        if rt.degraded:
            rt.center  # noqa: B018 - reloads from the store if it answers again
        rt.store.ping()
    except CallbridgeError:
        response.status_code = 503
        return {"status": "degraded"}
    return {"status": "ok"}


@router.get(
    "/metrics", dependencies=[Depends(requires(Permission.METRICS_READ))], response_class=Response
)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class CenterCollector(Collector):
    """Reads the live center at scrape time: nothing to keep in step."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        rt = self._rt
        events = CounterMetricFamily("callbridge_events", "Events logged by this process")
        events.add_metric([], rt.events_applied)
        yield events
        agents = GaugeMetricFamily("callbridge_agents", "Agents by state", labels=["state"])
        counts = views.agent_state_counts(rt)
        for state in AgentState:
            agents.add_metric([state.value], counts.get(state.value, 0))
        yield agents
        waiting = GaugeMetricFamily(
            "callbridge_queue_waiting", "Interactions waiting", labels=["queue"]
        )
        longest = GaugeMetricFamily(
            "callbridge_queue_longest_wait_seconds", "Longest current wait", labels=["queue"]
        )
        available = GaugeMetricFamily(
            "callbridge_queue_available_agents",
            "Agents who could take an interaction now",
            labels=["queue"],
        )
        for stats in views.all_queue_stats(rt).values():
            waiting.add_metric([stats.queue_id], stats.waiting)
            longest.add_metric([stats.queue_id], stats.longest_wait_s)
            available.add_metric([stats.queue_id], stats.available_agents)
        yield from (waiting, longest, available)
        open_ = GaugeMetricFamily("callbridge_interactions_open", "Interactions in progress")
        open_.add_metric([], len(rt.center.interactions))
        yield open_
