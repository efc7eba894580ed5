"""Synthesised tones for the timeline's ``Tone`` events: breath glides, the step chime, ticks.

Listeners lie on the floor with their eyes closed, so every tone is soft, calm and easy to
tell apart by ear:

* ``inhale``: a warm sine (a touch of 2nd and 3rd harmonic) gliding *up* a fifth,
  ``GLIDE_LOW_HZ`` -> ``GLIDE_HIGH_HZ`` (A3 -> E4), swelling gently.
* ``exhale``: the mirror image, gliding *down* the same fifth and fading gently.
  The pitch and the swell both follow a raised-cosine curve, the shape of the lung volume
  during a relaxed breath, so the pitch "is" the breath.
* ``hold``: a very soft, perfectly steady open fifth on the two ends of the glide
  (220 Hz + 330 Hz, just intonation: no beating). It is audible as "still": nothing moves,
  which is the point of a hold, yet it keeps the bed alive so a hold is not mistaken for
  the end of the exercise. It is about 10 dB under the glides.
* ``chime``: a bell-like step-start chime (a few inharmonic partials with exponential
  decays, natural length ``CHIME_MS``) on E5, an octave above the top of the glide.
* ``tick``: a short, soft wood-block-like countdown tick (``TICK_MS`` of sound, then
  silence for the rest of the event).

Every tone starts and ends at zero through raised-cosine fades, so there are no clicks.
Glides and holds fade in and out over 12 % of their length, clamped to 20..400 ms; a chime
or tick cut short fades out over its last 30 ms; events shorter than ``MIN_TONE_MS`` are
silent.

Rendering is deterministic (no randomness) and cached by ``(name, frames)``; the cached
arrays are read-only, copy one before changing it in place.

Levels are linear peak amplitudes, designed for a mix whose speech clips are normalised to
-16 LUFS (true peak about -2 dBTP): the breath bed sits about 10 LU under speech (before
ducking), the chime about 4 LU under speech at its loudest, well over the bed but below
the voice. ``tests/test_tones.py`` measures these with pyloudnorm.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import NDArray

from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE

TONE_NAMES: tuple[str, ...] = ("inhale", "exhale", "hold", "chime", "tick")
"""The tone names ``tone`` accepts (the timeline's ``ToneName``)."""

BREATH_PEAK = 0.125
"""Peak amplitude of the inhale / exhale glides (-18 dBFS): a 4 s inhale is about -24 LUFS,
8 LU under -16 LUFS speech: clearly under the voice, yet easy to follow from a small
speaker across a room once the voice stops counting breaths."""

HOLD_PEAK = 0.035
"""Peak amplitude of the steady hold tone (-29 dBFS, about -35.5 LUFS): about 10 LU under
the glides, so a hold sounds still and quiet but not dead."""

CHIME_PEAK = 0.3
"""Peak amplitude of the step chime (-10.5 dBFS): about -20 LUFS momentary at its strike
(integrated over its decaying 1.5 s about -27 LUFS). Noticeable, not startling."""

TICK_PEAK = 0.2
"""Peak amplitude of a countdown tick (-14 dBFS): about -27 LUFS while it sounds, so it
cuts through the bed by its timbre and attack rather than by level."""

DUCK_DB = -10.0
"""How far the tone bed is lowered (dB) while speech plays, so words stay clear.

Applied by the renderer, not here: it knows where the speech is.
"""

DUCK_RAMP_MS = 80
"""Length of the duck's down and up gain ramps (ms): fast enough to clear the first
syllable, slow enough not to pump audibly. Applied by the renderer."""

GLIDE_LOW_HZ = 220.0
"""Bottom of the breath glide (A3): where an inhale starts and an exhale ends."""

GLIDE_HIGH_HZ = 330.0
"""Top of the breath glide (E4), a just fifth above ``GLIDE_LOW_HZ``."""

CHIME_MS = 1500
"""Natural length of the chime; longer events are padded with silence."""

TICK_MS = 40
"""Length of the sound of a tick; longer events are padded with silence."""

MIN_TONE_MS = 40
"""Shorter tone events render as silence: too short to be heard as their tone, they could
only click (a glide needs room for its 20 ms fades)."""

_GLIDE_FADE_FRACTION = 0.12
_GLIDE_FADE_MIN = 20 * FRAMES_PER_MS
_GLIDE_FADE_MAX = 400 * FRAMES_PER_MS
_CUT_FADE = 30 * FRAMES_PER_MS  # fade-out when a chime or tick is cut short
_SWELL_LOW = 0.6  # glide amplitude at the bottom of the breath, relative to the top
_H2, _H3 = 0.12, 0.04  # 2nd and 3rd harmonic amplitudes of the glide: warm, not buzzy
_HOLD_UPPER = 0.6  # level of the 330 Hz voice of the hold, relative to 220 Hz
_CACHE_SIZE = 64
_UNDER = 1 - 1e-5  # normalise a hair under the declared peaks, so they are never exceeded
_BLOCK = 32  # control-rate period of the glides, in samples
_CHUNK = 1024  # pieces per chunk of full-rate work: 32768 samples, 128 KiB buffers
_J = np.arange(_BLOCK, dtype=np.float32)
_J2 = _J * _J

FloatArray = NDArray[np.float32]


def tone(name: str, frames: int) -> FloatArray:
    """Render one tone event of exactly ``frames`` samples at SAMPLE_RATE (mono float32).

    ``name`` is one of ``TONE_NAMES``; any length works, down to 0 or 1 frame. The result is
    cached by ``(name, frames)`` (a routine repeats the same breaths) and read-only: copy
    it before changing it in place. Raises ValueError for an unknown name or a negative
    length.
    """
    if name not in TONE_NAMES:
        raise ValueError(f"unknown tone {name!r}; expected one of {', '.join(TONE_NAMES)}")
    if frames < 0:
        raise ValueError(f"a tone cannot have a negative length, got {frames} frames")
    return _render(name, int(frames))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _render(name: str, frames: int) -> FloatArray:
    """Render and freeze one tone (``tone`` has checked the arguments)."""
    if frames < MIN_TONE_MS * FRAMES_PER_MS:
        out = np.zeros(frames, np.float32)
    elif name == "inhale":
        out = _glide(frames, rising=True)
    elif name == "exhale":
        out = _glide(frames, rising=False)
    elif name == "hold":
        out = _hold(frames)
    elif name == "chime":
        out = _one_shot(_chime_natural(), frames)
    else:
        out = _one_shot(_tick_natural(), frames)
    out.flags.writeable = False
    return out


def _fade_len(frames: int) -> int:
    """Fade length for glides and holds: 12 % of the tone, 20..400 ms, at most half of it."""
    fade = round(frames * _GLIDE_FADE_FRACTION)
    return min(max(fade, _GLIDE_FADE_MIN), _GLIDE_FADE_MAX, frames // 2)


@functools.lru_cache(maxsize=16)
def _raised_cosine(n: int) -> NDArray[np.float32]:
    """A fade-in ramp of ``n`` samples from exactly 0 towards 1 (reverse it to fade out)."""
    ramp: NDArray[np.float64] = 0.5 - 0.5 * np.cos(np.arange(n) * (math.pi / n))
    out = ramp.astype(np.float32)
    out.flags.writeable = False  # shared through the cache
    return out


def _apply_fades(out: FloatArray, fade: int) -> None:
    """Raised-cosine fade in and out over ``fade`` samples each, in place."""
    if fade <= 0:
        out[:] = 0.0  # at most one sample: nothing to fade, keep it silent
        return
    ramp = _raised_cosine(fade)
    out[:fade] *= ramp
    out[len(out) - fade :] *= ramp[::-1]


@functools.cache
def _glide_shape_peak() -> float:
    """Peak of ``sin p + H2 sin 2p + H3 sin 3p`` over a period, for a fixed normalisation."""
    p = np.linspace(0.0, 2 * math.pi, 8192, endpoint=False)  # grid error < 2e-7 relative
    shape = np.sin(p) + _H2 * np.sin(2 * p) + _H3 * np.sin(3 * p)
    return float(np.max(np.abs(shape)))


def _glide(frames: int, *, rising: bool) -> FloatArray:
    """A breath glide: pitch and level follow the lung volume, 0.5 - 0.5 cos(pi t).

    For speed (every breath may have its own length when a routine slows the breath),
    pitch and level are computed at control points every ``_BLOCK`` samples and are
    piecewise linear in between (1.3 ms pieces: inaudible). A linear frequency makes the
    phase quadratic within a piece, so the phase is exact and continuous without a
    full-rate cumulative sum, and stays small enough for float32 trigonometry.
    """
    if frames == 0:
        return np.zeros(0, np.float32)
    blocks = -(-frames // _BLOCK)
    t = np.arange(blocks + 1) * (_BLOCK / frames)
    volume = 0.5 - 0.5 * np.cos(math.pi * np.minimum(t, 1.0))  # 0 -> 1, gentle at both ends
    if not rising:
        volume = 1.0 - volume
    freq = GLIDE_LOW_HZ * np.exp2(volume * math.log2(GLIDE_HIGH_HZ / GLIDE_LOW_HZ))
    # Phase in cycles at each control point (trapezoid rule: exact for linear frequency).
    cycles = (freq[:-1] + freq[1:]) * (_BLOCK / (2 * SAMPLE_RATE))
    start = np.concatenate(([0.0], np.cumsum(cycles[:-1])))
    start -= np.floor(start)
    # Within a piece: phase(j) = 2 pi (start + f0 j / SR + (f1 - f0) j^2 / (2 BLOCK SR)).
    slope = freq[:-1] * (2 * math.pi / SAMPLE_RATE)
    curve = (freq[1:] - freq[:-1]) * (math.pi / (_BLOCK * SAMPLE_RATE))
    gain = BREATH_PEAK * _UNDER / _glide_shape_peak()
    level = gain * (_SWELL_LOW + (1 - _SWELL_LOW) * volume)
    # Per piece: phase = offset + slope j + curve j^2; level = base + step j (j = 0.._BLOCK-1).
    offset = (2 * math.pi * start).astype(np.float32)[:, None]
    slope32 = slope.astype(np.float32)[:, None]
    curve32 = curve.astype(np.float32)[:, None]
    base = level[:-1].astype(np.float32)[:, None]
    step = (np.diff(level) / _BLOCK).astype(np.float32)[:, None]
    # Full-rate work is float32 and in place, a chunk at a time so that the scratch
    # buffers stay small and in cache: it dominates the cost.
    out: FloatArray = np.empty(blocks * _BLOCK, np.float32)
    pieces = out.reshape(blocks, _BLOCK)
    for lo in range(0, blocks, _CHUNK):
        hi = min(lo + _CHUNK, blocks)
        wave = pieces[lo:hi]
        np.multiply(curve32[lo:hi], _J2, out=wave)
        tmp = slope32[lo:hi] * _J
        wave += tmp
        wave += offset[lo:hi]
        s = np.sin(wave)
        np.cos(wave, out=wave)
        # sin p + H2 sin 2p + H3 sin 3p = s (1 + 3 H3 + 2 H2 cos p - 4 H3 s^2).
        wave *= np.float32(2 * _H2)
        wave += np.float32(1 + 3 * _H3)
        np.square(s, out=tmp)
        tmp *= np.float32(4 * _H3)
        wave -= tmp
        wave *= s
        np.multiply(step[lo:hi], _J, out=tmp)
        tmp += base[lo:hi]
        wave *= tmp
    out = out[:frames]
    _apply_fades(out, _fade_len(frames))
    return out


@functools.cache
def _hold_period() -> NDArray[np.float32]:
    """One exact period (0.1 s) of the hold's open fifth, normalised to HOLD_PEAK."""
    n = SAMPLE_RATE // 10  # 22 cycles of 220 Hz and 33 of 330 Hz
    p = np.arange(n) * (2 * math.pi / SAMPLE_RATE)
    wave: NDArray[np.float64] = np.sin(GLIDE_LOW_HZ * p) + _HOLD_UPPER * np.sin(GLIDE_HIGH_HZ * p)
    wave *= HOLD_PEAK * _UNDER / float(np.max(np.abs(wave)))
    return wave.astype(np.float32)


def _hold(frames: int) -> FloatArray:
    """The hold: a steady, very soft open fifth, repeated from one exact period."""
    out: FloatArray = np.resize(_hold_period(), frames)
    _apply_fades(out, _fade_len(frames))
    return out


def _partials(
    n: int, attack_ms: float, partials: tuple[tuple[float, float, float], ...]
) -> NDArray[np.float64]:
    """Sum of decaying sines ``(hz, amplitude, decay time constant s)`` with a soft attack."""
    n_ = np.arange(n, dtype=np.float64)
    t = (n_ / SAMPLE_RATE).astype(np.float32)
    out = np.zeros(n)
    for hz, amp, tau in partials:
        cycles = n_ * (hz / SAMPLE_RATE)
        cycles -= np.floor(cycles)  # wrapped, so float32 trigonometry stays exact enough
        phase = (cycles * (2 * math.pi)).astype(np.float32)
        out += np.float32(amp) * np.exp(t * np.float32(-1 / tau)) * np.sin(phase)
    attack = round(attack_ms * FRAMES_PER_MS)
    out[:attack] *= 0.5 - 0.5 * np.cos(np.arange(attack) * (math.pi / attack))
    return out


@functools.cache
def _chime_natural() -> NDArray[np.float32]:
    """The full chime, ``CHIME_MS`` long, peak CHIME_PEAK.

    Free-bar (glockenspiel-like) partial ratios 1 : 2.76 : 5.40 on E5, plus a fundamental
    detuned by 1.2 Hz for a slow shimmer; the higher partials die away faster, as in a bell.
    A 5 ms attack keeps the strike soft; the last 400 ms fade the tail to exactly zero.
    """
    base = 2 * GLIDE_HIGH_HZ
    n = CHIME_MS * FRAMES_PER_MS
    out = _partials(
        n,
        5.0,
        (
            (base, 1.0, 0.42),
            (base + 1.2, 0.35, 0.5),
            (base * 2.76, 0.30, 0.16),
            (base * 5.40, 0.10, 0.07),
        ),
    )
    tail = 400 * FRAMES_PER_MS
    out[n - tail :] *= 0.5 + 0.5 * np.cos(np.arange(1, tail + 1) * (math.pi / tail))
    out *= CHIME_PEAK * _UNDER / float(np.max(np.abs(out)))
    return out.astype(np.float32)


@functools.cache
def _tick_natural() -> NDArray[np.float32]:
    """The full tick, ``TICK_MS`` long, peak TICK_PEAK: a knock of a small wooden bar.

    Two inharmonic, heavily damped modes (A5 and about 2.3 x) with a 1.5 ms attack, so it
    is a soft "tock" rather than a sharp click; the last 10 ms fade it to exactly zero.
    """
    n = TICK_MS * FRAMES_PER_MS
    out = _partials(n, 1.5, ((880.0, 1.0, 0.009), (2030.0, 0.35, 0.004)))
    tail = 10 * FRAMES_PER_MS
    out[n - tail :] *= 0.5 + 0.5 * np.cos(np.arange(1, tail + 1) * (math.pi / tail))
    out *= TICK_PEAK * _UNDER / float(np.max(np.abs(out)))
    return out.astype(np.float32)


def _one_shot(natural: NDArray[np.float32], frames: int) -> FloatArray:
    """A one-shot sound fitted to ``frames``: padded with silence, or cut with a fade-out."""
    out = np.zeros(frames, np.float32)
    n = min(frames, len(natural))
    out[:n] = natural[:n]
    if frames < len(natural):
        fade = min(_CUT_FADE, frames)
        if fade:
            out[frames - fade :] *= _raised_cosine(fade)[::-1]
    return out
