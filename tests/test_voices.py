"""Speech engines: the real pyttsx3 + espeak-ng engine end to end, the fake, the registry."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO
from voiceguide.errors import EngineError
from voiceguide.model import VoiceSettings
from voiceguide.voices import ENGINES, get_engine
from voiceguide.voices import espeak as p3
from voiceguide.voices import pyttsx3_driver as driver
from voiceguide.voices.base import HintedEngine, VoiceInfo
from voiceguide.voices.fake import FAKE_RATE, FakeEngine, speech_ms
from voiceguide.voices.resolve import resolve_voice

CUE = "Breathe in slowly and relax your shoulders"


def seconds(samples: np.ndarray, rate: int) -> float:
    return float(len(samples)) / rate


def voiced(samples: np.ndarray, rate: int) -> float:
    """Seconds from the first to the last audible sample (espeak's padding varies)."""
    loud = np.flatnonzero(np.abs(samples) > 0.003)
    return float(loud[-1] - loud[0]) / rate


@pytest.fixture(scope="module")
def engine() -> p3.EspeakEngine:
    return p3.EspeakEngine()


# -- the real engine (pyttsx3 + espeak-ng) ---------------------------------------------------


@pytest.mark.e2e
def test_speaks_a_plausible_clip(engine: p3.EspeakEngine) -> None:
    samples, rate = engine.synthesize(CUE, VoiceSettings())
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert rate == 22_050
    assert 1.5 < seconds(samples, rate) < 5.0  # 7 words at 160 wpm, plus espeak's end pause
    assert 0.05 < float(np.abs(samples).max()) <= 1.0


@pytest.mark.e2e
def test_stdout_and_stderr_stay_clean(
    engine: p3.EspeakEngine, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    engine.synthesize("Switch sides.", VoiceSettings())
    engine.synthesize("Now the left side.", VoiceSettings(voice="en-us", rate=200))
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


@pytest.mark.e2e
def test_public_save_to_file_path_works_and_stays_quiet(
    engine: p3.EspeakEngine, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback used by SAPI5/NSSS: pyttsx3 prints "Audio saved to" from espeak's thread."""
    monkeypatch.setattr(driver, "espeak_binding", lambda shared: None)
    capfd.readouterr()
    samples, rate = engine.synthesize("Hold", VoiceSettings())
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert rate == 22_050
    assert 0.2 < seconds(samples, rate) < 3.0
    assert float(np.abs(samples).max()) > 0.05


@pytest.mark.e2e
def test_rate_changes_duration_every_time(engine: p3.EspeakEngine) -> None:
    """pyttsx3's own run loop drops rate changes at random; alternate to catch that."""
    slow, fast = VoiceSettings(rate=120), VoiceSettings(rate=240)
    durations: dict[int, list[float]] = {120: [], 240: []}
    for voice in (slow, fast, slow, fast, slow, fast):
        samples, rate = engine.synthesize(CUE, voice)
        durations[voice.rate].append(voiced(samples, rate))
    for runs in durations.values():  # espeak-ng varies by a few ms, never by a rate step
        assert max(runs) - min(runs) < 0.03
    assert min(durations[120]) > 1.6 * max(durations[240])


@pytest.mark.e2e
def test_settings_do_not_leak_between_utterances(engine: p3.EspeakEngine) -> None:
    """espeak-ng jitters (and its end padding varies), so compare the voiced parts."""
    a, rate = engine.synthesize("Ten seconds left", VoiceSettings(voice="en-us"))
    engine.synthesize("Something else in between", VoiceSettings(voice="de", rate=300, volume=0.2))
    b, _ = engine.synthesize("Ten seconds left", VoiceSettings(voice="en-us"))
    assert abs(voiced(a, rate) - voiced(b, rate)) < 0.005
    assert abs(float(np.abs(a).max()) - float(np.abs(b).max())) < 0.1


@pytest.mark.e2e
def test_same_text_same_samples_whatever_was_spoken_before(engine: p3.EspeakEngine) -> None:
    """A, B, A: espeak-ng keeps state between utterances, which shifted the second A by a
    few samples (up to 100 ms on longer texts); each text now starts from the same state,
    in this process and in a new one."""
    a = "Breathe in slowly and relax your shoulders."
    b = "Switch sides. Now the left side, and hold it there for ten seconds!"
    first, rate = engine.synthesize(a, VoiceSettings())
    engine.synthesize(b, VoiceSettings())
    engine.synthesize("Hold", VoiceSettings(voice="de", rate=300))
    again, _ = engine.synthesize(a, VoiceSettings())
    assert rate == 22_050
    assert np.array_equal(first, again)
    code = (
        "import hashlib, sys\n"
        "from voiceguide.model import VoiceSettings\n"
        "from voiceguide.voices.espeak import EspeakEngine\n"
        "samples, _ = EspeakEngine().synthesize(sys.argv[1], VoiceSettings())\n"
        "print(hashlib.sha256(samples.tobytes()).hexdigest())\n"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", code, a], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert fresh.stdout.strip() == hashlib.sha256(first.tobytes()).hexdigest()


@pytest.mark.e2e
def test_a_very_long_text_never_reaches_espeak_whole(engine: p3.EspeakEngine) -> None:
    """espeak-ng crashed with SIGSEGV (exit 139) on a 50 000-character cue: long texts are
    spoken in parts, and texts beyond the engine's limit are refused with one line."""
    long = "Relax your jaw and let your shoulders drop. " * 30  # 1320 characters
    samples, rate = engine.synthesize(long, VoiceSettings())
    assert 60 < seconds(samples, rate) < 150
    with pytest.raises(EngineError, match=r"50000 characters is too long.*at most 5000") as info:
        engine.synthesize("a" * 50_000, VoiceSettings())
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_split_text_cuts_at_sentences_then_clauses_then_words() -> None:
    text = "Relax your jaw. " * 100
    parts = p3.split_text(text, 100)
    assert all(len(p) <= 100 and p.endswith(".") for p in parts)
    assert " ".join(parts) == text.strip()
    clauses = p3.split_text("one, two, three, four, five", 12)
    assert clauses == ["one, two,", "three, four,", "five"]
    assert p3.split_text("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]
    assert p3.split_text("  Hold.  ") == ["Hold."]


@pytest.mark.e2e
@pytest.mark.parametrize("wanted", ["en-us", "EN_US", "English (America)", "gmw/en-US"])
def test_voice_by_id_name_or_language(engine: p3.EspeakEngine, wanted: str) -> None:
    assert "voice=gmw/en-us;" in engine.identity(VoiceSettings(voice=wanted))


@pytest.mark.e2e
def test_default_voice_is_english_and_voices_differ(engine: p3.EspeakEngine) -> None:
    ident = engine.identity(VoiceSettings())
    assert ident.startswith("pyttsx3=2.") and "driver=espeak" in ident
    assert "voice=gmw/en;" in ident and "espeak-ng=1." in ident
    us, _ = engine.synthesize("Hold", VoiceSettings(voice="en-us"))
    de, _ = engine.synthesize("Hold", VoiceSettings(voice="de"))
    assert not np.array_equal(us, de)


@pytest.mark.e2e
def test_unknown_voice_names_the_fix(engine: p3.EspeakEngine) -> None:
    with pytest.raises(EngineError) as info:
        engine.synthesize("Hold", VoiceSettings(voice="en-uss"))
    message = str(info.value)
    assert "'en-uss'" in message
    assert "en-us (English (America))" in message  # a close match is suggested
    assert "voiceguide voices" in message


@pytest.mark.e2e
def test_ambiguous_voice_lists_candidates(engine: p3.EspeakEngine) -> None:
    with pytest.raises(EngineError, match=r"matches \d+ voices, e\.g\. .*English \("):
        engine.identity(VoiceSettings(voice="english"))


@pytest.mark.e2e
def test_voices_lists_voice_infos(engine: p3.EspeakEngine) -> None:
    voices = engine.voices()
    assert len(voices) > 20
    assert all(isinstance(v, VoiceInfo) for v in voices)
    us = next(v for v in voices if v.id == "gmw/en-us")
    assert us.name == "English (America)" and us.languages == ("en-us",)


@pytest.mark.e2e
def test_identity_hint_is_cheap_facts(engine: p3.EspeakEngine) -> None:
    assert isinstance(engine, HintedEngine)
    hint = engine.identity_hint(VoiceSettings())
    assert hint is not None and "libespeak-ng.so" in hint
    assert hint == engine.identity_hint(VoiceSettings(voice="de"))


def test_empty_text_is_a_value_error(engine: p3.EspeakEngine) -> None:
    with pytest.raises(ValueError):
        engine.synthesize("  ", VoiceSettings())


def test_engine_that_cannot_start_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyttsx3

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("This means you probably do not have eSpeak or eSpeak-ng installed!")

    monkeypatch.setattr(driver, "_SHARED", None)
    monkeypatch.setattr(pyttsx3, "init", broken)
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(EngineError, match=r"sudo apt install espeak-ng") as info:
        p3.EspeakEngine().synthesize("Hold", VoiceSettings())
    assert "could not start" in str(info.value)


def test_resolve_voice_rules() -> None:
    voices = [
        VoiceInfo("gmw/de", "German", ("de",)),
        VoiceInfo("gmw/en", "English (Great Britain)", ("en-gb",)),
        VoiceInfo("gmw/en-us", "English (America)", ("en-us",)),
    ]
    assert resolve_voice(voices, None, "gmw/en", "pyttsx3").id == "gmw/en"
    assert resolve_voice(voices, None, "gmw/de", "pyttsx3").id == "gmw/en"  # default not English
    assert resolve_voice(voices, "en-gb", None, "pyttsx3").id == "gmw/en"  # by language
    assert resolve_voice(voices, "en_US", None, "pyttsx3").id == "gmw/en-us"
    assert resolve_voice(voices, "german", None, "pyttsx3").id == "gmw/de"
    assert resolve_voice(voices, "america", None, "pyttsx3").id == "gmw/en-us"  # unique name part
    with pytest.raises(EngineError, match="matches 2 voices"):
        resolve_voice(voices, "english", None, "pyttsx3")


# -- registry -----------------------------------------------------------------------------


def test_registry_knows_both_engines() -> None:
    assert set(ENGINES) >= {"pyttsx3", "fake"}
    assert get_engine("fake").name == "fake"
    assert get_engine("pyttsx3").name == "pyttsx3"


def test_unknown_engines_are_engine_errors() -> None:
    with pytest.raises(EngineError, match="'nope'.*use one of: fake, hibari, piper, pyttsx3"):
        get_engine("nope")


def test_voices_package_imports_light() -> None:
    code = (
        "import sys, voiceguide.voices\n"
        "heavy = {'numpy', 'pyttsx3', 'soundfile', 'scipy'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# -- the fake engine ----------------------------------------------------------------------


def test_fake_is_deterministic_and_follows_the_text() -> None:
    fake = FakeEngine()
    a, rate = fake.synthesize("Breathe in", VoiceSettings(engine="fake"))
    b, _ = fake.synthesize("Breathe in", VoiceSettings(engine="fake"))
    assert rate == FAKE_RATE
    assert np.array_equal(a, b) and a.dtype == np.float32
    voiced = np.flatnonzero(np.abs(a) > 1e-4)
    assert abs((voiced[-1] - voiced[0]) / rate * 1000 - speech_ms("Breathe in")) < 20
    assert 0.1 < float(np.abs(a).max()) < 0.5


def test_fake_rate_and_volume() -> None:
    fake = FakeEngine()
    slow, _ = fake.synthesize("Hold", VoiceSettings(engine="fake", rate=80))
    fast, _ = fake.synthesize("Hold", VoiceSettings(engine="fake", rate=320))
    assert len(slow) > 2 * len(fast)
    assert speech_ms("Hold", 80) == 4 * speech_ms("Hold", 320)
    quiet, _ = fake.synthesize("Hold", VoiceSettings(engine="fake", volume=0.5))
    loud, _ = fake.synthesize("Hold", VoiceSettings(engine="fake", volume=1.0))
    assert np.allclose(quiet * 2, loud, atol=1e-6)


def test_fake_gives_silence_for_nothing_speakable() -> None:
    samples, _ = FakeEngine().synthesize("...", VoiceSettings(engine="fake"))
    assert samples.size > 0 and not samples.any()


@pytest.mark.e2e
def test_a_failing_utterance_ends_only_its_child(engine: p3.EspeakEngine) -> None:
    """Each utterance runs in a child of the espeak-ng helper: one that dies (here, a
    request it cannot read) is a status, and the next text is spoken as usual."""
    before, rate = engine.synthesize("Hold", VoiceSettings())
    bad = {"voice": "gmw/en-US", "rate": "fast", "volume": 100, "pitch": 50, "text": "Hold"}
    status, _, pcm = p3._helper().speak(bad, timeout=30)
    assert status != 0 and pcm == b""
    after, _ = engine.synthesize("Hold", VoiceSettings())
    assert np.array_equal(before, after) and rate == 22_050


def test_espeak_estimate_is_57_ms_a_character_at_175_wpm() -> None:
    """The cold-start guess; arithmetic only, the engine is not started."""
    engine = p3.EspeakEngine()
    assert engine.estimate_ms("x" * 100, VoiceSettings(rate=175)) == 5700
    assert engine.estimate_ms("x" * 100, VoiceSettings(rate=350)) == 2850


def test_each_engine_turns_the_request_into_its_own_settings() -> None:
    """The script's words a minute stay the request; the settings are the engine's."""
    request = VoiceSettings(voice="en-us", rate=240, volume=0.5)
    assert request.speed == 1.5
    espeak = p3.EspeakEngine().settings(request)
    assert (espeak.voice, espeak.rate, espeak.volume) == ("en-us", 240, 0.5)
    assert espeak.sample_rate == 22_050
    assert FakeEngine().settings(request).sample_rate == FAKE_RATE


def test_fingerprints_do_not_start_the_engine() -> None:
    """A no-op export asks for one on every run: no pyttsx3, no numpy, no model."""
    code = (
        "import sys\n"
        "from voiceguide.voices import fingerprint\n"
        "print(fingerprint('pyttsx3'), fingerprint('fake'))\n"
        "heavy = {'numpy', 'pyttsx3', 'voiceguide.model', 'logging'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("pyttsx3;pyttsx3=") and proc.stdout.strip().endswith(" fake")
