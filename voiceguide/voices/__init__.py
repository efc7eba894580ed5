"""Speech engines by name: the registry.

This module is imported when the CLI starts and by a no-op export (for the engine's
fingerprint), so it stays light: each engine module is imported only when its factory is
called, and an engine module imports its heavy parts (numpy, pyttsx3, ...) only when it
speaks. The interface an engine implements is in ``voiceguide.voices.base``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from voiceguide.errors import EngineError

if TYPE_CHECKING:
    from voiceguide.voices.base import Engine

__all__ = ["ENGINES", "fingerprint", "get_engine", "unknown_engine"]


def _espeak() -> Engine:
    from voiceguide.voices.espeak import EspeakEngine

    return EspeakEngine()


def _fake() -> Engine:
    from voiceguide.voices.fake import FakeEngine

    return FakeEngine()


ENGINES: dict[str, Callable[[], Engine]] = {"pyttsx3": _espeak, "fake": _fake}

# Engines announced but not built in yet: why, and the packages they will come in.
_LATER = {
    "piper": (
        "the neural Piper engine comes as an optional extra in a later version",
        ("piper-tts",),
    )
}


def unknown_engine(name: str, known: Iterable[str]) -> EngineError:
    """The error for an engine name that is not one of ``known``."""
    key = name.strip().lower()
    later = f"; {_LATER[key][0]}" if key in _LATER else ""
    return EngineError(
        f"unknown speech engine {name!r}{later}; use one of: {', '.join(sorted(known))}"
    )


def get_engine(name: str) -> Engine:
    """A new engine by name (``VoiceSettings.engine``); EngineError names the known ones."""
    factory = ENGINES.get(name.strip().lower())
    if factory is None:
        raise unknown_engine(name, ENGINES)
    return factory()


def fingerprint(name: str) -> str:
    """The named engine's ``fingerprint()``, which does not start it. An engine not built
    in: its name, and for one announced, the versions of the packages it will come in."""
    factory = ENGINES.get(name)
    if factory is not None:
        return factory().fingerprint()
    from voiceguide.voices.installed import dist_facts

    return ";".join([name, *dist_facts(_LATER.get(name, ("", ()))[1])])
