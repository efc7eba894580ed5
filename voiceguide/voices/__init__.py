"""Speech engines by name, and the speech cache that wraps them.

This module is imported when the CLI starts, so it stays light: each engine module (numpy,
pyttsx3, ...) is imported only when its factory is called.
"""

from __future__ import annotations

from collections.abc import Callable

from voiceguide.errors import EngineError
from voiceguide.voices.base import Clip, Engine, HintedEngine, SpeechBank, VoiceInfo

__all__ = [
    "ENGINES",
    "Clip",
    "Engine",
    "HintedEngine",
    "SpeechBank",
    "VoiceInfo",
    "get_engine",
]


def _pyttsx3() -> Engine:
    from voiceguide.voices.pyttsx3_engine import Pyttsx3Engine

    return Pyttsx3Engine()


def _fake() -> Engine:
    from voiceguide.voices.fake import FakeEngine

    return FakeEngine()


ENGINES: dict[str, Callable[[], Engine]] = {"pyttsx3": _pyttsx3, "fake": _fake}

_LATER = {"piper": "the neural Piper engine comes as an optional extra in a later version"}


def get_engine(name: str) -> Engine:
    """A new engine by name (``VoiceSettings.engine``); EngineError names the known ones."""
    factory = ENGINES.get(name.strip().lower())
    if factory is None:
        known = ", ".join(sorted(ENGINES))
        later = f"; {_LATER[name.strip().lower()]}" if name.strip().lower() in _LATER else ""
        raise EngineError(f"unknown speech engine {name!r}{later}; use one of: {known}")
    return factory()
