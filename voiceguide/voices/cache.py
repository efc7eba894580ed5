"""The speech cache: each (text, engine, voice, settings, version) is synthesised once.

A clip is stored as one checked file, ``<key>.clip`` (``voiceguide.storage``: a header
with the payload's CRC-32, then the payload): its frame count, its samples
(float32, mono, SAMPLE_RATE, after ``dsp.prepare_clip``: resampled, the engine's silence
trimmed, loudness normalised, peaks limited) and its true peak and K-weighted energy per
millisecond (``dsp.chunk_stats``: what the mix's limiter and loudness analysis work from).
Clip and stats are published together by one rename, so no reader ever pairs a clip with
another synthesis's stats. The key is a sha256 over the text, the engine's name and
``identity()``, the voice settings, CACHE_VERSION, SAMPLE_RATE and the voiceguide version,
so any change that alters the audio makes a new entry.

Warm lookups are cheap by design: a hit reads only the entry's header (the frame count)
and checks the file size, without numpy; and an engine's ``identity()`` is remembered in
``identities.json`` under its cheap ``identity_hint()``, so a warm run does not even start
the engine. Loading a clip for the mix reads it whole and verifies it: its digest, then
that its samples are finite and within [-1, 1] and its stats fit the samples (the right
shape, finite, peaks at least the samples' own). An entry that fails (flipped bytes, a
torn or empty file, numbers that do not fit) is synthesised again, with one warning line
naming the entry and what was wrong; the mix never uses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import struct
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide import __version__
from voiceguide import storage as store
from voiceguide.errors import EngineError
from voiceguide.model import VoiceSettings
from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE
from voiceguide.voices.base import Clip, Engine, HintedEngine

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from voiceguide.voices.base import Samples

CACHE_VERSION = 8  # bump when prepare_clip or the stored format changes what a key means
IDENTITIES = "identities.json"
SUFFIX = ".clip"
_FRAMES = struct.Struct("<Q")
_OLD_ENTRY = re.compile(r"[0-9a-f]{64}\.(npy|stats)")


def default_directory() -> Path:
    """``<user cache>/speech``; ``$VOICEGUIDE_CACHE_DIR`` replaces ``<user cache>``."""
    from voiceguide.paths import cache_dir

    return cache_dir() / "speech"


def _payload_length(frames: int) -> int:
    return _FRAMES.size + 4 * frames + 8 * -(-frames // FRAMES_PER_MS)


def entry_frames(path: Path) -> int | None:
    """The frame count of a whole clip entry, from its header alone (one small read).

    None if the file is missing, not a clip entry, or not the size its header says (a
    torn write): the caller then synthesises the clip again.
    """
    found = store.peek(path, _FRAMES.size)
    if found is None:
        return None
    length, prefix = found
    (frames,) = _FRAMES.unpack(prefix)
    return frames if frames > 0 and length == _payload_length(frames) else None


def write_entry(path: Path, key: str, samples: Samples, stats: Samples) -> None:
    """Store a clip and its stats together as one checked file (OSError on failure)."""
    import numpy as np

    clip = np.ascontiguousarray(samples, dtype="<f4")
    table = np.ascontiguousarray(stats, dtype="<f4")
    payload: list[bytes | memoryview] = [_FRAMES.pack(clip.size), clip.tobytes(), table.tobytes()]
    store.write(path, key.encode(), payload)


def read_entry(path: Path, key: str) -> tuple[Samples, Samples]:
    """A clip's samples and stats, verified (``check_entry``); BadEntry says what is wrong."""
    import numpy as np

    payload = store.read(path, key.encode())
    if len(payload) < _FRAMES.size:
        raise store.BadEntry("cut short")
    (frames,) = _FRAMES.unpack_from(payload)
    if frames <= 0 or len(payload) != _payload_length(frames):
        raise store.BadEntry("not the size of a clip")
    data = np.frombuffer(payload, dtype="<f4", offset=_FRAMES.size)  # read-only views
    samples, stats = data[:frames], data[frames:].reshape(2, -1)
    check_entry(samples, stats)
    return samples, stats


def check_entry(samples: Samples, stats: Samples) -> None:
    """Raise BadEntry unless ``stats`` can be the ``dsp.chunk_stats`` of ``samples`` and the
    samples are a prepared clip's: finite and within [-1, 1]; stats of the right shape,
    finite and not negative, each millisecond's peak at least its samples' own."""
    import numpy as np

    chunks = -(-samples.size // FRAMES_PER_MS)
    if samples.size == 0 or stats.shape != (2, chunks):
        raise store.BadEntry("its stats do not fit the clip's length")
    magnitude = np.abs(samples)
    top = float(magnitude.max())
    if not math.isfinite(top):
        raise store.BadEntry("its samples are not all finite numbers")
    if top > 1.0:
        raise store.BadEntry("its samples go beyond full scale")
    # Energies are sums of squares, stored as float32: at most a rounding below zero.
    if not np.isfinite(stats).all() or float(stats.min()) < -1e-9:
        raise store.BadEntry("its stats are not all finite, positive numbers")
    floor = np.repeat(stats[0] * np.float32(1.0001), FRAMES_PER_MS)[: samples.size]
    if (magnitude > floor).any():
        raise store.BadEntry("its stats put peaks below the clip's own samples")


class SpeechCache:
    """A SpeechBank backed by a directory of clip entries; synthesises on a miss.

    ``hits`` counts clips served without synthesis (from disk, or already resolved in this
    process); ``misses`` counts clips synthesised; ``synthesized`` lists their texts.
    ``engines`` maps engine names to factories (default: ``voiceguide.voices.get_engine``).
    """

    def __init__(
        self,
        directory: Path | None = None,
        engines: Mapping[str, Callable[[], Engine]] | None = None,
    ) -> None:
        self.directory = Path(directory) if directory is not None else default_directory()
        self._factories = engines
        self._engines: dict[str, Engine] = {}
        self._clips: dict[tuple[str, VoiceSettings], Clip] = {}
        self._texts: dict[str, tuple[str, VoiceSettings]] = {}  # key -> what it speaks
        self._identity: dict[VoiceSettings, str] = {}
        self._identities: dict[str, str] | None = None
        self._lock = threading.RLock()
        self._swept = False
        self._worker: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self.hits = 0
        self.misses = 0
        self.synthesized: list[str] = []

    def engine(self, name: str) -> Engine:
        """The engine called ``name``, created once per cache."""
        if name not in self._engines:
            if self._factories is None:
                from voiceguide.voices import get_engine

                self._engines[name] = get_engine(name)
            elif name in self._factories:
                self._engines[name] = self._factories[name]()
            else:
                known = ", ".join(sorted(self._factories))
                raise EngineError(f"unknown speech engine {name!r}; use one of: {known}")
        return self._engines[name]

    def clip(self, text: str, voice: VoiceSettings) -> Clip:
        """The processed clip of ``text`` spoken with ``voice``, synthesised only if new."""
        if not text.strip():
            raise ValueError("cannot speak an empty text")
        with self._lock:
            found = self._clips.get((text, voice))
            if found is not None:
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
                    _log().warning(
                        "voiceguide: speech cache entry %s (%s) %s", path.name, _excerpt(text), what
                    )
                frames, pending = self._synthesize(text, voice, path)
                self.misses += 1
                self.synthesized.append(text)
            clip = Clip(key=key, frames=frames, path=path, pending=pending, source=self)
            self._clips[(text, voice)] = clip
            self._texts[key] = (text, voice)
            return clip

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

    def _key(self, text: str, voice: VoiceSettings, identity: str) -> str:
        parts = [
            CACHE_VERSION,
            __version__,
            SAMPLE_RATE,
            text,
            voice.engine,
            identity,
            voice.voice,
            int(voice.rate),
            float(voice.volume),
        ]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def identity(self, voice: VoiceSettings) -> str:
        """``engine.identity(voice)``, remembered under the engine's cheap hint if it has one."""
        with self._lock:
            if voice in self._identity:
                return self._identity[voice]
            engine = self.engine(voice.engine)
            hint = engine.identity_hint(voice) if isinstance(engine, HintedEngine) else None
            slot = None
            if hint is not None:
                facts = [voice.engine, voice.voice, int(voice.rate), float(voice.volume), hint]
                slot = hashlib.sha256(json.dumps(facts).encode()).hexdigest()
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
            try:
                loaded = json.loads((self.directory / IDENTITIES).read_text("utf-8"))
            except (OSError, ValueError):
                loaded = {}
            if not isinstance(loaded, dict):
                loaded = {}
            self._identities = {str(k): str(v) for k, v in loaded.items()}
        return self._identities

    def _save_identity(self, slot: str, identity: str) -> None:
        table = self._load_identities()
        table[slot] = identity
        data = json.dumps(table, indent=0, sort_keys=True).encode()
        with contextlib.suppress(EngineError):  # a read-only cache still works, only slower
            self._write_atomic(self.directory / IDENTITIES, data)

    @property
    def busy(self) -> bool:
        """Whether clips are still being stored (see ``wait``)."""
        return any(not job.done() for job in self._pending)

    def wait(self) -> None:
        """Wait until every clip synthesised so far is stored; raises the first error.

        Synthesis returns as soon as a clip's length is known (``dsp.trim_clip``); its
        loudness, peaks and storage (``dsp.level_clip``, ``dsp.chunk_stats``) finish on a
        worker thread while the engine speaks the next cue. Loading a clip waits for it.
        """
        while self._pending:
            self._pending.pop(0).result()

    def _trim(self, text: str, voice: VoiceSettings) -> tuple[str, Samples]:
        """Synthesise and trim one clip: its engine's name and the trimmed samples."""
        import numpy as np

        from voiceguide.dsp import trim_clip

        engine = self.engine(voice.engine)
        samples, rate = engine.synthesize(text, voice)
        try:
            trimmed: Samples = trim_clip(np.asarray(samples, dtype=np.float32), rate)
        except ValueError as error:
            raise _no_audio(engine.name, text, error) from error
        return engine.name, trimmed

    def _synthesize(self, text: str, voice: VoiceSettings, path: Path) -> tuple[int, Future[None]]:
        """Synthesise and trim one clip; returns its frame count and the job storing it."""
        engine, trimmed = self._trim(text, voice)
        if self._worker is None:
            from concurrent.futures import ThreadPoolExecutor

            self._worker = ThreadPoolExecutor(1, thread_name_prefix="voiceguide-speech")
        job = self._worker.submit(self._store, engine, text, trimmed, path)
        self._pending.append(job)
        return int(trimmed.size), job

    def _prepare(self, engine: str, text: str, trimmed: Samples) -> tuple[Samples, Samples]:
        """Level a trimmed clip and work out its stats."""
        import numpy as np

        from voiceguide.dsp import chunk_stats, level_clip

        try:
            clip = np.ascontiguousarray(level_clip(trimmed), dtype=np.float32).reshape(-1)
        except ValueError as error:
            raise _no_audio(engine, text, error) from error
        return clip, chunk_stats(clip)

    def _store(self, engine: str, text: str, trimmed: Samples, path: Path) -> None:
        """Level a trimmed clip, and store it with its stats (on the worker thread)."""
        clip, stats = self._prepare(engine, text, trimmed)
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
            _log().warning(
                "voiceguide: speech cache entry %s (%s) was %s; made again",
                clip.path.name,
                _excerpt(text),
                reason,
            )
            engine, trimmed = self._trim(text, voice)
            if trimmed.size != clip.frames:
                raise EngineError(
                    f"the {engine} engine spoke {_excerpt(text)} differently this time "
                    f"({trimmed.size} frames, not {clip.frames}); fix: run the command again"
                )
            samples, stats = self._prepare(engine, text, trimmed)
            self._write(clip.path, lambda: write_entry(clip.path, clip.key, samples, stats))
            self.misses += 1
            self.synthesized.append(text)
            return samples, stats

    def _write_atomic(self, path: Path, data: bytes) -> None:
        """Replace ``path`` with ``data`` durably (``voiceguide.storage``)."""
        self._write(path, lambda: store.replace(path, [data], prefix=store.TMP_PREFIX))

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


def _log() -> _Warner:
    return _Warner()


class _Warner:
    """One plain line on stderr per warning (``logging`` would prefix it once something
    has configured it, and import ~3 ms into every run)."""

    def warning(self, message: str, *args: object) -> None:
        store.warn(message % args)


def _excerpt(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _no_audio(engine: str, text: str, error: ValueError) -> EngineError:
    return EngineError(
        f"the {engine} engine produced no audio for {text!r} ({error}); "
        "fix: reword the text with speakable words, or choose another voice "
        "(see `voiceguide voices`)"
    )
