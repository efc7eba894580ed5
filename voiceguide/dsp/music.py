"""A music file read as the mix hears it: mono float32 at SAMPLE_RATE, a second at a time.

``MusicFile`` decodes (soundfile: WAV, FLAC, MP3, Ogg), downmixes and resamples one second
of the file at a time, with as much of its neighbours as the resampler's filter reaches, so
the pieces join exactly as if the whole file had been resampled at once, and a file of an
hour is never held in memory. ``measure`` streams through it for the stats the mix works
from (true peak and K-weighted energy per millisecond) and its integrated loudness.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from voiceguide.dsp.loudness import LoudnessMeter, gated_loudness
from voiceguide.dsp.resample import reach, resample
from voiceguide.dsp.samples import Samples
from voiceguide.dsp.truepeak import true_peak_envelope
from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE

_KEPT_SECONDS = 4  # decoded seconds kept: a loop's crossfade reads its end and its start
_PEAK_CONTEXT = 16  # samples each side that the true-peak interpolation reaches


class MusicFile:
    """The file at ``path`` as ``frames`` samples at SAMPLE_RATE, read by ``read``."""

    def __init__(self, path: str | Path) -> None:
        import soundfile as sf

        self._file = sf.SoundFile(str(path))
        self.rate = int(self._file.samplerate)
        self._in_frames = self._readable_frames()
        g = math.gcd(self.rate, SAMPLE_RATE)
        self._up, self._down = SAMPLE_RATE // g, self.rate // g
        if self.rate == SAMPLE_RATE:
            self.frames = self._in_frames
            self._pad = 0
        else:  # as ``resample`` counts them; the pad a whole number of down-steps
            self.frames = (2 * self._in_frames * self._up + self._down) // (2 * self._down)
            half = reach(self.rate, SAMPLE_RATE) + 2
            self._pad = -(-half // self._down) * self._down
        self._seconds: collections.OrderedDict[int, Samples] = collections.OrderedDict()

    def _readable_frames(self) -> int:
        """How many frames the file has, read up to its end from a second before the count
        its header gives (a compressed file's count may be off: an MP3's often is)."""
        near = max(0, int(self._file.frames) - self.rate)
        try:
            self._file.seek(near)
            return near + len(self._file.read(dtype="float32", always_2d=True))
        except RuntimeError:  # not seekable: trust the header
            return int(self._file.frames)

    def close(self) -> None:
        self._file.close()

    def _decode(self, i0: int, i1: int) -> Samples:
        """Input frames [i0, i1) in mono, silence outside the file."""
        out = np.zeros(i1 - i0, dtype=np.float32)
        lo, hi = max(0, i0), min(self._in_frames, i1)
        if lo < hi:
            self._file.seek(lo)
            data = self._file.read(hi - lo, dtype="float32", always_2d=True)
            mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
            out[lo - i0 : lo - i0 + len(mono)] = mono
        return out

    def second(self, k: int) -> Samples:
        """Frames [k, k + 1) seconds of the resampled file (shorter at its end)."""
        kept = self._seconds.get(k)
        if kept is not None:
            self._seconds.move_to_end(k)
            return kept
        n = max(0, min(SAMPLE_RATE, self.frames - k * SAMPLE_RATE))
        if self.rate == SAMPLE_RATE:
            block = self._decode(k * SAMPLE_RATE, k * SAMPLE_RATE + n)
        else:
            p = self._pad
            piece = self._decode(k * self.rate - p, (k + 1) * self.rate + p)
            first = p * self._up // self._down  # the output at the second's instant
            block = resample(piece, self.rate, SAMPLE_RATE)[first : first + n]
        self._seconds[k] = block
        if len(self._seconds) > _KEPT_SECONDS:
            self._seconds.popitem(last=False)
        return block

    def read(self, a: int, b: int) -> Samples:
        """Frames [a, b) of the resampled file (within it)."""
        if not 0 <= a <= b <= self.frames:
            raise ValueError(f"frames {a}..{b} are outside the music's {self.frames}")
        parts = []
        while a < b:
            k, at = divmod(a, SAMPLE_RATE)
            take = min(b - a, SAMPLE_RATE - at)
            parts.append(self.second(k)[at : at + take])
            a += take
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def measure(music: MusicFile) -> tuple[Iterator[tuple[Samples, Samples]], list[float]]:
    """The file's stats a second at a time (``(peaks, energies)`` per millisecond of its
    whole milliseconds, as ``dsp.clips.chunk_stats`` gives them), and a list that holds its
    integrated loudness (LUFS) once they have all been taken."""
    loudness: list[float] = []

    def stats() -> Iterator[tuple[Samples, Samples]]:
        chunks = music.frames // FRAMES_PER_MS
        meter = LoudnessMeter(SAMPLE_RATE, true_peak=False, hop=FRAMES_PER_MS)
        energies = np.zeros(0)
        hops: list[float] = []  # 100 ms sums, for the loudness
        waiting: collections.deque[Samples] = collections.deque()  # peaks, for energies
        seconds = -(-chunks // 1000)
        before = np.zeros(_PEAK_CONTEXT, dtype=np.float32)
        for k in range(seconds + 1):
            if k < seconds:
                n = min(1000, chunks - 1000 * k) * FRAMES_PER_MS
                x = music.second(k)[:n]
                after = music.second(k + 1)[:_PEAK_CONTEXT] if k + 1 < seconds else x[:0]
                after = np.pad(after, (0, _PEAK_CONTEXT - len(after)))
                env = true_peak_envelope(np.concatenate([before, x, after]))
                body = env[_PEAK_CONTEXT : _PEAK_CONTEXT + n]
                waiting.append(body.reshape(-1, FRAMES_PER_MS).max(axis=1))
                before = x[-_PEAK_CONTEXT:]
                meter.add(x)
            else:  # silence after the end, for what the meter still holds back
                meter.add(np.zeros(SAMPLE_RATE // 10, dtype=np.float32))
            energies = np.concatenate([energies, meter.take_hop_energies()])
            while waiting and len(energies) >= len(waiting[0]):
                peaks = waiting.popleft()
                take, energies = energies[: len(peaks)], energies[len(peaks) :]
                hops += take[: len(take) // 100 * 100].reshape(-1, 100).sum(axis=1).tolist()
                yield peaks.astype(np.float32), take.astype(np.float32)
        loudness.append(gated_loudness(np.array(hops), 100 * FRAMES_PER_MS))

    return stats(), loudness
