"""The speech-engine interface and the clip type that the compiler and renderer use.

An engine turns text into mono float samples at its own rate. A script asks for a voice
with ``model.VoiceSettings`` (engine, voice, words a minute, volume); each engine turns
that request into its own ``settings()``, a frozen dataclass (espeak-ng: words a minute; a
neural engine: a speed or length scale), with the sample rate it speaks at. The speech
cache (``voiceguide.voices.cache``) wraps any engine: it resamples to ``units.SAMPLE_RATE``,
trims the engine's leading and trailing silence, normalises loudness, and stores the clip
under a content hash of the text, the engine's ``identity()`` and every field of its
settings, so each clip is synthesised once.

To add an engine: implement ``Engine`` (and ``BatchEngine`` if it speaks many texts
faster at once) and register its factory in ``voiceguide.voices.ENGINES``. Creating an
engine must be cheap: it loads its libraries, models and voices on first use, so that
settings, estimates and fingerprints never start it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from voiceguide.errors import EngineError
from voiceguide.units import frames_to_ms

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from concurrent.futures import Future

    import numpy as np
    import numpy.typing as npt

    from voiceguide.model import VoiceSettings

    Samples = npt.NDArray[np.float32]
    Request = tuple[str, VoiceSettings]  # a text and the voice to speak it with


@dataclass(frozen=True)
class VoiceInfo:
    """One voice an engine offers (for ``voiceguide voices``)."""

    id: str
    name: str
    languages: tuple[str, ...] = ()
    gender: str | None = None
    note: str = ""  # what stands in the way of using it, and the fix ("not installed; ...")


class EngineSettings(Protocol):
    """An engine's own settings for one voice request: a frozen dataclass.

    Every field is part of the speech-cache key, so a field is whatever changes the audio
    (and nothing else). ``sample_rate`` is a class constant: the rate the engine speaks at.
    """

    __dataclass_fields__: ClassVar[dict[str, Any]]
    sample_rate: ClassVar[int]


class Engine(Protocol):
    """A text-to-speech engine. Its audio depends only on the text, ``settings(voice)`` and
    ``identity(voice)``: together they are the clip's cache key."""

    name: str

    def settings(self, voice: VoiceSettings) -> EngineSettings:
        """The engine's own settings for ``voice`` (cheap: the engine is not started)."""
        ...

    def synthesize(self, text: str, voice: VoiceSettings) -> tuple[Samples, int]:
        """Speak ``text``: mono float32 samples in [-1, 1] and their sample rate."""
        ...

    def identity(self, voice: VoiceSettings) -> str:
        """A stable string naming engine version and resolved voice: part of the cache key."""
        ...

    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        """A guess of how long ``text`` will sound, without speaking it or starting the
        engine: what a cold start lays out the clips not yet spoken with."""
        ...

    def fingerprint(self) -> str:
        """Cheap install facts (package versions, data files) that change whenever the
        engine could speak differently; never starts the engine. An export whose engine
        fingerprint changed is made again."""
        ...

    def voices(self) -> list[VoiceInfo]:
        """The voices this engine can use."""
        ...

    def unavailable(self) -> str | None:
        """Why this engine cannot speak here, with the fix (one line: "hibari-tts is not
        installed; fix: ..."), or None when it can. Cheap: from what is installed, without
        starting the engine (``voiceguide voices`` asks every engine)."""
        ...


@runtime_checkable
class BatchEngine(Protocol):
    """Optional engine extension: speak many texts at once (in parallel, or in one loaded
    session). The speech cache hands it every text a routine needs, in the order the
    timeline needs them; without it, the cache calls ``synthesize`` once per text."""

    def synthesize_many(self, requests: Sequence[Request]) -> Iterator[tuple[Samples, int]]:
        """``synthesize`` of each request, yielded in order, each as soon as it is ready.

        Called as soon as the texts are known: an engine that works ahead starts here (the
        body of a generator function would only start at the first result)."""
        ...


@runtime_checkable
class HintedEngine(Protocol):
    """Optional engine extension: tell cheaply whether ``identity()`` can have changed.

    ``identity()`` may need the engine initialised (pyttsx3: ~50 ms with the voice list).
    ``identity_hint()`` returns a string built from cheap facts only (file sizes and
    modification times of the engine's library and data, its package version), or None
    when no such facts are known. The speech cache remembers ``identity()`` under the hint,
    so a warm run resolves cache keys without starting the engine at all.
    """

    def identity_hint(self, voice: VoiceSettings) -> str | None:
        """Cheap facts that change whenever ``identity(voice)`` could change; None: unknown."""
        ...


class ClipSource(Protocol):
    """Where a clip's data comes from (the speech cache): verified, made again if bad."""

    def load_clip(self, clip: Clip) -> tuple[Samples, Samples]:
        """``clip``'s samples and its ``dsp.clips.chunk_stats``."""
        ...


@dataclass(frozen=True)
class Clip:
    """A processed speech clip at SAMPLE_RATE, stored in the speech cache."""

    key: str
    frames: int
    path: Path
    pending: Future[None] | None = field(default=None, compare=False, repr=False)
    """Set while the speech cache is still preparing and storing the clip."""
    source: ClipSource | None = field(default=None, compare=False, repr=False)
    """The speech cache that made it, which verifies it when it is loaded."""

    @property
    def duration_ms(self) -> int:
        return frames_to_ms(self.frames)

    def ready(self) -> None:
        """Wait until the clip is stored; raises the error that stopped it, if any."""
        if self.pending is not None:
            self.pending.result()

    def load_entry(self) -> tuple[Samples, Samples]:
        """The clip's samples (float32, mono, SAMPLE_RATE) and its true peak and K-weighted
        energy per millisecond (``dsp.clips.chunk_stats``, what the renderer's limiter and
        loudness analysis work from), read together and verified."""
        if self.source is not None:
            return self.source.load_clip(self)
        from voiceguide.storage import BadEntry
        from voiceguide.voices.entry import read_entry

        self.ready()
        try:
            return read_entry(self.path, self.key)
        except BadEntry as error:
            raise EngineError(
                f"speech cache entry {self.path} is {error}; fix: run the command again"
            ) from None

    def load(self) -> Samples:
        """The clip's samples (float32, mono, SAMPLE_RATE)."""
        return self.load_entry()[0]

    def load_stats(self) -> Samples:
        """The clip's ``dsp.clips.chunk_stats`` (see ``load_entry``)."""
        return self.load_entry()[1]


class SpeechBank(Protocol):
    """What the compiler and renderer need: a clip for each (text, voice)."""

    def clip(self, text: str, voice: VoiceSettings) -> Clip: ...

    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        """The engine's guess of the clip's length (``Engine.estimate_ms``); speaks nothing."""
        ...


@runtime_checkable
class PreparingBank(Protocol):
    """Optional SpeechBank extension: be told every text ahead of the ``clip`` calls.

    The compiler hands over the texts of a routine, in the order it will ask for them,
    before laying it out; the bank may start speaking them (in the background, so the
    first clip is ready as soon as before). A text it was told about and never asked for
    costs time only; a text asked for and never told about is spoken when asked.
    """

    def speaks_ahead(self, voice: VoiceSettings) -> bool:
        """Whether being told the texts would help ``voice``'s engine (it speaks many at
        once): if not, the compiler spends no second layout on listing them."""
        ...

    def prepare(self, requests: Sequence[Request]) -> None: ...
