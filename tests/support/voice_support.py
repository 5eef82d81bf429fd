"""A contact center that takes calls, for the end-to-end voice tests: the real app with SIP on,
an agent with a SIP password, and baresip as that agent's phone, registering with digest
authentication and answering by itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from media_support import Baresip, free_udp_port, running_baresip
from pydantic import SecretStr

from callbridge.adapters.telephony.voice import Voice
from callbridge.app import App, build
from callbridge.domain.ids import AgentId, QueueId, SkillId
from callbridge.domain.queues import Queue, SkillRequirement, WrapUpPolicy
from callbridge.services import agents as agent_svc
from callbridge.services import queues as queue_svc
from callbridge.services.security.accounts import Actor
from callbridge.services.security.crypto import Keyring
from callbridge.settings import Settings

ADMIN = Actor("test", "localhost")
QUEUE = "support"
AGENT = "a1"
USERNAME = "alice"
SIP_PASSWORD = "phone-secret-123456"


@dataclass
class Center:
    app: App
    voice: Voice

    @property
    def sip_port(self) -> int:
        return self.voice.port


@contextlib.asynccontextmanager
async def voice_center(
    work: Path, offer_timeout_s: float = 15.0, sip_port: int | None = None, **extra: object
) -> AsyncIterator[Center]:
    """The app with SIP on a free port, queue `support` (entry point `support`), agent a1 with
    user alice and her SIP password; the voice task and the timer loop running."""
    work.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - test set-up
    settings = Settings(
        database_url=f"sqlite:///{work / 'voice.db'}",
        admin_token=SecretStr("t" * 32),
        keys=SecretStr(Keyring.generate().to_json()),
        sip_enabled=True,
        sip_port=sip_port or free_udp_port(),
        rtp_port_min=37000,
        rtp_port_max=37999,
        voice_entry_points={QUEUE: QUEUE},
        voice_cache_dir=work / "audio",
        **extra,  # type: ignore[arg-type]
    )
    app = build(settings, run_timer_loop=False)
    assert app.voice is not None
    try:
        rt = app.runtime
        queue_svc.do_save_queue(
            rt,
            Queue(
                id=QueueId(QUEUE),
                name="Support",
                requirements=(SkillRequirement(SkillId("support"), 1),),
                offer_timeout_s=offer_timeout_s,
                wrap_up=WrapUpPolicy(duration_s=0.0),
            ),
        )
        agent_svc.do_save_agent(rt, AgentId(AGENT), "Alice", {SkillId("support"): 5})
        user = app.accounts.create_user(
            ADMIN, USERNAME, "a long login password 1", ["agent"], agent_id=AGENT
        )
        app.accounts.set_sip_password(ADMIN, user.id, settings.sip_realm, SIP_PASSWORD)
        async with asyncio.TaskGroup() as tg:
            voice_task = tg.create_task(app.voice.run())
            timers = tg.create_task(_timers(app))
            if sip_port is None:
                await asyncio.wait_for(app.voice.started.wait(), 10)
            else:  # a port that may be taken: give voice a moment to try
                await asyncio.sleep(0.5)
            try:
                yield Center(app, app.voice)
            finally:
                voice_task.cancel()
                timers.cancel()
    finally:
        app.close()


def add_phone_user(center: Center, username: str, agent_id: str, password: str) -> None:
    """Another agent with a user and a SIP password (a supervisor's phone, say)."""
    app = center.app
    agent_svc.do_save_agent(app.runtime, AgentId(agent_id), username.title(), {})
    user = app.accounts.create_user(
        ADMIN, username, "another long login password", ["supervisor"], agent_id=agent_id
    )
    app.accounts.set_sip_password(ADMIN, user.id, app.settings.sip_realm, password)


async def _timers(app: App) -> None:
    from callbridge.services.interactions import do_tick

    while True:
        do_tick(app.runtime)
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def agent_phone(
    home: Path,
    registrar_port: int,
    source_wav: Path,
    *,
    password: str = SIP_PASSWORD,
    username: str = USERNAME,
) -> AsyncIterator[Baresip]:
    """baresip registered as `username` at our registrar, answering every call by itself,
    sending `source_wav` and dumping what it hears."""
    sip_port = free_udp_port()
    _write_config(home, sip_port, registrar_port, source_wav, username, password)
    async with running_baresip(home, sip_port) as phone:
        yield phone


def _write_config(
    home: Path, sip_port: int, registrar_port: int, source_wav: Path, username: str, password: str
) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config").write_text(
        f"""poll_method epoll
sip_listen 127.0.0.1:{sip_port}
net_interface 127.0.0.1
audio_source aufile,{source_wav}
audio_player aubridge,nil
audio_alert aubridge,nil
rtp_ports 41000-41999
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module_app account.so
module_app menu.so
"""
    )
    (home / "accounts").write_text(
        f"<sip:{username}@127.0.0.1:{registrar_port};transport=udp>;auth_pass={password};"
        "regint=600;answermode=auto;audio_codecs=pcmu\n"
    )
    (home / "contacts").write_text("")


async def until(condition: object, within_s: float = 10.0, what: str = "") -> None:
    """Poll `condition()` until it is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.05)
