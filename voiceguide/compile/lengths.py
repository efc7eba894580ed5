"""A routine's two lengths, with one meaning and one label wherever they are shown.

* the routine length: from 0:00 (the first step starts) to the end of the last step, on the
  routine clock: what the steps take, the rests and waits between them included;
* the file length: the whole timeline, the intro and the closing words included: what an
  export lasts.

``routines``, ``check`` and ``plan`` show them as ``routine 10:00 · file 11:10``. The file
length hangs on how long the spoken texts sound; ``lay_out_lengths`` takes it from the
speech cache, and marks it as a guess (``file ~11:10``) while any text is not yet spoken.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.errors import EngineError
from voiceguide.units import clock, ms_to_frames
from voiceguide.voices.base import Clip

if TYPE_CHECKING:
    from voiceguide.model import Routine, VoiceSettings
    from voiceguide.timeline import Timeline
    from voiceguide.voices.cache import SpeechCache

GUESS_MS_PER_CHAR = 57.0  # what espeak-ng, hibari and Piper guess at their usual speed


@dataclass(frozen=True)
class Lengths:
    """``routine_ms`` from 0:00 to the end of the last step, ``file_ms`` the whole timeline;
    ``guessed``: the file length comes from guessed lengths of texts not yet spoken."""

    routine_ms: int
    file_ms: int
    guessed: bool = False

    def label(self) -> str:
        """``routine 10:00 · file 11:10`` (``file ~11:10`` when guessed)."""
        about = "~" if self.guessed else ""
        return f"routine {clock(self.routine_ms)} · file {about}{clock(self.file_ms)}"


def lengths(timeline: Timeline, *, guessed: bool = False) -> Lengths:
    """The two lengths of ``timeline`` (a routine with no steps lasts 0:00)."""
    ends = [c.end_ms for c in timeline.chapters if c.step is not None]
    end = max(ends, default=timeline.origin_ms)
    return Lengths(end - timeline.origin_ms, timeline.duration_ms, guessed)


class _SpokenOrGuessed:
    """A SpeechBank of the clips the speech cache holds and guessed lengths for the others
    (``SpeechCache.estimate_ms``): nothing is spoken, and an engine is not started."""

    def __init__(self, cache: SpeechCache) -> None:
        self.cache = cache
        self.guessed = False

    def clip(self, text: str, voice: VoiceSettings) -> Clip:
        with contextlib.suppress(EngineError):  # an engine not usable here: a guess
            self.cache.identity(voice)  # known() finds clips only under a known identity
            known = self.cache.known(text, voice)
            if known is not None:
                return known
        self.guessed = True
        return Clip("guess", ms_to_frames(self.estimate_ms(text, voice)), Path())

    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        try:
            return self.cache.estimate_ms(text, voice)
        except EngineError:  # a voice its engine refuses here: the engines' common rate
            return round(len(text) * GUESS_MS_PER_CHAR)


def lay_out_lengths(routine: Routine, cache: SpeechCache) -> Lengths:
    """The lengths of ``routine`` as laid out with the clips ``cache`` holds, the others'
    lengths guessed (``Lengths.guessed``): for a listing that speaks nothing."""
    from voiceguide.compile.layout import compile_routine

    bank = _SpokenOrGuessed(cache)
    timeline = compile_routine(routine, bank).timeline
    return lengths(timeline, guessed=bank.guessed)
