"""The speech cache: each (text, engine, voice, settings, version) is synthesised once.

A clip is stored as one checked file, ``<key>.clip`` (``voiceguide.voices.entry``). The
key is a sha256 over the text, the engine's name and ``identity()``, every field of the
engine's ``settings()`` for the voice, CACHE_VERSION, SAMPLE_RATE and the voiceguide
version, so any change that alters the audio makes a new entry. The settings enter the key
as their fields' values in declared order (for espeak-ng and the fake: voice, words a
minute, volume, as keys have held them since CACHE_VERSION 8), so an engine whose settings
gain a field makes new keys for itself only.

Warm lookups are cheap by design: a hit reads only the entry's header (the frame count)
and checks the file size, without numpy; and an engine's ``identity()`` is remembered in
``identities.json`` under its cheap ``identity_hint()``, so a warm run does not even start
the engine. Loading a clip for the mix reads it whole and verifies it (``read_entry``). An
entry that fails (flipped bytes, a torn or empty file, numbers that do not fit) is
synthesised again, with one warning line naming the entry and what was wrong; the mix
never uses it.

The compiler tells the cache every text of a routine before it asks for the clips
(``prepare``): stored entries are looked up at once, and an engine that speaks many texts
at once (``BatchEngine``) is handed the others, in timeline order; each clip is taken from
its results as it is asked for, so the first clip is ready as soon as it would be alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide import __version__
from voiceguide import storage as store
from voiceguide.errors import EngineError
from voiceguide.model import VoiceSettings
from voiceguide.units import SAMPLE_RATE
from voiceguide.voices import engine_name
from voiceguide.voices.base import BatchEngine, Clip, Engine, HintedEngine
from voiceguide.voices.clips import levelled, trimmed
from voiceguide.voices.entry import SUFFIX, entry_frames, read_entry, write_entry

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from voiceguide.voices.base import Request, Samples

CACHE_VERSION = 8  # bump when prepare_clip or the stored format changes what a key means
IDENTITIES = "identities.json"
_OLD_ENTRY = re.compile(r"[0-9a-f]{64}\.(npy|stats)")

__all__ = ["CACHE_VERSION", "IDENTITIES", "SUFFIX", "SpeechCache", "default_directory"]


def default_directory() -> Path:
    """``<user cache>/speech``; ``$VOICEGUIDE_CACHE_DIR`` replaces ``<user cache>``."""
    from voiceguide.paths import cache_dir

    return cache_dir() / "speech"


@dataclasses.dataclass
class _Batch:
    """One engine's ``synthesize_many`` in progress: the requests whose results are still
    to come, in order."""

    requests: deque[Request]
    results: Iterator[tuple[Samples, int]]


class SpeechCache:
    """A SpeechBank backed by a directory of clip entries; synthesises on a miss.

    ``hits`` counts clips served without synthesis (from disk, or already resolved in this
    process); ``misses`` counts clips synthesised for what was asked (a text prepared and
    never asked for is not counted); ``synthesized`` lists their texts. ``engines`` maps
    engine names to factories (default: ``voiceguide.voices.get_engine``).
    """

    def __init__(
        self,
        directory: Path | None = None,
        engines: Mapping[str, Callable[[], Engine]] | None = None,
    ) -> None:
        self.directory = Path(directory) if directory is not None else default_directory()
        self._factories = engines
        self._engines: dict[str, Engine] = {}
        self._clips: dict[Request, Clip] = {}
        self._unclaimed: set[Request] = set()  # synthesised in a batch, not yet asked for
        self._batches: dict[str, _Batch] = {}
        self._texts: dict[str, Request] = {}  # key -> what it speaks
        self._identity: dict[VoiceSettings, str] = {}
        self._identities: dict[str, str] | None = None
        self._lock = threading.RLock()
        self._swept = False
        self._worker: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self.hits = 0
        self.misses = 0
        self.synthesized: list[str] = []

    def engine(self, name: str | None) -> Engine:
        """The engine called ``name`` (None: the default engine), created once per cache."""
        name = engine_name(name)
        if name not in self._engines:
            from voiceguide.voices import get_engine, unknown_engine

            if self._factories is None:
                self._engines[name] = get_engine(name)
            elif name in self._factories:
                self._engines[name] = self._factories[name]()
            else:
                raise unknown_engine(name, self._factories)
        return self._engines[name]

    def speaks_ahead(self, voice: VoiceSettings) -> bool:
        """True if ``voice``'s engine is a ``BatchEngine`` (an unknown engine is not: its
        error comes with the cue's place when a clip is asked for)."""
        try:
            return isinstance(self.engine(voice.engine), BatchEngine)
        except EngineError:
            return False

    def prepare(self, requests: Sequence[Request]) -> None:
        """Be told the texts that will be asked for, in order (``base.PreparingBank``):
        stored entries are looked up now, and a ``BatchEngine`` is handed the rest. An
        engine failing here fails again, with the script position, when its clip is asked."""
        with self._lock, contextlib.suppress(EngineError):
            misses: dict[str, list[Request]] = {}
            for text, voice in dict.fromkeys(requests):
                if not text.strip() or (text, voice) in self._clips:
                    continue
                key = self.key(text, voice)
                path = self.directory / f"{key}{SUFFIX}"
                frames = entry_frames(path)
                if frames:
                    self._clips[(text, voice)] = Clip(key, frames, path, source=self)
                    self._texts[key] = (text, voice)
                elif engine_name(voice.engine) not in self._batches:
                    misses.setdefault(engine_name(voice.engine), []).append((text, voice))
            for name, todo in misses.items():
                engine = self.engine(name)
                if isinstance(engine, BatchEngine):
                    results = iter(engine.synthesize_many(todo))
                    self._batches[name] = _Batch(deque(todo), results)

    def clip(self, text: str, voice: VoiceSettings) -> Clip:
        """The processed clip of ``text`` spoken with ``voice``, synthesised only if new."""
        if not text.strip():
            raise ValueError("cannot speak an empty text")
        with self._lock:
            found = self._clips.get((text, voice))
            if found is not None:
                if (text, voice) in self._unclaimed:
                    self._unclaimed.discard((text, voice))
                    self._count_miss(text)
                else:
                    self.hits += 1
                return found
            key = self.key(text, voice)
            path = self.directory / f"{key}{SUFFIX}"
            frames = entry_frames(path)
            pending = None
            if frames:
                self.hits += 1
            else:
                if path.exists():  # entries appear whole, by a rename: this one was damaged
                    what = "was empty or cut short; made again"
                    _warn("voiceguide: speech cache entry %s (%s) %s", path.name, text, what)
                spoken = self._from_batch(text, voice)
                frames, pending = self._synthesize(text, voice, path, spoken)
                self._count_miss(text)
            return self._keep(text, voice, Clip(key, frames, path, pending, self))

    def _keep(self, text: str, voice: VoiceSettings, clip: Clip) -> Clip:
        self._clips[(text, voice)] = clip
        self._texts[clip.key] = (text, voice)
        return clip

    def _count_miss(self, text: str) -> None:
        self.misses += 1
        self.synthesized.append(text)

    def _from_batch(self, text: str, voice: VoiceSettings) -> tuple[Samples, int] | None:
        """The engine's batch result for ``(text, voice)``, if it is in a batch: the results
        before it are taken (and kept as clips) on the way. None: speak it alone."""
        name = engine_name(voice.engine)
        batch = self._batches.get(name)
        if batch is None or (text, voice) not in batch.requests:
            return None
        while batch.requests:
            request = batch.requests.popleft()
            try:
                spoken = next(batch.results)
            except Exception:
                del self._batches[name]  # the rest are spoken alone, when asked
                if request == (text, voice):
                    raise
                return None
            if request == (text, voice):
                return spoken
            key = self.key(*request)
            path = self.directory / f"{key}{SUFFIX}"
            with contextlib.suppress(EngineError):  # fails again when it is asked for
                frames, pending = self._synthesize(*request, path, spoken)
                self._keep(*request, Clip(key, frames, path, pending, self))
                self._unclaimed.add(request)
        return None

    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        """The engine's guess of how long ``text`` will sound (``Engine.estimate_ms``):
        nothing is spoken, and the engine is not started."""
        return self.engine(voice.engine).estimate_ms(text, voice)

    def known(self, text: str, voice: VoiceSettings) -> Clip | None:
        """The clip of ``text`` if it has been spoken (in this process or on disk), else
        None. Never synthesises, and never waits for a synthesis running on another thread
        (single dictionary reads need no lock)."""
        found = self._clips.get((text, voice))
        if found is not None or voice not in self._identity:
            return found
        key = self._key(text, voice, self._identity[voice])
        path = self.directory / f"{key}{SUFFIX}"
        frames = entry_frames(path)
        if not frames:
            return None
        self._texts.setdefault(key, (text, voice))
        return Clip(key=key, frames=frames, path=path, source=self)

    def key(self, text: str, voice: VoiceSettings) -> str:
        """The content hash naming the clip of ``text`` with ``voice``."""
        return self._key(text, voice, self.identity(voice))

    def _settings(self, voice: VoiceSettings) -> list[object]:
        """Every field of the engine's settings for ``voice``, in their declared order."""
        return list(dataclasses.astuple(self.engine(voice.engine).settings(voice)))

    def _key(self, text: str, voice: VoiceSettings, identity: str) -> str:
        parts = [CACHE_VERSION, __version__, SAMPLE_RATE, text, engine_name(voice.engine), identity]
        return _digest([*parts, *self._settings(voice)])

    def identity(self, voice: VoiceSettings) -> str:
        """``engine.identity(voice)``, remembered under the engine's cheap hint if it has one."""
        with self._lock:
            if voice in self._identity:
                return self._identity[voice]
            engine = self.engine(voice.engine)
            hint = engine.identity_hint(voice) if isinstance(engine, HintedEngine) else None
            slot = None
            if hint is not None:
                slot = _digest([engine_name(voice.engine), *self._settings(voice), hint])
                known = self._load_identities().get(slot)
                if known is not None:
                    self._identity[voice] = known
                    return known
            identity = engine.identity(voice)
            self._identity[voice] = identity
            if slot is not None:
                self._save_identity(slot, identity)
            return identity

    def _load_identities(self) -> dict[str, str]:
        if self._identities is None:
            loaded = store.read_json(self.directory / IDENTITIES)
            self._identities = {str(k): str(v) for k, v in loaded.items()}
        return self._identities

    def _save_identity(self, slot: str, identity: str) -> None:
        table = self._load_identities()
        table[slot] = identity
        path = self.directory / IDENTITIES
        with contextlib.suppress(EngineError):  # a read-only cache still works, only slower
            self._write(path, lambda: store.write_json(path, dict(sorted(table.items()))))

    @property
    def busy(self) -> bool:
        """Whether clips are still being stored (see ``wait``)."""
        return any(not job.done() for job in self._pending)

    def wait(self) -> None:
        """Wait until every clip synthesised so far is stored; raises the first error.

        Synthesis returns as soon as a clip's length is known (``dsp.clips.trim_clip``);
        its loudness, peaks and storage (``dsp.clips.level_clip``, ``chunk_stats``) finish on a
        worker thread while the engine speaks the next cue. Loading a clip waits for it.
        """
        while self._pending:
            self._pending.pop(0).result()

    def _trim(
        self, text: str, voice: VoiceSettings, spoken: tuple[Samples, int] | None = None
    ) -> tuple[str, Samples]:
        """Synthesise (unless ``spoken`` already) and trim one clip: its engine's name and
        the trimmed samples."""
        engine = self.engine(voice.engine)
        samples, rate = spoken if spoken is not None else engine.synthesize(text, voice)
        return engine.name, trimmed(engine.name, text, samples, rate)

    def _synthesize(
        self, text: str, voice: VoiceSettings, path: Path, spoken: tuple[Samples, int] | None
    ) -> tuple[int, Future[None]]:
        """Synthesise and trim one clip; returns its frame count and the job storing it."""
        engine, samples = self._trim(text, voice, spoken)
        if self._worker is None:
            from concurrent.futures import ThreadPoolExecutor

            self._worker = ThreadPoolExecutor(1, thread_name_prefix="voiceguide-speech")
        job = self._worker.submit(self._store, engine, text, samples, path)
        self._pending.append(job)
        return int(samples.size), job

    def _store(self, engine: str, text: str, samples: Samples, path: Path) -> None:
        """Level a trimmed clip, and store it with its stats (on the worker thread)."""
        clip, stats = levelled(engine, text, samples)
        self._write(path, lambda: write_entry(path, path.stem, clip, stats))

    def load_clip(self, clip: Clip) -> tuple[Samples, Samples]:
        """``clip``'s samples and stats, verified; a bad entry is made again (one warning
        line says which and why). See ``voiceguide.voices.base.ClipSource``."""
        clip.ready()
        try:
            samples, stats = read_entry(clip.path, clip.key)
            if samples.size == clip.frames:
                return samples, stats
            reason = f"{samples.size} frames long where {clip.frames} were expected"
        except store.BadEntry as error:
            reason = str(error)
        return self._remake(clip, reason)

    def _remake(self, clip: Clip, reason: str) -> tuple[Samples, Samples]:
        known = self._texts.get(clip.key)
        if known is None:
            raise EngineError(
                f"speech cache entry {clip.path} is {reason}; fix: run the command again"
            )
        text, voice = known
        with self._lock:
            # Another thread may have made it again meanwhile.
            with contextlib.suppress(store.BadEntry):
                samples, stats = read_entry(clip.path, clip.key)
                if samples.size == clip.frames:
                    return samples, stats
            what = f"was {reason}; made again"
            _warn("voiceguide: speech cache entry %s (%s) %s", clip.path.name, text, what)
            engine, clip_samples = self._trim(text, voice)
            if clip_samples.size != clip.frames:
                raise EngineError(
                    f"the {engine} engine spoke {_excerpt(text)} differently this time "
                    f"({clip_samples.size} frames, not {clip.frames}); fix: run the command again"
                )
            samples, stats = levelled(engine, text, clip_samples)
            self._write(clip.path, lambda: write_entry(clip.path, clip.key, samples, stats))
            self._count_miss(text)
            return samples, stats

    def _write(self, path: Path, write: Callable[[], None]) -> None:
        """Run ``write`` (which replaces ``path`` atomically); an OSError names the fix."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._sweep()
            write()
        except OSError as error:
            raise EngineError(
                f"cannot write the speech cache in {self.directory} ({error}); fix: make it "
                "writable or set VOICEGUIDE_CACHE_DIR to a writable directory"
            ) from error

    def _sweep(self) -> None:
        """Once per process, delete temporary files left by crashed runs (older than 1 h),
        and the entries of the format before CACHE_VERSION 8 (``<key>.npy`` and
        ``<key>.stats``), which nothing reads any more."""
        if self._swept:
            return
        self._swept = True
        store.sweep(self.directory)
        for pattern in ("*.npy", "*.stats"):
            for old in self.directory.glob(pattern):
                if _OLD_ENTRY.fullmatch(old.name):
                    with contextlib.suppress(OSError):
                        old.unlink()


def _digest(parts: list[object]) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _warn(message: str, name: str, text: str, what: str) -> None:
    """One plain line on stderr (``logging`` would prefix it once something has configured
    it, and import ~3 ms into every run)."""
    store.warn(message % (name, _excerpt(text), what))


def _excerpt(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
