"""Speech clips made ready for the cache, and the per-millisecond stats the mixer works from.

``prepare_clip`` is what the speech cache applies to every synthesised clip: resampled to
SAMPLE_RATE, trimmed of the engine's silence, levelled to SPEECH_LUFS with its peaks limited.
``chunk_stats`` is what the cache keeps beside each clip (and the renderer computes for each
tone): the true peak and the K-weighted energy of every millisecond, from which
``voiceguide.render`` limits and measures the mix without mixing it first. numpy only (why
not scipy: importing it costs about a second, and the export path must start fast).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from voiceguide.dsp.limiter import limit
from voiceguide.dsp.loudness import LoudnessMeter, integrated_loudness
from voiceguide.dsp.resample import resample
from voiceguide.dsp.samples import F64 as _F64
from voiceguide.dsp.samples import Samples, as_mono
from voiceguide.dsp.truepeak import true_peak_envelope
from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE

SPEECH_LUFS = -16.0
"""Integrated loudness of every prepared speech clip."""
CLIP_LIMIT_DBTP = -5.0
"""Where a clip is limited after normalising to SPEECH_LUFS, before the gain that makes up
the loudness the limiter took (1 to 4 dB): prepared clips have a true-peak-to-loudness
ratio of 13 to 16 dB (13.0 to 15.3 on espeak-ng's speech), down from espeak-ng's 16 to 20.
A routine's mix is mostly quiet tones, so reaching its loudness target raises the speech by a
few dB; the mix limiter in ``voiceguide.render`` then trims what is left and guarantees the
final true peak."""


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
    x = as_mono(samples)
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
    x = as_mono(samples)
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
    negligible). The limiter of the mix (``limiter.PeakLimiter``) works from these: the
    interpolation is linear, so the sum of the parts' peaks bounds the mix's peak.
    Returns ``ceil(len / chunk)`` values.
    """
    x = as_mono(samples)
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
    x = as_mono(samples)
    chunks = -(-len(x) // chunk)
    meter = LoudnessMeter(SAMPLE_RATE, true_peak=False, hop=chunk)
    # Silence after the signal, a chunk more than the meter may hold back.
    meter.add(np.pad(x, (0, (chunks + 2) * chunk - len(x))))
    out: Samples = meter.hop_energies()[:chunks].astype(np.float32)
    return out


def chunk_stats(samples: npt.ArrayLike) -> Samples:
    """``chunk_peaks`` and ``chunk_energies`` per millisecond, as rows of one array."""
    return np.stack([chunk_peaks(samples), chunk_energies(samples)])
