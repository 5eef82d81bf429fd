"""`RtpSession`: one RTP/RTCP socket pair talking to one remote party.

Receiving (in the datagram callback): account for the packet (RFC 3550 statistics), latch the
remote address, report DTMF once per event, forward the packet to a bridged peer at once, and
queue audio in the jitter buffer if something consumes decoded audio (recording, mixing).

Sending: relayed packets go out as they arrive, with our SSRC and a sequence/timestamp offset
fixed at bridge time so the far end sees one continuous stream. Everything we generate (prompts,
music, DTMF, mixes) goes out from the engine's ticker, one packet per 20 ms tick, stamped with the
tick's position on the media clock. While we generate, relayed packets are not forwarded; when we
stop, the relay picks up again with new offsets and the marker bit.

The relay's per-packet work is a copy, one `struct.pack_into` and (PCMU<->PCMA only) one
`bytes.translate`: deliberately no objects and no decoding.
"""

from __future__ import annotations

import asyncio
import secrets
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from callbridge.adapters.telephony.media.audio import FRAME_SAMPLES, AudioSource, Clip, ClipPlayer
from callbridge.adapters.telephony.media.dtmf import DtmfDetector, DtmfDigit, DtmfSender
from callbridge.adapters.telephony.media.endpoint import Address, MediaSocket
from callbridge.adapters.telephony.media.g711 import (
    ALAW_TO_ULAW,
    ULAW_TO_ALAW,
    Codec,
    Samples,
    codec_for_payload_type,
)
from callbridge.adapters.telephony.media.handles import Playback, Recording
from callbridge.adapters.telephony.media.jitter import JitterBuffer, JitterStats
from callbridge.adapters.telephony.media.outgoing import OutgoingStream
from callbridge.adapters.telephony.media.reception import SourceReception
from callbridge.adapters.telephony.media.recorder import Recorder, RecordingInfo
from callbridge.adapters.telephony.media.reports import RtcpState, SenderCounts
from callbridge.adapters.telephony.media.rtcp import build_compound, parse_compound
from callbridge.adapters.telephony.media.rtp import MalformedPacket, payload_bounds
from callbridge.adapters.telephony.media.stats import RtpStats
from callbridge.domain.errors import InvalidInput, InvalidState

if TYPE_CHECKING:
    from callbridge.adapters.telephony.media.conference import Conference
    from callbridge.adapters.telephony.media.engine import MediaEngine

log = structlog.get_logger(__name__)

_REWRITE = struct.Struct("!HII")
_RELATCH_AFTER_S = 0.5  # a new source address wins once the current one was quiet this long


class RtpSession:
    """One media stream: created by `MediaEngine.open_session()`, ended by `close()`."""

    def __init__(
        self,
        engine: MediaEngine,
        host: str,
        port: int,
        rtp: MediaSocket,
        rtcp: MediaSocket | None,
        codec: Codec,
        cname: str,
    ) -> None:
        self.engine = engine
        self.local_host = host
        self.local_port = port
        self._rtp = rtp
        self._rtcp = rtcp
        self.codec = codec
        self.telephone_event_pt: int | None = None
        self.ssrc = secrets.randbits(32)
        self.closed = False
        self._remote: Address | None = None
        self._remote_rtcp: Address | None = None
        self._rtcp_mux = False
        self._latched = False
        self._last_from_remote = 0.0
        # outgoing
        self._ts_base = secrets.randbits(32)
        self._out = OutgoingStream(self.ssrc, secrets.randbits(16), FRAME_SAMPLES)
        self._dtmf_out = DtmfSender(FRAME_SAMPLES)
        self._playback: Playback | None = None
        # incoming
        self._source: SourceReception | None = None
        self._epoch = 0  # +1 per new SSRC received, so a relaying peer re-anchors
        self._lost_before = 0  # loss of the sources before the current one
        self._sources = 0
        self._received = self._octets_received = self._malformed = self._dtmf_count = 0
        self._last_packet_at: float | None = None
        self._detector = DtmfDetector()
        self._dtmf_handler: Callable[[DtmfDigit], None] | None = None
        self._heard_handler: Callable[[Samples | None], None] | None = None
        self._jitter: JitterBuffer | None = None
        self._jitter_stats: JitterStats | None = None
        # bridging, mixing, recording
        self._peer: RtpSession | None = None
        self._generating = False  # a tick source is active: relayed packets are not forwarded
        self.conference: Conference | None = None
        self.mix_out: Samples | None = None  # set by the conference each tick
        self.heard: Samples | None = None  # this tick's decoded audio from the remote party
        self.said: Samples | None = None  # this tick's audio sent to the remote party
        self._recording: Recording | None = None
        self._rtcp_state = RtcpState(self.ssrc, cname)

    # ---- configuration -------------------------------------------------------------------

    def set_remote(
        self,
        host: str,
        port: int,
        payload_type: int = 0,
        telephone_event_pt: int | None = 101,
        rtcp_port: int | None = None,
        rtcp_mux: bool = False,
    ) -> None:
        """Where to send (from the remote SDP) and what: the codec and the event payload type.

        RTCP goes to `rtcp_port` (default: port + 1), or to the RTP port with `rtcp_mux`.
        Symmetric RTP may later move the address to where the remote's packets come from.
        """
        self._check_open()
        codec = codec_for_payload_type(payload_type)
        if codec is None:
            raise InvalidInput("only PCMU (0) and PCMA (8) are spoken", payload_type=payload_type)
        self.codec = codec
        self.telephone_event_pt = telephone_event_pt
        self._remote = (host, port)
        self._rtcp_mux = rtcp_mux
        self._remote_rtcp = (host, port if rtcp_mux else (rtcp_port or port + 1))
        self._latched = False
        self.engine.schedule_rtcp(self, first=True)

    @property
    def remote(self) -> Address | None:
        """Where RTP goes now (after latching, the address the remote sends from)."""
        return self._remote

    @property
    def local_rtcp_port(self) -> int:
        return self.local_port + 1

    def on_dtmf(self, handler: Callable[[DtmfDigit], None] | None) -> None:
        """Call `handler` once for each digit the remote party presses (None: stop)."""
        self._dtmf_handler = handler

    def on_heard(self, handler: Callable[[Samples | None], None] | None) -> None:
        """Call `handler` every tick (20 ms) with the remote party's decoded audio (None:
        nothing came), e.g. to detect speech (None: stop)."""
        self._heard_handler = handler
        self.engine.refresh(self)

    # ---- receiving -------------------------------------------------------------------------

    def _on_rtp(self, data: bytes, addr: Address) -> None:
        if len(data) < 12 or data[0] >> 6 != 2:
            self._malformed += 1
            return
        second = data[1]
        if 192 <= second <= 223:
            self._on_rtcp(data, addr)
            return
        payload_type = second & 0x7F
        is_event = payload_type == self.telephone_event_pt
        if not is_event and payload_type not in (0, 8):
            self._malformed += 1
            return
        now = time.monotonic()
        self._last_packet_at = now
        if addr != self._remote:
            self._maybe_latch(addr, now)
        if addr == self._remote:
            self._last_from_remote = now
        seq, timestamp, ssrc = _REWRITE.unpack_from(data, 2)
        source = self._source
        if source is None or ssrc != source.ssrc:
            source = self._new_source(ssrc, seq)
        source.update(seq, timestamp, None if is_event else now)
        self._received += 1
        self._octets_received += len(data) - 12
        if is_event:
            self._on_event(data, ssrc, timestamp, bool(second & 0x80), now)
        peer = self._peer
        if peer is not None and not peer._generating:
            peer._relay(data, payload_type, is_event, self._epoch)
        jitter = self._jitter
        if jitter is not None and not is_event:
            bounds = payload_bounds(data)
            if bounds is not None:
                jitter.put(seq, payload_type, data[bounds[0] : bounds[1]])

    def _maybe_latch(self, addr: Address, now: float) -> None:
        if not self._latched or now - self._last_from_remote > _RELATCH_AFTER_S:
            if self._remote is not None:
                log.debug("rtp_latched", port=self.local_port, was=self._remote, now=addr)
            self._remote = addr
            self._latched = True
            if self._rtcp_mux:
                self._remote_rtcp = addr

    def _new_source(self, ssrc: int, seq: int) -> SourceReception:
        if self._source is not None:
            self._lost_before += max(0, self._source.cumulative_lost)
        self._source = SourceReception(ssrc, seq)
        self._sources += 1
        self._epoch += 1
        if self._jitter is not None:
            self._jitter.reset()
        return self._source

    def _on_event(self, data: bytes, ssrc: int, timestamp: int, marker: bool, now: float) -> None:
        bounds = payload_bounds(data)
        if bounds is None:
            return
        digit = self._detector.feed(ssrc, timestamp, marker, data[bounds[0] : bounds[1]], now)
        if digit is None:
            return
        self._dtmf_count += 1
        handler = self._dtmf_handler
        if handler is not None:
            try:
                handler(digit)
            except Exception:
                log.exception("dtmf_handler_failed", port=self.local_port)

    def _on_rtcp(self, data: bytes, addr: Address) -> None:
        if self._remote_rtcp != addr and not self._rtcp_mux:
            self._remote_rtcp = addr  # symmetric RTCP
        try:
            packets = parse_compound(data)
        except MalformedPacket:
            self._malformed += 1
            return
        remote_ssrc = self._source.ssrc if self._source is not None else None
        self._rtcp_state.receive(packets, remote_ssrc, time.monotonic(), time.time())

    # ---- relaying --------------------------------------------------------------------------

    def connect(self, other: RtpSession) -> None:
        """Bridge both ways: what each remote sends is relayed to the other, undecoded.

        A playback or DTMF in progress on either side still has the floor until it ends (stop
        it first to bridge at once); a conference either side was in is left.
        """
        self._check_open()
        other._check_open()
        if other is self:
            raise InvalidState("a session cannot be bridged to itself")
        for session in (self, other):
            session.disconnect()
            if session.conference is not None:
                session.conference.remove(session)
        self._peer, other._peer = other, self
        self._out.restart()
        other._out.restart()
        self.engine.refresh(self)
        self.engine.refresh(other)

    def disconnect(self) -> None:
        """Undo `connect` (both directions); nothing if not bridged."""
        peer = self._peer
        if peer is None:
            return
        self._peer = peer._peer = None
        self.engine.refresh(self)
        self.engine.refresh(peer)

    @property
    def peer(self) -> RtpSession | None:
        return self._peer

    def _relay(self, data: bytes, payload_type: int, is_event: bool, epoch: int) -> None:
        """Forward one packet our peer received (from its source `epoch`) to our remote."""
        remote = self._remote
        if remote is None or self.closed:
            return
        translate = None
        if is_event:
            if self.telephone_event_pt is None:
                return  # the far end did not negotiate events; the digit was still reported
            out_type = self.telephone_event_pt
        else:
            out_type = self.codec.value
            if payload_type != out_type:  # PCMU <-> PCMA: decode and encode in one lookup
                translate = ULAW_TO_ALAW if payload_type == Codec.PCMU.value else ALAW_TO_ULAW
        self._rtp.sendto(
            self._out.relayed_packet(data, out_type, translate, epoch, self._media_now), remote
        )

    def _media_now(self) -> int:
        return self._media_timestamp(time.monotonic())

    def _media_timestamp(self, steady_now: float) -> int:
        clock = self.engine.clock
        started = clock.started_at if clock.started_at is not None else steady_now
        samples = int((steady_now - started) * 8000)
        return (self._ts_base + samples) & 0xFFFFFFFF

    # ---- generating (called by the engine's ticker) ----------------------------------------

    def play(self, source: AudioSource | Clip, *, loop: bool = False) -> Playback:
        """Play a clip (a prompt, looping music) or any `AudioSource`, replacing what plays.

        The returned `Playback` ends when the source does (True) or when stopped or replaced
        (False). While it plays, a bridged peer's audio is not forwarded to this party.
        """
        self._check_open()
        player = ClipPlayer(source, loop=loop) if isinstance(source, Clip) else source
        self.stop_playing()
        self._playback = Playback(self, player, asyncio.get_running_loop().create_future())
        self.engine.refresh(self)
        return self._playback

    def stop_playing(self) -> None:
        """Stop the current playback, if any (its `Playback` resolves to False)."""
        playback, self._playback = self._playback, None
        if playback is not None:
            playback.finish(completed=False)
            self._out.restart()
            self.engine.refresh(self)

    @property
    def playback(self) -> Playback | None:
        return self._playback

    def send_dtmf(
        self, digits: str, duration_ms: int = 100, gap_ms: int = 80
    ) -> asyncio.Future[None]:
        """Send digits as RFC 4733 events; the future resolves when the last one is out."""
        self._check_open()
        if self.telephone_event_pt is None:
            raise InvalidState("the remote did not negotiate telephone-event")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._dtmf_out.enqueue(digits, duration_ms, gap_ms, done)
        self.engine.refresh(self)
        return done

    @property
    def generating(self) -> bool:
        """Whether the ticker sends for this session (DTMF, playback or a conference mix)."""
        return self._dtmf_out.active() or self._playback is not None or self.conference is not None

    @property
    def decoding(self) -> bool:
        """Whether received audio goes through the jitter buffer (someone uses it decoded)."""
        peer = self._peer
        return (
            self._recording is not None
            or self.conference is not None
            or self._heard_handler is not None
            or (peer is not None and peer._recording is not None)
        )

    def update_mode(self) -> None:
        """Re-derive what the ticker must do for this session (the engine calls this)."""
        generating = self.generating
        if self._generating and not generating:
            self._out.restart()  # relaying resumes with fresh offsets and the marker bit
        self._generating = generating
        if self.decoding:
            if self._jitter is None:
                self._jitter = JitterBuffer(*self.engine.jitter_depths)
        elif self._jitter is not None:
            self._jitter_stats = self._jitter.stats()
            self._jitter = None
            self.heard = None

    def receive_tick(self) -> None:
        """Phase 1 of a tick: take this tick's frame out of the jitter buffer."""
        self.heard = self._jitter.next_frame(self.codec) if self._jitter is not None else None
        if self._heard_handler is not None:
            self._heard_handler(self.heard)

    def send_tick(self, tick: int) -> None:
        """Phase 3 of a tick: send what we generate, and note what the remote hears."""
        self.said = None
        if self.closed:
            return
        # Without a remote (not answered yet) playback still advances: time passes for it too.
        if self._dtmf_out.active():
            event = self._dtmf_out.next_frame(tick)
            if not self._dtmf_out.active():
                self.engine.refresh(self)
            if event is not None and self.telephone_event_pt is not None:
                ts = (self._ts_base + event.start_tick * FRAME_SAMPLES) & 0xFFFFFFFF
                self._send(self.telephone_event_pt, event.payload, ts, event.marker)
                return
        if self._playback is not None:
            frame = self._playback.source.read(self.codec)
            if frame is None:
                playback, self._playback = self._playback, None
                playback.finish(completed=True)
                self._out.restart()
                self.engine.refresh(self)
            else:
                self._send_audio(tick, frame.payload)
                self.said = frame.samples
                return
        if self.conference is not None and self.mix_out is not None:
            self._send_audio(tick, self.codec.encode(self.mix_out))
            self.said = self.mix_out
            return
        if self._peer is not None:
            self.said = self._peer.heard

    def record_tick(self) -> None:
        """Phase 4 of a tick: the recording gets (what the remote said, what it heard)."""
        recording = self._recording
        if recording is not None:
            recording.recorder.write(self.heard, self.said)

    def _send_audio(self, tick: int, payload: bytes) -> None:
        ts = (self._ts_base + tick * FRAME_SAMPLES) & 0xFFFFFFFF
        self._send(self.codec.value, payload, ts, self._out.take_marker())

    def _send(self, payload_type: int, payload: bytes, ts: int, marker: bool) -> None:
        remote = self._remote
        if remote is not None:
            self._rtp.sendto(self._out.generated(payload_type, payload, ts, marker), remote)

    # ---- recording -------------------------------------------------------------------------

    def record(self, path: Path) -> Recording:
        """Record this party's call to a stereo WAV: left what they said, right what they heard."""
        self._check_open()
        if self._recording is not None:
            raise InvalidState("already recording", path=str(self._recording.path))
        self._recording = Recording(self, Recorder(path))
        self.engine.refresh(self)
        if self._peer is not None:
            self.engine.refresh(self._peer)
        return self._recording

    def pause_recording(self) -> None:
        """Write silence instead of the call until `resume_recording()` (e.g. a card number)."""
        if self._recording is not None:
            self._recording.pause()

    def resume_recording(self) -> None:
        if self._recording is not None:
            self._recording.resume()

    def stop_recording(self) -> RecordingInfo | None:
        """Finish the recording; its path and duration, or None if none was running."""
        recording, self._recording = self._recording, None
        if recording is None:
            return None
        self.engine.refresh(self)
        if self._peer is not None:
            self.engine.refresh(self._peer)
        return recording.recorder.close()

    @property
    def recording(self) -> Recording | None:
        return self._recording

    # ---- RTCP, statistics, closing --------------------------------------------------------

    def send_rtcp(self, bye: bool = False) -> None:
        """Send a compound report now (the engine calls this every ~5 s)."""
        target = self._remote_rtcp
        transport = self._rtp if self._rtcp_mux or self._rtcp is None else self._rtcp
        if target is None or (self._remote is None and not bye):
            return
        counts = SenderCounts(
            self._out.packets, self._out.octets, self._media_timestamp(time.monotonic())
        )
        packets = self._rtcp_state.build(
            counts, self._source, time.monotonic(), time.time(), bye=bye
        )
        transport.sendto(build_compound(packets), target)

    def stats(self) -> RtpStats:
        source = self._source
        now = time.monotonic()
        jitter = self._jitter.stats() if self._jitter is not None else self._jitter_stats
        return RtpStats(
            local_port=self.local_port,
            remote=self._remote,
            codec=self.codec,
            packets_sent=self._out.packets,
            octets_sent=self._out.octets,
            packets_relayed=self._out.relayed,
            packets_received=self._received,
            octets_received=self._octets_received,
            silent_for_s=None if self._last_packet_at is None else now - self._last_packet_at,
            packets_lost=self._lost_before + (max(0, source.cumulative_lost) if source else 0),
            jitter_ms=source.jitter / 8.0 if source else 0.0,
            sources=self._sources,
            malformed=self._malformed,
            dtmf_received=self._dtmf_count,
            jitter_buffer=jitter,
            rtcp_sent=self._rtcp_state.sent,
            rtcp_received=self._rtcp_state.received,
            remote_report=self._rtcp_state.remote_report,
            remote_bye=self._rtcp_state.remote_bye,
        )

    def close(self) -> RecordingInfo | None:
        """Stop everything, send RTCP BYE, release the ports; returns the recording's info."""
        if self.closed:
            return None
        info = self.stop_recording()
        self.stop_playing()
        self._dtmf_out.cancel()
        if self.conference is not None:
            self.conference.remove(self)
        self.disconnect()
        if self._remote is not None:
            self.send_rtcp(bye=True)
        self.closed = True
        self._rtp.close()
        if self._rtcp is not None:
            self._rtcp.close()
        self.engine.forget(self)
        return info

    def _check_open(self) -> None:
        if self.closed:
            raise InvalidState("the media session is closed", port=self.local_port)

    def __repr__(self) -> str:
        return f"<RtpSession {self.local_host}:{self.local_port} -> {self._remote}>"
