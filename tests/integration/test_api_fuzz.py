"""Schemathesis against the OpenAPI document, through the real app on SQLite: no request the
schema allows may end in a 5xx, and every 4xx carries the error body with code and message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from pydantic import SecretStr
from schemathesis.core.result import Ok

from callbridge.app import App, build
from callbridge.domain.clock import ManualClock
from callbridge.services.security.crypto import Keyring
from callbridge.settings import Settings

TOKEN = "fuzz-admin-token"
EXAMPLES = 30  # per operation


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "callbridge.db"
    config = Settings(
        database_url=f"sqlite:///{path}",
        admin_token=SecretStr(TOKEN),
        keys=SecretStr(Keyring.generate().to_json()),
        inbound_webhook_secret=SecretStr("fuzz-inbound-secret"),
    )
    built = build(config, clock=ManualClock(1_800_000_000.0), run_timer_loop=False)
    yield built
    built.close()


def test_no_5xx_and_every_4xx_explains_itself(fuzz_app: App) -> None:
    """Every operation in the document, with examples generated from its schema. (Driven by
    hand rather than through schemathesis' pytest plugin, which does not load on pytest 9.)"""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app.api)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document has an invalid operation: {result}"
        operations.append(result.ok())
    assert len(operations) > 40
    problems: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case: schemathesis.Case[Any]) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
            where = f"{case.method} {case.formatted_path}"
            if response.status_code >= 500:  # 503 from a store outage included: none here
                problems.append(f"{where}: {response.status_code} {response.text[:200]}")
            elif response.status_code >= 400:
                error = response.json().get("error", {})
                if not (error.get("code") and error.get("message")):
                    problems.append(f"{where}: {response.status_code} without an error body")

        check()
    assert problems == []
