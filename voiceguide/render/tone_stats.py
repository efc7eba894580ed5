"""Each tone's per-millisecond stats (``dsp.clips.chunk_stats``), kept for the process and on disk.

A routine repeats the same few tones. Working out a tone's stats costs a few milliseconds,
which a cold start would otherwise spend before its first sound, so they are stored beside
the speech cache (``<cache>/tones``, see ``voiceguide.render.entries``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from voiceguide import tones
from voiceguide.dsp.clips import chunk_energies, chunk_stats
from voiceguide.dsp.samples import Samples
from voiceguide.render.entries import entry_path, load, save
from voiceguide.render.level import MIX_VERSION
from voiceguide.storage import BadEntry
from voiceguide.units import FRAMES_PER_MS


def _path_and_context(name: str, frames: int) -> tuple[Path, bytes]:
    path = entry_path("tones", f"{name}-{frames}-{MIX_VERSION}.stats")
    return path, path.name.encode()


def _stored(name: str, frames: int) -> Samples | None:
    """A tone's stats from the cache, verified: its digest, then finite, positive numbers
    of the right shape; None if missing or bad."""
    chunks = -(-frames // FRAMES_PER_MS)

    def parse(payload: bytes) -> Samples:
        if len(payload) != 8 * chunks:
            raise BadEntry("not the size of this tone's stats")
        stats = np.frombuffer(payload, dtype="<f4").reshape(2, chunks).astype(np.float32)
        if not np.isfinite(stats).all() or float(stats.min(initial=0.0)) < 0.0:
            raise BadEntry("its stats are not all finite, positive numbers")
        stats.flags.writeable = False
        return stats

    return load(*_path_and_context(name, frames), parse, "tone stats")


@functools.lru_cache(maxsize=64)
def tone_stats(name: str, frames: int) -> Samples:
    """``dsp.clips.chunk_stats`` of a tone: stored, else worked out and stored."""
    stored = _stored(name, frames)
    if stored is not None:
        return stored
    stats = chunk_stats(tones.tone(name, frames)).astype(np.float32)
    stats.flags.writeable = False
    save(*_path_and_context(name, frames), np.ascontiguousarray(stats, "<f4").tobytes())
    return stats


@functools.lru_cache(maxsize=64)
def rough_tone_stats(name: str, frames: int) -> Samples:
    """For an estimate: ``tone_stats`` if stored, else a quicker stand-in with the exact
    energies and each millisecond's sample peak (tones are smooth: their true peak is
    within a few hundredths of a dB of it)."""
    stored = _stored(name, frames)
    if stored is not None:
        return stored
    samples = tones.tone(name, frames)
    chunks = -(-frames // FRAMES_PER_MS)
    padded = np.pad(np.abs(samples), (0, chunks * FRAMES_PER_MS - frames))
    peaks = padded.reshape(chunks, FRAMES_PER_MS).max(axis=1)
    stats = np.stack([peaks, chunk_energies(samples)]).astype(np.float32)
    stats.flags.writeable = False
    return stats
