"""The Salesforce connector wired to the stand-in server, for its own tests and the Crm
contract suite: real settings, real OAuth, real TLS; only the sleeping is recorded instead."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfstandin import StandIn, running_standin

from callbridge.adapters.crm.salesforce.build import build_connector
from callbridge.adapters.crm.salesforce.connector import SalesforceConnector
from callbridge.adapters.crm.salesforce.mapping import default_task_fields
from callbridge.adapters.crm.salesforce.retry import Backoff
from callbridge.adapters.store.sql import SqlStore
from callbridge.app import SystemClock
from callbridge.domain.clock import Clock
from callbridge.domain.crm.records import Activity, ActivityDirection, RecordRef
from callbridge.ports import MappedActivity
from callbridge.services.security.crypto import FieldCipher, Keyring
from callbridge.settings import Settings, load_settings


def settings_for(standin: StandIn, key_dir: Path, *, auth: str = "jwt", **extra: Any) -> Settings:
    """Settings for the stand-in's org, the way an admin would write them."""
    key_file = key_dir / "salesforce-jwt.key"
    key_file.write_bytes(standin.private_key_pem)
    options: dict[str, Any] = {
        "crm": "salesforce",
        "salesforce_auth": auth,
        "salesforce_token_url": standin.token_url,
        "salesforce_client_id": standin.client_id,
        "salesforce_client_secret": standin.client_secret,
        "salesforce_username": standin.username,
        "salesforce_private_key_file": key_file,
        "salesforce_audience": standin.audience,
        "salesforce_api_version": standin.api_version,
        "salesforce_ca_file": standin.ca_path,
        "salesforce_api_floor": 0,
    }
    return load_settings(**(options | extra))


@dataclass
class Harness:
    standin: StandIn
    connector: SalesforceConnector
    store: SqlStore
    sleeps: list[float] = field(default_factory=list)

    def calls(self) -> int:
        return self.standin.api_calls()


@contextmanager
def connected(
    standin: StandIn,
    database_url: str,
    tmp_path: Path,
    *,
    auth: str = "jwt",
    backoff: Backoff | None = None,
    clock: Clock | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Iterator[Harness]:
    """A connector on a fresh database; closed (session and engine) on exit. `overrides`
    are settings that differ from the stand-in's own (a floor, a wrong secret)."""
    settings = settings_for(standin, tmp_path, auth=auth, **(overrides or {}))
    store = SqlStore.open(database_url, FieldCipher(Keyring.generate()))
    sleeps: list[float] = []
    try:
        connector = build_connector(
            settings,
            store.engine,
            store.cipher,
            clock or SystemClock(),
            sleep=sleeps.append,
            backoff=backoff,
            rng=random.Random(4),
        )
        try:
            yield Harness(standin, connector, store, sleeps)
        finally:
            connector.close()
    finally:
        store.close()


@contextmanager
def standin_and_connector(database_url: str, tmp_path: Path, **options: Any) -> Iterator[Harness]:
    """A stand-in of its own and a connector to it (`options` go to `connected`)."""
    with running_standin() as standin, connected(standin, database_url, tmp_path, **options) as h:
        yield h


def calls(
    count: int, *, start: int = 0, who: RecordRef | None = None, prefix: str = "ix"
) -> list[MappedActivity]:
    """`count` finished inbound calls, mapped with the default Task mapping."""
    out = []
    for n in range(start, start + count):
        activity = Activity(
            external_id=f"{prefix}-{n:05d}",
            subject=f"Inbound call {n}",
            channel="voice",
            direction=ActivityDirection.INBOUND,
            started_at=1_800_000_000.0 + n,
            ended_at=1_800_000_090.0 + n,
            duration_s=75,
            customer_address="+14155550142",
            queue="Support",
            agent="Ada",
            disposition_code="resolved",
            disposition_label="Resolved",
            who=who,
        )
        out.append(MappedActivity(activity, default_task_fields(activity)))
    return out
