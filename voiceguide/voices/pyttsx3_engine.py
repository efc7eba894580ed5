"""The default offline engine: pyttsx3 over the system's voices.

pyttsx3 drives espeak-ng on Linux, SAPI5 on Windows and NSSpeechSynthesizer on macOS. One
pyttsx3 engine is initialised per process (espeak-ng can only be initialised once) and
shared under a lock; it also lists and resolves the voices.

How audio is obtained, and why (pyttsx3 2.99, read from its source and measured):

* espeak-ng (Linux): pyttsx3 initialises libespeak-ng in its *asynchronous* retrieval mode,
  and ``runAndWait`` ends its loop with ``espeak_Cancel`` whenever the library is still
  busy. That cancel drops queued ``rate``/``volume`` changes and restores the previous
  utterance's parameters, so the spoken rate is random (observed: a rate change is
  ignored in about half the runs). ``runAndWait`` also returns about 10 ms after queueing
  the text, before a long utterance has been written, and the file is written (with an
  "Audio saved to ..." print) later from espeak's thread: hence missing or empty files
  and stray stdout. So this engine uses pyttsx3's own ctypes binding of the library
  (``pyttsx3.drivers._espeak``) in a helper process (``espeak_worker``) that sets voice,
  rate, volume and text in order and collects the samples in memory through a callback.
  The library also keeps state from one utterance to the next, so the helper forks a
  child per text from the freshly initialised library: the same text always gives the
  same samples, whatever was spoken before. No file, no print, the exact sample rate,
  ~5-10 ms per cue; a crash of the library is one error, not the end of voiceguide.
* long texts: espeak-ng crashes on very long utterances, so texts longer than
  MAX_UTTERANCE_CHARS are spoken in parts split at sentence, then clause, then word
  boundaries, and joined; texts beyond MAX_TEXT_CHARS are refused.
* other drivers (SAPI5, NSSS), or an espeak binding this module does not recognise: the
  public ``save_to_file`` + ``runAndWait``, one utterance per ``runAndWait`` (several
  ``save_to_file`` calls before one ``runAndWait`` keep only the last), in a private
  temporary directory, stdout redirected, output checked and synthesis retried once.

pyttsx3 swallows a failing ``setProperty("voice", ...)``, so voices are resolved here
against the voice list. Imports are lazy (numpy, pyttsx3) so that a warm speech-cache run,
which only needs ``identity_hint``, stays cheap.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceguide.errors import EngineError
from voiceguide.model import VoiceSettings
from voiceguide.voices.base import VoiceInfo

if TYPE_CHECKING:
    import logging

    from voiceguide.voices.base import Samples


def _log() -> logging.Logger:
    """This module's logger; ``logging`` is imported only when something is logged (~3 ms)."""
    import logging

    return logging.getLogger(__name__)


_LOCK = threading.RLock()  # pyttsx3 and espeak-ng are not thread-safe
_SHARED: _Shared | None = None


@dataclass
class _Shared:
    """The process-wide pyttsx3 engine and what was learnt about it."""

    engine: Any  # pyttsx3.Engine (untyped)
    driver: str
    default_voice: str | None
    errors: list[BaseException] = field(default_factory=list)
    voice_list: list[VoiceInfo] | None = None

    def voices(self) -> list[VoiceInfo]:
        if self.voice_list is None:
            try:
                raw = self.engine.getProperty("voices")
            except Exception as error:
                raise EngineError(
                    f"pyttsx3 ({self.driver}) could not list its voices: {error}; "
                    f"fix: {_install_fix()}"
                ) from error
            self.voice_list = [_voice_info(v) for v in raw or ()]
        return self.voice_list


def _install_fix() -> str:
    """The platform's fix for a speech engine that cannot start."""
    if sys.platform == "win32":
        return "reinstall pyttsx3 with its Windows helper: pip install --upgrade pyttsx3 pywin32"
    if sys.platform == "darwin":
        return "reinstall pyttsx3 with its macOS helper: pip install --upgrade pyttsx3 pyobjc"
    return "install espeak-ng: sudo apt install espeak-ng (it brings libespeak-ng1)"


def _shared() -> _Shared:
    """Initialise pyttsx3 once per process (~25 ms) and keep it."""
    global _SHARED
    with _LOCK:
        if _SHARED is not None:
            return _SHARED
        try:
            import pyttsx3
        except ImportError as error:
            raise EngineError(
                f"the pyttsx3 speech engine is not installed ({error}); fix: pip install pyttsx3"
            ) from error
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                engine = pyttsx3.init()
            # espeak's start-up voice, recorded by pyttsx3 at its first init; it does not
            # depend on what other pyttsx3 users in this process selected since
            driver = getattr(getattr(engine, "proxy", None), "_driver", None)
            default_voice = getattr(type(driver), "_defaultVoice", None) or engine.getProperty(
                "voice"
            )
        except Exception as error:
            raise EngineError(
                f"the pyttsx3 speech engine could not start ({error}); fix: {_install_fix()}"
            ) from error
        shared = _Shared(
            engine=engine,
            driver=_driver_name(engine),
            default_voice=str(default_voice) if default_voice else None,
        )
        engine.connect("error", lambda name=None, exception=None, **_: _on_error(exception))
        _SHARED = shared
        if _espeak_binding(shared) is not None:
            with contextlib.suppress(OSError):  # reported when it is first needed
                _WORKER.launch()
        import atexit

        atexit.register(_release)
        return shared


def _release() -> None:
    """Drop the engine at exit, while modules still exist: pyttsx3's ``DriverProxy.__del__``
    fails noisily on stderr ("Exception ignored in ...") if it runs during interpreter
    teardown."""
    global _SHARED
    with _LOCK:
        _SHARED = None
        _WORKER.close()


def _driver_name(engine: Any) -> str:
    """``espeak``, ``sapi5``, ``nsss``...: pyttsx3 2.99 has ``driver_name``, older ones not."""
    name = getattr(engine, "driver_name", None)
    if not name:
        module = getattr(getattr(engine, "proxy", None), "_module", None)
        name = getattr(module, "__name__", "unknown").rsplit(".", 1)[-1]
    return str(name)


def _on_error(exception: BaseException | None) -> None:
    """pyttsx3 reports failures inside its run loop as events, never as exceptions."""
    if _SHARED is not None and exception is not None:
        _SHARED.errors.append(exception)


def _norm(text: str) -> str:
    return text.strip().casefold().replace("_", "-")


def _tail(voice_id: str) -> str:
    """The last part of a voice id: ``gmw/en-us`` -> ``en-us`` (SAPI5 ids are registry paths)."""
    return re.split(r"[/\\]", voice_id)[-1]


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _voice_info(voice: Any) -> VoiceInfo:
    """A pyttsx3 Voice as a VoiceInfo; languages normalised to lower-case ``en-us`` form."""
    languages = tuple(_norm(_text(lang)) for lang in voice.languages or ())
    gender = _text(voice.gender).casefold() if voice.gender else None
    if gender:
        gender = "female" if "female" in gender else "male" if "male" in gender else gender
    return VoiceInfo(
        id=_text(voice.id),
        name=_text(voice.name or voice.id),
        languages=tuple(lang for lang in languages if lang),
        gender=gender,
    )


def _is_english(voice: VoiceInfo) -> bool:
    return any(lang == "en" or lang.startswith("en-") for lang in voice.languages)


def _label(voice: VoiceInfo) -> str:
    return f"{_tail(voice.id)} ({voice.name})"


def resolve_voice(voices: list[VoiceInfo], wanted: str | None, default: str | None) -> VoiceInfo:
    """Pick a voice by id, name or language (case-insensitive); None: an English voice.

    In order: the exact id (``gmw/en-us``), the exact name (``English (America)``), the
    id's last part (``en-us``), a language (``en-us``), a language prefix (``en`` for
    ``en-gb``), then a part of the name that only one voice has (``zira``).
    """
    if not voices:
        raise EngineError(f"pyttsx3 found no voices; fix: {_install_fix()}")
    if wanted is None or not wanted.strip():
        home = [v for v in voices if default and _norm(v.id) == _norm(default)]
        english = [v for v in voices if _is_english(v)]
        if home and _is_english(home[0]):
            return home[0]
        return (english or home or voices)[0]
    q = _norm(wanted)
    tiers: tuple[Callable[[VoiceInfo], bool], ...] = (
        lambda v: _norm(v.id) == q,
        lambda v: _norm(v.name) == q,
        lambda v: _norm(_tail(v.id)) == q,
        lambda v: q in v.languages,
        lambda v: any(lang.startswith(q + "-") for lang in v.languages),
    )
    for matches_tier in tiers:
        found = [v for v in voices if matches_tier(v)]
        if found:
            return found[0]
    found = [v for v in voices if q in _norm(v.name)]
    if len(found) == 1:
        return found[0]
    if found:
        some = ", ".join(_label(v) for v in found[:5])
        raise EngineError(
            f"voice {wanted!r} matches {len(found)} voices, e.g. {some}; give one of their "
            "ids (see `voiceguide voices`)"
        )
    import difflib

    by_label: dict[str, VoiceInfo] = {}
    for v in voices:
        for label in (_norm(_tail(v.id)), _norm(v.name)):
            by_label.setdefault(label, v)
    close = [by_label[c] for c in difflib.get_close_matches(q, list(by_label), n=8, cutoff=0.6)]
    suggestions = list(dict.fromkeys(close))[:5] or [v for v in voices if _is_english(v)][:5]
    some = ", ".join(_label(v) for v in suggestions or voices[:5])
    raise EngineError(
        f"unknown voice {wanted!r} for the pyttsx3 engine; available include {some}; "
        "run `voiceguide voices` to list them all"
    )


def _read_audio(path: Path) -> tuple[Samples, int]:
    """Read a mono float32 signal from the file the driver wrote (WAV, or AIFF on macOS)."""
    import wave

    import numpy as np

    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() == 2 and w.getcomptype() == "NONE":
                channels, rate = w.getnchannels(), w.getframerate()
                data = w.readframes(w.getnframes())
                usable = len(data) - len(data) % (2 * channels)
                pcm = np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0
                if channels > 1:
                    pcm = pcm.reshape(-1, channels).mean(axis=1, dtype=np.float32)
                return pcm, rate
    except (wave.Error, EOFError):
        pass
    import soundfile

    try:
        both, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as error:
        raise EngineError(
            f"pyttsx3 wrote audio that cannot be read ({error}); fix: {_install_fix()}"
        ) from error
    mono: Samples = both.mean(axis=1, dtype=np.float32)
    return mono, int(rate)


@functools.cache
def _pyttsx3_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyttsx3")
    except PackageNotFoundError:
        return "unknown"


@functools.cache
def _espeak_version() -> str | None:
    """libespeak-ng's version string (``1.51``): cheap once pyttsx3 has loaded it."""
    try:
        from pyttsx3.drivers import _espeak

        info = _espeak.Info()
    except Exception:
        return None
    return _text(info).strip() if info else None


def _stat_fact(path: str) -> list[object] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [os.path.realpath(path), st.st_size, st.st_mtime_ns]


@functools.cache
def _espeak_hint() -> str | None:
    """Facts that change when pyttsx3, libespeak-ng or its voice data change (~0.3 ms).

    None when libespeak-ng cannot be found where it normally lives: then the cache asks
    the engine itself.
    """
    import importlib.util

    spec = importlib.util.find_spec("pyttsx3")
    if spec is None or spec.origin is None:
        return None
    package = os.path.dirname(spec.origin)
    code = [
        _stat_fact(os.path.join(package, name))
        for name in ("__init__.py", "engine.py", "drivers/espeak.py", "drivers/_espeak.py")
    ]
    lib_dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    lib_dirs += ["/usr/local/lib", "/usr/lib", "/usr/lib64", *sorted(glob("/usr/lib/*-linux-*"))]
    libs = [
        fact
        for d in lib_dirs
        for name in ("libespeak-ng.so.1", "libespeak.so.1")
        if (fact := _stat_fact(os.path.join(d, name)))
    ]
    if not libs:
        return None
    data_dirs = [os.environ.get("ESPEAK_DATA_PATH", "")]
    data_dirs += ["/usr/local/share", "/usr/share", "/usr/lib", *sorted(glob("/usr/lib/*-linux-*"))]
    data = [
        fact
        for d in data_dirs
        if d
        for sub in ("espeak-ng-data", "espeak-ng-data/voices", "espeak-ng-data/lang")
        if (fact := _stat_fact(os.path.join(d, sub)))
    ]
    return json.dumps({"platform": sys.platform, "pyttsx3": code, "libs": libs, "data": data})


# What ``espeak_worker`` uses of the binding.
_ESPEAK_NEEDS = (
    "cSetSynthCallback", "t_espeak_callback", "Synth", "SetParameter", "SetVoiceByName",
    "Initialize", "AUDIO_OUTPUT_SYNCHRONOUS", "ENDPAUSE", "CHARS_UTF8", "RATE", "VOLUME",
    "PITCH",
)  # fmt: skip


@functools.cache
def _espeak_module() -> Any:
    """pyttsx3's ctypes binding of libespeak-ng, if it has everything used here."""
    try:
        from pyttsx3.drivers import _espeak
    except Exception:
        return None
    if not all(hasattr(_espeak, name) for name in _ESPEAK_NEEDS):
        _log().warning("pyttsx3's espeak binding changed; falling back to save_to_file")
        return None
    return _espeak


def _espeak_binding(shared: _Shared) -> Any:
    """The binding for the in-memory path, or None to use ``save_to_file``."""
    return _espeak_module() if shared.driver == "espeak" else None


class _Worker:
    """The helper process that speaks each text from libespeak-ng's initial state
    (``espeak_worker``): started on first use, restarted once if it dies."""

    def __init__(self) -> None:
        self.proc: Any = None
        self.rate = 0  # set once the helper has said it is ready

    def launch(self) -> None:
        """Start the helper without waiting for it (its start-up overlaps the caller's)."""
        import subprocess

        from voiceguide.voices import espeak_worker

        if self.proc is not None and self.proc.poll() is None:
            return
        self.close()
        self.proc = subprocess.Popen(
            [sys.executable, espeak_worker.__file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def _start(self) -> None:
        from voiceguide.voices import espeak_worker

        self.launch()
        status, rate, _ = self._answer(30.0)
        if status != espeak_worker.OK:
            self.close()
            raise EngineError(f"libespeak-ng could not start; fix: {_install_fix()}")
        self.rate = rate

    def close(self) -> None:
        proc, self.proc, self.rate = self.proc, None, 0
        if proc is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
            with contextlib.suppress(Exception):
                proc.wait(timeout=2)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()

    def _read(self, size: int, deadline: float) -> bytes:
        import select
        import time

        fd = self.proc.stdout.fileno()
        parts: list[bytes] = []
        while size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            part = os.read(fd, min(size, 1 << 20))
            if not part:
                raise EOFError
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def _answer(self, timeout: float) -> tuple[int, int, bytes]:
        import time

        from voiceguide.voices.espeak_worker import HEADER

        deadline = time.monotonic() + timeout
        status, rate, length = HEADER.unpack(self._read(HEADER.size, deadline))
        return status, rate, self._read(length, deadline)

    def speak(self, request: dict[str, object], timeout: float) -> tuple[int, int, bytes]:
        """``(status, sample rate, PCM)`` for one request; one restart if the helper died."""
        line = json.dumps(request).encode("utf-8") + b"\n"
        for attempt in range(2):
            if self.proc is None or self.proc.poll() is not None or not self.rate:
                self._start()
            try:
                self.proc.stdin.write(line)
                self.proc.stdin.flush()
                return self._answer(timeout)
            except TimeoutError:
                self.close()
                raise EngineError(
                    f"espeak-ng did not finish speaking {_excerpt(request['text'])} within "
                    "its time limit"
                ) from None
            except (OSError, EOFError):
                self.close()
                if attempt:
                    raise EngineError(
                        f"the espeak-ng helper process stopped; fix: {_install_fix()}"
                    ) from None
        raise AssertionError("unreachable")


_WORKER = _Worker()


def _excerpt(text: object, limit: int = 60) -> str:
    """A text for a message: quoted, and cut short if long."""
    value = str(text)
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def _speak_espeak(
    shared: _Shared, text: str, info: VoiceInfo, voice: VoiceSettings
) -> tuple[Samples, int]:
    """One utterance through libespeak-ng in the helper process (see ``espeak_worker``):
    the same text always gives the same samples, whatever was spoken before."""
    import numpy as np

    from voiceguide.voices import espeak_worker as w

    request = {
        "voice": info.id,
        "rate": int(voice.rate),
        "volume": round(min(max(voice.volume, 0.0), 1.0) * 100),
        "pitch": 50,
        "text": text,
    }
    status, rate, pcm = _WORKER.speak(request, timeout=30.0 + len(text) * 0.05)
    if status == w.NO_VOICE:
        raise EngineError(
            f"espeak-ng cannot load voice {info.id}; choose another voice (see `voiceguide voices`)"
        )
    if status == w.REFUSED:
        raise EngineError(f"espeak-ng refused to speak {_excerpt(text)}; fix: {_install_fix()}")
    if status != w.OK:
        what = f"signal {-status}" if status < 0 else f"status {status}"
        raise EngineError(
            f"espeak-ng crashed ({what}) speaking {_excerpt(text)}; fix: reword the text, "
            "or choose another voice (see `voiceguide voices`)"
        )
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    return samples, rate or _WORKER.rate


def _speak_file(
    shared: _Shared, text: str, info: VoiceInfo, voice: VoiceSettings
) -> tuple[Samples, int]:
    """One utterance through the public ``save_to_file`` + ``runAndWait`` (any driver)."""
    import tempfile

    import numpy as np

    engine = shared.engine
    suffix = ".aiff" if shared.driver == "nsss" else ".wav"
    finished = threading.Event()
    token = engine.connect("finished-utterance", lambda **_: finished.set())
    stray = io.StringIO()
    try:
        with tempfile.TemporaryDirectory(prefix="voiceguide-tts-") as tmp:
            path = Path(tmp) / f"utterance{suffix}"
            shared.errors.clear()
            try:
                # stdout stays redirected until the driver is done: espeak prints from its
                # own thread after runAndWait has returned
                with contextlib.redirect_stdout(stray):
                    engine.setProperty("voice", info.id)
                    engine.setProperty("rate", int(voice.rate))
                    engine.setProperty("volume", float(min(max(voice.volume, 0.0), 1.0)))
                    engine.save_to_file(text, str(path))
                    engine.runAndWait()
                    if shared.driver == "espeak":
                        finished.wait(timeout=30.0 + len(text) * 0.05)
            except Exception as error:
                raise EngineError(
                    f"pyttsx3 ({shared.driver}) failed to speak {text!r}: {error}; "
                    f"fix: {_install_fix()}"
                ) from error
            if shared.errors:
                failure = shared.errors[0]
                raise EngineError(
                    f"pyttsx3 ({shared.driver}) failed to speak {text!r}: {failure}; "
                    "check the voice (see `voiceguide voices`)"
                ) from failure
            if not path.exists() or path.stat().st_size == 0:
                return np.zeros(0, dtype=np.float32), 0
            return _read_audio(path)
    finally:
        engine.disconnect(token)
        extra = [ln for ln in stray.getvalue().splitlines() if ln and "Audio saved" not in ln]
        if extra:
            _log().debug("pyttsx3 printed: %s", " / ".join(extra))


MAX_UTTERANCE_CHARS = 500
"""Texts longer than this are spoken in parts: espeak-ng crashes (SIGSEGV) on very long
utterances, and every built-in cue is under half of it."""
MAX_TEXT_CHARS = 5_000
"""Texts longer than this are refused (scripts have a lower limit of their own)."""

_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:\u2013\u2014])\s+")
_SPACE = re.compile(r"\s+")


def split_text(text: str, limit: int = MAX_UTTERANCE_CHARS) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at sentence ends where it
    can, else at clause ends, else between words, else anywhere; a short text is itself."""
    text = text.strip()
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    for pattern in (_SENTENCE_END, _CLAUSE_END, _SPACE):
        pieces = [p for p in pattern.split(text) if p]
        if len(pieces) > 1:
            current = ""
            for piece in pieces:
                joined = f"{current} {piece}" if current else piece
                if len(joined) <= limit:
                    current = joined
                    continue
                if current:
                    parts.append(current)
                current = piece
            parts.append(current)
            return [q for p in parts for q in split_text(p, limit)]
    return [text[i : i + limit] for i in range(0, len(text), limit)]


MS_PER_CHAR_AT_175 = 57.0
"""How long espeak-ng takes to say a character at its default 175 words a minute, measured
on the built-in routines (63 ms at 160): what ``estimate_ms`` guesses a clip's length with."""


class Pyttsx3Engine:
    """Offline speech through pyttsx3 and the system's voices (espeak-ng on Linux)."""

    name = "pyttsx3"

    def __init__(self) -> None:
        self._resolved: dict[str | None, VoiceInfo] = {}

    def _voice(self, shared: _Shared, wanted: str | None) -> VoiceInfo:
        if wanted not in self._resolved:
            with _LOCK:
                self._resolved[wanted] = resolve_voice(
                    shared.voices(), wanted, shared.default_voice
                )
        return self._resolved[wanted]

    def synthesize(self, text: str, voice: VoiceSettings) -> tuple[Samples, int]:
        """Speak ``text`` into memory (mono float32, the engine's rate); retried once.

        A text longer than MAX_UTTERANCE_CHARS is spoken in parts (``split_text``) and
        joined; one longer than MAX_TEXT_CHARS is refused before it reaches the engine.
        """
        if not text.strip():
            raise ValueError("cannot speak an empty text")
        if len(text) > MAX_TEXT_CHARS:
            raise EngineError(
                f"a text of {len(text)} characters is too long to speak (at most "
                f"{MAX_TEXT_CHARS}): {_excerpt(text)}; fix: split it into shorter cues"
            )
        shared = _shared()
        info = self._voice(shared, voice.voice)
        parts = [self._speak(shared, part, info, voice) for part in split_text(text)]
        if len(parts) == 1:
            return parts[0]
        import numpy as np

        rate = parts[0][1]
        if any(r != rate for _, r in parts):
            raise EngineError(f"pyttsx3 ({shared.driver}) changed its sample rate mid-text")
        joined: Samples = np.concatenate([samples for samples, _ in parts])
        return joined, rate

    def _speak(
        self, shared: _Shared, text: str, info: VoiceInfo, voice: VoiceSettings
    ) -> tuple[Samples, int]:
        speak = _speak_espeak if _espeak_binding(shared) is not None else _speak_file
        with _LOCK:
            for _attempt in range(2):
                samples, rate = speak(shared, text, info, voice)
                if samples.size:
                    return samples, rate
                _log().warning("pyttsx3 produced no audio for %s; retrying once", _excerpt(text))
        raise EngineError(
            f"pyttsx3 ({shared.driver}) produced no audio for {_excerpt(text)} twice; fix: "
            f"{_install_fix()}, or try another voice (see `voiceguide voices`)"
        )

    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        """MS_PER_CHAR_AT_175 per character, scaled by the rate; the engine is not started."""
        return round(len(text) * MS_PER_CHAR_AT_175 * 175 / max(1, int(voice.rate)))

    def identity(self, voice: VoiceSettings) -> str:
        """pyttsx3 version, driver, resolved voice id and (Linux) the espeak-ng version."""
        shared = _shared()
        info = self._voice(shared, voice.voice)
        parts = [f"pyttsx3={_pyttsx3_version()}", f"driver={shared.driver}", f"voice={info.id}"]
        if shared.driver == "espeak":
            parts.append(f"espeak-ng={_espeak_version() or 'unknown'}")
        return ";".join(parts)

    def identity_hint(self, voice: VoiceSettings) -> str | None:
        """Cheap install facts for espeak-ng systems; None elsewhere (identity is asked)."""
        if sys.platform in ("win32", "darwin"):
            return None
        return _espeak_hint()

    def voices(self) -> list[VoiceInfo]:
        """Every voice the driver offers, in the driver's order."""
        shared = _shared()
        with _LOCK:
            return list(shared.voices())
