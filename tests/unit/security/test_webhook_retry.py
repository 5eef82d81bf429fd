"""How the dispatcher retries one delivery: bounded, with backoff, and never on a refusal."""

from __future__ import annotations

import anyio
import httpx

from callbridge.adapters.bus.memory import MemoryBus
from callbridge.adapters.webhooks.dispatcher import RetryPolicy, WebhookDispatcher
from callbridge.domain.clock import ManualClock
from callbridge.domain.ids import InteractionId
from callbridge.ports import StoredEvent
from callbridge.services.webhooks import HEADER, Subscription, verify

SUB = Subscription("w1", "https://hooks.example.com/cb", frozenset(), True, 0.0)
SECRET = "whsec_unit"
EVENT = StoredEvent(7, 1_800_000_000.0, "interaction_created", InteractionId("i1"), None, None, {})
FAST = RetryPolicy(attempts=3, first_delay_s=0.001, max_delay_s=0.002, timeout_s=1.0)


class NoSubscriptions:
    generation = 0

    def active_with_secrets(self) -> list[tuple[Subscription, str]]:
        return []


def attempt(statuses: list[int | Exception]) -> tuple[bool, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    answers = iter(statuses)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer)

    clock = ManualClock(1_800_000_000.0)
    dispatcher = WebhookDispatcher(NoSubscriptions(), MemoryBus(), clock, FAST)

    async def main() -> bool:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
            return await dispatcher.deliver(client, SUB, SECRET, EVENT)

    return anyio.run(main), seen


def test_server_errors_and_connection_failures_are_retried_until_accepted() -> None:
    accepted, seen = attempt([httpx.ConnectError("refused"), 502, 200])
    assert accepted
    assert len(seen) == 3
    assert len({r.content for r in seen}) == 1
    for request in seen:
        assert verify(SECRET, request.headers[HEADER], request.content, 1_800_000_000.0)


def test_retries_are_bounded() -> None:
    accepted, seen = attempt([500, 503, 504, 200])
    assert not accepted
    assert len(seen) == FAST.attempts


def test_a_refusal_is_not_retried_but_a_rate_limit_is() -> None:
    accepted, seen = attempt([400])
    assert not accepted and len(seen) == 1
    accepted, seen = attempt([429, 204])
    assert accepted and len(seen) == 2


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(first_delay_s=1.0, max_delay_s=5.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
