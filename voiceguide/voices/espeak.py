"""The default offline engine: espeak-ng, found and driven through pyttsx3.

The engine is registered as ``pyttsx3``, the name scripts use. On Linux pyttsx3 drives
espeak-ng; on Windows (SAPI5) and macOS (NSSpeechSynthesizer) the same engine speaks
through pyttsx3's public API (``pyttsx3_driver``). Voices are resolved against the
driver's voice list (``resolve``): pyttsx3 swallows a failing ``setProperty("voice", ...)``.

How audio is obtained on espeak-ng, and why (pyttsx3 2.99, read from its source and
measured): pyttsx3 initialises libespeak-ng in its *asynchronous* retrieval mode, and
``runAndWait`` ends its loop with ``espeak_Cancel`` whenever the library is still busy.
That cancel drops queued ``rate``/``volume`` changes and restores the previous utterance's
parameters, so the spoken rate is random (observed: a rate change is ignored in about half
the runs). ``runAndWait`` also returns about 10 ms after queueing the text, before a long
utterance has been written, and the file is written (with an "Audio saved to ..." print)
later from espeak's thread: hence missing or empty files and stray stdout. So this engine
uses pyttsx3's own ctypes binding of the library (``pyttsx3.drivers._espeak``) in a helper
process (``espeak_worker``, driven by ``espeak_client``) that sets voice, rate, volume and
text in order and collects the samples in memory through a callback. The library also
keeps state from one utterance to the next, so the helper forks a child per text from the
freshly initialised library: the same text always gives the same samples, whatever was
spoken before. No file, no print, the exact sample rate, ~5-10 ms per cue; a crash of the
library is one error, not the end of voiceguide.

Long texts: espeak-ng crashes on very long utterances, so texts longer than
MAX_UTTERANCE_CHARS are spoken in parts split at sentence, then clause, then word
boundaries, and joined; texts beyond MAX_TEXT_CHARS are refused.

Imports are lazy (numpy, pyttsx3) so that a warm speech-cache run, which only needs
``identity_hint``, and a no-op export, which only needs ``fingerprint``, stay cheap.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from voiceguide.errors import EngineError

if TYPE_CHECKING:
    from voiceguide.model import VoiceSettings
    from voiceguide.voices.base import Samples, VoiceInfo
    from voiceguide.voices.espeak_client import Helper
    from voiceguide.voices.pyttsx3_driver import Shared

MS_PER_CHAR_AT_175 = 57.0
"""How long espeak-ng takes to say a character at its default 175 words a minute, measured
on the built-in routines (63 ms at 160): what ``estimate_ms`` guesses a clip's length with."""

MAX_UTTERANCE_CHARS = 500
"""Texts longer than this are spoken in parts: espeak-ng crashes (SIGSEGV) on very long
utterances, and every built-in cue is under half of it."""
MAX_TEXT_CHARS = 5_000
"""Texts longer than this are refused (scripts have a lower limit of their own)."""

# The libraries whose change the fingerprint notices (where Debian and Ubuntu put them).
_LIBESPEAK = (
    "/usr/lib/x86_64-linux-gnu/libespeak-ng.so.1",
    "/usr/lib/aarch64-linux-gnu/libespeak-ng.so.1",
)


@dataclass(frozen=True)
class EspeakSettings:
    """What espeak-ng is asked for: the voice as the script names it (resolved to one of
    the driver's voices, which ``identity`` names), words a minute, volume 0..1."""

    sample_rate: ClassVar[int] = 22_050  # espeak-ng's; other drivers say theirs per clip
    voice: str | None
    rate: int
    volume: float


# Where a long text may be cut, best first (compiled on first use: ``re`` caches them).
_CUTS = (r"(?<=[.!?\u2026])\s+", r"(?<=[,;:\u2013\u2014])\s+", r"\s+")


def split_text(text: str, limit: int = MAX_UTTERANCE_CHARS) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at sentence ends where it
    can, else at clause ends, else between words, else anywhere; a short text is itself."""
    text = text.strip()
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    for pattern in _CUTS:
        pieces = [p for p in re.split(pattern, text) if p]
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


@functools.cache
def _helper() -> Helper:
    """The process-wide espeak-ng helper (``espeak_client``)."""
    from voiceguide.voices.espeak_client import Helper

    return Helper()


def _session() -> Shared:
    """pyttsx3, started once; the first time, on espeak-ng, the helper is launched too (its
    start-up overlaps the caller's)."""
    from voiceguide.voices import pyttsx3_driver as driver

    first = not driver.started()
    found = driver.shared()
    if first and driver.espeak_binding(found) is not None:
        with contextlib.suppress(OSError):  # reported when it is first needed
            _helper().launch()
    return found


@functools.cache
def _espeak_version() -> str | None:
    """libespeak-ng's version string (``1.51``): cheap once pyttsx3 has loaded it."""
    from voiceguide.voices.pyttsx3_driver import text_of

    try:
        from pyttsx3.drivers import _espeak

        info = _espeak.Info()
    except Exception:
        return None
    return text_of(info).strip() if info else None


@functools.cache
def _espeak_hint() -> str | None:
    """Facts that change when pyttsx3, libespeak-ng or its voice data change (~0.3 ms).

    None when libespeak-ng cannot be found where it normally lives: then the cache asks
    the engine itself.
    """
    import importlib.util
    import json
    from glob import glob

    from voiceguide.voices.installed import stat_fact

    spec = importlib.util.find_spec("pyttsx3")
    if spec is None or spec.origin is None:
        return None
    package = os.path.dirname(spec.origin)
    code = [
        stat_fact(os.path.join(package, name))
        for name in ("__init__.py", "engine.py", "drivers/espeak.py", "drivers/_espeak.py")
    ]
    lib_dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    lib_dirs += ["/usr/local/lib", "/usr/lib", "/usr/lib64", *sorted(glob("/usr/lib/*-linux-*"))]
    libs = [
        fact
        for d in lib_dirs
        for name in ("libespeak-ng.so.1", "libespeak.so.1")
        if (fact := stat_fact(os.path.join(d, name)))
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
        if (fact := stat_fact(os.path.join(d, sub)))
    ]
    return json.dumps({"platform": sys.platform, "pyttsx3": code, "libs": libs, "data": data})


class EspeakEngine:
    """Offline speech with espeak-ng through pyttsx3 (the system's voices elsewhere)."""

    name = "pyttsx3"

    def __init__(self) -> None:
        self._resolved: dict[str | None, VoiceInfo] = {}

    def settings(self, voice: VoiceSettings) -> EspeakSettings:
        """espeak-ng speaks words a minute, as scripts give them."""
        return EspeakSettings(voice.voice, int(voice.rate), float(voice.volume))

    def _voice(self, found: Shared, wanted: str | None) -> VoiceInfo:
        from voiceguide.voices.pyttsx3_driver import LOCK, install_fix
        from voiceguide.voices.resolve import resolve_voice

        if wanted not in self._resolved:
            with LOCK:
                voices = found.voices()
                if not voices:
                    raise EngineError(f"pyttsx3 found no voices; fix: {install_fix()}")
                self._resolved[wanted] = resolve_voice(
                    voices, wanted, found.default_voice, self.name
                )
        return self._resolved[wanted]

    def synthesize(self, text: str, voice: VoiceSettings) -> tuple[Samples, int]:
        """Speak ``text`` into memory (mono float32, the engine's rate); retried once.

        A text longer than MAX_UTTERANCE_CHARS is spoken in parts (``split_text``) and
        joined; one longer than MAX_TEXT_CHARS is refused before it reaches the engine.
        """
        from voiceguide.voices.espeak_client import excerpt

        if not text.strip():
            raise ValueError("cannot speak an empty text")
        if len(text) > MAX_TEXT_CHARS:
            raise EngineError(
                f"a text of {len(text)} characters is too long to speak (at most "
                f"{MAX_TEXT_CHARS}): {excerpt(text)}; fix: split it into shorter cues"
            )
        found = _session()
        info = self._voice(found, voice.voice)
        settings = self.settings(voice)
        parts = [self._speak(found, part, info, settings) for part in split_text(text)]
        if len(parts) == 1:
            return parts[0]
        import numpy as np

        rate = parts[0][1]
        if any(r != rate for _, r in parts):
            raise EngineError(f"pyttsx3 ({found.driver}) changed its sample rate mid-text")
        joined: Samples = np.concatenate([samples for samples, _ in parts])
        return joined, rate

    def _speak(
        self, found: Shared, text: str, info: VoiceInfo, settings: EspeakSettings
    ) -> tuple[Samples, int]:
        from voiceguide.voices import pyttsx3_driver as driver
        from voiceguide.voices.espeak_client import excerpt

        volume = min(max(settings.volume, 0.0), 1.0)
        with driver.LOCK:
            for _attempt in range(2):
                if driver.espeak_binding(found) is not None:
                    samples, rate = _speak_helper(text, info, settings.rate, volume)
                else:
                    samples, rate = driver.speak_file(found, text, info.id, settings.rate, volume)
                if samples.size:
                    return samples, rate
                driver.log().warning(
                    "pyttsx3 produced no audio for %s; retrying once", excerpt(text)
                )
        raise EngineError(
            f"pyttsx3 ({found.driver}) produced no audio for {excerpt(text)} twice; fix: "
            f"{driver.install_fix()}, or try another voice (see `voiceguide voices`)"
        )

    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        """MS_PER_CHAR_AT_175 per character, scaled by the rate; the engine is not started."""
        return round(len(text) * MS_PER_CHAR_AT_175 * 175 / max(1, self.settings(voice).rate))

    def identity(self, voice: VoiceSettings) -> str:
        """pyttsx3 version, driver, resolved voice id and (Linux) the espeak-ng version."""
        from voiceguide.voices.installed import dist_version

        found = _session()
        info = self._voice(found, voice.voice)
        version = dist_version("pyttsx3") or "unknown"
        parts = [f"pyttsx3={version}", f"driver={found.driver}", f"voice={info.id}"]
        if found.driver == "espeak":
            parts.append(f"espeak-ng={_espeak_version() or 'unknown'}")
        return ";".join(parts)

    def identity_hint(self, voice: VoiceSettings) -> str | None:
        """Cheap install facts for espeak-ng systems; None elsewhere (identity is asked)."""
        if sys.platform in ("win32", "darwin"):
            return None
        return _espeak_hint()

    def fingerprint(self) -> str:
        """The engine's name, pyttsx3's version, and libespeak-ng's size and time where
        Debian and Ubuntu install it (the form exports have been recorded with)."""
        from voiceguide.voices.installed import dist_facts

        parts = [self.name, *dist_facts(("pyttsx3",))]
        for lib in _LIBESPEAK:
            try:
                st = os.stat(lib)
                parts.append(f"{lib}:{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                pass
        return ";".join(parts)

    def voices(self) -> list[VoiceInfo]:
        """Every voice the driver offers, in the driver's order."""
        from voiceguide.voices.pyttsx3_driver import LOCK

        found = _session()
        with LOCK:
            return list(found.voices())

    def unavailable(self) -> str | None:
        """pyttsx3 missing, or (Linux) no libespeak-ng where it is normally installed."""
        import importlib.util

        from voiceguide.voices.pyttsx3_driver import install_fix

        if importlib.util.find_spec("pyttsx3") is None:
            return "pyttsx3 is not installed; fix: pip install pyttsx3"
        if sys.platform.startswith("linux") and _espeak_hint() is None:
            return f"libespeak-ng was not found; fix: {install_fix()}"
        return None


def _speak_helper(text: str, info: VoiceInfo, rate: int, volume: float) -> tuple[Samples, int]:
    """One utterance through libespeak-ng in the helper process (see ``espeak_worker``):
    the same text always gives the same samples, whatever was spoken before."""
    import numpy as np

    from voiceguide.voices import espeak_worker as w
    from voiceguide.voices.espeak_client import excerpt
    from voiceguide.voices.pyttsx3_driver import install_fix

    helper = _helper()
    request = {
        "voice": info.id,
        "rate": rate,
        "volume": round(volume * 100),
        "pitch": 50,
        "text": text,
    }
    status, sample_rate, pcm = helper.speak(request, timeout=30.0 + len(text) * 0.05)
    if status == w.NO_VOICE:
        raise EngineError(
            f"espeak-ng cannot load voice {info.id}; choose another voice (see `voiceguide voices`)"
        )
    if status == w.REFUSED:
        raise EngineError(f"espeak-ng refused to speak {excerpt(text)}; fix: {install_fix()}")
    if status != w.OK:
        what = f"signal {-status}" if status < 0 else f"status {status}"
        raise EngineError(
            f"espeak-ng crashed ({what}) speaking {excerpt(text)}; fix: reword the text, "
            "or choose another voice (see `voiceguide voices`)"
        )
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    return samples, sample_rate or helper.rate
