"""Lookahead peak limiters: ``limit`` for a whole clip, ``PeakLimiter`` for a streamed mix.

Both turn the gain each sample (or millisecond) needs into a smooth gain that is never more
than what is needed: a moving minimum over the lookahead and the hold, smoothed by a trailing
triangle. ``limit`` finds its peaks itself (optionally true peaks, 4x oversampled);
``PeakLimiter`` is handed them per millisecond (``voiceguide.dsp.clips.chunk_peaks``), so it runs
beside the encoder at little cost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceguide.dsp.samples import F64 as _F64
from voiceguide.dsp.samples import Samples, as_mono
from voiceguide.dsp.truepeak import true_peak_envelope
from voiceguide.units import FRAMES_PER_MS


def _moving_min(a: _F64, before: int, after: int) -> _F64:
    """``out[i] = min(a[i - before : i + after + 1])`` in O(n) (van Herk / Gil-Werman).

    Positions outside ``a`` count as 1.0 (a neutral gain).
    """
    width = before + after + 1
    n = len(a)
    total = -(-(n + width - 1) // width) * width
    padded = np.ones(total)
    padded[before : before + n] = a
    blocks = padded.reshape(-1, width)
    prefix = np.minimum.accumulate(blocks, axis=1).ravel()
    suffix = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    # Window [i, i + width) of ``padded`` spans at most two blocks: the suffix of the first
    # and the prefix of the second.
    out: _F64 = np.minimum(suffix[:n], prefix[width - 1 : width - 1 + n])
    return out


def _trailing_mean(a: _F64, width: int) -> _F64:
    """``out[i] = mean(a[i - width + 1 : i + 1])``, the start extended with ``a[0]``."""
    if width <= 1:
        return a.copy()
    padded = np.concatenate([np.full(width - 1, a[0]), a])
    csum = np.concatenate([[0.0], np.cumsum(padded)])
    out: _F64 = (csum[width:] - csum[:-width]) / width
    return out


def _peak_envelope(x: Samples) -> _F64:
    """Per sample: the largest magnitude of the signal from it to the next sample.

    Two interpolators, 4x: the ideal band-limited one (FFT, with silence padded around the
    clip so the circular wrap meets zeros) and BS.1770's Annex 2 filter, which is what the
    meter reads. The Annex filter's passband ends near 0.83 of Nyquist, so on content near
    Nyquist (sibilants at 24 kHz) the ideal one finds peaks the meter under-reads.
    """
    pad = 64
    n = len(x) + 2 * pad
    size = 1 << max(0, (n - 1).bit_length())  # a power of two: a fast FFT
    spectrum = np.fft.rfft(np.pad(x.astype(np.float64), (pad, size - len(x) - pad)))
    ideal = np.fft.irfft(spectrum, 4 * size) * 4.0
    quads = np.abs(ideal[4 * pad : 4 * (pad + len(x))]).reshape(len(x), 4)
    env: _F64 = np.maximum(quads.max(axis=1), true_peak_envelope(x))
    return env


def limit(
    samples: npt.ArrayLike,
    rate: int,
    ceiling_db: float,
    lookahead_ms: float = 5.0,
    hold_ms: float = 40.0,
    *,
    true_peak: bool = False,
    ideal: bool = True,
) -> Samples:
    """Lookahead peak limiter: no output sample exceeds ``ceiling_db`` (dBFS), no clicks.

    The gain each sample needs is ``min(1, ceiling / |x|)``. Its moving minimum over the
    ``lookahead_ms`` ahead and ``hold_ms`` behind is smoothed by a trailing triangular
    window of ``lookahead_ms``: the gain glides down before a peak, holds through the
    pitch periods of a loud syllable, and glides back up. Every gain in the smoothing
    window is at most the gain the sample needs, so the ceiling holds exactly.

    With ``true_peak`` the needed gain comes from the 4x-oversampled signal around each
    sample (ideal and BS.1770 interpolation), so inter-sample peaks are limited too, to
    within what the gain's own slow change adds (a few hundredths of a dB). ``ideal=False``
    uses the Annex 2 interpolation alone: four times cheaper, and what meters read.
    """
    x = as_mono(samples)
    if x.size == 0:
        return x.copy()
    ceiling = 10.0 ** (ceiling_db / 20.0)
    if not true_peak:
        mag = np.abs(x).astype(np.float64)
    elif ideal:
        mag = _peak_envelope(x)
    else:
        mag = true_peak_envelope(x).astype(np.float64)
    need = np.minimum(1.0, ceiling / np.maximum(mag, 1e-30))
    if float(need.min()) >= 1.0:
        return x.copy()
    ahead = max(1, round(rate * lookahead_ms / 1000.0))
    hold = max(0, round(rate * hold_ms / 1000.0))
    gain = _moving_min(need, hold, ahead)
    # Two trailing boxcars whose combined support is ``ahead + 1`` samples: a triangle.
    first = ahead // 2 + 1
    gain = _trailing_mean(_trailing_mean(gain, first), ahead + 2 - first)
    y = (x * gain).astype(np.float32)
    limited: Samples = np.clip(y, -ceiling, ceiling)  # only float rounding can reach here
    return limited


def _floored(
    samples: npt.ArrayLike, peaks: npt.ArrayLike, chunk: int, ceiling: float
) -> tuple[Samples, _F64]:
    """A block and its peaks, made safe whatever the peaks say: a chunk with a sample over
    the ceiling counts with at least that sample's peak (lying, stale or missing stats can
    never let a sample past the ceiling, nor leave it to the final hard clip), and
    non-finite samples become silence (infinities full scale), non-finite peaks the
    samples' own. Where nothing is over the ceiling this costs two quick reductions."""
    x = as_mono(samples)
    p = np.asarray(peaks, dtype=np.float64)
    if len(x) != len(p) * chunk or not len(x):
        return x, p  # ``_stream`` says what is wrong
    hi, lo = float(x.max()), float(x.min())  # two quick reductions, no copy
    if not (math.isfinite(hi) and math.isfinite(lo)):
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
        hi, lo = float(x.max()), float(x.min())
    finite = bool(np.isfinite(p).all())
    if finite and max(hi, -lo) <= ceiling:
        return x, p
    magnitude = np.abs(x)
    if not finite:
        p = np.where(np.isfinite(p), p, magnitude.reshape(-1, chunk).max(axis=1))
    at = np.flatnonzero(magnitude > ceiling) // chunk  # sorted: keep each chunk once
    if at.size:
        over = at[np.r_[True, at[1:] != at[:-1]]]
        p = p.copy()
        p[over] = np.fmax(p[over], magnitude.reshape(-1, chunk)[over].max(axis=1))
    return x, p


class PeakLimiter:
    """A streaming true-peak limiter that works per millisecond, from known peaks.

    It takes ``(samples, peaks)`` pairs: a block of a whole number of 1 ms chunks and, per
    chunk, a bound on its true peak (``chunk_peaks`` of the parts, summed; see
    ``voiceguide.render``). Since the bound is known, no interpolation runs here, which
    keeps the limiter cheap enough to run beside the encoder.

    The gain each chunk needs is ``min(1, ceiling / peak)``. Its moving minimum over the
    ``lookahead_ms`` ahead and ``hold_ms`` behind (reaching one chunk further each way) is
    smoothed by a trailing triangle of ``lookahead_ms``, then interpolated linearly
    between chunk centres to every sample: the gain glides down before a peak, holds through
    a loud syllable, and glides back up. Every value that a sample's gain is made from is
    at most what its chunk needs, so the ceiling holds (to within the little that the gain's
    own slow change adds to inter-sample peaks). Blocks come out ``lookahead_ms + 2`` ms
    late; the output has exactly as many samples as the input. Chunks where nothing
    reaches the ceiling pass through untouched. The peaks given are only trusted upwards:
    each chunk counts with at least its samples' own peak, so no sample ever leaves above
    the ceiling, whatever the peaks say.
    """

    def __init__(
        self,
        ceiling_db: float,
        lookahead_ms: int = 5,
        hold_ms: int = 40,
        chunk: int = FRAMES_PER_MS,
    ) -> None:
        self.ceiling = 10.0 ** (ceiling_db / 20.0)
        self.chunk = chunk
        self.ahead = max(1, lookahead_ms)
        self.hold = max(1, hold_ms)
        # Output chunk i reads the gains of chunks i - 1 .. i + 1, each made from the needs
        # of chunks [j - hold - 1, j + ahead + 1] for j from i - 1 - ahead: that much
        # history and lookahead.
        self.before = self.ahead + self.hold + 2
        self.after = self.ahead + 2

    def process(self, blocks: Iterable[tuple[npt.ArrayLike, npt.ArrayLike]]) -> Iterator[Samples]:
        """Limited blocks, in order, adding up to the input's length."""
        c = self.chunk
        floored = (_floored(x, p, c, self.ceiling) for x, p in blocks)
        for rows, gains in self._stream(floored, c):
            x = rows.ravel()
            if gains is None:
                yield x.copy()
                continue
            # Chunk i's centre sits at sample (i + 0.5) * c; the gains start one chunk early.
            centres = (np.arange(len(gains)) - 0.5) * c
            y = x * np.interp(np.arange(len(x)), centres, gains).astype(np.float32)
            yield np.clip(y, -self.ceiling, self.ceiling)  # only float rounding reaches it

    def energies(self, blocks: Iterable[tuple[npt.ArrayLike, npt.ArrayLike]]) -> Iterator[_F64]:
        """``process`` for a mix known by its energy per chunk (``chunk_energies``): the
        energies, in order, times each chunk's gain squared.

        What the mix's loudness would be after limiting, without the samples: the gain
        changes little within a chunk, so this is within a few hundredths of a dB.
        """
        energy_blocks = ((np.asarray(e, dtype=np.float64), p) for e, p in blocks)
        for rows, gains in self._stream(energy_blocks, 1):
            energy = rows.ravel()
            yield energy if gains is None else energy * np.square(gains[1:-1])

    def _stream(
        self, blocks: Iterable[tuple[npt.NDArray[Any], npt.ArrayLike]], width: int
    ) -> Iterator[tuple[npt.NDArray[Any], _F64 | None]]:
        """Windows of ``width`` values per chunk, each with the gains of its chunks and of
        one chunk either side (None: every gain is 1)."""
        values: npt.NDArray[Any] | None = None
        peaks = np.zeros(self.before, dtype=np.float64)  # silence before the start
        keep = self.before + self.after
        for block, block_peaks in blocks:
            p = np.asarray(block_peaks, dtype=np.float64)
            if len(block) != len(p) * width:
                raise ValueError(
                    f"a block of {len(block)} values needs {len(block) // width} peaks"
                )
            if values is None:
                values = np.zeros(self.before * width, dtype=block.dtype)
            values = np.concatenate([values, block])
            peaks = np.concatenate([peaks, p])
            if len(peaks) >= 2 * keep:
                yield self._window(values, peaks, width)
                values, peaks = values[-keep * width :], peaks[-keep:]
        if values is not None and len(peaks) > self.before:
            values = np.concatenate([values, np.zeros(self.after * width, values.dtype)])
            yield self._window(values, np.concatenate([peaks, np.zeros(self.after)]), width)

    def _window(
        self, values: npt.NDArray[Any], peaks: _F64, width: int
    ) -> tuple[npt.NDArray[Any], _F64 | None]:
        """The window's values less its history and lookahead, and their gains."""
        lo, hi = self.before, len(peaks) - self.after
        out = values[lo * width : hi * width]
        need = np.minimum(1.0, self.ceiling / np.maximum(peaks, 1e-30))
        if float(need.min()) >= 1.0:
            return out, None
        gain = _moving_min(need, self.hold + 1, self.ahead + 1)
        first = self.ahead // 2 + 1
        gain = _trailing_mean(_trailing_mean(gain, first), self.ahead + 2 - first)
        return out, gain[lo - 1 : hi + 1]
