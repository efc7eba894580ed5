"""Which speech engines can speak here, and with which voices (``voiceguide voices``).

Every engine says cheaply whether it can run (``Engine.unavailable``: not installed, no
onnxruntime for this platform, voice missing) without being started; the voices of an
engine that can run are asked of the engine itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voiceguide.errors import EngineError
from voiceguide.voices import ENGINES, FALLBACK, NEURAL, default_engine, get_engine
from voiceguide.voices.base import VoiceInfo

LISTED = ("hibari", "piper", "pyttsx3")
"""The engines ``voiceguide voices`` reports, in order (the fake engine is for tests)."""


@dataclass(frozen=True)
class EngineStatus:
    """One engine as ``voiceguide voices`` reports it."""

    name: str
    problem: str | None  # why it cannot speak here, with the fix; None: it can
    default: bool = False
    voices: list[VoiceInfo] = field(default_factory=list)


def engine_status(name: str, *, with_voices: bool = True) -> EngineStatus:
    """``name``'s status, and its voices if it can speak and ``with_voices``."""
    engine = get_engine(name)
    problem = engine.unavailable()
    found: list[VoiceInfo] = []
    if problem is None and with_voices:
        try:
            found = engine.voices()
        except EngineError as error:
            problem = str(error)
    return EngineStatus(name, problem, default=name == default_engine(), voices=found)


def default_note() -> str:
    """One line naming the default engine, and why it is not the neural one if it is not."""
    chosen = default_engine()
    if chosen == NEURAL:
        return f"default engine: {NEURAL} (the natural voice)"
    neural = get_engine(NEURAL).unavailable()
    if chosen == FALLBACK and neural is not None:
        return f"default engine: {FALLBACK} (system voices), since {NEURAL} cannot run: {neural}"
    return f"default engine: {chosen} (set by VOICEGUIDE_ENGINE)"


def listed_engines() -> list[str]:
    """The engines to report: those of LISTED that are registered."""
    return [name for name in LISTED if name in ENGINES]
