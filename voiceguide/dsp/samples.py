"""Mono sample arrays: their types, the mono check, and the one conversion to 16-bit PCM.

Every signal module takes float32 mono arrays; ``as_mono`` is the single place that checks
the shape. ``to_pcm16`` is the one float-to-int16 convention, for files and for the player's
subprocess outputs alike: symmetric (scaled by 32767, so +1 and -1 map to +32767 and -32767),
clipped and rounded to the nearest integer.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

PCM16_FULL_SCALE = 32767.0
"""The int16 value of a sample at 1.0 (and minus it at -1.0)."""


def as_mono(samples: npt.ArrayLike) -> Samples:
    """``samples`` as a float32 array (a view when it already is one), or a ValueError
    unless it is one-dimensional."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples (a 1-D array), got shape {x.shape}")
    return x


def to_pcm16(block: Samples) -> npt.NDArray[np.int16]:
    """Float samples in [-1, 1] to 16-bit PCM: scaled by 32767, clipped, rounded."""
    scaled = np.multiply(block, np.float32(PCM16_FULL_SCALE), dtype=np.float32)
    np.clip(scaled, -PCM16_FULL_SCALE, PCM16_FULL_SCALE, out=scaled)
    np.rint(scaled, out=scaled)
    return scaled.astype(np.int16)
