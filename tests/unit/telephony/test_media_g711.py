"""G.711 tables against the ITU reference values and algorithms."""

from __future__ import annotations

import numpy as np
import pytest
from media_support import speech_like

from callbridge.adapters.telephony.media.g711 import (
    ALAW_DECODE,
    ALAW_ENCODE,
    ULAW_DECODE,
    ULAW_ENCODE,
    Codec,
)

# Codewords and their linear values from the G.711 tables (16-bit scale as in G.191).
ULAW_KNOWN = {0xFF: 0, 0x7F: 0, 0x00: -32124, 0x80: 32124, 0xFE: 8, 0x7E: -8, 0xF0: 120, 0xEF: 132}
ALAW_KNOWN = {0xD5: 8, 0x55: -8, 0xAA: 32256, 0x2A: -32256, 0xD4: 24, 0x80: 5504}


def ulaw_compress_reference(sample: int) -> int:
    """ITU-T G.191 ulaw_compress, one sample, written as the recommendation's loop."""
    absno = ((~sample) >> 2) + 33 if sample < 0 else (sample >> 2) + 33
    absno = min(absno, 0x1FFF)
    i = absno >> 6
    segno = 1
    while i != 0:
        segno += 1
        i >>= 1
    high = 0x08 - segno
    low = 0x0F - ((absno >> segno) & 0x0F)
    out = (high << 4) | low
    return out | 0x80 if sample >= 0 else out


def alaw_compress_reference(sample: int) -> int:
    """ITU-T G.191 alaw_compress, one sample."""
    ix = (~sample) >> 4 if sample < 0 else sample >> 4
    if ix > 15:
        iexp = 1
        while ix > 16 + 15:
            ix >>= 1
            iexp += 1
        ix -= 16
        ix += iexp << 4
    if sample >= 0:
        ix |= 0x80
    return ix ^ 0x55


@pytest.mark.parametrize(("code", "value"), ULAW_KNOWN.items())
def test_ulaw_known_codewords_decode(code: int, value: int) -> None:
    assert ULAW_DECODE[code] == value


@pytest.mark.parametrize(("code", "value"), ALAW_KNOWN.items())
def test_alaw_known_codewords_decode(code: int, value: int) -> None:
    assert ALAW_DECODE[code] == value


def test_known_values_encode_back() -> None:
    assert Codec.PCMU.encode(np.array([0, -32124, 32124, 32767, -32768], dtype=np.int16)) == bytes(
        [0xFF, 0x00, 0x80, 0x80, 0x00]
    )
    assert Codec.PCMA.encode(np.array([0, 8, -8, 32767, -32768], dtype=np.int16)) == bytes(
        [0xD5, 0xD5, 0x55, 0xAA, 0x2A]
    )


def test_encode_tables_match_the_reference_for_every_sample() -> None:
    samples = range(-32768, 32768)
    ulaw = np.array([ulaw_compress_reference(s) for s in samples], dtype=np.uint8)
    alaw = np.array([alaw_compress_reference(s) for s in samples], dtype=np.uint8)
    index = np.arange(-32768, 32768, dtype=np.int16).view(np.uint16)
    assert np.array_equal(ULAW_ENCODE[index], ulaw)
    assert np.array_equal(ALAW_ENCODE[index], alaw)


def test_decode_then_encode_is_identity_for_every_code() -> None:
    codes = np.arange(256, dtype=np.uint8).tobytes()
    assert Codec.PCMA.encode(Codec.PCMA.decode(codes)) == codes
    # mu-law has two zeros: 0x7F (negative zero) comes back as 0xFF; every other code is itself.
    expected = bytes(0xFF if c == 0x7F else c for c in range(256))
    assert Codec.PCMU.encode(Codec.PCMU.decode(codes)) == expected


def test_levels_rise_with_the_codeword() -> None:
    # mu-law's positive codewords run 0xFF (zero) down to 0x80 (largest); A-law has 256 levels.
    assert np.all(np.diff(ULAW_DECODE[0xFF:0x7F:-1].astype(np.int32)) > 0)
    assert len(np.unique(ALAW_DECODE)) == 256


@pytest.mark.parametrize("codec", list(Codec))
def test_speech_round_trip_is_within_one_code(codec: Codec) -> None:
    speech = speech_like(2.0)
    decoded = codec.decode(codec.encode(speech))
    table = ULAW_DECODE if codec is Codec.PCMU else ALAW_DECODE
    levels = np.unique(table.astype(np.int32))
    # The quantiser step around each sample: the gap between the levels either side of it.
    position = np.clip(np.searchsorted(levels, speech.astype(np.int32)), 1, len(levels) - 1)
    step = levels[position] - levels[position - 1]
    assert np.all(np.abs(decoded.astype(np.int32) - speech) <= step)
    assert np.corrcoef(decoded, speech)[0, 1] > 0.999


def test_transcoding_tables_are_decode_then_encode() -> None:
    codes = bytes(range(256))
    to_alaw = Codec.PCMU.translation_to(Codec.PCMA)
    to_ulaw = Codec.PCMA.translation_to(Codec.PCMU)
    assert to_alaw is not None and to_ulaw is not None
    assert codes.translate(to_alaw) == Codec.PCMA.encode(Codec.PCMU.decode(codes))
    assert codes.translate(to_ulaw) == Codec.PCMU.encode(Codec.PCMA.decode(codes))
    assert Codec.PCMU.translation_to(Codec.PCMU) is None


def test_a_frame_encodes_in_one_vectorised_lookup() -> None:
    frame = speech_like(0.02)
    assert len(frame) == 160
    encoded = Codec.PCMU.encode(frame)
    assert len(encoded) == 160
    assert np.array_equal(Codec.PCMU.decode(encoded), ULAW_DECODE[np.frombuffer(encoded, np.uint8)])
