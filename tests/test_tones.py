"""Tests for the synthesised tones: exact lengths, no clicks, audible direction, levels."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from typing import get_args

import numpy as np
import pyloudnorm as pyln
import pytest
from numpy.typing import NDArray

from voiceguide import tones
from voiceguide.timeline import ToneName
from voiceguide.tones import (
    BREATH_PEAK,
    CHIME_MS,
    CHIME_PEAK,
    DUCK_DB,
    DUCK_RAMP_MS,
    GLIDE_HIGH_HZ,
    GLIDE_LOW_HZ,
    HOLD_PEAK,
    MIN_TONE_MS,
    TICK_MS,
    TICK_PEAK,
    TONE_NAMES,
    tone,
)
from voiceguide.units import SAMPLE_RATE, ms_to_frames

SPEECH_LUFS = -16.0  # what the speech clips are normalised to
PEAKS = {
    "inhale": BREATH_PEAK,
    "exhale": BREATH_PEAK,
    "hold": HOLD_PEAK,
    "chime": CHIME_PEAK,
    "tick": TICK_PEAK,
}
LENGTHS = [0, 1, 2, 3, 10, 31, 33, 100, 959, 960, 961, 1000, 1441, 2400, 12_345]
LENGTHS += [ms_to_frames(ms) for ms in (100, 400, 1000, 1500, 4000, 6000, 10_000)]
LENGTHS += [CHIME_MS * 24 + 1, 240_007]


def f64(x: NDArray[np.float32]) -> NDArray[np.float64]:
    return x.astype(np.float64)


def lufs(x: NDArray[np.float32]) -> float:
    return float(pyln.Meter(SAMPLE_RATE).integrated_loudness(f64(x)))


def max_momentary_lufs(x: NDArray[np.float32]) -> float:
    """Loudest 400 ms window (BS.1770 momentary loudness), 10 ms hop."""
    block = ms_to_frames(400)
    padded = np.concatenate([f64(x), np.zeros(block)])
    meter = pyln.Meter(SAMPLE_RATE)
    starts = range(0, max(1, len(x) - block + 1), ms_to_frames(10))
    return max(float(meter.integrated_loudness(padded[i : i + block])) for i in starts)


def rms_db(x: NDArray[np.float64]) -> float:
    return float(10 * np.log10(np.mean(x * x) + 1e-30))


def peak_hz(x: NDArray[np.float32]) -> float:
    """The strongest frequency in ``x`` (windowed, zero-padded FFT, 0.1 Hz bins)."""
    n = SAMPLE_RATE * 10
    spectrum = np.abs(np.fft.rfft(f64(x) * np.hanning(len(x)), n))
    return float(np.argmax(spectrum) * SAMPLE_RATE / n)


def zero_crossing_hz(x: NDArray[np.float32]) -> float:
    """Frequency estimate from the zero-crossing rate (robust to the faint harmonics)."""
    signs = np.signbit(x)
    crossings = np.count_nonzero(signs[1:] != signs[:-1])
    return crossings / 2 / (len(x) / SAMPLE_RATE)


# --- API -----------------------------------------------------------------------------


def test_names_match_the_timeline() -> None:
    assert set(TONE_NAMES) == set(get_args(ToneName))


@pytest.mark.parametrize("name", ["", "Inhale", "breath", "bell"])
def test_unknown_name_raises(name: str) -> None:
    with pytest.raises(ValueError, match="unknown tone"):
        tone(name, 100)


def test_negative_length_raises() -> None:
    with pytest.raises(ValueError, match="negative"):
        tone("inhale", -1)


def test_duck_constants() -> None:
    assert -20.0 <= DUCK_DB < 0.0
    assert 10 <= DUCK_RAMP_MS <= 500


@pytest.mark.parametrize("name", TONE_NAMES)
@pytest.mark.parametrize("frames", LENGTHS)
def test_exact_length_and_type(name: str, frames: int) -> None:
    x = tone(name, frames)
    assert x.shape == (frames,)
    assert x.dtype == np.float32
    assert np.all(np.isfinite(x))


def test_cached_and_read_only() -> None:
    x = tone("inhale", ms_to_frames(4000))
    assert tone("inhale", ms_to_frames(4000)) is x
    assert not x.flags.writeable
    with pytest.raises(ValueError):
        x[0] = 1.0


def test_deterministic_across_cache_and_processes() -> None:
    frames = {"inhale": 96_000, "exhale": 144_000, "hold": 48_000, "chime": 40_000, "tick": 24_000}

    def digest() -> str:
        h = hashlib.sha256()
        for name, n in frames.items():
            h.update(tone(name, n).tobytes())
        return h.hexdigest()

    first = digest()
    tones._render.cache_clear()
    assert digest() == first
    code = (
        "import hashlib; from voiceguide.tones import tone; h = hashlib.sha256()\n"
        f"for name, n in {frames!r}.items(): h.update(tone(name, n).tobytes())\n"
        "print(h.hexdigest())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == first


# --- no clicks -------------------------------------------------------------------------


@pytest.mark.parametrize("name", TONE_NAMES)
@pytest.mark.parametrize("frames", LENGTHS)
def test_starts_and_ends_at_zero_without_jumps(name: str, frames: int) -> None:
    x = f64(tone(name, frames))
    if frames == 0:
        return
    assert abs(x[0]) < 1e-6
    assert abs(x[-1]) < 1e-6
    if frames < 3:
        return
    # A click is a jump far beyond what the tone's own (low) frequencies allow. The bounds
    # are amplitude * 2 pi f / SR for the highest strong partial, with some headroom.
    step = {"inhale": 0.015, "exhale": 0.015, "hold": 0.006, "chime": 0.09, "tick": 0.08}
    assert np.max(np.abs(np.diff(x))) < step[name]
    # Curvature (second difference) catches a corner even where the step is small.
    bend = {"inhale": 0.003, "exhale": 0.003, "hold": 0.001, "chime": 0.04, "tick": 0.03}
    assert np.max(np.abs(np.diff(x, 2))) < bend[name]


@pytest.mark.parametrize("name", TONE_NAMES)
def test_too_short_to_sound_is_silent(name: str) -> None:
    assert not np.any(tone(name, ms_to_frames(MIN_TONE_MS) - 1))
    assert np.any(tone(name, ms_to_frames(MIN_TONE_MS)))


@pytest.mark.parametrize("name", ["inhale", "exhale", "hold"])
@pytest.mark.parametrize("ms", [100, 1000, 4000, 10_000])
def test_glides_and_holds_fade_in_and_out_gently(name: str, ms: int) -> None:
    x = f64(tone(name, ms_to_frames(ms)))
    peak = np.max(np.abs(x))
    edge = ms_to_frames(5)
    # Onset at least 20 ms long: after 5 ms a raised cosine is at most sin^2(pi/8) = 15 %.
    assert np.max(np.abs(x[:edge])) < 0.16 * peak
    assert np.max(np.abs(x[-edge:])) < 0.16 * peak


# --- inhale rises, exhale falls, hold is still ------------------------------------------


@pytest.mark.parametrize("ms", [1000, 2000, 4000, 6000, 10_000])
def test_inhale_rises_and_exhale_falls(ms: int) -> None:
    n = ms_to_frames(ms)
    quarter = n // 4
    for name, rising in (("inhale", True), ("exhale", False)):
        x = tone(name, n)
        for measure in (peak_hz, zero_crossing_hz):
            first, last = measure(x[:quarter]), measure(x[-quarter:])
            ratio = last / first if rising else first / last
            assert ratio > 1.25, (name, measure.__name__, first, last)


def test_glides_span_a_fifth_and_move_steadily() -> None:
    n = ms_to_frames(8000)
    inhale, exhale = tone("inhale", n), tone("exhale", n)
    edge = ms_to_frames(500)
    mid = slice(n // 2 - edge // 2, n // 2 + edge // 2)
    # The ends of the glide (measured over 0.5 s while the pitch barely moves).
    assert peak_hz(inhale[edge : 2 * edge]) == pytest.approx(GLIDE_LOW_HZ, rel=0.03)
    assert peak_hz(inhale[-2 * edge : -edge]) == pytest.approx(GLIDE_HIGH_HZ, rel=0.03)
    assert peak_hz(exhale[edge : 2 * edge]) == pytest.approx(GLIDE_HIGH_HZ, rel=0.03)
    assert peak_hz(exhale[-2 * edge : -edge]) == pytest.approx(GLIDE_LOW_HZ, rel=0.03)
    # Halfway, both sit in the middle of the fifth: exact mirror images in pitch.
    assert peak_hz(inhale[mid]) == pytest.approx(peak_hz(exhale[mid]), rel=0.01)
    # Monotonic: the pitch trend over eighths never goes backwards.
    eighths = [zero_crossing_hz(inhale[i * n // 8 : (i + 1) * n // 8]) for i in range(8)]
    assert all(b > a for a, b in zip(eighths, eighths[1:], strict=False))


def test_inhale_swells_and_exhale_fades() -> None:
    n = ms_to_frames(6000)
    quarter = n // 4
    inhale, exhale = f64(tone("inhale", n)), f64(tone("exhale", n))
    # Compare the inner quarters, away from the fades.
    assert rms_db(inhale[2 * quarter : 3 * quarter]) > rms_db(inhale[quarter : 2 * quarter]) + 1
    assert rms_db(exhale[quarter : 2 * quarter]) > rms_db(exhale[2 * quarter : 3 * quarter]) + 1


def test_glides_are_warm_and_clean() -> None:
    """Nearly all energy sits in the fundamental and 2nd/3rd harmonics: nothing bright,
    no aliasing, no zipper noise from the piecewise control rate."""
    x = f64(tone("inhale", ms_to_frames(10_000)))
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    hz = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    above = spectrum[hz > 3.2 * GLIDE_HIGH_HZ].sum() / spectrum.sum()
    assert 10 * np.log10(above + 1e-30) < -80


def test_hold_is_steady() -> None:
    n = ms_to_frames(6000)
    x = f64(tone("hold", n))
    inner = x[ms_to_frames(1000) : -ms_to_frames(1000)]
    windows = inner[: len(inner) // 2400 * 2400].reshape(-1, 2400)  # 0.1 s: whole periods
    levels = [rms_db(w) for w in windows]
    assert max(levels) - min(levels) < 0.01
    # Only the two notes of the open fifth, at the ends of the glide.
    quarter = tone("hold", n)[n // 4 : 3 * n // 4]
    assert peak_hz(quarter) == pytest.approx(GLIDE_LOW_HZ, abs=0.5)
    assert zero_crossing_hz(quarter[: len(quarter) // 2]) == pytest.approx(
        zero_crossing_hz(quarter[len(quarter) // 2 :]), rel=0.01
    )


# --- chime and tick --------------------------------------------------------------------


def test_chime_decays() -> None:
    n = ms_to_frames(CHIME_MS)
    x = f64(tone("chime", n))
    windows = x.reshape(-1, ms_to_frames(100))
    levels = [rms_db(w) for w in windows]
    assert levels[0] == max(levels)
    assert levels[-1] < levels[0] - 40
    # Overall trend down: every 300 ms stretch is quieter than the one before (the slow
    # shimmer of the detuned fundamental may lift a single 100 ms window a little).
    thirds = [rms_db(w) for w in x.reshape(-1, ms_to_frames(300))]
    assert all(b < a for a, b in zip(thirds, thirds[1:], strict=False))
    # Bell-like: partials above 1 kHz are present at the strike and die away faster.
    hz = np.fft.rfftfreq(ms_to_frames(100), 1 / SAMPLE_RATE)

    def bright(w: NDArray[np.float64]) -> float:
        power = np.abs(np.fft.rfft(w * np.hanning(len(w)))) ** 2
        return float(power[hz > 1000].sum() / power.sum())

    early, late = x[: ms_to_frames(100)], x[ms_to_frames(600) : ms_to_frames(700)]
    assert bright(early) > 0.02
    assert bright(late) < bright(early) / 10


def test_chime_padded_or_cut_short() -> None:
    natural = tone("chime", ms_to_frames(CHIME_MS))
    longer = tone("chime", ms_to_frames(CHIME_MS + 2000))
    np.testing.assert_array_equal(longer[: len(natural)], natural)
    assert not np.any(longer[len(natural) :])
    cut = tone("chime", ms_to_frames(500))
    fade = ms_to_frames(30)
    np.testing.assert_array_equal(cut[:-fade], natural[: len(cut) - fade])
    assert np.all(np.abs(cut[-fade:]) <= np.abs(natural[len(cut) - fade : len(cut)]) + 1e-9)


def test_tick_is_short() -> None:
    x = tone("tick", ms_to_frames(1000))
    sound = ms_to_frames(TICK_MS)
    assert not np.any(x[sound:])
    assert np.max(np.abs(x[:sound])) == pytest.approx(TICK_PEAK, rel=1e-3)
    # Most of the energy is in the first 15 ms: a knock, not a beep.
    energy = np.cumsum(f64(x) ** 2)
    assert energy[ms_to_frames(15)] > 0.9 * energy[-1]


# --- levels ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", TONE_NAMES)
@pytest.mark.parametrize("frames", LENGTHS)
def test_peak_within_declared_level(name: str, frames: int) -> None:
    x = tone(name, frames)
    if frames:
        assert float(np.max(np.abs(x))) <= PEAKS[name]


@pytest.mark.parametrize("name", TONE_NAMES)
def test_declared_level_is_reached(name: str) -> None:
    x = tone(name, ms_to_frames(6000))
    assert float(np.max(np.abs(x))) == pytest.approx(PEAKS[name], rel=0.02)


def test_breath_bed_sits_under_speech() -> None:
    inhale = lufs(tone("inhale", ms_to_frames(4000)))
    exhale = lufs(tone("exhale", ms_to_frames(6000)))
    for level in (inhale, exhale):
        assert SPEECH_LUFS - 11 <= level <= SPEECH_LUFS - 7  # measured: about -24 LUFS
    hold = lufs(tone("hold", ms_to_frames(4000)))
    assert hold < inhale - 6  # measured: about -35.6 LUFS, still audible
    assert hold > -45


def test_chime_noticeable_not_startling() -> None:
    chime = tone("chime", ms_to_frames(CHIME_MS))
    loudest = max_momentary_lufs(chime)  # measured: about -20 LUFS
    bed = lufs(tone("inhale", ms_to_frames(4000)))
    assert bed + 3 < loudest < SPEECH_LUFS - 2
    assert 20 * np.log10(CHIME_PEAK) < -8  # peak well under speech's -2 dBTP


def test_tick_audible_over_the_hold() -> None:
    tick = tone("tick", ms_to_frames(TICK_MS))
    while_sounding = lufs(np.tile(tick, 10))  # measured: about -27 LUFS
    assert while_sounding > lufs(tone("hold", ms_to_frames(4000))) + 6
    assert while_sounding < SPEECH_LUFS - 6


# --- speed -----------------------------------------------------------------------------


def test_ten_minute_routine_renders_fast() -> None:
    """60 breath cycles of 10 s, 5 chimes and some ticks, from a cold cache."""
    events = [("chime", 1500)] * 5 + [("tick", 1000)] * 10
    events += [("inhale", 4000), ("exhale", 6000)] * 60
    tones._render.cache_clear()
    start = time.perf_counter()
    for name, ms in events:
        tone(name, ms_to_frames(ms))
    assert time.perf_counter() - start < 0.1  # measured: about 3 ms
