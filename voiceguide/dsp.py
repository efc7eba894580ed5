"""Signal helpers for speech clips, numpy only: resampling, silence trimming, peak limiting.

Why not scipy: importing it costs about a second, and the export path must start fast.
``prepare_clip`` is what the speech cache applies to every synthesised clip.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceguide.loudness import (
    integrated_loudness,
    true_peak_envelope,
)
from voiceguide.units import SAMPLE_RATE

Samples = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]

SPEECH_LUFS = -16.0
"""Integrated loudness of every prepared speech clip."""
CLIP_LIMIT_DBTP = -5.0
"""Where a clip is limited after normalising to SPEECH_LUFS, before the gain that makes up
the loudness the limiter took (1 to 4 dB): prepared clips have a peak-to-loudness ratio
of 12 to 16 dB, down from espeak-ng's 19 or so. A routine's mix is mostly quiet
tones, so reaching its loudness target raises the speech by a few dB; the mix limiter in
``voiceguide.render`` then trims what is left and guarantees the final true peak."""

# Resampling filter: a Kaiser-windowed sinc. Its cutoff sits at _ROLLOFF of the lower
# Nyquist frequency, its half-length spans _ZERO_CROSSINGS zero crossings of the sinc:
# passband flat to about 0.9 of that Nyquist, stopband (about -85 dB) from it onwards.
_ROLLOFF = 0.94
_ZERO_CROSSINGS = 48
_KAISER_BETA = 8.6


def _as_mono(samples: npt.ArrayLike) -> Samples:
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples (a 1-D array), got shape {x.shape}")
    return x


@lru_cache(maxsize=16)
def _phase_table(up: int, down: int) -> tuple[npt.NDArray[np.float32], int]:
    """Polyphase filter for resampling by ``up / down``: ``(table[up, taps], taps // 2)``.

    Row ``p`` interpolates at ``p / up`` of an input sample past the window's centre; each
    row is normalised to unity gain at DC.
    """
    cutoff = 0.5 * min(1.0, up / down) * _ROLLOFF  # cycles per input sample
    half_width = _ZERO_CROSSINGS / (2.0 * cutoff)  # input samples each side of the centre
    half = math.ceil(half_width)
    k = np.arange(-half + 1, half + 1)  # input offsets from floor(t)
    frac = np.arange(up)[:, None] / up
    tau = frac - k[None, :]  # time from each input sample to the output instant
    window = np.i0(_KAISER_BETA * np.sqrt(np.clip(1.0 - (tau / half_width) ** 2, 0.0, 1.0)))
    window[np.abs(tau) > half_width] = 0.0
    table = 2.0 * cutoff * np.sinc(2.0 * cutoff * tau) * window
    table /= table.sum(axis=1, keepdims=True)
    return table.astype(np.float32), half


def resample(samples: npt.ArrayLike, from_rate: int, to_rate: int) -> Samples:
    """Resample mono ``samples`` by the exact ratio ``to_rate / from_rate``.

    Windowed-sinc polyphase filtering, band-limited to the lower rate's Nyquist frequency
    (anti-aliasing when going down, anti-imaging when going up). The output has
    ``round(len * to_rate / from_rate)`` samples and starts at the same instant as the input.
    Equal rates return a float32 copy.
    """
    x = _as_mono(samples)
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} and {to_rate}")
    if from_rate == to_rate:
        return x.copy()
    g = math.gcd(int(from_rate), int(to_rate))
    up, down = int(to_rate) // g, int(from_rate) // g
    n_out = (2 * len(x) * up + down) // (2 * down)  # rounded half up
    out = np.zeros(n_out, dtype=np.float32)
    if n_out == 0:
        return out
    table, half = _phase_table(up, down)
    taps = table.shape[1]
    # Output n sits at input time n * down / up: its window starts at floor of that.
    padded = np.zeros(len(x) + taps + 2, dtype=np.float32)
    padded[half - 1 : half - 1 + len(x)] = x
    windows = np.lib.stride_tricks.sliding_window_view(padded, taps)
    for r in range(min(up, n_out)):  # outputs r, r + up, ... share one filter phase
        count = len(range(r, n_out, up))
        first, phase = divmod(r * down, up)
        rows = windows[first : first + (count - 1) * down + 1 : down]
        out[r::up] = rows @ table[phase]
    return out


def _moving_rms(x: Samples, width: int) -> _F64:
    """Root-mean-square over a centred window of ``width`` samples (shorter at the ends)."""
    width = max(1, min(width, len(x)))
    csum = np.concatenate([[0.0], np.cumsum(np.square(x, dtype=np.float64))])
    lo = np.clip(np.arange(len(x)) - width // 2, 0, len(x))
    hi = np.clip(lo + width, 0, len(x))
    mean = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    rms: _F64 = np.sqrt(np.maximum(mean, 0.0))
    return rms


def trim_silence(
    samples: npt.ArrayLike,
    rate: int,
    threshold_db: float = -50.0,
    keep_ms: float = 10.0,
    fade_ms: float = 5.0,
) -> Samples:
    """Cut the near-silence that speech engines put before and after the speech.

    Sound is where a 5 ms RMS exceeds ``threshold_db`` relative to the clip's loudest 5 ms
    (relative, so quiet engines trim the same as loud ones). ``keep_ms`` of the silence is
    kept at each end, and the result's first and last ``fade_ms`` are faded (raised cosine)
    so it never starts or ends with a click: normally that is inside the kept silence;
    where the engine's audio itself starts or stops abruptly, it softens that edge. All-silent
    or empty input gives an empty array.
    """
    x = _as_mono(samples)
    if x.size == 0:
        return x.copy()
    env = _moving_rms(x, round(rate * 0.005))
    top = float(env.max())
    if top <= 0.0:
        return np.zeros(0, dtype=np.float32)
    loud = np.flatnonzero(env > top * 10.0 ** (threshold_db / 20.0))
    keep = round(rate * keep_ms / 1000.0)
    start = max(0, int(loud[0]) - keep)
    end = min(len(x), int(loud[-1]) + 1 + keep)
    y = x[start:end].copy()
    fade = min(round(rate * fade_ms / 1000.0), len(y) // 2)
    if fade > 0:
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)).astype(np.float32)
        y[:fade] *= ramp
        y[len(y) - fade :] *= ramp[::-1]
    return y


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
    envelope: npt.NDArray[np.floating[Any]] | None = None,
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
    ``envelope`` gives the magnitudes to limit by, precomputed (it scales with the signal,
    so a caller trying several gains computes it once).
    """
    x = _as_mono(samples)
    if x.size == 0:
        return x.copy()
    ceiling = 10.0 ** (ceiling_db / 20.0)
    if envelope is not None:
        mag = np.asarray(envelope, dtype=np.float64)
    elif not true_peak:
        mag = np.abs(x).astype(np.float64)
    elif ideal:
        mag = _peak_envelope(x)
    else:
        mag = true_peak_envelope(x, floor=ceiling).astype(np.float64)
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


def prepare_clip(samples: npt.ArrayLike, rate: int) -> Samples:
    """A synthesised clip made ready for the speech cache: float32 mono at SAMPLE_RATE.

    Resampled to SAMPLE_RATE, trimmed of the engine's silence, normalised to SPEECH_LUFS
    integrated loudness, its peaks first limited at CLIP_LIMIT_DBTP. One limiter pass and a
    make-up gain: this runs once per clip (the cache keeps the result) and must stay cheap,
    since a cold export prepares every cue.

    Raises ValueError for empty, non-finite, or silent input (the caller reports it).
    """
    x = _as_mono(samples)
    if x.size == 0:
        raise ValueError("the engine returned no samples")
    if not np.isfinite(x).all():
        raise ValueError("the engine returned non-finite samples")
    x = trim_silence(resample(x, rate, SAMPLE_RATE), SAMPLE_RATE)
    if x.size == 0:
        raise ValueError("the engine returned only silence")
    # Work at a fixed peak so that the loudness gate (-70 LUFS) never meets quiet engines.
    x = x * np.float32(0.5 / float(np.abs(x).max()))
    level = integrated_loudness(x, SAMPLE_RATE)
    if not math.isfinite(level):
        raise ValueError("the engine returned no audible sound")
    gain = np.float32(10.0 ** ((SPEECH_LUFS - level) / 20.0))
    y = limit(x * gain, SAMPLE_RATE, CLIP_LIMIT_DBTP, true_peak=True, ideal=False)
    makeup = SPEECH_LUFS - integrated_loudness(y, SAMPLE_RATE)
    out: Samples = (y * np.float32(10.0 ** (makeup / 20.0))).astype(np.float32)
    return out


class StreamLimiter:
    """``limit`` (true peak, BS.1770 Annex 2 interpolation) over a stream of blocks.

    Each output block is cut from ``limit`` applied to a window reaching ``margin`` samples
    either side, wider than everything a gain depends on (lookahead, hold, smoothing and the
    interpolation filter), so the result equals limiting the whole signal at once while
    memory stays at one block. The output has exactly as many samples as the input; blocks
    come out one window late, which only a live sink would notice (a few hundred ms).
    Windows whose peak is well under the ceiling pass through untouched.
    """

    def __init__(
        self, rate: int, ceiling_db: float, lookahead_ms: float = 5.0, hold_ms: float = 40.0
    ) -> None:
        self.rate = rate
        self.ceiling_db = ceiling_db
        self.lookahead_ms = lookahead_ms
        self.hold_ms = hold_ms
        ahead = round(rate * lookahead_ms / 1000.0)
        hold = round(rate * hold_ms / 1000.0)
        self.margin = 2 * ahead + hold + 64
        # Inter-sample peaks at 4x sit at most ~3 dB over the samples around them.
        self.safe = 10.0 ** ((ceiling_db - 3.0) / 20.0)

    def process(self, blocks: Iterable[npt.ArrayLike]) -> Iterator[Samples]:
        """Limited blocks, in order, adding up to the input's length."""
        m = self.margin
        buf = np.zeros(m, dtype=np.float32)  # silence before the start: a neutral gain
        for block in blocks:
            buf = np.concatenate([buf, _as_mono(block)])
            if len(buf) >= 3 * m:
                yield self._window(buf)
                buf = buf[len(buf) - 2 * m :]
        tail = np.concatenate([buf, np.zeros(m, dtype=np.float32)])
        if len(tail) > 2 * m:
            yield self._window(tail)

    def _window(self, buf: Samples) -> Samples:
        m = self.margin
        if float(np.abs(buf).max()) <= self.safe:
            return buf[m : len(buf) - m].copy()
        y = limit(
            buf,
            self.rate,
            self.ceiling_db,
            self.lookahead_ms,
            self.hold_ms,
            true_peak=True,
            ideal=False,
        )
        return y[m : len(y) - m]
