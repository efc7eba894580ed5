"""The music beds of a timeline in the mix: samples and stats block by block, from the file.

Each bed (``timeline.MusicBed``) plays its file from ``offset_ms`` on, set to its level
under the voice (the file's integrated loudness measured once, SPEECH_LUFS + ``level_db``),
faded in and out (raised cosine). Past the file's end it loops: the last LOOP_XFADE_MS of the
file cross-fade (equal power) into its start, so a loop never clicks; a file longer than
its bed is cut off by the fade out. The mixer adds the beds to the tone bed, so speech ducks
them as it ducks the tones.

The stats the mix's loudness is worked out from (true peak and K-weighted energy per
millisecond, as for clips and tones) are measured once per file content and kept in the
cache (``<cache>/music/<sha256>-<MIX_VERSION>.stats``, streamed to disk and read back by
the millisecond range), so a file of an hour costs no memory, only one pass the first time.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from voiceguide import storage
from voiceguide.dsp.clips import SPEECH_LUFS
from voiceguide.dsp.music import MusicFile, measure
from voiceguide.dsp.samples import Samples
from voiceguide.render.entries import entry_path, load, save
from voiceguide.render.level import MIX_VERSION
from voiceguide.storage import BadEntry
from voiceguide.timeline import MusicBed, Timeline
from voiceguide.units import FRAMES_PER_MS, ms_to_frames

LOOP_XFADE_MS = 100
_F = FRAMES_PER_MS


class Source:
    """A music file with its stats: ``chunks`` whole milliseconds, its loudness, and its
    looping (the period and the crossfade, in milliseconds)."""

    def __init__(self, path: str, sha256: str) -> None:
        self.file = MusicFile(path)
        self.chunks = self.file.frames // _F
        self.xfade = min(LOOP_XFADE_MS, self.chunks // 4)
        self.lufs, self._stats_file, self._stats = _stats(path, sha256, self.chunks)

    def gain(self, level_db: float) -> float:
        """The gain that sets the file ``level_db`` under (or over) the voice."""
        if not math.isfinite(self.lufs):
            return 0.0
        return float(10 ** ((SPEECH_LUFS + level_db - self.lufs) / 20))

    def stats(self, c0: int, c1: int) -> Samples:
        """The file's stats (peaks, energies) for its milliseconds [c0, c1)."""
        if self._stats is not None:
            return self._stats[:, c0:c1]
        f = self._stats_file
        assert f is not None
        f.seek(8 * c0)
        raw = np.frombuffer(f.read(8 * (c1 - c0)), dtype="<f4").reshape(-1, 2)
        return np.nan_to_num(raw.T.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)

    def close(self) -> None:
        self.file.close()
        if self._stats_file is not None:
            self._stats_file.close()


def _stats(path: str, sha256: str, chunks: int) -> tuple[float, BinaryIO | None, Samples | None]:
    """The file's loudness and its stats (an open cache file, or in memory if the cache
    cannot keep them), measured now unless the cache has them."""
    stats_path = entry_path("music", f"{sha256}-{MIX_VERSION}.stats")
    info_path = stats_path.with_suffix(".lufs")

    def parse(payload: bytes) -> float:
        try:
            info = json.loads(payload)
            lufs, size = float(info["lufs"]), int(info["chunks"])
        except (ValueError, TypeError, KeyError) as error:
            raise BadEntry(f"not a music loudness ({error})") from None
        if size != chunks or math.isnan(lufs):
            raise BadEntry("not this file's")
        return lufs

    lufs = load(info_path, sha256.encode(), parse, "music loudness")
    if lufs is not None:
        with contextlib.suppress(OSError):
            f = open(stats_path, "rb")  # noqa: SIM115 - kept open while the bed plays
            if Path(stats_path).stat().st_size == 8 * chunks:
                return lufs, f, None
            f.close()
    blocks, loudness = measure(MusicFile(path))
    try:
        stats_path.parent.mkdir(parents=True, exist_ok=True)
        storage.replace(stats_path, (_interleaved(p, e) for p, e in blocks))
    except OSError:  # no cache to keep them in: measured again, into memory
        blocks, loudness = measure(MusicFile(path))
        rows = list(blocks)
        stats = np.concatenate([np.stack(r) for r in rows], axis=1) if rows else None
        return loudness[0], None, stats if stats is not None else np.zeros((2, 0), np.float32)
    save(info_path, sha256.encode(), json.dumps({"lufs": loudness[0], "chunks": chunks}).encode())
    return loudness[0], open(stats_path, "rb"), None  # noqa: SIM115


def _interleaved(peaks: Samples, energies: Samples) -> bytes:
    return np.ascontiguousarray(np.stack([peaks, energies], axis=1), "<f4").tobytes()


def _runs(p0: int, n: int, length: int, xfade: int) -> Iterator[tuple[int, int, int, bool]]:
    """The looped file's positions [p0, p0 + n), in runs ``(i, count, j, crossfading)``:
    ``count`` positions from output ``i`` are the file's from ``j`` on, or (crossfading)
    the file's end from ``length - xfade + j`` fading out over its start from ``j``.

    The first pass plays the file to ``length - xfade``; every pass after it starts with
    the crossfade and is ``length - xfade`` long.
    """
    body = length - xfade
    i, p = 0, p0
    while i < n:
        if p < body:
            j, count, fading = p, min(n - i, body - p), False
        else:
            j = (p - body) % body
            fading = j < xfade
            count = min(n - i, (xfade if fading else body) - j)
        yield i, count, j, fading
        i += count
        p += count


class MusicMix:
    """The music beds of ``timeline``, for the mixer: ``samples`` and ``stats`` of a block."""

    def __init__(self, timeline: Timeline) -> None:
        self.beds = sorted(timeline.music, key=lambda b: b.start_ms)
        self._sources: dict[str, Source] = {}

    def __bool__(self) -> bool:
        return bool(self.beds)

    def _source(self, bed: MusicBed) -> Source:
        source = self._sources.get(bed.sha256)
        if source is None:
            source = self._sources[bed.sha256] = Source(bed.file, bed.sha256)
        return source

    def _sounding(self, b0: int, b1: int) -> Iterator[tuple[MusicBed, Source, int, int]]:
        """The beds over frames [b0, b1), each with its source and frames [lo, hi) in it."""
        for bed in self.beds:
            lo, hi = max(b0, ms_to_frames(bed.start_ms)), min(b1, ms_to_frames(bed.end_ms))
            if lo < hi:
                source = self._source(bed)
                if source.chunks > 0 and source.gain(bed.level_db) > 0:
                    yield bed, source, lo, hi

    def samples(self, b0: int, b1: int) -> Samples | None:
        """The beds' samples over frames [b0, b1), at their levels and fades; None if none."""
        out: Samples | None = None
        for bed, source, lo, hi in self._sounding(b0, b1):
            out = np.zeros(b1 - b0, dtype=np.float32) if out is None else out
            xfade = source.xfade * _F
            up, down = _xfade_weights(xfade)
            p0 = ms_to_frames(bed.offset_ms) + lo - ms_to_frames(bed.start_ms)
            piece = np.empty(hi - lo, dtype=np.float32)
            length = source.chunks * _F
            for i, count, j, fading in _runs(p0, hi - lo, length, xfade):
                head = source.file.read(j, j + count)
                if fading:
                    tail = source.file.read(length - xfade + j, length - xfade + j + count)
                    head = tail * down[j : j + count] + head * up[j : j + count]
                piece[i : i + count] = head
            piece *= _envelope(bed, lo, hi) * np.float32(source.gain(bed.level_db))
            out[lo - b0 : hi - b0] += piece
        return out

    def stats(self, b0: int, b1: int) -> Samples | None:
        """The beds' (peaks, energies) per millisecond of frames [b0, b1) (whole ms), as
        their samples would give them: the file's stats, looped, faded and at level."""
        out: Samples | None = None
        for bed, source, lo, hi in self._sounding(b0, b1):
            if out is None:
                out = np.zeros((2, (b1 - b0) // _F), dtype=np.float32)
            c0, c1 = lo // _F, -(-hi // _F)
            up, down = _xfade_weights(source.xfade * _F)
            up_c, down_c = _per_chunk(up), _per_chunk(down)
            p0 = bed.offset_ms + c0 - bed.start_ms
            piece = np.empty((2, c1 - c0), dtype=np.float32)
            for i, count, j, fading in _runs(p0, c1 - c0, source.chunks, source.xfade):
                head = source.stats(j, j + count)
                if fading:
                    t0 = source.chunks - source.xfade + j
                    tail = source.stats(t0, t0 + count)
                    head = tail * down_c[:, j : j + count] + head * up_c[:, j : j + count]
                piece[:, i : i + count] = head
            env = _per_chunk(_envelope(bed, c0 * _F, c1 * _F))
            g = np.float32(source.gain(bed.level_db))
            out[0, c0 - b0 // _F : c1 - b0 // _F] += piece[0] * env[0] * g
            out[1, c0 - b0 // _F : c1 - b0 // _F] += piece[1] * env[1] * g * g
        return out

    def close(self) -> None:
        for source in self._sources.values():
            source.close()
        self._sources.clear()


def _xfade_weights(frames: int) -> tuple[Samples, Samples]:
    """The loop's equal-power crossfade over ``frames``: the start's rising weight and the
    end's falling one."""
    w = (np.arange(frames, dtype=np.float64) + 0.5) / max(frames, 1) * (math.pi / 2)
    return np.sin(w).astype(np.float32), np.cos(w).astype(np.float32)


def _per_chunk(weights: Samples) -> Samples:
    """Per millisecond of ``weights``: the largest (for peaks) and the mean square (for
    energies)."""
    w = weights.reshape(-1, _F)
    return np.stack([w.max(axis=1), np.square(w).mean(axis=1)]).astype(np.float32)


def _envelope(bed: MusicBed, lo: int, hi: int) -> Samples:
    """The bed's fades (raised cosine) over frames [lo, hi), 1 between them."""
    start, end = ms_to_frames(bed.start_ms), ms_to_frames(bed.end_ms)
    half = (end - start) // 2
    t = np.arange(lo, hi, dtype=np.float64)
    env = np.ones(hi - lo)
    fade_in, fade_out = (
        min(ms_to_frames(bed.fade_in_ms), half),
        min(ms_to_frames(bed.fade_out_ms), half),
    )
    if fade_in:
        rise = np.clip((t - start + 0.5) / fade_in, 0.0, 1.0)
        env *= 0.5 - 0.5 * np.cos(np.pi * rise)
    if fade_out:
        fall = np.clip((end - t - 0.5) / fade_out, 0.0, 1.0)
        env *= 0.5 - 0.5 * np.cos(np.pi * fall)
    return env.astype(np.float32)
