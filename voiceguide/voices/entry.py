"""The speech cache's entry format: one checked file per clip, ``<key>.clip``.

An entry (``voiceguide.storage``: a header with the payload's CRC-32, then the payload)
holds the clip's frame count, its samples (float32, mono, SAMPLE_RATE, after
``dsp.clips.prepare_clip``: resampled, the engine's silence trimmed, loudness normalised, peaks
limited) and its true peak and K-weighted energy per millisecond (``dsp.clips.chunk_stats``:
what the mix's limiter and loudness analysis work from). Clip and stats are published
together by one rename, so no reader ever pairs a clip with another synthesis's stats.

A warm lookup reads only the header (``entry_frames``), without numpy. Loading a clip
reads it whole and verifies it (``read_entry``): its digest, then that its samples are
finite and within [-1, 1] and its stats fit the samples.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide import storage as store
from voiceguide.units import FRAMES_PER_MS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float32]

SUFFIX = ".clip"
_FRAMES = struct.Struct("<Q")


def _payload_length(frames: int) -> int:
    return _FRAMES.size + 4 * frames + 8 * -(-frames // FRAMES_PER_MS)


def entry_frames(path: Path) -> int | None:
    """The frame count of a whole clip entry, from its header alone (one small read).

    None if the file is missing, not a clip entry, or not the size its header says (a
    torn write): the caller then synthesises the clip again.
    """
    found = store.peek(path, _FRAMES.size)
    if found is None:
        return None
    length, prefix = found
    (frames,) = _FRAMES.unpack(prefix)
    return frames if frames > 0 and length == _payload_length(frames) else None


def write_entry(path: Path, key: str, samples: Samples, stats: Samples) -> None:
    """Store a clip and its stats together as one checked file (OSError on failure)."""
    import numpy as np

    clip = np.ascontiguousarray(samples, dtype="<f4")
    table = np.ascontiguousarray(stats, dtype="<f4")
    payload: list[bytes | memoryview] = [_FRAMES.pack(clip.size), clip.tobytes(), table.tobytes()]
    store.write(path, key.encode(), payload)


def read_entry(path: Path, key: str) -> tuple[Samples, Samples]:
    """A clip's samples and stats, verified (``check_entry``); BadEntry says what is wrong."""
    import numpy as np

    payload = store.read(path, key.encode())
    if len(payload) < _FRAMES.size:
        raise store.BadEntry("cut short")
    (frames,) = _FRAMES.unpack_from(payload)
    if frames <= 0 or len(payload) != _payload_length(frames):
        raise store.BadEntry("not the size of a clip")
    data = np.frombuffer(payload, dtype="<f4", offset=_FRAMES.size)  # read-only views
    samples, stats = data[:frames], data[frames:].reshape(2, -1)
    check_entry(samples, stats)
    return samples, stats


def check_entry(samples: Samples, stats: Samples) -> None:
    """Raise BadEntry unless ``stats`` can be the ``dsp.clips.chunk_stats`` of ``samples`` and the
    samples are a prepared clip's: finite and within [-1, 1]; stats of the right shape,
    finite and not negative, each millisecond's peak at least its samples' own."""
    import numpy as np

    chunks = -(-samples.size // FRAMES_PER_MS)
    if samples.size == 0 or stats.shape != (2, chunks):
        raise store.BadEntry("its stats do not fit the clip's length")
    magnitude = np.abs(samples)
    top = float(magnitude.max())
    if not math.isfinite(top):
        raise store.BadEntry("its samples are not all finite numbers")
    if top > 1.0:
        raise store.BadEntry("its samples go beyond full scale")
    # Energies are sums of squares, stored as float32: at most a rounding below zero.
    if not np.isfinite(stats).all() or float(stats.min()) < -1e-9:
        raise store.BadEntry("its stats are not all finite, positive numbers")
    floor = np.repeat(stats[0] * np.float32(1.0001), FRAMES_PER_MS)[: samples.size]
    if (magnitude > floor).any():
        raise store.BadEntry("its stats put peaks below the clip's own samples")
