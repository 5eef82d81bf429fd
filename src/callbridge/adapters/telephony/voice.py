"""Voice as one background task of the server: the SIP endpoint, the registrar, the media engine
and the gateway between them and the ACD, started and stopped together."""

from __future__ import annotations

import gc
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import structlog

from callbridge.adapters.telephony.gateway import Trunk, VoiceGateway
from callbridge.adapters.telephony.media.engine import MediaEngine
from callbridge.adapters.telephony.registrar import CredentialLookup, Registrar
from callbridge.adapters.telephony.sip import AdmissionLimits, Credentials, SipEndpoint
from callbridge.adapters.telephony.sip.transport import Target
from callbridge.domain.ivr import FlowBook
from callbridge.domain.telephony.registrations import Registrations
from callbridge.ports import Crm, EventBus
from callbridge.services.runtime import Runtime
from callbridge.settings import Settings

log = structlog.get_logger(__name__)

EXPIRE_EVERY_S = 30.0


def cache_dir(settings: Settings) -> Path:
    if settings.voice_cache_dir is not None:
        return settings.voice_cache_dir
    url = settings.database_url
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        return Path(url.removeprefix("sqlite:///")).resolve().parent / "callbridge-audio"
    return Path(tempfile.gettempdir()) / "callbridge-audio"


def trunk(settings: Settings) -> Trunk | None:
    """The outbound trunk from settings, or None when no host is set."""
    if settings.sip_trunk_host is None:
        return None
    credentials = None
    if settings.sip_trunk_username and settings.sip_trunk_password is not None:
        credentials = Credentials(
            settings.sip_trunk_username, settings.sip_trunk_password.get_secret_value()
        )
    host, port = settings.sip_trunk_host, settings.sip_trunk_port
    target = Target("tcp", host, port) if settings.sip_trunk_transport == "tcp" else None
    return Trunk(
        target or Target("udp", host, port),
        credentials,
        settings.sip_trunk_caller_id,
        settings.sip_ring_timeout_s,
    )


def recordings_dir(settings: Settings) -> Path:
    if settings.voice_recordings_dir is not None:
        return settings.voice_recordings_dir
    return cache_dir(settings).parent / "callbridge-recordings"


class Voice:
    def __init__(
        self,
        settings: Settings,
        rt: Runtime,
        bus: EventBus,
        credentials: CredentialLookup,
        new_id: Callable[[], str],
        flows: FlowBook | None = None,
        crm: Crm | None = None,
    ) -> None:
        self.settings = settings
        self.endpoint = SipEndpoint(
            settings.sip_host,
            settings.sip_port,
            transports=tuple(settings.sip_transports),  # type: ignore[arg-type]  # validated
            limits=AdmissionLimits(
                max_calls=settings.sip_max_calls, max_call_rate=settings.sip_max_call_rate
            ),
        )
        self.media = MediaEngine(settings.sip_host, (settings.rtp_port_min, settings.rtp_port_max))
        self.registrations = Registrations()
        self.registrar = Registrar(
            self.registrations,
            credentials,
            settings.sip_realm,
            secrets.token_bytes(32),
            self.endpoint.clock,
            tuple(settings.sip_digest_algorithms),  # type: ignore[arg-type]  # validated
        )
        self.endpoint.on_register = self.registrar.on_register
        directory = cache_dir(settings)
        self.gateway = VoiceGateway(
            rt, bus, self.endpoint, self.media, self.registrations,
            dict(settings.voice_entry_points), directory, new_id,
            recordings_dir(settings) if settings.voice_record_calls else None,
            trunk(settings), flows, crm,
        )  # fmt: skip
        self.started = anyio.Event()

    @property
    def port(self) -> int:
        return self.endpoint.port

    async def run(self) -> None:
        """Take calls until cancelled. If the SIP port cannot be had, say so and carry on
        without voice: the rest of the center keeps working."""
        self.gateway.cache_dir.mkdir(parents=True, exist_ok=True)
        if self.gateway.recordings_dir is not None:
            self.gateway.recordings_dir.mkdir(parents=True, exist_ok=True)
        try:
            await self.endpoint.start()
        except OSError as exc:
            log.error(
                "voice.cannot_listen",
                host=self.settings.sip_host,
                port=self.settings.sip_port,
                error=str(exc),
            )
            return
        try:
            await self._serve()
        finally:
            with anyio.CancelScope(shield=True):
                await self.endpoint.stop()

    async def _serve(self) -> None:
        async with self.media:
            log.info(
                "voice.listening",
                host=self.settings.sip_host,
                port=self.endpoint.port,
                entry_points=sorted(self.settings.voice_entry_points),
            )
            with collector_for_calls():
                self.started.set()
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self.gateway.run)
                    while True:
                        await anyio.sleep(EXPIRE_EVERY_S)
                        self.registrations.expire(self.endpoint.clock())


# The collector's young generation is collected every this many new objects, not Python's 700.
GC_YOUNG_THRESHOLD = 10_000


@contextmanager
def collector_for_calls() -> Iterator[None]:
    """The garbage collector set up for a process that carries calls, while voice is up.

    What start-up made (modules, settings, the center loaded from the store) lives as long as
    the process: frozen (after one full collection, so no garbage is frozen with it), the
    collector's full passes no longer walk it; left in, one full pass stalled the loop for
    ~300 ms on the load benchmark's server, every call's media and signalling with it. A call
    makes thousands of short-lived objects: collecting the young every 10,000 rather than
    every 700 lets most of them die first, so far fewer are copied into the older generations
    and walked again (the collector's CPU per call set up fell from 0.3-1.7 ms to 0.0-0.5 ms).
    When voice stops, the collector is as it was. See docs/design/voice.md, Benchmark.
    """
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
