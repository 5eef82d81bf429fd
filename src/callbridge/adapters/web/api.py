"""The FastAPI application: routes, error mapping, and the timer loop in its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from callbridge import __version__
from callbridge.adapters.web import accounts as account_routes
from callbridge.adapters.web import (
    agents,
    audit,
    calls,
    campaigns,
    chat,
    crm,
    errors,
    flows,
    health,
    hours,
    integration,
    interactions,
    lists,
    previews,
    privacy,
    queues,
    recordings,
    reports,
    stream,
    webhooks,
)
from callbridge.adapters.web.health import CenterCollector
from callbridge.adapters.web.pages import routes as pages
from callbridge.adapters.webhooks.dispatcher import WebhookDispatcher
from callbridge.domain.errors import CallbridgeError
from callbridge.services.interactions import do_tick
from callbridge.services.runtime import Runtime
from callbridge.services.security.accounts import Accounts

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
    rt: Runtime,
    accounts: Accounts,
    *,
    tick_interval_s: float = 0.1,
    run_timer_loop: bool = True,
    tls: bool = False,
    webhook_dispatcher: WebhookDispatcher | None = None,
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(hub.run)  # the browser pages' live event queues
            if run_timer_loop:
                tg.start_soon(run_timers, rt, tick_interval_s)
            if webhook_dispatcher is not None:
                tg.start_soon(webhook_dispatcher.run)
            for task in background:  # the CRM outbox worker, sync loops
                tg.start_soon(task)
            yield
            tg.cancel_scope.cancel()

    app = FastAPI(
        title="Callbridge",
        version=__version__,
        description="Contact center REST API. Authenticate with `Authorization: Bearer <API "
        "token>`, or log in at /auth/login for a session cookie (then send X-CSRF-Token with "
        "changes).",
        lifespan=lifespan,
    )
    app.state.runtime = rt
    app.state.accounts = accounts
    hub = stream.Hub(rt)
    app.state.hub = hub
    app.state.tls = tls  # session cookies are Secure when served over TLS
    registry = CollectorRegistry()
    registry.register(CenterCollector(rt))
    app.state.registry = registry
    errors.install(app)
    routers = (health, account_routes, agents, queues, interactions, stream, integration, lists)
    more = (privacy, audit, webhooks, crm, reports, recordings, calls, campaigns, chat, flows)
    hours_routes = (hours, previews)
    last = (pages,)
    for module in (*routers, *more, *hours_routes, *last):
        app.include_router(module.router)
    return app
