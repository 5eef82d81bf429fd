"""The FastAPI application: routes, error mapping, and the timer loop in its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from callbridge import __version__
from callbridge.adapters.web import agents, errors, health, interactions, queues
from callbridge.adapters.web.health import CenterCollector
from callbridge.domain.errors import CallbridgeError
from callbridge.services.interactions import do_tick
from callbridge.services.runtime import Runtime

log = structlog.get_logger(__name__)


async def run_timers(rt: Runtime, interval_s: float) -> None:
    """Act on offer time-outs, wrap-up ends, escalations and max waits as they fall due."""
    while True:
        try:
            do_tick(rt)
        except CallbridgeError as exc:
            log.error("tick_failed", code=exc.code, error=exc.message)
        deadline = rt.center.next_deadline()
        wait = interval_s if deadline is None else min(interval_s, deadline - rt.clock.now())
        await anyio.sleep(max(wait, 0.001))


def create_api(
    rt: Runtime, admin_token: str, *, tick_interval_s: float = 0.1, run_timer_loop: bool = True
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            if run_timer_loop:
                tg.start_soon(run_timers, rt, tick_interval_s)
            yield
            tg.cancel_scope.cancel()

    app = FastAPI(
        title="Callbridge",
        version=__version__,
        description="Contact center REST API. Send `Authorization: Bearer <admin token>`.",
        lifespan=lifespan,
    )
    app.state.runtime = rt
    app.state.admin_token = admin_token
    registry = CollectorRegistry()
    registry.register(CenterCollector(rt))
    app.state.registry = registry
    errors.install(app)
    for module in (health, agents, queues, interactions):
        app.include_router(module.router)
    return app
