"""The composition root: the one place that builds every adapter and service."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

from fastapi import FastAPI

from callbridge.adapters.bus.memory import MemoryBus
from callbridge.adapters.store.sql import SqlStore
from callbridge.adapters.web.api import create_api
from callbridge.domain.clock import Clock
from callbridge.services.runtime import Runtime
from callbridge.settings import Settings


class SystemClock:
    """Wall-clock seconds since the epoch: the only clock outside simulations and tests."""

    def now(self) -> float:
        return time.time()


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class App:
    settings: Settings
    runtime: Runtime
    store: SqlStore
    bus: MemoryBus
    admin_token: str
    token_generated: bool
    api: FastAPI

    def close(self) -> None:
        self.store.close()


def build(settings: Settings, *, clock: Clock | None = None, run_timer_loop: bool = True) -> App:
    """Open the store (creating and migrating it on first run) and wire everything to it."""
    store = SqlStore.open(settings.database_url)
    bus = MemoryBus()
    try:
        runtime = Runtime.start(store, bus, clock or SystemClock(), new_id)
    except Exception:
        store.close()
        raise
    configured = settings.admin_token.get_secret_value() if settings.admin_token else None
    token = configured or secrets.token_urlsafe(24)
    api = create_api(
        runtime, token, tick_interval_s=settings.tick_interval_s, run_timer_loop=run_timer_loop
    )
    return App(settings, runtime, store, bus, token, configured is None, api)
