"""The renderer: the mix's loudness worked out from clip stats, the limiter, block sizes.

``analyse`` never mixes a sample: these tests render the mix it levels and measure it with
the BS.1770 meter, so the stats-based figures are checked against real audio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SCRIPTS
from voiceguide.compile import compile_routine
from voiceguide.dsp.loudness import LoudnessMeter
from voiceguide.render import CEILING_DBTP, TARGET_LUFS, analyse, render
from voiceguide.script import load_script
from voiceguide.timeline import Timeline
from voiceguide.units import SAMPLE_RATE
from voiceguide.voices.cache import SpeechCache

BUILTINS = sorted(SCRIPTS.rglob("*.yaml"))


def measured(
    timeline: Timeline,
    bank: SpeechCache,
    ceiling_dbtp: float = CEILING_DBTP,
    target_lufs: float = TARGET_LUFS,
) -> tuple[float, float]:
    level = analyse(timeline, bank, ceiling_dbtp=ceiling_dbtp, target_lufs=target_lufs)
    meter = LoudnessMeter(SAMPLE_RATE)
    for block in render(timeline, bank, level):
        meter.add(block)
    return meter.integrated(), meter.true_peak_db()


@pytest.fixture(scope="module")
def fake_bank(tmp_path_factory: pytest.TempPathFactory) -> SpeechCache:
    from voiceguide.voices.fake import FakeEngine

    return SpeechCache(tmp_path_factory.mktemp("speech"), engines={"pyttsx3": FakeEngine})


@pytest.mark.parametrize("script", BUILTINS, ids=lambda p: p.stem)
def test_analysis_lands_the_rendered_mix_on_target(script: object, fake_bank: SpeechCache) -> None:
    """Every built-in routine, lossless and lossy ceilings: on target, peaks under."""
    timeline = compile_routine(load_script(script), fake_bank).timeline  # type: ignore[arg-type]
    for ceiling, target in ((-1.5, -16.0), (-2.5, -15.6)):
        lufs, peak = measured(timeline, fake_bank, ceiling_dbtp=ceiling, target_lufs=target)
        assert lufs == pytest.approx(target, abs=0.03)
        assert peak <= ceiling + 0.05


@pytest.mark.e2e
def test_analysis_with_real_speech(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The daily routine in espeak-ng's voice: the figures the export reports."""
    bank = SpeechCache(tmp_path_factory.mktemp("speech"))
    compiled = compile_routine(load_script(SCRIPTS / "daily.yaml"), bank)
    bank.wait()
    level = analyse(compiled.timeline, bank)
    lufs, peak = measured(compiled.timeline, bank)
    assert lufs == pytest.approx(-16.0, abs=0.03)
    assert level.output_lufs == pytest.approx(lufs, abs=0.03)
    assert peak <= -1.5 + 0.05
    assert peak <= level.output_peak_db + 0.05  # the analysis' bound holds


def test_block_size_and_start_do_not_change_the_audio(fake_bank: SpeechCache) -> None:
    """The player's 100 ms blocks give the export's samples, from any whole millisecond."""
    timeline = compile_routine(load_script(SCRIPTS / "techniques" / "cat-cow.yaml"), fake_bank)
    tl = timeline.timeline
    level = analyse(tl, fake_bank)
    whole = np.concatenate(list(render(tl, fake_bank, level)))
    small = np.concatenate(list(render(tl, fake_bank, level, block_frames=2400)))
    np.testing.assert_array_equal(small, whole)
    assert len(whole) == tl.duration_ms * 24
    # From a later start (a seek in the player): the same samples from there on, since the
    # limiter only looks 47 ms back and a step starts after a quiet moment.
    start_ms = tl.chapters[2].start_ms
    rest = np.concatenate(list(render(tl, fake_bank, level, start_ms=start_ms, block_frames=2400)))
    np.testing.assert_array_equal(rest, whole[start_ms * 24 :])
    with pytest.raises(ValueError, match="whole milliseconds"):
        list(render(tl, fake_bank, level, block_frames=1000))


@pytest.mark.parametrize("script", BUILTINS, ids=lambda p: p.stem)
def test_a_cold_estimate_is_close_to_the_exact_level(
    script: object, fake_bank: SpeechCache, tmp_path: Path
) -> None:
    """What a cold play starts with, the first cue spoken and the rest guessed, against
    the level the export uses."""
    from voiceguide.render import estimate_level
    from voiceguide.voices.fake import FakeEngine

    routine = load_script(script)  # type: ignore[arg-type]
    timeline = compile_routine(routine, fake_bank).timeline
    exact = analyse(timeline, fake_bank)
    cold = SpeechCache(tmp_path / "speech", engines={"pyttsx3": FakeEngine})
    first = timeline.speech[0]
    cold.clip(first.spoken, first.voice)  # what a cold start has spoken when it begins
    estimate = estimate_level(timeline, cold, lambda g: compile_routine(routine, g).timeline)
    total = estimate.gain_db + estimate.post_gain_db
    assert total == pytest.approx(exact.gain_db + exact.post_gain_db, abs=0.5)


def test_speech_rendered_on_its_own_is_the_timeline_mix_of_it(fake_bank: SpeechCache) -> None:
    """What the player says over a pause goes through the same mix: one Speech in a
    timeline of its own, at the given level, padded with silence either side."""
    from voiceguide.model import VoiceSettings
    from voiceguide.render import Level, render_speech
    from voiceguide.timeline import Speech
    from voiceguide.units import ms_to_frames

    voice = VoiceSettings()
    clip = fake_bank.clip("Resuming Cat-Cow.", voice)
    level = Level(3.0, -1.5, 0.5, -16.0, -1.0)
    said = render_speech("Resuming Cat-Cow.", voice, fake_bank, level, pad_ms=300)
    assert len(said) == ms_to_frames(clip.duration_ms + 600)
    assert not said[: ms_to_frames(300)].any() and not said[-ms_to_frames(300) :].any()
    speech = Speech(300, clip.duration_ms, "Resuming Cat-Cow.", None, "say", voice)
    alone = Timeline("", clip.duration_ms + 600, 0, (speech,), ())
    np.testing.assert_array_equal(said, np.concatenate(list(render(alone, fake_bank, level))))


def _speech_rms_db(tl: Timeline, bank: SpeechCache) -> float:
    """The exported mix's RMS over the speech, in dB (the level ``analyse`` finds)."""
    from voiceguide.units import ms_to_frames

    mix = np.concatenate(list(render(tl, bank, analyse(tl, bank))))
    (s,) = tl.speech
    part = mix[ms_to_frames(s.start_ms) : ms_to_frames(s.end_ms)].astype(np.float64)
    return float(10 * np.log10(np.mean(part * part)))


def test_a_voice_at_half_volume_is_6_db_quieter_in_the_export(
    fake_bank: SpeechCache, tmp_path: Path
) -> None:
    """The speech cache levels every clip alike, so the volume is the mixer's gain, and the
    level is found at full volume: 0.5 is heard 6 dB under, not levelled away."""
    from tests.conftest import write

    def timeline(volume: float) -> Timeline:
        text = (
            f"title: T\nvoice: {{volume: {volume}}}\nsteps:\n"
            "  - {name: A, duration: 8s, chime: false, say: Hold the stretch and breathe.}\n"
        )
        path = write(tmp_path, text, f"v{volume}.yaml")
        return compile_routine(load_script(path), fake_bank).timeline

    full, half = timeline(1.0), timeline(0.5)
    assert half.speech[0].voice.volume == 0.5
    assert analyse(full, fake_bank) == analyse(half, fake_bank)
    drop = _speech_rms_db(half, fake_bank) - _speech_rms_db(full, fake_bank)
    assert drop == pytest.approx(20 * np.log10(0.5), abs=0.2)
