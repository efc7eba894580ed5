"""The speech cache: each (text, engine, voice, settings, version) is synthesised once.

A clip is stored as ``<key>.npy`` (float32, mono, SAMPLE_RATE) after ``dsp.prepare_clip``
(resample, trim the engine's silence, normalise loudness, limit peaks), with its true peak
and K-weighted energy per millisecond beside it as ``<key>.stats`` (``dsp.chunk_stats``:
what the mix's limiter and loudness analysis work from). The key is a
sha256 over the text, the engine's name and ``identity()``, the voice settings,
CACHE_VERSION, SAMPLE_RATE and the voiceguide version, so any change that alters the audio
makes a new entry.

Warm lookups are cheap by design: a hit reads only the .npy header (the frame count) and
checks the file size, without numpy; and an engine's ``identity()`` is remembered in
``identities.json`` under its cheap ``identity_hint()``, so a warm run does not even start
the engine. Entries are written to a temporary file in the same directory and renamed into
place, so a crash or a concurrent run never leaves a broken entry under a key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import IO, TYPE_CHECKING

from voiceguide import __version__
from voiceguide.errors import EngineError
from voiceguide.model import VoiceSettings
from voiceguide.units import SAMPLE_RATE
from voiceguide.voices.base import Clip, Engine, HintedEngine, stats_path

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from voiceguide.voices.base import Samples

CACHE_VERSION = 7  # bump when prepare_clip or the stored format changes what a key means
IDENTITIES = "identities.json"
_TMP_PREFIX = ".tmp-"
_STALE_TMP_S = 3600.0

_HEADER = re.compile(
    r"""\{\s*'descr':\s*'<f4',\s*'fortran_order':\s*False,\s*'shape':\s*\((\d+),\),?\s*\}\s*$"""
)


def default_directory() -> Path:
    """``<user cache>/speech``; ``$VOICEGUIDE_CACHE_DIR`` replaces ``<user cache>``."""
    from voiceguide.paths import cache_dir

    return cache_dir() / "speech"


def npy_frames(path: Path) -> int | None:
    """The frame count of a complete mono float32 ``.npy`` file, from its header alone.

    None if the file is missing, not such an array, or shorter than its header says (a
    torn write): the caller then synthesises the clip again. Costs one small read.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(256)
            size = os.fstat(f.fileno()).st_size
            if head[:6] != b"\x93NUMPY" or len(head) < 12:
                return None
            major = head[6]
            if major == 1:
                start, length = 10, int.from_bytes(head[8:10], "little")
            elif major in (2, 3):
                start, length = 12, int.from_bytes(head[8:12], "little")
            else:
                return None
            if start + length > len(head):
                head += f.read(start + length - len(head))
    except OSError:
        return None
    try:
        header = head[start : start + length].decode("latin-1")
    except UnicodeDecodeError:
        return None
    match = _HEADER.match(header)
    if match is None:
        return None
    frames = int(match.group(1))
    return frames if size == start + length + 4 * frames else None


class SpeechCache:
    """A SpeechBank backed by a directory of ``.npy`` clips; synthesises on a miss.

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
            path = self.directory / f"{key}.npy"
            frames = npy_frames(path)
            pending = None
            if frames:
                self.hits += 1
            else:
                frames, pending = self._synthesize(text, voice, path)
                self.misses += 1
                self.synthesized.append(text)
            clip = Clip(key=key, frames=frames, path=path, pending=pending)
            self._clips[(text, voice)] = clip
            return clip

    def known(self, text: str, voice: VoiceSettings) -> Clip | None:
        """The clip of ``text`` if it has been spoken (in this process or on disk), else
        None. Never synthesises, and never waits for a synthesis running on another thread
        (single dictionary reads need no lock)."""
        found = self._clips.get((text, voice))
        if found is not None or voice not in self._identity:
            return found
        key = self._key(text, voice, self._identity[voice])
        path = self.directory / f"{key}.npy"
        frames = npy_frames(path)
        return Clip(key=key, frames=frames, path=path) if frames else None

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
            self._write_atomic(self.directory / IDENTITIES, lambda f: f.write(data))

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

    def _synthesize(self, text: str, voice: VoiceSettings, path: Path) -> tuple[int, Future[None]]:
        """Synthesise and trim one clip; returns its frame count and the job storing it."""
        import numpy as np

        from voiceguide.dsp import trim_clip

        engine = self.engine(voice.engine)
        samples, rate = engine.synthesize(text, voice)
        try:
            trimmed: Samples = trim_clip(np.asarray(samples, dtype=np.float32), rate)
        except ValueError as error:
            raise _no_audio(engine.name, text, error) from error
        if self._worker is None:
            from concurrent.futures import ThreadPoolExecutor

            self._worker = ThreadPoolExecutor(1, thread_name_prefix="voiceguide-speech")
        job = self._worker.submit(self._store, engine.name, text, trimmed, path)
        self._pending.append(job)
        return int(trimmed.size), job

    def _store(self, engine: str, text: str, trimmed: Samples, path: Path) -> None:
        """Level a trimmed clip, and store it with its stats (on the worker thread)."""
        import numpy as np

        from voiceguide.dsp import chunk_stats, level_clip

        try:
            clip = np.ascontiguousarray(level_clip(trimmed), dtype="<f4").reshape(-1)
        except ValueError as error:
            raise _no_audio(engine, text, error) from error
        # The stats first: a clip on disk comes with its stats (unless deleted since).
        stats = chunk_stats(clip)
        self._write_atomic(stats_path(path), lambda f: np.save(f, stats, allow_pickle=False))
        self._write_atomic(path, lambda f: np.save(f, clip, allow_pickle=False))

    def _write_atomic(self, path: Path, write: Callable[[IO[bytes]], object]) -> None:
        """Write via a temporary file in the same directory, then rename it into place."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._sweep()
            import tempfile

            fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=path.suffix, dir=self.directory)
            try:
                with os.fdopen(fd, "wb") as f:
                    write(f)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as error:
            raise EngineError(
                f"cannot write the speech cache in {self.directory} ({error}); fix: make it "
                "writable or set VOICEGUIDE_CACHE_DIR to a writable directory"
            ) from error

    def _sweep(self) -> None:
        """Once per process, delete temporary files left by crashed runs (older than 1 h)."""
        if self._swept:
            return
        self._swept = True
        now = time.time()
        for leftover in self.directory.glob(f"{_TMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                if now - leftover.stat().st_mtime > _STALE_TMP_S:
                    leftover.unlink()


def _no_audio(engine: str, text: str, error: ValueError) -> EngineError:
    return EngineError(
        f"the {engine} engine produced no audio for {text!r} ({error}); "
        "fix: reword the text with speakable words, or choose another voice "
        "(see `voiceguide voices`)"
    )
