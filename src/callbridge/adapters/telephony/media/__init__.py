"""The media plane: RTP/RTCP on asyncio, G.711, RFC 4733 DTMF, prompts, recording, mixing.

One `MediaEngine` per process owns the media clock (a single 20 ms ticker task on absolute
deadlines) and opens `RtpSession`s, each a UDP socket pair on the configured address with ports
from a range. The call layer (the B2BUA) drives sessions with SDP it negotiated:

    from callbridge.adapters.telephony.media import (
        NOBODY, MediaEngine, SpeechSynthesizer, hold_music, install_event_loop,
    )

    install_event_loop()                        # uvloop when installed, else asyncio
    speech = SpeechSynthesizer(cache_dir)       # espeak-ng, each sentence generated once
    async with MediaEngine("127.0.0.1", (20000, 29999)) as engine:
        customer = await engine.open_session()  # customer.local_port goes in our SDP
        customer.set_remote("198.51.100.7", 4000, payload_type=0, telephone_event_pt=101)
        customer.on_dtmf(lambda d: print("pressed", d.digit))
        await customer.play(await speech.clip("Welcome to Callbridge")).wait()
        customer.play(hold_music(cache_dir), loop=True)  # while the call waits

        agent = await engine.open_session()
        agent.set_remote("192.0.2.10", 5004, payload_type=8)  # the phone answered PCMA
        customer.stop_playing()
        customer.connect(agent)                 # relay both ways; PCMU<->PCMA by table
        recording = customer.record(path)       # left: customer, right: what they heard
        recording.pause(); recording.resume()   # while a card number is read out
        await agent.send_dtmf("123#")           # RFC 4733 towards the agent's phone

        conference = engine.conference()        # three-way call, supervision
        for party in (customer, agent):
            conference.add(party)
        conference.add(supervisor, heard_by=NOBODY)  # listen
        conference.whisper(supervisor, to=agent)     # coach
        conference.barge(supervisor)                 # join

        print(customer.stats())                 # packets, loss, jitter, RTCP from the far end
        info = customer.close()                 # RTCP BYE; the recording's path and duration

The engine can also run inside a task group: `tg.start_soon(engine.run)`; cancelling it closes
every session. What is decided and why: docs/design/media.md.
"""

from callbridge.adapters.telephony.media.audio import AudioSource, Clip, ClipPlayer, MediaFrame
from callbridge.adapters.telephony.media.clock import LagStats, MediaClock
from callbridge.adapters.telephony.media.conference import NOBODY, Audience, Conference
from callbridge.adapters.telephony.media.dtmf import DtmfDigit
from callbridge.adapters.telephony.media.engine import MediaEngine, MediaPortsExhausted
from callbridge.adapters.telephony.media.g711 import Codec
from callbridge.adapters.telephony.media.handles import Playback, Recording
from callbridge.adapters.telephony.media.hold import hold_music
from callbridge.adapters.telephony.media.jitter import JitterStats
from callbridge.adapters.telephony.media.loop import install_event_loop, loop_factory
from callbridge.adapters.telephony.media.mixer import EVERYONE
from callbridge.adapters.telephony.media.recorder import RecordingInfo
from callbridge.adapters.telephony.media.reports import RemoteReport
from callbridge.adapters.telephony.media.session import RtpSession
from callbridge.adapters.telephony.media.speech import SpeechFailed, SpeechSynthesizer
from callbridge.adapters.telephony.media.stats import RtpStats
from callbridge.adapters.telephony.media.wav import UnsupportedAudio

__all__ = [
    "EVERYONE",
    "NOBODY",
    "Audience",
    "AudioSource",
    "Clip",
    "ClipPlayer",
    "Codec",
    "Conference",
    "DtmfDigit",
    "JitterStats",
    "LagStats",
    "MediaClock",
    "MediaEngine",
    "MediaFrame",
    "MediaPortsExhausted",
    "Playback",
    "Recording",
    "RecordingInfo",
    "RemoteReport",
    "RtpSession",
    "RtpStats",
    "SpeechFailed",
    "SpeechSynthesizer",
    "UnsupportedAudio",
    "hold_music",
    "install_event_loop",
    "loop_factory",
]
