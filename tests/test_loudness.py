"""BS.1770-4 loudness (voiceguide.dsp.loudness, voiceguide.dsp.kweighting) and true peak
(voiceguide.dsp.truepeak) against references.

pyloudnorm is the independent reference for integrated loudness; scipy (tests only) gives an
exact K-filter (lfilter) and an independent 4x upsampler. Speech is real espeak-ng output.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyloudnorm
import pytest
import scipy.signal
import soundfile

from voiceguide.dsp.kweighting import k_weighting_coefficients
from voiceguide.dsp.loudness import LoudnessMeter, integrated_loudness
from voiceguide.dsp.truepeak import true_peak_db, true_peak_envelope

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

PHRASES = [
    "Welcome to your evening routine. Find a comfortable position.",
    "Breathe in slowly through your nose.",
    "Hold it there, gently.",
    "And breathe out through your mouth, long and slow.",
    "Now roll your shoulders back, and let your jaw relax.",
]


def espeak(path: Path, text: str, *extra: str) -> tuple[F32, int]:
    """Speak ``text`` with espeak-ng into ``path``; its samples and rate (22050 Hz)."""
    subprocess.run(["espeak-ng", *extra, "-w", str(path), text], check=True)
    data, rate = soundfile.read(str(path), dtype="float32")
    return np.asarray(data, dtype=np.float32), int(rate)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[F32, int]:
    """About 20 s of speech at 22050 Hz: phrases by two voices, with pauses between them."""
    folder = tmp_path_factory.mktemp("speech")
    parts: list[F32] = []
    rate = 22050
    for i, text in enumerate(PHRASES):
        voice = ["-v", "en-us", "-s", "150"] if i % 2 else ["-s", "170", "-p", "40"]
        samples, rate = espeak(folder / f"p{i}.wav", text, *voice)
        parts += [samples, np.zeros(int(rate * (0.4 + 0.3 * i)), dtype=np.float32)]
    return np.concatenate(parts), rate


def at_rate(x: F32, rate: int, to: int) -> F32:
    g = math.gcd(rate, to)
    y = scipy.signal.resample_poly(x.astype(np.float64), to // g, rate // g)
    return np.asarray(y, dtype=np.float32)


def reference(x: F32, rate: int) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(x.astype(np.float64)))


def exact_gated(x: F32, rate: int) -> float:
    """The same definition as the meter, computed plainly: lfilter, then BS.1770 gating.

    A final part-hop of at least half a hop counts, completed with silence.
    """
    b1, a1, b2, a2 = k_weighting_coefficients(rate)
    y = scipy.signal.lfilter(b2, a2, scipy.signal.lfilter(b1, a1, x.astype(np.float64)))
    hop = round(rate / 10)
    if 2 * (len(y) % hop) >= hop:
        y = np.concatenate([y, np.zeros(hop - len(y) % hop)])
    hops = (y[: len(y) // hop * hop] ** 2).reshape(-1, hop).sum(axis=1)
    power = np.array([hops[j : j + 4].sum() / (4 * hop) for j in range(len(hops) - 3)])
    lufs = -0.691 + 10 * np.log10(power)
    gated = power[lufs > -70]
    relative = -0.691 + 10 * np.log10(gated.mean()) - 10
    return float(-0.691 + 10 * np.log10(power[(lufs > -70) & (lufs > relative)].mean()))


def sine(freq: float, amplitude: float, seconds: float, rate: int) -> F32:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t + 0.3)).astype(np.float32)


def test_48k_coefficients_are_the_published_ones() -> None:
    b1, a1, b2, a2 = k_weighting_coefficients(48000)
    np.testing.assert_allclose(b1, [1.53512485958697, -2.69169618940638, 1.19839281085285])
    np.testing.assert_allclose(a1, [1.0, -1.69065929318241, 0.73248077421585])
    np.testing.assert_allclose(b2, [1.0, -2.0, 1.0])
    np.testing.assert_allclose(a2, [1.0, -1.99004745483398, 0.99007225036621])


@pytest.mark.parametrize("rate", [24000, 22050, 44100, 48000, 16000])
def test_speech_matches_pyloudnorm(speech: tuple[F32, int], rate: int) -> None:
    x = at_rate(*speech, rate)
    ours = integrated_loudness(x, rate)
    assert abs(ours - reference(x, rate)) < 0.1
    # The blocked filter is the exact IIR filter: same result as lfilter to float32 precision.
    assert abs(ours - exact_gated(x, rate)) < 1e-3


@pytest.mark.parametrize("freq", [40.0, 100.0, 440.0, 1000.0, 1500.0, 3000.0, 6000.0, 10000.0])
def test_sines_match_pyloudnorm(freq: float) -> None:
    x = sine(freq, 0.3, 3.0, 24000)
    assert abs(integrated_loudness(x, 24000) - reference(x, 24000)) < 0.1


def test_1khz_sine_reads_its_level() -> None:
    """A 1 kHz sine of peak -20 dBFS: mean square -23.01 dB, K-filter gain cancels the offset."""
    for rate in (24000, 48000):
        level = integrated_loudness(sine(1000.0, 0.1, 5.0, rate), rate)
        assert level == pytest.approx(-23.01, abs=0.02)


def test_noise_matches_pyloudnorm() -> None:
    rng = np.random.default_rng(1)
    white = (0.1 * rng.standard_normal(24000 * 8)).astype(np.float32)
    # Brown-ish noise: most energy at low frequencies, where the high-pass matters.
    walk = np.cumsum(rng.standard_normal(24000 * 8))
    brown = (0.005 * (walk - np.convolve(walk, np.ones(501) / 501, "same"))).astype(np.float32)
    for x in (white, brown):
        assert abs(integrated_loudness(x, 24000) - reference(x, 24000)) < 0.1


@pytest.mark.parametrize("seconds", [0.42, 0.47, 1.0, 1.234, 1.26, 2.04, 2.06, 2.97])
def test_short_clips_match_pyloudnorm(speech: tuple[F32, int], seconds: float) -> None:
    """Clips of a few blocks: the end of the signal is handled as pyloudnorm does."""
    x = at_rate(*speech, 24000)
    onset = int(np.flatnonzero(np.abs(x) > 0.05)[0])
    clip = x[onset : onset + round(seconds * 24000)]
    ours = integrated_loudness(clip, 24000)
    assert abs(ours - reference(clip, 24000)) < 0.06
    assert ours == pytest.approx(exact_gated(clip, 24000), abs=1e-3)


def test_gating_matches_pyloudnorm(speech: tuple[F32, int]) -> None:
    """Long silence and a quiet passage: the absolute and relative gates decide the result."""
    x = at_rate(*speech, 24000)
    rng = np.random.default_rng(2)
    quiet = (0.003 * rng.standard_normal(24000 * 10)).astype(np.float32)  # about -53 LUFS
    mix = np.concatenate([np.zeros(24000 * 5, np.float32), x, quiet, 0.5 * x])
    assert abs(integrated_loudness(mix, 24000) - reference(mix, 24000)) < 0.1


@pytest.mark.parametrize("size", [7, 333, 2205, 4099, 24000, 65537])
def test_streaming_equals_one_shot(speech: tuple[F32, int], size: int) -> None:
    x = at_rate(*speech, 24000)
    if size < 100:
        x = x[: 24000 * 2]
    whole = LoudnessMeter(24000)
    whole.add(x)
    parts = LoudnessMeter(24000)
    for start in range(0, len(x), size):
        parts.add(x[start : start + size])
    assert parts.integrated() == pytest.approx(whole.integrated(), abs=1e-6)
    assert parts.true_peak_db() == pytest.approx(whole.true_peak_db(), abs=1e-6)


def test_streaming_at_a_rate_whose_hops_split_blocks(speech: tuple[F32, int]) -> None:
    x, rate = speech  # 22050 Hz: 2205-sample hops straddle the filter's 32-sample blocks
    meter = LoudnessMeter(rate)
    for start in range(0, len(x), 1000):
        meter.add(x[start : start + 1000])
    assert meter.integrated() == pytest.approx(exact_gated(x, rate), abs=1e-3)


def test_meter_answers_midway(speech: tuple[F32, int]) -> None:
    x = at_rate(*speech, 24000)
    meter = LoudnessMeter(24000)
    meter.add(x[:100_000])
    assert meter.integrated() == pytest.approx(integrated_loudness(x[:100_000], 24000), abs=1e-6)
    meter.add(x[100_000:])
    assert meter.integrated() == pytest.approx(integrated_loudness(x, 24000), abs=1e-6)


def test_silence_and_near_silence_are_minus_infinity() -> None:
    meter = LoudnessMeter(24000)
    assert meter.integrated() == -math.inf
    assert meter.true_peak_db() == -math.inf
    meter.add(np.zeros(24000 * 3, dtype=np.float32))
    assert meter.integrated() == -math.inf
    assert meter.true_peak_db() == -math.inf
    faint = (1e-5 * np.random.default_rng(3).standard_normal(24000 * 3)).astype(np.float32)
    assert integrated_loudness(faint, 24000) == -math.inf  # about -97 LUFS: under the gate


def test_short_signal_is_one_block() -> None:
    """Under 400 ms, the whole signal is one gating block (BS.1770 leaves this undefined)."""
    x = sine(1000.0, 0.1, 0.25, 24000)
    b1, a1, b2, a2 = k_weighting_coefficients(24000)
    y = scipy.signal.lfilter(b2, a2, scipy.signal.lfilter(b1, a1, x.astype(np.float64)))
    expected = -0.691 + 10 * math.log10(float(np.mean(y**2)))
    assert integrated_loudness(x, 24000) == pytest.approx(expected, abs=1e-4)


def upsampled_peak_db(x: F32) -> float:
    """An independent true peak: scipy's polyphase 4x upsampler (a much longer filter)."""
    up = scipy.signal.resample_poly(x.astype(np.float64), 4, 1)
    return float(20 * np.log10(np.abs(up).max()))


def test_true_peak_matches_an_independent_upsampler(speech: tuple[F32, int]) -> None:
    x = at_rate(*speech, 24000)
    assert true_peak_db(x, 24000) == pytest.approx(upsampled_peak_db(x), abs=0.1)
    assert true_peak_db(x, 24000) >= 20 * math.log10(float(np.abs(x).max()))


def test_true_peak_finds_inter_sample_peaks() -> None:
    """sin(pi/2 n + pi/4) at a quarter of the rate: samples at 0.707 A, the wave reaches A."""
    n = np.arange(24000)
    fade = np.minimum(1.0, np.minimum(n, n[::-1]) / 2400)
    x = (0.5 * fade * np.sin(np.pi / 2 * n + np.pi / 4)).astype(np.float32)
    sample_db = 20 * math.log10(float(np.abs(x).max()))
    assert sample_db == pytest.approx(-9.03, abs=0.01)
    assert true_peak_db(x, 24000) == pytest.approx(-6.02, abs=0.2)
    assert true_peak_db(x, 24000) == pytest.approx(upsampled_peak_db(x), abs=0.2)


def test_true_peak_of_a_faded_sine() -> None:
    x = sine(997.0, 0.5, 2.0, 24000)
    x *= np.minimum(1.0, np.minimum(np.arange(len(x)), np.arange(len(x))[::-1]) / 1200)
    assert true_peak_db(x, 24000) == pytest.approx(-6.02, abs=0.02)


def test_true_peak_streams_across_block_edges() -> None:
    """A lone full-scale click in every position relative to the meter's internal blocks."""
    for offset in range(0, 40, 3):
        x = np.zeros(200, dtype=np.float32)
        x[100 + offset % 24] = -0.9
        meter = LoudnessMeter(24000)
        for start in range(0, 200, 13):
            meter.add(x[start : start + 13])
        assert meter.true_peak_db() == pytest.approx(true_peak_db(x, 24000), abs=1e-6)
        assert meter.true_peak_db() >= 20 * math.log10(0.9) - 1e-6


def test_true_peak_envelope_agrees_with_the_meter(speech: tuple[F32, int]) -> None:
    x = at_rate(*speech, 24000)
    env = true_peak_envelope(x)
    assert env.shape == x.shape
    assert np.all(env >= np.abs(x))
    assert 20 * math.log10(float(env.max())) == pytest.approx(true_peak_db(x, 24000), abs=1e-4)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="mono"):
        LoudnessMeter(24000).add(np.zeros((10, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="8000"):
        LoudnessMeter(4000)
    with pytest.raises(ValueError, match="meter"):
        LoudnessMeter(24000, true_peak=False).true_peak_db()


def test_ten_minutes_measure_fast(speech: tuple[F32, int]) -> None:
    """10 min at 24 kHz, fed in 1 s blocks (as the renderer does): about 0.1 s when idle.

    The bound is loose so a busy machine does not fail it; it catches gross regressions
    (a per-sample Python loop, or BLAS threads fighting on a busy machine).
    """
    x = at_rate(*speech, 24000)
    programme = np.resize(x, 24000 * 600)
    best = math.inf
    for _ in range(2):
        start = time.perf_counter()
        meter = LoudnessMeter(24000)
        for i in range(0, len(programme), 24000):
            meter.add(programme[i : i + 24000])
        meter.integrated()
        meter.true_peak_db()
        best = min(best, time.perf_counter() - start)
    assert best < 1.0


def test_no_scipy_at_import_or_call_time() -> None:
    code = (
        "import sys, numpy as np\n"
        "from voiceguide.dsp import loudness, truepeak\n"
        "x = np.sin(np.arange(48000) / 10).astype(np.float32)\n"
        "loudness.integrated_loudness(x, 24000); truepeak.true_peak_db(x, 24000)\n"
        "truepeak.true_peak_envelope(x)\n"
        "assert 'scipy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
