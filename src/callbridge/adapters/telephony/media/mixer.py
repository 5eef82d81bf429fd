"""Mixing for conferences and supervision: each participant hears the others it may hear.

`mix` is the arithmetic: with the frames of N participants as an (N, 160) matrix X and a boolean
matrix H where H[i, j] says "i hears j" (never itself), participant i's output is row i of H @ X,
saturated to int16. Everyone hearing everyone is plain N-1 mixing; a supervisor who only listens
is a column of False (nobody hears them); whispering to the agent is a column with one True;
barging is a full column.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Sequence
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from callbridge.adapters.telephony.media.g711 import Samples


class Everyone(enum.Enum):
    """The audience of a participant everybody hears (the default)."""

    EVERYONE = "everyone"


EVERYONE = Everyone.EVERYONE
Key = TypeVar("Key", bound=Hashable)


def mix(frames: NDArray[np.int16], hears: NDArray[np.bool_]) -> NDArray[np.int16]:
    """Row i of the result is the sum of the frames row i hears, clipped to int16."""
    n = frames.shape[0]
    matrix = hears.astype(np.int32)
    np.fill_diagonal(matrix, 0)
    summed = matrix @ frames.astype(np.int32) if n else np.zeros_like(frames, dtype=np.int32)
    return np.clip(summed, -32768, 32767).astype(np.int16)


def hearing_matrix(
    participants: Sequence[Key], heard_by: Sequence[Everyone | frozenset[Key]]
) -> NDArray[np.bool_]:
    """H[i, j]: does participant i hear participant j, given who hears each j."""
    n = len(participants)
    matrix = np.zeros((n, n), dtype=np.bool_)
    for j, audience in enumerate(heard_by):
        for i, listener in enumerate(participants):
            matrix[i, j] = i != j and (audience is EVERYONE or listener in audience)
    return matrix


def mix_frames(
    frames: Sequence[Samples | None], hears: NDArray[np.bool_], samples: int = 160
) -> NDArray[np.int16]:
    """`mix` over per-participant frames where None means silence."""
    stacked = np.zeros((len(frames), samples), dtype=np.int16)
    for row, frame in enumerate(frames):
        if frame is not None:
            stacked[row] = frame
    return mix(stacked, hears)
