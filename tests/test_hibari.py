"""The hibari engine, with real hibari-tts and onnxruntime: determinism, speech, trimming,
errors that name their fix, warm runs that never start the model, and identity."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voiceguide.errors import EngineError
from voiceguide.model import VoiceSettings
from voiceguide.units import SAMPLE_RATE
from voiceguide.voices import batch as speech_batch
from voiceguide.voices import hibari_facts, hibari_model
from voiceguide.voices.base import BatchEngine, HintedEngine
from voiceguide.voices.cache import SpeechCache
from voiceguide.voices.hibari import HibariEngine

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    HibariEngine().unavailable() is not None, reason="hibari cannot run here"
)

VOICE = VoiceSettings(engine="hibari")
TEXTS = ["Breathe in. Cow.", "Let's begin.", "Slowly lower your hips to the floor."]


def _rms_db(samples: np.ndarray, rate: int, ms: int = 5) -> np.ndarray:
    """The RMS of consecutive ``ms`` windows, in dB relative to the loudest one."""
    n = rate * ms // 1000
    frames = samples[: len(samples) // n * n].reshape(-1, n).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1)) + 1e-12
    return np.asarray(20 * np.log10(rms / rms.max()))


def test_engine_implements_the_optional_interfaces() -> None:
    engine = HibariEngine()
    assert engine.name == "hibari"
    assert isinstance(engine, BatchEngine)
    assert isinstance(engine, HintedEngine)


def test_settings_resolve_the_voice_and_speed_without_volume() -> None:
    engine = HibariEngine()
    s = engine.settings(VoiceSettings(engine="hibari", rate=200, volume=0.3))
    assert (s.voice, s.speed, s.sample_rate) == ("heart", 1.25, 24_000)
    assert "volume" not in s.__dataclass_fields__
    assert engine.settings(VoiceSettings(voice="AF_Heart")).voice == "heart"
    assert engine.settings(VoiceSettings(rate=400)).speed == 2.0  # held within hibari's range
    assert engine.settings(VoiceSettings(rate=161)).speed == 1.01


@pytest.mark.parametrize("threads", [1, 2])
def test_same_text_gives_the_same_samples_whatever_the_order(
    threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(speech_batch, "threads", lambda: threads)
    engine = HibariEngine()
    alone = [engine.synthesize(text, VOICE)[0] for text in TEXTS]
    batch = [samples for samples, _ in engine.synthesize_many([(t, VOICE) for t in TEXTS[::-1]])]
    for one, other in zip(alone, batch[::-1], strict=True):
        assert one.dtype == np.float32
        assert np.array_equal(one, other)
    again, rate = engine.synthesize(TEXTS[0], VOICE)
    assert rate == 24_000 and np.array_equal(again, alone[0])


def test_clips_hold_speech() -> None:
    samples, rate = HibariEngine().synthesize("Come onto your hands and knees.", VOICE)
    assert 1.0 < len(samples) / rate < 4.0
    level = _rms_db(samples, rate, 50)
    assert np.mean(level > -20) > 0.4  # most of it is loud: words, not noise or silence
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 0.02


def test_the_cache_trims_hibaris_silence_to_the_speech(tmp_path: Path) -> None:
    text = "Slowly lower your hips to the floor."
    raw, rate = HibariEngine().synthesize(text, VOICE)
    raw_level = _rms_db(raw, rate)
    raw_onset = int(np.flatnonzero(raw_level > -30)[0]) * 5
    raw_end = (len(raw_level) - int(np.flatnonzero(raw_level > -30)[-1])) * 5
    assert raw_onset > 150 and raw_end > 250  # hibari pads both ends with silence
    clip = SpeechCache(tmp_path).clip(text, VOICE).load()
    level = _rms_db(clip, SAMPLE_RATE)
    loud = np.flatnonzero(level > -30)
    assert int(loud[0]) * 5 <= 40  # the trimmed clip starts within a few tens of ms
    assert (len(level) - int(loud[-1])) * 5 <= 80
    assert len(clip) / SAMPLE_RATE < len(raw) / rate - 0.4


def test_an_unknown_voice_names_the_known_ones() -> None:
    with pytest.raises(EngineError, match=r"no voice 'nobody'.*heart.*emma"):
        HibariEngine().synthesize("Hello.", VoiceSettings(engine="hibari", voice="nobody"))


def test_a_voice_not_fetched_says_how_to_fetch_it_and_downloads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIBARI_HOME", str(tmp_path))
    engine = HibariEngine()
    emma = VoiceSettings(engine="hibari", voice="emma")
    with pytest.raises(EngineError, match=r"not installed.*never downloads.*hibari --voice emma"):
        engine.synthesize("Hello.", emma)
    with pytest.raises(EngineError, match="not installed"):
        engine.identity(emma)
    with pytest.raises(EngineError, match="not installed"):
        engine.identity_hint(emma)
    assert list(tmp_path.iterdir()) == []
    listed = {v.id: v for v in engine.voices()}
    assert "not installed" in listed["emma"].note and listed["emma"].languages == ("en-GB",)
    assert "not installed" not in listed["heart"].name and listed["heart"].gender == "female"


def test_a_corrupt_model_file_is_one_error_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = tmp_path / "hibari.onnx"
    garbage.write_bytes(bytes(range(256)) * 64)
    monkeypatch.setattr(hibari_facts, "model_path", lambda name: str(garbage))
    monkeypatch.setattr(hibari_model, "_LOADED", {})
    with pytest.raises(EngineError, match="pip install --force-reinstall hibari-tts") as error:
        HibariEngine().synthesize("Hello.", VOICE)
    assert "\n" not in str(error.value)


def test_identity_changes_with_the_model_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = HibariEngine()
    shipped = hibari_facts.model_file("heart")
    assert shipped is not None
    copy = tmp_path / "hibari.onnx"
    shutil.copyfile(shipped, copy)
    monkeypatch.setattr(hibari_facts, "model_path", lambda name: str(copy))
    monkeypatch.setattr(hibari_facts, "model_file", lambda name: str(copy))
    first, first_hint = engine.identity(VOICE), engine.identity_hint(VOICE)
    assert "hibari-tts=" in first and "onnxruntime=" in first and "voice=heart" in first
    with copy.open("r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 0xFF]))
    os.utime(copy, ns=(1, 1))
    assert engine.identity(VOICE) != first
    assert engine.identity_hint(VOICE) != first_hint


def test_estimates_follow_the_built_in_routines_speech() -> None:
    engine = HibariEngine()
    texts = [
        "Welcome. Move slowly, breathe deeply, and stop if you feel sharp pain.",
        "Support your head with your hands, fingers laced, elbows wide.",
        "Pause on any tight spot, and breathe deeply.",
    ]
    spoken = 0.0
    for text in texts:
        samples, rate = engine.synthesize(text, VOICE)
        level = _rms_db(samples, rate)
        loud = np.flatnonzero(level > -50)
        spoken += (int(loud[-1]) - int(loud[0])) * 5
    guessed = sum(engine.estimate_ms(t, VOICE) for t in texts)
    assert 0.8 < guessed / spoken < 1.25
    slow = VoiceSettings(engine="hibari", rate=80)
    assert engine.estimate_ms(texts[0], slow) == pytest.approx(
        2 * engine.estimate_ms(texts[0], VOICE), abs=1
    )


_CHEAP = """
import json, sys
from voiceguide.model import VoiceSettings
from voiceguide.voices.hibari import HibariEngine
e = HibariEngine(); v = VoiceSettings(engine="hibari")
e.settings(v); e.estimate_ms("Hello there.", v); e.identity_hint(v); e.fingerprint()
e.voices(); e.unavailable()
print(json.dumps([m for m in ("hibari", "onnxruntime", "numpy") if m in sys.modules]))
"""

_COMPILE = """
import json, sys
from voiceguide import pipeline
from voiceguide.voices.cache import SpeechCache
from voiceguide.voices.cache import default_directory
bank = SpeechCache(default_directory())
pipeline.compile_script(sys.argv[1], engine="hibari", bank=bank)
print(json.dumps({"misses": bank.misses, "onnxruntime": "onnxruntime" in sys.modules}))
"""


def _run(code: str, *args: str, env: dict[str, str] | None = None) -> object:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cheap_facts_import_neither_hibari_nor_onnxruntime() -> None:
    assert _run(_CHEAP) == []


def test_a_warm_run_does_not_start_the_model(tmp_path: Path) -> None:
    script = REPO / "scripts" / "techniques" / "foam-roll-thoracic.yaml"
    env = {"VOICEGUIDE_CACHE_DIR": str(tmp_path)}
    cold = _run(_COMPILE, str(script), env=env)
    assert isinstance(cold, dict) and cold["misses"] > 0 and cold["onnxruntime"]
    assert _run(_COMPILE, str(script), env=env) == {"misses": 0, "onnxruntime": False}


def test_fingerprint_names_the_packages_and_models() -> None:
    fingerprint = HibariEngine().fingerprint()
    assert fingerprint.startswith("hibari;hibari-tts=") and ";onnxruntime=" in fingerprint
    assert "heart:" in fingerprint


def test_unavailable_says_what_is_missing_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = HibariEngine()
    assert engine.unavailable() is None
    monkeypatch.setattr(hibari_facts, "model_file", lambda name: "/nonexistent/hibari.onnx")
    assert "pip install --force-reinstall hibari-tts" in (engine.unavailable() or "")
    real_find_spec = importlib.util.find_spec

    def no_onnxruntime(name: str, package: str | None = None) -> object:
        return None if name == "onnxruntime" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", no_onnxruntime)
    assert "pip install onnxruntime" in (engine.unavailable() or "")
    monkeypatch.setattr(platform, "machine", lambda: "armv7l")
    assert "use --engine pyttsx3" in (engine.unavailable() or "")
    monkeypatch.setattr(hibari_facts, "package_dir", lambda: None)
    assert engine.unavailable() == "hibari-tts is not installed; fix: pip install hibari-tts"


def test_a_failing_request_fails_in_its_turn_of_a_batch() -> None:
    bad = VoiceSettings(engine="hibari", voice="nobody")
    results = HibariEngine().synthesize_many([("Hold.", VOICE), ("Hold.", bad), ("Rest.", VOICE)])
    assert next(results)[0].size > 0
    with pytest.raises(EngineError, match="no voice 'nobody'"):
        next(results)
    assert next(results)[0].size > 0
