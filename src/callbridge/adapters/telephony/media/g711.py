"""G.711 (PCMU and PCMA) by lookup tables built once with numpy.

The algorithms follow the ITU-T G.191 software tools' reference (`ulaw_compress`,
`alaw_compress` and their expanders): input is 16-bit linear PCM, negative values take the
one's complement before quantising (so tiny negatives round towards zero, as the reference does).
Decoding is a 256-entry table indexed by the codeword; encoding is a 65,536-entry table indexed by
the sample's 16 bits, so a 160-sample frame costs one `numpy.take` each way.

mu-law has two codewords for zero (0xFF and 0x7F); both decode to 0 and 0 encodes to 0xFF, so
0x7F is the one codeword whose decode-then-encode does not return itself. A-law has no zero.
"""

from __future__ import annotations

import enum
from typing import Final

import numpy as np
from numpy.typing import NDArray

Samples = NDArray[np.int16]


def _bit_length(values: NDArray[np.int32]) -> NDArray[np.int32]:
    """`int.bit_length` for each element of a non-negative array below 2**15."""
    result = np.zeros_like(values)
    for bit in range(15):
        result += (values >= (1 << bit)).astype(np.int32)
    return result


def _all_int16() -> NDArray[np.int32]:
    """Every 16-bit sample, ordered by its bits read as unsigned (the encode tables' index)."""
    return np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)


def _ulaw_decode_table() -> NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32)
    inverted = ~code & 0xFF
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    step = 4 << (exponent + 1)
    magnitude = (0x80 << exponent) + step * mantissa + step // 2 - 4 * 33
    return np.where(code < 0x80, -magnitude, magnitude).astype(np.int16)


def _ulaw_encode_table() -> NDArray[np.uint8]:
    x = _all_int16()
    absno = np.where(x < 0, (~x) >> 2, x >> 2) + 33
    absno = np.minimum(absno, 0x1FFF)
    segment = 1 + _bit_length(absno >> 6)
    high = 8 - segment
    low = 0x0F - ((absno >> segment) & 0x0F)
    code = (high << 4) | low
    signed: NDArray[np.int32] = np.where(x >= 0, code | 0x80, code)
    return signed.astype(np.uint8)


def _alaw_decode_table() -> NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32)
    ix = (code ^ 0x55) & 0x7F
    exponent = ix >> 4
    mantissa = ix & 0x0F
    mantissa = np.where(exponent > 0, mantissa + 16, mantissa)
    mantissa = (mantissa << 4) + 0x08
    mantissa = np.where(exponent > 1, mantissa << np.maximum(exponent - 1, 0), mantissa)
    return np.where(code > 127, mantissa, -mantissa).astype(np.int16)


def _alaw_encode_table() -> NDArray[np.uint8]:
    x = _all_int16()
    ix = np.where(x < 0, ~x, x) >> 4  # 0..2047
    exponent = _bit_length(ix >> 4)  # 0..7
    mantissa = np.where(exponent == 0, ix, (ix >> np.maximum(exponent - 1, 0)) & 0x0F)
    code = (exponent << 4) | mantissa
    code = np.where(x >= 0, code | 0x80, code)
    return (code ^ 0x55).astype(np.uint8)


ULAW_DECODE: Final = _ulaw_decode_table()
ULAW_ENCODE: Final = _ulaw_encode_table()
ALAW_DECODE: Final = _alaw_decode_table()
ALAW_ENCODE: Final = _alaw_encode_table()

# Codeword-to-codeword tables for `bytes.translate`: decode in one law, encode in the other.
ULAW_TO_ALAW: Final[bytes] = ALAW_ENCODE[ULAW_DECODE.astype(np.int32) & 0xFFFF].tobytes()
ALAW_TO_ULAW: Final[bytes] = ULAW_ENCODE[ALAW_DECODE.astype(np.int32) & 0xFFFF].tobytes()


class Codec(enum.Enum):
    """The audio codecs a session can speak, valued by their static RTP payload type."""

    PCMU = 0
    PCMA = 8

    @property
    def payload_type(self) -> int:
        return self.value

    @property
    def silence(self) -> int:
        """The codeword of silence (a byte), for padding payloads."""
        return 0xFF if self is Codec.PCMU else 0xD5

    def decode(self, payload: bytes) -> Samples:
        """Codewords to 16-bit linear samples (one sample per byte)."""
        table = ULAW_DECODE if self is Codec.PCMU else ALAW_DECODE
        return table[np.frombuffer(payload, dtype=np.uint8)]

    def encode(self, samples: Samples) -> bytes:
        """16-bit linear samples to codewords."""
        table = ULAW_ENCODE if self is Codec.PCMU else ALAW_ENCODE
        return table[np.asarray(samples, dtype=np.int16).view(np.uint16)].tobytes()

    def translation_to(self, other: Codec) -> bytes | None:
        """A `bytes.translate` table from this codec's payload to `other`'s; None if equal."""
        if self is other:
            return None
        return ULAW_TO_ALAW if self is Codec.PCMU else ALAW_TO_ULAW


def codec_for_payload_type(payload_type: int) -> Codec | None:
    """The codec of a static payload type, or None when it is not G.711."""
    try:
        return Codec(payload_type)
    except ValueError:
        return None
