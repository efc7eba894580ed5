"""pyttsx3, started once per process: its driver, its voices, and its public file path.

pyttsx3 drives espeak-ng on Linux, SAPI5 on Windows and NSSpeechSynthesizer on macOS. One
pyttsx3 engine is initialised per process (espeak-ng can only be initialised once) and
shared under ``LOCK``; it lists the voices, and on Linux it finds libespeak-ng for the
espeak engine (``voiceguide.voices.espeak``), which speaks through pyttsx3's own ctypes
binding of the library (``espeak_binding``).

Where that binding is not there (SAPI5, NSSS, or an espeak binding this module does not
recognise), ``speak_file`` uses the public ``save_to_file`` + ``runAndWait``, one utterance
per ``runAndWait`` (several ``save_to_file`` calls before one ``runAndWait`` keep only the
last), in a private temporary directory, stdout redirected, output checked.
"""

from __future__ import annotations

import contextlib
import functools
import io
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceguide.errors import EngineError
from voiceguide.voices.base import VoiceInfo
from voiceguide.words import norm

if TYPE_CHECKING:
    import logging

    from voiceguide.voices.base import Samples


def log() -> logging.Logger:
    """The engine's logger; ``logging`` is imported only when something is logged (~3 ms)."""
    import logging

    return logging.getLogger("voiceguide.voices.espeak")


LOCK = threading.RLock()  # pyttsx3 and espeak-ng are not thread-safe
_SHARED: Shared | None = None


@dataclass
class Shared:
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
                    f"fix: {install_fix()}"
                ) from error
            self.voice_list = [_voice_info(v) for v in raw or ()]
        return self.voice_list


def install_fix() -> str:
    """The platform's fix for a speech engine that cannot start."""
    if sys.platform == "win32":
        return "reinstall pyttsx3 with its Windows helper: pip install --upgrade pyttsx3 pywin32"
    if sys.platform == "darwin":
        return "reinstall pyttsx3 with its macOS helper: pip install --upgrade pyttsx3 pyobjc"
    return "install espeak-ng: sudo apt install espeak-ng (it brings libespeak-ng1)"


def started() -> bool:
    """Whether pyttsx3 has been initialised in this process."""
    return _SHARED is not None


def shared() -> Shared:
    """Initialise pyttsx3 once per process (~25 ms) and keep it."""
    global _SHARED
    with LOCK:
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
                f"the pyttsx3 speech engine could not start ({error}); fix: {install_fix()}"
            ) from error
        found = Shared(
            engine=engine,
            driver=_driver_name(engine),
            default_voice=str(default_voice) if default_voice else None,
        )
        engine.connect("error", lambda name=None, exception=None, **_: _on_error(exception))
        _SHARED = found
        import atexit

        atexit.register(_release)
        return found


def _release() -> None:
    """Drop the engine at exit, while modules still exist: pyttsx3's ``DriverProxy.__del__``
    fails noisily on stderr ("Exception ignored in ...") if it runs during interpreter
    teardown."""
    global _SHARED
    with LOCK:
        _SHARED = None


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


def text_of(value: object) -> str:
    """A string pyttsx3 gave as bytes or str."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _voice_info(voice: Any) -> VoiceInfo:
    """A pyttsx3 Voice as a VoiceInfo; languages normalised to lower-case ``en-us`` form."""
    languages = tuple(norm(text_of(lang)) for lang in voice.languages or ())
    gender = text_of(voice.gender).casefold() if voice.gender else None
    if gender:
        gender = "female" if "female" in gender else "male" if "male" in gender else gender
    return VoiceInfo(
        id=text_of(voice.id),
        name=text_of(voice.name or voice.id),
        languages=tuple(lang for lang in languages if lang),
        gender=gender,
    )


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
        log().warning("pyttsx3's espeak binding changed; falling back to save_to_file")
        return None
    return _espeak


def espeak_binding(found: Shared) -> Any:
    """The binding for the in-memory path, or None to use ``speak_file``."""
    return _espeak_module() if found.driver == "espeak" else None


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
            f"pyttsx3 wrote audio that cannot be read ({error}); fix: {install_fix()}"
        ) from error
    mono: Samples = both.mean(axis=1, dtype=np.float32)
    return mono, int(rate)


def speak_file(
    found: Shared, text: str, voice_id: str, rate: int, volume: float
) -> tuple[Samples, int]:
    """One utterance through the public ``save_to_file`` + ``runAndWait`` (any driver):
    ``rate`` in words a minute, ``volume`` 0..1. No audio: empty samples."""
    import tempfile

    import numpy as np

    engine = found.engine
    suffix = ".aiff" if found.driver == "nsss" else ".wav"
    finished = threading.Event()
    token = engine.connect("finished-utterance", lambda **_: finished.set())
    stray = io.StringIO()
    try:
        with tempfile.TemporaryDirectory(prefix="voiceguide-tts-") as tmp:
            path = Path(tmp) / f"utterance{suffix}"
            found.errors.clear()
            try:
                # stdout stays redirected until the driver is done: espeak prints from its
                # own thread after runAndWait has returned
                with contextlib.redirect_stdout(stray):
                    engine.setProperty("voice", voice_id)
                    engine.setProperty("rate", rate)
                    engine.setProperty("volume", volume)
                    engine.save_to_file(text, str(path))
                    engine.runAndWait()
                    if found.driver == "espeak":
                        finished.wait(timeout=30.0 + len(text) * 0.05)
            except Exception as error:
                raise EngineError(
                    f"pyttsx3 ({found.driver}) failed to speak {text!r}: {error}; "
                    f"fix: {install_fix()}"
                ) from error
            if found.errors:
                failure = found.errors[0]
                raise EngineError(
                    f"pyttsx3 ({found.driver}) failed to speak {text!r}: {failure}; "
                    "check the voice (see `voiceguide voices`)"
                ) from failure
            if not path.exists() or path.stat().st_size == 0:
                return np.zeros(0, dtype=np.float32), 0
            return _read_audio(path)
    finally:
        engine.disconnect(token)
        extra = [ln for ln in stray.getvalue().splitlines() if ln and "Audio saved" not in ln]
        if extra:
            log().debug("pyttsx3 printed: %s", " / ".join(extra))
