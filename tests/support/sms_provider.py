"""A stand-in SMS provider for the tests: a real HTTP server on loopback that takes agents'
replies as Callbridge POSTs them (adapters/sms/webhook.py), checks each signature, and can be
told to answer with an error for a while, as a provider that is down would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from callbridge.domain.errors import CallbridgeError
from callbridge.services.webhooks import HEADER, verify


@dataclass
class SmsProvider:
    secret: str
    now: float  # the signatures' clock (the app's manual clock)
    url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)  # texts taken, in order
    deliveries: list[str] = field(default_factory=list)  # Callbridge-Delivery of each taken
    attempts: int = 0
    failing: int = 0  # answer this many requests with `failure`
    failure: int = 503
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: bytes, signature: str | None, delivery: str | None) -> int:
        verify(self.secret, signature, body, self.now)  # a bad signature fails the test run
        with self._lock:
            self.attempts += 1
            if self.failing:
                self.failing -= 1
                return self.failure
            self.sent.append(json.loads(body))
            self.deliveries.append(delivery or "")
            return 202


@contextmanager
def sms_provider(secret: str, now: float) -> Iterator[SmsProvider]:
    provider = SmsProvider(secret, now)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            try:
                status = provider.take(
                    body, self.headers.get(HEADER), self.headers.get("Callbridge-Delivery")
                )
            except CallbridgeError:  # a refused signature: 401, and the test sees no text
                status = 401
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/messages"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
