"""The dialer's end-to-end set-up: sipp as the called parties behind the carrier, and a voice
center whose outbound trunk is that sipp."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from media_support import free_udp_port
from sipp_support import Sipp, sipp_uas
from voice_support import Center, voice_center


@contextlib.asynccontextmanager
async def callees_and_center(
    scenario: str,
    tmp_path: Path,
    *,
    calls: int = 1,
    echo: bool = False,
    media_port: int | None = None,
    sipp_timeout: float = 60.0,
) -> AsyncIterator[tuple[Sipp, Center]]:
    """sipp playing `scenario` for `calls` callees, on a media port pair of its own
    (`media_port`, or a free one), echoing what it hears back with `echo`; the center in
    `tmp_path / "center"` dials out through it."""
    port = media_port if media_port is not None else free_udp_port(pairs=True)
    extra = [*(["-rtp_echo"] if echo else []), "-mp", str(port)]
    async with (
        sipp_uas(scenario, tmp_path, calls=calls, extra=extra, sipp_timeout=sipp_timeout) as sipp,
        voice_center(
            tmp_path / "center", sip_trunk_host="127.0.0.1", sip_trunk_port=sipp.port
        ) as center,
    ):
        yield sipp, center
