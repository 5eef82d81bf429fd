"""Agents' SMS replies POSTed as signed JSON to the provider's URL (setting
`sms_outbound_url`): the mirror of the inbound SMS webhook.

    POST <sms_outbound_url>
    Callbridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
    Callbridge-Delivery: <the message's event id; the same on every retry>
    {"id": "<event id>", "interaction_id": "...", "from": "<our number>", "to": "<theirs>",
     "text": "..."}

A 2xx is sent. 408, 425, 429 and 5xx, time-outs and connection errors are worth another try;
any other answer refuses this message for good. The receiver deduplicates by
`Callbridge-Delivery`, since a send whose answer was lost is sent again.
"""

from __future__ import annotations

import json

import httpx

from callbridge import __version__
from callbridge.domain.clock import Clock
from callbridge.services.texts import OutboundText, TextNotSent
from callbridge.services.webhooks import HEADER, sign

RETRYABLE = frozenset({408, 425, 429})


class WebhookTexts:
    """Sends one text per request to the configured URL."""

    def __init__(
        self,
        url: str,
        secret: str,
        clock: Clock,
        *,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url, self._secret, self._clock = url, secret, clock
        self._timeout, self._transport = httpx.Timeout(timeout_s), transport
        self._client: httpx.AsyncClient | None = None  # made in the loop that sends

    async def send(self, text: OutboundText) -> None:
        body = json.dumps(
            {
                "id": str(text.event_id),
                "interaction_id": text.interaction_id,
                "from": text.from_address,
                "to": text.to_address,
                "text": text.body,
            }
        ).encode()
        headers = {
            "content-type": "application/json",
            "user-agent": f"Callbridge/{__version__}",
            HEADER: sign(self._secret, self._clock.now(), body),
            "Callbridge-Delivery": str(text.event_id),
        }
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, transport=self._transport)
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TextNotSent(f"{type(exc).__name__}: {exc}", retry=True) from None
        if response.is_success:
            return
        status = response.status_code
        raise TextNotSent(
            f"the provider answered {status}: {response.text[:200]}",
            retry=status in RETRYABLE or status >= 500,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
