"""`StandIn`: the server over TLS in a background thread, and the Python API tests use."""

from __future__ import annotations

import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import trustme
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sfstandin.api import build_router
from sfstandin.app import StandInApp
from sfstandin.auth import Credentials
from sfstandin.faults import Fault
from sfstandin.org import Org, utc_now
from sfstandin.records import full_record
from sfstandin.requestlog import LoggedRequest, RequestLog
from sfstandin.schema import sobject_def
from sfstandin.store import Change


class _Server(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # A client that closes without TLS close_notify leaves asyncio waiting up to 30 s for
        # it; abort those transports so the stand-in stops at once and leaks no socket.
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await super().shutdown(sockets)


class StandIn:
    """A Salesforce org behind HTTPS on 127.0.0.1, for tests. Use `running_standin()`."""

    def __init__(
        self,
        *,
        api_version: str = "62.0",
        min_version: str = "31.0",
        daily_limit: int = 15000,
        page_size: int = 2000,
        session_timeout: float | None = None,
        client_id: str = "3MVG9standin.callbridge.consumer.key",
        client_secret: str | None = None,
        username: str = "integration@callbridge.example",
        password: str = "stand-in-password",  # noqa: S107 (a test double's credential)
        security_token: str = "STANDINTOKEN",  # noqa: S107
        audience: str = "https://login.salesforce.com",
        jwt_preauthorized: bool = True,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.api_version = api_version
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_hex(16)
        self.username = username
        self.password = password
        self.security_token = security_token
        self.audience = audience
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_key_pem: bytes = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._creds = Credentials(
            self.client_id, self.client_secret, username, password, security_token,
            public_pem, audience, jwt_preauthorized,
        )  # fmt: skip
        self._org_options: dict[str, Any] = {
            "api_version": api_version, "min_version": min_version, "daily_limit": daily_limit,
            "page_size": page_size, "session_timeout": session_timeout, "clock": clock,
        }  # fmt: skip
        self._log = RequestLog()
        self._tmp = tempfile.TemporaryDirectory(prefix="sfstandin-")
        self.ca_path = Path(self._tmp.name) / "ca.pem"
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit it: no 40 ms delayed-ACK stall per response
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        self.base_url = f"https://127.0.0.1:{port}"
        self.token_url = self.base_url + "/services/oauth2/token"
        self._app = StandInApp(self._new_org(), build_router(), self._log, self.base_url)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _new_org(self) -> Org:
        return Org(creds=self._creds, **self._org_options)

    @property
    def org(self) -> Org:
        return self._app.org

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Serve HTTPS with a certificate from a throwaway CA; returns once it is listening."""
        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(self.ca_path))
        cert = ca.issue_cert("127.0.0.1", "localhost")
        key_path = Path(self._tmp.name) / "server.pem"
        cert.private_key_and_cert_chain_pem.write_to_path(str(key_path))
        config = uvicorn.Config(
            self._app,
            ssl_certfile=str(key_path),
            ssl_keyfile=str(key_path),
            log_config=None,
            log_level="critical",
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="sfstandin", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Salesforce stand-in did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and remove the certificate files."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._sock.close()
        self._tmp.cleanup()

    def reset(self) -> None:
        """A fresh org: no records, sessions, faults, cursors or jobs; counters at zero."""
        self._app.org = self._new_org()
        self._log.clear()

    def http_session(self) -> requests.Session:
        """A `requests` session that trusts the stand-in's CA; the caller closes it.

        `trust_env` is off because requests lets REQUESTS_CA_BUNDLE override `Session.verify`.
        """
        session = requests.Session()
        session.verify = str(self.ca_path)
        session.trust_env = False
        return session

    # -- observation ---------------------------------------------------------

    def api_calls(self) -> int:
        """API requests counted against the daily allocation (OAuth requests do not count)."""
        with self.org.limits.lock:
            return self.org.limits.used

    def requests(self) -> list[LoggedRequest]:
        return self._log.entries()

    def records(self, sobject: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """The stored rows as the REST API renders them (without `attributes`)."""
        name = self._sobject(sobject)
        store = self.org.store
        with store.lock:
            rows = store.rows(name, include_deleted=include_deleted)
            rendered = [full_record(store, name, r, self.api_version) for r in rows]
        return [{k: v for k, v in r.items() if k != "attributes"} for r in rendered]

    def changes(self) -> list[Change]:
        """The change log: every create, update and delete, in order."""
        with self.org.store.lock:
            return list(self.org.store.changes)

    # -- control -------------------------------------------------------------

    def set_daily_limit(self, n: int) -> None:
        with self.org.limits.lock:
            self.org.limits.daily_api_requests = n

    def set_page_size(self, n: int) -> None:
        self.org.page_size = n

    def expire_sessions(self) -> None:
        """Every issued token becomes invalid: the next data call gets 401 INVALID_SESSION_ID."""
        self.org.sessions.expire_all()

    def issue_token(self) -> str:
        """A valid access token without an OAuth round trip (not logged, not counted)."""
        return self.org.sessions.issue()

    def inject(self, fault: Fault) -> None:
        self.org.faults.add(fault)

    def clear_faults(self) -> None:
        self.org.faults.clear()

    # -- seeding -------------------------------------------------------------

    def insert(self, sobject: str, fields: dict[str, Any]) -> str:
        """Create a record directly; read-only fields (dates, IsConverted) may be set too."""
        return self.org.store.create(self._sobject(sobject), fields, trusted=True)

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        self.org.store.update(self._sobject(sobject), record_id, fields, trusted=True)

    def delete(self, sobject: str, record_id: str) -> None:
        """Soft delete, as the API does (queryAll still sees it, getDeleted reports it)."""
        self.org.store.delete(self._sobject(sobject), record_id)

    @staticmethod
    def _sobject(name: str) -> str:
        sdef = sobject_def(name)
        if sdef is None:
            raise KeyError(f"the stand-in has no sObject {name!r}")
        return sdef.name


@contextmanager
def running_standin(**options: Any) -> Iterator[StandIn]:
    """A started stand-in, stopped on exit. Options are `StandIn`'s keyword arguments."""
    standin = StandIn(**options)
    try:
        standin.start()
        yield standin
    finally:
        standin.stop()
