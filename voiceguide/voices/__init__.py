"""Speech engines by name: the registry, and which engine speaks when a script names none.

This module is imported when the CLI starts and by a no-op export (for the engine's
fingerprint), so it stays light: each engine module is imported only when its factory is
called, and an engine module imports its heavy parts (numpy, onnxruntime, pyttsx3, ...)
only when it speaks. The interface an engine implements is in ``voiceguide.voices.base``.

The default engine is the natural neural voice, hibari, wherever it installs (its voice is
inside its wheel); elsewhere (32-bit Pi OS has no onnxruntime) the system voices through
pyttsx3. ``VOICEGUIDE_ENGINE`` names another default.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from voiceguide.errors import EngineError

if TYPE_CHECKING:
    from voiceguide.voices.base import Engine

__all__ = [
    "ENGINES",
    "NEURAL",
    "FALLBACK",
    "default_engine",
    "engine_name",
    "fingerprint",
    "get_engine",
    "unknown_engine",
]

ENGINE_ENV = "VOICEGUIDE_ENGINE"
NEURAL = "hibari"
"""The default engine wherever it can run."""
FALLBACK = "pyttsx3"
"""The default engine where the neural one cannot run."""


def _hibari() -> Engine:
    from voiceguide.voices.hibari import HibariEngine

    return HibariEngine()


def _piper() -> Engine:
    from voiceguide.voices.piper import PiperEngine

    return PiperEngine()


def _espeak() -> Engine:
    from voiceguide.voices.espeak import EspeakEngine

    return EspeakEngine()


def _fake() -> Engine:
    from voiceguide.voices.fake import FakeEngine

    return FakeEngine()


ENGINES: dict[str, Callable[[], Engine]] = {
    "hibari": _hibari,
    "piper": _piper,
    "pyttsx3": _espeak,
    "fake": _fake,
}


def _neural_installed() -> bool:
    """Whether hibari and onnxruntime are installed (found, not imported: ~0.2 ms)."""
    return all(importlib.util.find_spec(m) is not None for m in ("hibari", "onnxruntime"))


def default_engine() -> str:
    """The engine a script that names none speaks with: ``VOICEGUIDE_ENGINE`` if set, else
    hibari where it is installed, else pyttsx3 (the system voices)."""
    chosen = os.environ.get(ENGINE_ENV, "").strip().lower()
    if chosen:
        if chosen not in ENGINES:
            raise EngineError(
                f"{ENGINE_ENV}={chosen!r} is not a speech engine; fix: set it to one of: "
                f"{', '.join(sorted(ENGINES))}, or unset it"
            )
        return chosen
    return NEURAL if _neural_installed() else FALLBACK


def engine_name(name: str | None) -> str:
    """``name`` as the registry knows it; None: the default engine."""
    return default_engine() if name is None else name.strip().lower()


def unknown_engine(name: str, known: Iterable[str]) -> EngineError:
    """The error for an engine name that is not one of ``known``."""
    return EngineError(f"unknown speech engine {name!r}; use one of: {', '.join(sorted(known))}")


def get_engine(name: str | None) -> Engine:
    """A new engine by name (``VoiceSettings.engine``; None: the default engine);
    EngineError names the known ones."""
    key = engine_name(name)
    factory = ENGINES.get(key)
    if factory is None:
        raise unknown_engine(key, ENGINES)
    return factory()


def fingerprint(name: str | None) -> str:
    """The named engine's ``fingerprint()``, which does not start it; an unknown name is
    itself (the script reader has already refused it where it matters)."""
    key = engine_name(name)
    factory = ENGINES.get(key)
    return factory().fingerprint() if factory is not None else key
