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
    LoudnessMeter,
    integrated_loudness,
    true_peak_envelope,
)
from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE

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
    """Root-mean-square over a window of ``width`` samples centred on each sample; near
    the start the window starts at the first sample, near the end it is cut short."""
    n = len(x)
    width = max(1, min(width, n))
    half = width // 2
    csum = np.empty(n + 1)
    csum[0] = 0.0
    np.cumsum(np.square(x, dtype=np.float64), out=csum[1:])
    # Window i spans [i - half, i - half + width), clipped to the signal: with
    # ext[k] = csum[min(k, n + half) - half], its sum is ext[i + width] - ext[i].
    ext = np.concatenate([np.zeros(half), csum, np.full(width - half, csum[-1])])
    sums = ext[width : width + n] - ext[:n]
    counts = np.full(n, float(width))
    sums[:half] = csum[width]  # the first windows all start at sample 0
    tail = np.arange(max(half, n - width + half), n)
    counts[tail] = n - (tail - half)
    rms: _F64 = np.sqrt(np.maximum(sums / counts, 0.0))
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
    x = _as_mono(samples)
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


def prepare_clip(samples: npt.ArrayLike, rate: int) -> Samples:
    """A synthesised clip made ready for the speech cache: float32 mono at SAMPLE_RATE.

    ``trim_clip`` then ``level_clip``: resampled to SAMPLE_RATE, trimmed of the engine's
    silence, normalised to SPEECH_LUFS integrated loudness, its peaks first limited at
    CLIP_LIMIT_DBTP. This runs once per clip (the cache keeps the result) and must stay
    cheap, since a cold export prepares every cue.

    Raises ValueError for empty, non-finite, or silent input (the caller reports it).
    """
    return level_clip(trim_clip(samples, rate))


def trim_clip(samples: npt.ArrayLike, rate: int) -> Samples:
    """The first half of ``prepare_clip``: resampled and trimmed, so its length is final.

    The speech cache hands the second half to a worker thread: the compiler needs only the
    length to go on to the next cue.
    """
    x = _as_mono(samples)
    if x.size == 0:
        raise ValueError("the engine returned no samples")
    if not np.isfinite(x).all():
        raise ValueError("the engine returned non-finite samples")
    x = trim_silence(resample(x, rate, SAMPLE_RATE), SAMPLE_RATE)
    if x.size == 0:
        raise ValueError("the engine returned only silence")
    return x


def level_clip(trimmed: Samples) -> Samples:
    """The second half of ``prepare_clip``: loudness and peaks; the length stays."""
    # Work at a fixed peak so that the loudness gate (-70 LUFS) never meets quiet engines.
    x = trimmed * np.float32(0.5 / float(np.abs(trimmed).max()))
    level = integrated_loudness(x, SAMPLE_RATE)
    if not math.isfinite(level):
        raise ValueError("the engine returned no audible sound")
    gain = np.float32(10.0 ** ((SPEECH_LUFS - level) / 20.0))
    y = limit(x * gain, SAMPLE_RATE, CLIP_LIMIT_DBTP, true_peak=True, ideal=False)
    makeup = SPEECH_LUFS - integrated_loudness(y, SAMPLE_RATE)
    out: Samples = (y * np.float32(10.0 ** (makeup / 20.0))).astype(np.float32)
    return out


def chunk_peaks(samples: npt.ArrayLike, chunk: int = FRAMES_PER_MS) -> Samples:
    """Per ``chunk`` samples (1 ms): the largest magnitude of the signal in it, true peak.

    The samples and their 4x interpolation (BS.1770 Annex 2, what meters read), with
    silence assumed around the signal. The interpolation's ringing just outside the signal
    is folded into the first and last chunk (clips and tones fade in and out, so it is
    negligible). The limiter of the mix (``PeakLimiter``) works from these: the
    interpolation is linear, so the sum of the parts' peaks bounds the mix's peak.
    Returns ``ceil(len / chunk)`` values.
    """
    x = _as_mono(samples)
    n = len(x)
    chunks = -(-n // chunk)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    pad = 16  # more than the interpolation filter reaches
    env = true_peak_envelope(np.pad(x, (pad, pad + chunks * chunk - n)))
    peaks = env[pad : pad + chunks * chunk].reshape(chunks, chunk).max(axis=1)
    peaks[0] = max(peaks[0], float(env[:pad].max()))
    peaks[-1] = max(peaks[-1], float(env[pad + n :].max()))
    out: Samples = peaks.astype(np.float32)
    return out


def chunk_energies(samples: npt.ArrayLike, chunk: int = FRAMES_PER_MS) -> Samples:
    """Per ``chunk`` samples (1 ms): the energy (sum of squares) of the K-weighted signal.

    K-weighting is BS.1770's, at SAMPLE_RATE. The filter is linear, so a mix's K-weighted
    energy is its parts' energies summed (plus cross terms, which average out between
    unrelated sounds such as a voice and a tone): ``voiceguide.render.analyse`` works out
    the routine's loudness from these without mixing. Returns ``ceil(len / chunk)`` values.
    """
    x = _as_mono(samples)
    chunks = -(-len(x) // chunk)
    meter = LoudnessMeter(SAMPLE_RATE, true_peak=False, hop=chunk)
    # Silence after the signal, a chunk more than the meter may hold back.
    meter.add(np.pad(x, (0, (chunks + 2) * chunk - len(x))))
    out: Samples = meter.hop_energies()[:chunks].astype(np.float32)
    return out


def chunk_stats(samples: npt.ArrayLike) -> Samples:
    """``chunk_peaks`` and ``chunk_energies`` per millisecond, as rows of one array."""
    return np.stack([chunk_peaks(samples), chunk_energies(samples)])


def _floored(
    samples: npt.ArrayLike, peaks: npt.ArrayLike, chunk: int, ceiling: float
) -> tuple[Samples, _F64]:
    """A block and its peaks, made safe whatever the peaks say: a chunk with a sample over
    the ceiling counts with at least that sample's peak (lying, stale or missing stats can
    never let a sample past the ceiling, nor leave it to the final hard clip), and
    non-finite samples become silence (infinities full scale), non-finite peaks the
    samples' own. Where nothing is over the ceiling this costs two quick reductions."""
    x = _as_mono(samples)
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
