"""The speech cache: hits and misses, keys, atomic storage, cheap warm lookups."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import REPO
from voiceguide.errors import EngineError
from voiceguide.model import VoiceSettings
from voiceguide.units import SAMPLE_RATE
from voiceguide.voices.base import Clip, Engine
from voiceguide.voices.cache import IDENTITIES, SpeechCache
from voiceguide.voices.entry import SUFFIX, entry_frames, read_entry
from voiceguide.voices.fake import FakeEngine, speech_ms

FAKE = VoiceSettings(engine="fake")
CUES = ["Breathe in", "Hold", "Breathe out", "Switch sides", "Ten seconds left"]


class Counting(FakeEngine):
    """A fake engine that counts what the cache asks of it."""

    def __init__(self, hint: str | None = None) -> None:
        self.spoken: list[str] = []
        self.identities = 0
        self.hint = hint

    def synthesize(self, text: str, voice: VoiceSettings) -> tuple[npt.NDArray[np.float32], int]:
        self.spoken.append(text)
        return super().synthesize(text, voice)

    def identity(self, voice: VoiceSettings) -> str:
        self.identities += 1
        return super().identity(voice)

    def identity_hint(self, voice: VoiceSettings) -> str | None:
        return self.hint


def cache_with(directory: Path, engine: Engine) -> SpeechCache:
    return SpeechCache(directory, engines={"fake": lambda: engine})


def stored(cache: SpeechCache, text: str) -> Clip:
    """``cache.clip``, then wait until the clip is stored (it finishes in the background)."""
    clip = cache.clip(text, FAKE)
    cache.wait()
    return clip


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".tmp-"))


def test_miss_then_hit_in_memory_and_on_disk(tmp_path: Path) -> None:
    engine = Counting()
    cache = cache_with(tmp_path, engine)
    first = cache.clip("Breathe in", FAKE)
    again = stored(cache, "Breathe in")
    assert again is first
    assert (cache.misses, cache.hits) == (1, 1)
    assert engine.spoken == ["Breathe in"]

    later = cache_with(tmp_path, engine)  # a new run: the clip comes from disk
    clip = later.clip("Breathe in", FAKE)
    assert (later.misses, later.hits) == (0, 1)
    assert engine.spoken == ["Breathe in"]
    assert clip == first


def test_changed_text_resynthesises_only_that_one(tmp_path: Path) -> None:
    export = cache_with(tmp_path, Counting())
    for text in CUES:
        export.clip(text, FAKE)
    export.wait()
    assert export.misses == len(CUES)

    engine = Counting()
    again = cache_with(tmp_path, engine)
    edited = [*CUES[:2], "Hold it", *CUES[3:]]
    for text in edited:
        again.clip(text, FAKE)
    assert (again.misses, again.hits) == (1, len(CUES) - 1)
    assert engine.spoken == again.synthesized == ["Hold it"]


def test_key_changes_with_text_engine_voice_and_settings(tmp_path: Path) -> None:
    cache = SpeechCache(tmp_path, engines={"fake": FakeEngine, "other": FakeEngine})
    base = cache.key("Hold", FAKE)
    variants = [
        cache.key("Hold.", FAKE),
        cache.key("Hold", replace(FAKE, rate=180)),
        cache.key("Hold", replace(FAKE, voice="low")),
        cache.key("Hold", replace(FAKE, volume=0.5)),
        cache.key("Hold", replace(FAKE, engine="other")),
    ]
    assert len({base, *variants}) == 6
    assert SpeechCache(tmp_path, engines={"fake": FakeEngine}).key("Hold", FAKE) == base


def test_clip_is_prepared_and_stored_under_its_key(tmp_path: Path) -> None:
    cache = cache_with(tmp_path, FakeEngine())
    clip = cache.clip("Breathe in slowly", FAKE)
    assert clip.path == tmp_path / f"{clip.key}{SUFFIX}"
    samples = clip.load()
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) == clip.frames == entry_frames(clip.path)
    # resampled to SAMPLE_RATE, engine padding trimmed: about the fake's voiced length
    expected = speech_ms("Breathe in slowly")
    assert abs(clip.frames * 1000 / SAMPLE_RATE - expected) < 80
    assert clip.duration_ms >= clip.frames * 1000 // SAMPLE_RATE


def test_storage_leaves_no_temporary_files(tmp_path: Path) -> None:
    cache = cache_with(tmp_path, FakeEngine())
    for text in CUES:
        cache.clip(text, FAKE)
    cache.wait()
    assert leftovers(tmp_path) == []
    assert len(list(tmp_path.glob(f"*{SUFFIX}"))) == len(CUES)


def test_a_failed_write_leaves_no_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = cache_with(tmp_path, FakeEngine())

    real_fsync = os.fsync

    def crash(fd: int) -> None:
        os.write(fd, b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    clip = cache.clip("Hold", FAKE)  # the length is known; storing fails in the background
    with pytest.raises(EngineError, match="VOICEGUIDE_CACHE_DIR"):
        cache.wait()
    with pytest.raises(EngineError, match="VOICEGUIDE_CACHE_DIR"):
        clip.load()  # and so does using the clip
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert list(tmp_path.glob(f"*{SUFFIX}")) == []
    assert leftovers(tmp_path) == []


def test_stats_are_stored_with_the_clip(tmp_path: Path) -> None:
    """Per-millisecond peak and energy rows, what the mix limiter and analysis read, in the
    clip's own file: published together, by one rename."""
    from voiceguide.dsp.clips import chunk_stats

    clip = stored(cache_with(tmp_path, FakeEngine()), "Breathe out slowly")
    samples, stats = clip.load_entry()
    assert stats.shape == (2, -(-clip.frames // 24))
    np.testing.assert_array_equal(stats, clip.load_stats())
    np.testing.assert_array_equal(samples, read_entry(clip.path, clip.key)[0])
    np.testing.assert_allclose(stats, chunk_stats(samples), rtol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == [clip.path.name]


def test_a_torn_entry_is_synthesised_again(tmp_path: Path) -> None:
    clip = stored(cache_with(tmp_path, FakeEngine()), "Hold")
    data = clip.path.read_bytes()
    clip.path.write_bytes(data[: len(data) // 2])  # e.g. a crash on a filesystem without order
    assert entry_frames(clip.path) is None
    again = cache_with(tmp_path, FakeEngine())
    assert stored(again, "Hold").frames == clip.frames
    assert again.misses == 1
    assert entry_frames(clip.path) == clip.frames


def test_stale_temporary_files_are_swept(tmp_path: Path) -> None:
    old = tmp_path / ".tmp-crashed.clip"
    new = tmp_path / ".tmp-running.clip"
    old.write_bytes(b"x")
    new.write_bytes(b"x")
    hours_ago = time.time() - 3 * 3600
    os.utime(old, (hours_ago, hours_ago))
    stored(cache_with(tmp_path, FakeEngine()), "Hold")
    assert not old.exists()
    assert new.exists()  # may belong to a concurrent run


def test_entries_of_the_old_format_are_swept(tmp_path: Path) -> None:
    """``<key>.npy`` + ``<key>.stats`` (before CACHE_VERSION 8) are never read again."""
    key = "ab" * 32
    old = [tmp_path / f"{key}.npy", tmp_path / f"{key}.stats"]
    kept = [tmp_path / "notes.npy", tmp_path / f"{key}.clip.bak"]
    for path in old + kept:
        path.write_bytes(b"x")
    clip = stored(cache_with(tmp_path, FakeEngine()), "Hold")
    assert not any(path.exists() for path in old)
    assert all(path.exists() for path in kept) and clip.path.exists()


def test_concurrent_caches_share_one_directory(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            cache = cache_with(tmp_path, FakeEngine())
            for text in CUES:
                cache.clip(text, FAKE)
            cache.wait()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert leftovers(tmp_path) == []
    for path in tmp_path.glob(f"*{SUFFIX}"):
        assert entry_frames(path) == len(read_entry(path, path.stem)[0])


def test_empty_text_is_a_value_error(tmp_path: Path) -> None:
    cache = cache_with(tmp_path, FakeEngine())
    for text in ("", "   "):
        with pytest.raises(ValueError):
            cache.clip(text, FAKE)


def test_silent_clip_is_an_engine_error(tmp_path: Path) -> None:
    cache = cache_with(tmp_path, FakeEngine())
    with pytest.raises(EngineError, match=r"produced no audio for '\.\.\.'"):
        cache.clip("...", FAKE)
    assert list(tmp_path.glob(f"*{SUFFIX}")) == []


def test_unknown_engine_is_an_engine_error(tmp_path: Path) -> None:
    cache = cache_with(tmp_path, FakeEngine())
    with pytest.raises(EngineError, match="'nope'"):
        cache.clip("Hold", VoiceSettings(engine="nope"))


def test_unwritable_cache_names_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(EngineError, match="VOICEGUIDE_CACHE_DIR"):
        stored(cache_with(blocker / "speech", FakeEngine()), "Hold")


def test_identity_is_remembered_under_the_engine_hint(tmp_path: Path) -> None:
    engine = Counting(hint="lib 1.51")
    stored(cache_with(tmp_path, engine), "Hold")
    assert engine.identities == 1
    assert (tmp_path / IDENTITIES).is_file()

    warm = cache_with(tmp_path, engine)
    warm.clip("Hold", FAKE)
    assert engine.identities == 1 and warm.hits == 1  # the engine was not asked

    engine.hint = "lib 1.52"  # the engine changed: identity is asked again
    cache_with(tmp_path, engine).clip("Hold", FAKE)
    assert engine.identities == 2

    unhinted = Counting(hint=None)
    cache_with(tmp_path, unhinted).clip("Hold", FAKE)
    assert unhinted.identities == 1


def test_default_directory_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path / "root"))
    assert SpeechCache().directory == tmp_path / "root" / "speech"


def test_entry_frames_accepts_only_whole_clip_entries(tmp_path: Path) -> None:
    from voiceguide import storage as store

    clip = stored(cache_with(tmp_path, FakeEngine()), "Hold")
    assert entry_frames(clip.path) == clip.frames
    data = clip.path.read_bytes()
    cases = {
        "empty": b"",
        "header only": data[: store.HEADER.size],
        "one byte short": data[:-1],
        "one byte long": data + b"\0",
        "an old .npy": b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False}",
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}{SUFFIX}"
        path.write_bytes(content)
        assert entry_frames(path) is None, name
    assert entry_frames(tmp_path / "missing.clip") is None


@pytest.mark.e2e
def test_warm_run_with_pyttsx3_starts_no_engine(tmp_path: Path) -> None:
    """A second run finds every clip without importing pyttsx3 or numpy."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from voiceguide.model import VoiceSettings\n"
        "from voiceguide.voices.cache import SpeechCache\n"
        "cache = SpeechCache(Path(sys.argv[1]))\n"
        "for text in ['Breathe in', 'Hold', 'Breathe out']:\n"
        "    cache.clip(text, VoiceSettings(voice='en-us'))\n"
        "heavy = sorted({'pyttsx3', 'numpy'} & set(sys.modules))\n"
        "print(cache.misses, cache.hits, ','.join(heavy) or '-')\n"
    )

    def run() -> str:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)], cwd=REPO, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        return proc.stdout.strip()

    assert run() == "3 0 numpy,pyttsx3"
    assert run() == "0 3 -"


@pytest.mark.e2e
def test_two_exports_racing_on_one_empty_cache_both_write_the_clean_export(
    tmp_path: Path,
) -> None:
    """Two real exports share an empty cache, the second started while the first is still
    speaking into it (one crashed in the mix on a clip paired with another synthesis's
    stats, the other's file differed): both succeed, and both files are exactly what a
    clean export writes."""
    script = REPO / "scripts" / "techniques" / "cat-cow.yaml"

    def start(cache: Path, output: Path) -> subprocess.Popen[str]:
        env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache)}
        command = [sys.executable, "-m", "voiceguide", "export", str(script), "-o", str(output)]
        return subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def finish(proc: subprocess.Popen[str]) -> None:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert err == ""

    finish(start(tmp_path / "alone", tmp_path / "clean.wav"))
    shared = tmp_path / "shared"
    first = start(shared, tmp_path / "first.wav")
    deadline = time.monotonic() + 120
    while not list((shared / "speech").glob("*.clip")) and first.poll() is None:
        assert time.monotonic() < deadline, "the first export stored nothing"
        time.sleep(0.005)  # polling the cache's state, not waiting for time to pass
    second = start(shared, tmp_path / "second.wav")
    finish(first)
    finish(second)
    clean = (tmp_path / "clean.wav").read_bytes()
    assert (tmp_path / "first.wav").read_bytes() == clean
    assert (tmp_path / "second.wav").read_bytes() == clean


def test_the_estimate_comes_from_the_engine_and_speaks_nothing(tmp_path: Path) -> None:
    engine = Counting()
    cache = cache_with(tmp_path, engine)
    assert cache.estimate_ms("Breathe in", FAKE) == speech_ms("Breathe in")
    assert cache.estimate_ms("Hold", replace(FAKE, rate=80)) == speech_ms("Hold", 80)
    assert engine.spoken == [] and engine.identities == 0 and cache.misses == 0


class Batching(Counting):
    """A counting fake that records each ``synthesize_many`` it is handed."""

    def __init__(self, fail_on: str | None = None) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.fail_on = fail_on

    def synthesize_many(
        self, requests: Sequence[tuple[str, VoiceSettings]]
    ) -> Iterator[tuple[npt.NDArray[np.float32], int]]:
        self.batches.append([text for text, _ in requests])
        return self._each(requests)

    def _each(
        self, requests: Sequence[tuple[str, VoiceSettings]]
    ) -> Iterator[tuple[npt.NDArray[np.float32], int]]:
        for text, voice in requests:
            if text == self.fail_on:
                raise EngineError(f"the fake engine cannot say {text!r}")
            yield self.synthesize(text, voice)


def test_prepare_hands_the_engine_only_the_new_texts_in_order(tmp_path: Path) -> None:
    stored(cache_with(tmp_path, FakeEngine()), "Hold")
    engine = Batching()
    cache = cache_with(tmp_path, engine)
    cache.prepare([(text, FAKE) for text in [*CUES, "Hold"]])
    assert engine.batches == [["Breathe in", "Breathe out", "Switch sides", "Ten seconds left"]]
    assert engine.spoken == []  # nothing is spoken before it is asked for
    clips = [cache.clip(text, FAKE) for text in CUES]
    cache.wait()
    assert engine.spoken == ["Breathe in", "Breathe out", "Switch sides", "Ten seconds left"]
    assert (cache.misses, cache.hits) == (4, 1)  # as without prepare
    alone = cache_with(tmp_path / "alone", FakeEngine())
    assert [c.frames for c in clips] == [alone.clip(text, FAKE).frames for text in CUES]


def test_a_text_asked_out_of_order_takes_the_batch_up_to_it(tmp_path: Path) -> None:
    engine = Batching()
    cache = cache_with(tmp_path, engine)
    cache.prepare([(text, FAKE) for text in CUES])
    cache.clip("Hold", FAKE)
    assert engine.spoken == ["Breathe in", "Hold"]
    assert (cache.misses, cache.hits) == (1, 0)  # "Breathe in" was not asked for yet
    cache.clip("Breathe in", FAKE)
    cache.clip("Not told", FAKE)
    assert engine.spoken == ["Breathe in", "Hold", "Not told"]
    assert cache.synthesized == ["Hold", "Breathe in", "Not told"]


def test_a_batch_that_fails_fails_its_own_text_and_the_rest_are_spoken_alone(
    tmp_path: Path,
) -> None:
    engine = Batching(fail_on="Hold")
    cache = cache_with(tmp_path, engine)
    cache.prepare([(text, FAKE) for text in CUES])
    cache.clip("Breathe in", FAKE)
    with pytest.raises(EngineError, match="cannot say 'Hold'"):
        cache.clip("Hold", FAKE)
    for text in CUES[2:]:
        cache.clip(text, FAKE)
    assert engine.batches == [CUES]
    assert engine.spoken == ["Breathe in", *CUES[2:]]


def test_compiling_through_the_cache_prepares_and_lays_out_the_same(tmp_path: Path) -> None:
    from tests.conftest import SCRIPTS
    from voiceguide.compile import compile_routine
    from voiceguide.script import load_script

    routine = load_script(SCRIPTS / "daily.yaml")
    engine = Batching()
    prepared = SpeechCache(tmp_path / "a", engines={"pyttsx3": lambda: engine})
    whole = compile_routine(routine, prepared)
    assert len(engine.batches) == 1 and engine.batches[0][0] == engine.spoken[0]

    class Plain:  # the same cache, without prepare
        def __init__(self, cache: SpeechCache) -> None:
            self.cache = cache

        def clip(self, text: str, voice: VoiceSettings) -> Clip:
            return self.cache.clip(text, voice)

        def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
            return self.cache.estimate_ms(text, voice)

    plain = SpeechCache(tmp_path / "b", engines={"pyttsx3": FakeEngine})
    assert compile_routine(routine, Plain(plain)).timeline == whole.timeline
    assert prepared.misses == plain.misses and prepared.synthesized == plain.synthesized


def test_no_texts_are_listed_ahead_for_an_engine_that_speaks_one_at_a_time(
    tmp_path: Path,
) -> None:
    """Telling the texts ahead takes a second, guessed layout: it is spent only where the
    engine speaks many texts at once (espeak-ng does not)."""
    from tests.conftest import SCRIPTS
    from voiceguide.compile import compile_routine
    from voiceguide.script import load_script

    fake = FakeEngine()

    class OneAtATime:  # the fake engine without synthesize_many
        name = fake.name
        settings = staticmethod(fake.settings)
        synthesize = staticmethod(fake.synthesize)
        identity = staticmethod(fake.identity)
        voices = staticmethod(fake.voices)
        estimate_ms = staticmethod(fake.estimate_ms)
        fingerprint = staticmethod(fake.fingerprint)
        unavailable = staticmethod(fake.unavailable)

    cache = SpeechCache(tmp_path, engines={"pyttsx3": OneAtATime})
    told: list[int] = []
    real_prepare = cache.prepare

    def prepare(requests: Sequence[tuple[str, VoiceSettings]]) -> None:
        told.append(len(requests))
        real_prepare(requests)

    cache.prepare = prepare  # type: ignore[method-assign]
    routine = load_script(SCRIPTS / "daily.yaml")
    assert not cache.speaks_ahead(routine.voice)
    whole = compile_routine(routine, cache)
    assert told == [] and cache.misses == len({s.text for s in whole.timeline.speech})


def test_keys_from_the_settings_are_the_keys_stored_entries_have(tmp_path: Path) -> None:
    """The settings' fields (voice, rate, volume) enter the key as they always have, so the
    entries on disk stay valid without a CACHE_VERSION bump."""
    import hashlib
    import json

    from voiceguide import __version__
    from voiceguide.voices.cache import CACHE_VERSION

    cache = cache_with(tmp_path, FakeEngine())
    voice = replace(FAKE, voice="low", rate=180, volume=0.5)
    identity = FakeEngine().identity(voice)
    parts = [CACHE_VERSION, __version__, SAMPLE_RATE, "Hold", "fake", identity, "low", 180, 0.5]
    assert cache.key("Hold", voice) == hashlib.sha256(json.dumps(parts).encode()).hexdigest()
