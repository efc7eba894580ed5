"""Signal helpers: resampling (voiceguide.dsp.resample), trimming and clip preparation
(voiceguide.dsp.clips), limiting (voiceguide.dsp.limiter).

References: pyloudnorm for loudness, scipy (tests only) for an independent 4x upsampler and
for making test signals at engine rates. Speech is real espeak-ng output (22050 Hz).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyloudnorm
import pytest
import scipy.signal
import soundfile

from voiceguide.dsp.clips import (
    CLIP_LIMIT_DBTP,
    SPEECH_LUFS,
    chunk_energies,
    chunk_peaks,
    chunk_stats,
    prepare_clip,
    trim_silence,
)
from voiceguide.dsp.limiter import PeakLimiter, limit
from voiceguide.dsp.loudness import LoudnessMeter, integrated_loudness
from voiceguide.dsp.resample import kaiser_sinc_table, resample
from voiceguide.dsp.truepeak import true_peak_db, true_peak_envelope
from voiceguide.units import SAMPLE_RATE

F32 = npt.NDArray[np.float32]


def espeak(path: Path, text: str, *extra: str) -> tuple[F32, int]:
    """Speak ``text`` with espeak-ng into ``path``; its samples and rate (22050 Hz)."""
    subprocess.run(["espeak-ng", *extra, "-w", str(path), text], check=True)
    data, rate = soundfile.read(str(path), dtype="float32")
    return np.asarray(data, dtype=np.float32), int(rate)


CLIPS = {
    "sentence": ("Breathe in slowly through your nose, and feel your ribs widen.", []),
    "fast": ("Hold it there, gently, and let your shoulders drop.", ["-s", "260"]),
    "slow": ("And now, breathe out.", ["-s", "90", "-v", "en-us"]),
    "low": ("Roll your neck to the left, then to the right.", ["-p", "10", "-a", "60"]),
    "short": ("Go.", []),
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[F32, int]]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        name: espeak(folder / f"{name}.wav", text, *extra) for name, (text, extra) in CLIPS.items()
    }


def tone(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> F32:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def level_at(x: F32, freq: float, rate: int) -> float:
    """Amplitude (dB re 1) of the component at ``freq`` in the middle half of ``x``."""
    mid = slice(len(x) // 4, 3 * len(x) // 4)
    t = np.arange(len(x))[mid] / rate
    amplitude = 2 * abs(np.mean(x[mid] * np.exp(-2j * np.pi * freq * t)))
    return float(20 * np.log10(amplitude + 1e-30))


def pyloudnorm_lufs(x: F32) -> float:
    return float(pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(x.astype(np.float64)))


def upsampled_peak_db(x: F32) -> float:
    up = scipy.signal.resample_poly(x.astype(np.float64), 4, 1)
    return float(20 * np.log10(np.abs(up).max()))


# --- resample ----------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000])
def test_resample_preserves_a_sine(rate: int) -> None:
    y = resample(tone(1000.0, 2.0, rate), rate, SAMPLE_RATE)
    assert y.dtype == np.float32
    assert len(y) == round(2.0 * rate * SAMPLE_RATE / rate)
    expected = tone(1000.0, len(y) / SAMPLE_RATE, SAMPLE_RATE)[: len(y)]
    inner = slice(1000, len(y) - 1000)  # away from the zero-padded ends
    assert np.abs(y[inner] - expected[inner]).max() < 1e-4


def test_resample_passband_is_flat() -> None:
    for freq in (100.0, 3000.0, 8000.0):
        y = resample(tone(freq, 1.0, 22050), 22050, SAMPLE_RATE)
        assert level_at(y, freq, SAMPLE_RATE) == pytest.approx(20 * math.log10(0.5), abs=0.01)


@pytest.mark.parametrize(("rate", "freq"), [(48000, 15000.0), (48000, 12600.0), (44100, 13000.0)])
def test_resample_attenuates_aliases(rate: int, freq: float) -> None:
    """Content above the new Nyquist frequency must not fold back into the band."""
    y = resample(tone(freq, 1.0, rate, amplitude=1.0), rate, SAMPLE_RATE)
    alias = SAMPLE_RATE - freq
    assert level_at(y, alias, SAMPLE_RATE) < -80.0
    assert 20 * math.log10(float(np.sqrt(np.mean(y[2000:-2000] ** 2)))) < -80.0


def test_resample_attenuates_images() -> None:
    """Going up from 22050 Hz, a tone near the old Nyquist must not leave an image above it."""
    freq = 10800.0
    y = resample(tone(freq, 1.0, 22050, amplitude=1.0), 22050, SAMPLE_RATE)
    assert level_at(y, 22050 - freq, SAMPLE_RATE) < -80.0


def test_resample_identity_and_edges() -> None:
    x = tone(440.0, 0.1, SAMPLE_RATE)
    same = resample(x, SAMPLE_RATE, SAMPLE_RATE)
    assert np.array_equal(same, x) and same is not x
    assert resample(np.zeros(0, dtype=np.float32), 22050, SAMPLE_RATE).size == 0
    assert len(resample(np.ones(3, dtype=np.float32), 22050, SAMPLE_RATE)) == 3
    with pytest.raises(ValueError):
        resample(x, 0, SAMPLE_RATE)


@pytest.mark.parametrize("settings", [(48, 0.94, 8.6), (16, 0.9, 6.0)])  # export, player
def test_kaiser_sinc_tables(settings: tuple[int, float, float]) -> None:
    """One design for both resamplers: unity gain at DC in every phase, the window zero
    beyond its half-width, and the cached table shared read-only."""
    table, half = kaiser_sinc_table(2, 1, *settings)
    assert table.shape == (2, 2 * half) and table.dtype == np.float32
    np.testing.assert_allclose(table.sum(axis=1), 1.0, atol=1e-6)
    assert table[0, -1] == 0.0  # offset half from phase 0 lies beyond the half-width
    assert kaiser_sinc_table(2, 1, *settings)[0] is table and not table.flags.writeable


# --- trim_silence ------------------------------------------------------------------------


def test_trim_cuts_padding_and_keeps_the_speech(clips: dict[str, tuple[F32, int]]) -> None:
    speech, rate = clips["sentence"]
    rng = np.random.default_rng(4)
    hiss = (1e-4 * rng.standard_normal(rate)).astype(np.float32)  # about -80 dBFS
    y = trim_silence(np.concatenate([hiss, speech, hiss]), rate)
    gap = np.zeros(rate, dtype=np.float32)
    assert len(y) == len(trim_silence(np.concatenate([gap, speech, gap]), rate))
    assert len(y) < len(speech) + 0.05 * rate
    # The loud part survives unchanged: find it in the trimmed clip.
    loud = np.flatnonzero(np.abs(speech) > 0.05)
    core = speech[loud[0] : loud[-1] + 1]
    start = int(np.flatnonzero(np.abs(y) > 0.05)[0])
    assert np.array_equal(y[start : start + len(core)], core)
    # Faded ends: the cut cannot click.
    assert abs(float(y[0])) < 1e-5 and abs(float(y[-1])) < 1e-5


def test_trim_is_relative_to_the_clip_level(clips: dict[str, tuple[F32, int]]) -> None:
    speech, rate = clips["sentence"]
    assert len(trim_silence(0.01 * speech, rate)) == len(trim_silence(speech, rate))


def test_trim_keeps_the_requested_margin() -> None:
    x = np.zeros(24000, dtype=np.float32)
    x[10000:14000] = tone(300.0, 4000 / 24000, 24000)
    y = trim_silence(x, 24000, keep_ms=10.0)
    # 4000 samples of tone, 240 kept each side, plus at most the 5 ms detection window.
    assert 4000 + 480 <= len(y) <= 4000 + 480 + 120


def test_trim_of_silence_is_empty() -> None:
    assert trim_silence(np.zeros(1000, dtype=np.float32), 24000).size == 0
    assert trim_silence(np.zeros(0, dtype=np.float32), 24000).size == 0


# --- limit -------------------------------------------------------------------------------


def test_limiter_never_exceeds_the_ceiling(clips: dict[str, tuple[F32, int]]) -> None:
    speech = resample(*clips["sentence"], SAMPLE_RATE)
    ceiling = np.float32(10 ** (-3.0 / 20))
    for boost in (1.0, 3.0, 10.0):
        y = limit(boost * speech, SAMPLE_RATE, -3.0)
        assert float(np.abs(y).max()) <= ceiling
        assert y.dtype == np.float32 and y.shape == speech.shape


def test_limiter_gain_is_smooth_and_leaves_quiet_parts_alone() -> None:
    x = tone(150.0, 2.0, SAMPLE_RATE, amplitude=0.2)
    x[20000:22000] *= 8.0  # a loud burst: 1.6 peak against a 0.5 ceiling
    y = limit(x, SAMPLE_RATE, 20 * math.log10(0.5), lookahead_ms=5.0)
    assert float(np.abs(y).max()) <= 0.5
    live = np.abs(x) > 0.02
    gain = np.ones_like(x)
    gain[live] = y[live] / x[live]
    assert np.all(gain <= 1.0 + 1e-6)
    steps = np.abs(np.diff(gain))[live[1:] & live[:-1]]
    ahead = 5.0 * SAMPLE_RATE / 1000
    assert steps.max() < 2.5 / ahead  # ramps over the lookahead: no clicks
    assert np.array_equal(y[:15000], x[:15000])  # far from the burst: untouched


def test_limiter_without_overs_is_identity() -> None:
    x = tone(440.0, 0.5, SAMPLE_RATE, amplitude=0.3)
    assert np.array_equal(limit(x, SAMPLE_RATE, -1.0), x)
    assert limit(np.zeros(0, dtype=np.float32), SAMPLE_RATE, -1.0).size == 0


def test_true_peak_limiting(clips: dict[str, tuple[F32, int]]) -> None:
    speech = resample(*clips["fast"], SAMPLE_RATE) * 4.0
    y = limit(speech, SAMPLE_RATE, -3.0, true_peak=True)
    assert true_peak_db(y, SAMPLE_RATE) <= -3.0 + 0.05


# --- prepare_clip ------------------------------------------------------------------------


def sample_peak_db(y: F32) -> float:
    return 20 * math.log10(float(np.abs(y).max()))


@pytest.mark.parametrize("name", ["sentence", "fast", "slow", "low"])
def test_prepared_clips_meet_loudness_and_peak(
    clips: dict[str, tuple[F32, int]], name: str
) -> None:
    samples, rate = clips[name]
    y = prepare_clip(samples, rate)
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) < len(samples) * SAMPLE_RATE / rate  # the engine's silence is gone
    assert pyloudnorm_lufs(y) == pytest.approx(SPEECH_LUFS, abs=0.2)
    assert integrated_loudness(y, SAMPLE_RATE) == pytest.approx(SPEECH_LUFS, abs=0.06)
    assert true_peak_db(y, SAMPLE_RATE) - SPEECH_LUFS <= 16.0  # peak-to-loudness ratio
    assert true_peak_db(y, SAMPLE_RATE) > CLIP_LIMIT_DBTP  # the make-up gain raised it
    assert abs(float(y[0])) < 1e-3 and abs(float(y[-1])) < 1e-3


@pytest.mark.parametrize("engine_rate", [16000, 44100, 48000])
def test_prepare_clip_from_other_engine_rates(
    clips: dict[str, tuple[F32, int]], engine_rate: int
) -> None:
    samples, rate = clips["sentence"]
    g = math.gcd(rate, engine_rate)
    other = scipy.signal.resample_poly(samples, engine_rate // g, rate // g).astype(np.float32)
    y = prepare_clip(other, engine_rate)
    assert pyloudnorm_lufs(y) == pytest.approx(SPEECH_LUFS, abs=0.2)
    assert true_peak_db(y, SAMPLE_RATE) - SPEECH_LUFS <= 16.0  # peak-to-loudness ratio
    assert true_peak_db(y, SAMPLE_RATE) > CLIP_LIMIT_DBTP  # the make-up gain raised it


def test_prepare_clip_of_a_short_word(clips: dict[str, tuple[F32, int]]) -> None:
    """Shorter than one 400 ms gating block: measured as one block over the whole clip."""
    y = prepare_clip(*clips["short"])
    assert len(y) > 0
    assert integrated_loudness(y, SAMPLE_RATE) == pytest.approx(SPEECH_LUFS, abs=0.06)
    assert true_peak_db(y, SAMPLE_RATE) - SPEECH_LUFS <= 16.0  # peak-to-loudness ratio
    assert true_peak_db(y, SAMPLE_RATE) > CLIP_LIMIT_DBTP  # the make-up gain raised it


def test_prepare_clip_does_not_depend_on_engine_volume(clips: dict[str, tuple[F32, int]]) -> None:
    samples, rate = clips["sentence"]
    loud, quiet = prepare_clip(samples, rate), prepare_clip(0.001 * samples, rate)
    assert len(loud) == len(quiet)
    assert integrated_loudness(quiet, SAMPLE_RATE) == pytest.approx(SPEECH_LUFS, abs=0.06)


def test_prepare_clip_rejects_what_is_not_speech() -> None:
    with pytest.raises(ValueError, match="no samples"):
        prepare_clip(np.zeros(0, dtype=np.float32), 22050)
    with pytest.raises(ValueError, match="silence"):
        prepare_clip(np.zeros(22050, dtype=np.float32), 22050)
    with pytest.raises(ValueError, match="non-finite"):
        prepare_clip(np.full(100, np.nan, dtype=np.float32), 22050)
    with pytest.raises(ValueError, match="mono"):
        prepare_clip(np.zeros((100, 2), dtype=np.float32), 22050)


def test_no_scipy_at_import_or_call_time(clips: dict[str, tuple[F32, int]]) -> None:
    code = (
        "import sys, numpy as np\n"
        "from voiceguide.dsp import clips as dsp\n"
        "t = np.arange(22050) / 22050\n"
        "x = (np.sin(2 * np.pi * 220 * t) * np.sin(np.pi * t)).astype(np.float32)\n"
        "dsp.prepare_clip(x, 22050)\n"
        "assert 'scipy' not in sys.modules, 'scipy was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _bursts(seconds: int = 5, seed: int = 3) -> F32:
    """Quiet noise with loud bursts, some close together: work for a limiter."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(seconds * SAMPLE_RATE) * 0.05).astype(np.float32)
    for start in (1000, 30_000, 31_000, 70_000, 119_000):
        x[start : start + 600] *= 20
    return x


def _in_blocks(x: F32, peaks: F32, sizes_ms: list[int]) -> list[tuple[F32, F32]]:
    blocks, i, k = [], 0, 0
    while i < len(peaks):
        n = sizes_ms[k % len(sizes_ms)]
        blocks.append((x[i * 24 : (i + n) * 24], peaks[i : i + n]))
        i += n
        k += 1
    return blocks


def test_chunk_peaks_bound_the_true_peak_of_every_millisecond() -> None:
    x = _bursts()
    peaks = chunk_peaks(x)
    assert peaks.shape == (len(x) // 24,)
    env = true_peak_envelope(x).reshape(-1, 24).max(axis=1)
    assert np.all(peaks >= env - 1e-7)
    np.testing.assert_allclose(peaks, env, rtol=1e-5, atol=1e-6)
    assert 20 * math.log10(float(peaks.max())) == pytest.approx(
        true_peak_db(x, SAMPLE_RATE), abs=0.01
    )


def test_chunk_energies_add_up_to_the_meters_energy() -> None:
    """Per-millisecond K-weighted energies: grouped by 100 they are the meter's hops."""
    x = _bursts(seconds=3)
    energies = chunk_energies(x[:-5])  # not a whole number of chunks: the last is padded
    assert energies.shape == (len(x) // 24,)
    meter = LoudnessMeter(SAMPLE_RATE, true_peak=False)
    meter.add(np.concatenate([x[:-5], np.zeros(100, np.float32)]))
    hops = meter.hop_energies()
    ours = energies.astype(np.float64).reshape(-1, 100).sum(axis=1)
    np.testing.assert_allclose(ours, hops[: len(ours)], rtol=1e-4)
    assert chunk_stats(x).shape == (2, len(x) // 24)


def test_peak_limiter_streams_exactly() -> None:
    """Any block sizes give the same samples as one block: the windows are exact."""
    x = _bursts()
    peaks = chunk_peaks(x)
    ceiling = -3.0
    whole = np.concatenate(list(PeakLimiter(ceiling).process([(x, peaks)])))
    streamed = np.concatenate(
        list(PeakLimiter(ceiling).process(_in_blocks(x, peaks, [1, 7, 100, 1000, 13, 2000])))
    )
    assert streamed.shape == whole.shape == x.shape
    np.testing.assert_array_equal(streamed, whole)
    assert true_peak_db(whole, SAMPLE_RATE) <= ceiling + 0.05
    # Far from the bursts nothing changes.
    np.testing.assert_array_equal(whole[50_000:65_000], x[50_000:65_000])


def test_peak_limiter_ramps_smoothly_around_a_burst() -> None:
    x = np.full(SAMPLE_RATE, 0.3, dtype=np.float32)
    x[12_000:12_240] = 0.95
    y = np.concatenate(list(PeakLimiter(-6.0).process([(x, chunk_peaks(x))])))
    gain = y / x
    assert float(np.abs(y).max()) <= 10 ** (-6 / 20) + 1e-6
    assert float(np.abs(np.diff(gain)).max()) < 0.01  # no step: no click
    assert gain[0] == gain[-1] == 1.0


def test_peak_limiter_energies_predict_the_limited_loudness() -> None:
    """``energies`` from the stats gives the loudness of ``process`` from the samples."""
    x = _bursts(seconds=10, seed=5) * np.float32(2.0)
    stats = chunk_stats(x)
    limited = np.concatenate(list(PeakLimiter(-6.0).process([(x, stats[0])])))
    energies = np.concatenate(list(PeakLimiter(-6.0).energies([(stats[1], stats[0])])))
    hops = energies.reshape(-1, 100).sum(axis=1)
    predicted = -0.691 + 10 * math.log10(float(hops.mean()) / 2400)
    meter = LoudnessMeter(SAMPLE_RATE, true_peak=False)
    meter.add(limited)
    actual = -0.691 + 10 * math.log10(float(meter.hop_energies().mean()) / 2400)
    assert predicted == pytest.approx(actual, abs=0.05)
    assert predicted < -0.691 + 10 * math.log10(float(stats[1].sum()) / len(x)) - 0.5


def test_peak_limiter_rejects_blocks_off_the_millisecond_grid() -> None:
    x = np.zeros(100, dtype=np.float32)
    with pytest.raises(ValueError, match="peaks"):
        list(PeakLimiter(-3.0).process([(x, np.zeros(4, np.float32))]))


def test_limiter_leaves_quiet_parts_untouched() -> None:
    x = np.full(SAMPLE_RATE, 0.1, dtype=np.float32)
    x[12_000] = 0.9
    y = limit(x, SAMPLE_RATE, -6.0)
    assert float(np.abs(y).max()) <= 10 ** (-6 / 20) + 1e-6
    np.testing.assert_array_equal(y[:10_000], x[:10_000])
    np.testing.assert_array_equal(y[14_000:], x[14_000:])


@pytest.mark.parametrize("lie", ["zeros", "a tenth", "nan"])
def test_peak_limiter_holds_the_ceiling_whatever_the_peaks_say(lie: str) -> None:
    """Lying stats (a damaged cache gave +5 dBTP of full-scale noise, flat-topped by the
    final clip): each chunk counts with at least its samples' own peak, so no sample goes
    past the ceiling and none is left to the hard clip."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(SAMPLE_RATE * 2) * 0.8).astype(np.float32)  # way over
    honest = chunk_peaks(x)
    peaks = {
        "zeros": np.zeros_like(honest),
        "a tenth": honest * np.float32(0.1),
        "nan": np.full_like(honest, np.nan),
    }[lie]
    ceiling_db = -1.5
    ceiling = 10 ** (ceiling_db / 20)
    y = np.concatenate(list(PeakLimiter(ceiling_db).process(_in_blocks(x, peaks, [240, 24_000]))))
    assert y.shape == x.shape and np.isfinite(y).all()
    assert float(np.abs(y).max()) <= ceiling * (1 + 1e-6)
    # Not flat-topped: the limiter's gain, not the clip, brought the samples down.
    assert int((np.abs(y) >= ceiling * (1 - 1e-6)).sum()) < 0.001 * len(y)


def test_peak_limiter_silences_non_finite_samples() -> None:
    x = np.full(2400, 0.5, dtype=np.float32)
    x[100], x[200], x[300] = np.nan, np.inf, -np.inf
    y = np.concatenate(list(PeakLimiter(-1.5).process([(x, chunk_peaks(np.nan_to_num(x)))])))
    assert np.isfinite(y).all() and float(np.abs(y).max()) <= 10 ** (-1.5 / 20) + 1e-6
