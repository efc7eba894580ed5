"""A cold start: compile on a thread and play the timeline's prefixes as they come.

The first time a routine plays, every cue has to be spoken into the speech cache before the
whole timeline is known (each clip's length places what follows it). ``Compiling`` runs
``compile_routine`` on a thread and hands on its prefixes (everything before a point that
nothing later can change), so the player starts on the first one: the intro's first
paragraph, or the first step. ``EstimatingBank`` lets the player pick a provisional
loudness level before the rest is spoken; the exact one follows (``Session.set_level``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.compile import Compiled, compile_routine
from voiceguide.model import Routine, VoiceSettings
from voiceguide.timeline import Timeline
from voiceguide.units import ms_to_frames
from voiceguide.voices.base import Clip
from voiceguide.voices.cache import SpeechCache

if TYPE_CHECKING:
    from voiceguide.render import Level

# How long espeak-ng takes to say a character at its default 175 words a minute, measured
# on the built-in routines (63 ms at 160): enough to guess a routine's loudness with.
MS_PER_CHAR_AT_175 = 57.0

Listener = Callable[[Timeline, bool], None]


class Compiling:
    """``compile_routine`` on a thread; ``first`` waits for something to play."""

    def __init__(self, routine: Routine, bank: SpeechCache) -> None:
        self.routine = routine
        self.bank = bank
        self._cond = threading.Condition()
        self._prefix: Timeline | None = None
        self._compiled: Compiled | None = None
        self._error: BaseException | None = None
        self._listener: Listener | None = None
        self._on_error: Callable[[BaseException], None] | None = None
        threading.Thread(target=self._run, name="voiceguide-compile", daemon=True).start()

    def _run(self) -> None:
        try:
            compiled = compile_routine(self.routine, self.bank, self._on_final)
        except BaseException as exc:  # handed to whoever waits, or to the player
            with self._cond:
                self._error = exc
                on_error = self._on_error
                self._cond.notify_all()
            if on_error is not None:
                on_error(exc)
            return
        with self._cond:
            self._compiled = compiled
            listener = self._listener
            self._cond.notify_all()
        if listener is not None:
            listener(compiled.timeline, True)

    def _on_final(self, prefix: Timeline) -> None:
        with self._cond:
            self._prefix = prefix
            listener = self._listener
            self._cond.notify_all()
        if listener is not None:
            listener(prefix, False)

    def first(self, min_ms: int) -> Compiled | Timeline:
        """The whole, once laid out; but if cues have to be spoken into the cache (a cold
        start), a prefix of at least ``min_ms`` as soon as there is one. Raises what
        stopped the compiler."""
        with self._cond:
            while True:
                if self._error is not None:
                    raise self._error
                if self._compiled is not None:
                    return self._compiled
                prefix = self._prefix
                if prefix is not None and prefix.duration_ms >= min_ms and self.bank.misses:
                    return prefix
                self._cond.wait(0.05)

    def result(self) -> Compiled:
        """The whole compiled routine (waits for it)."""
        with self._cond:
            while self._compiled is None and self._error is None:
                self._cond.wait()
            if self._error is not None:
                raise self._error
            assert self._compiled is not None
            return self._compiled

    def follow(self, listener: Listener, on_error: Callable[[BaseException], None]) -> None:
        """Call ``listener(timeline, complete)`` with each newer prefix and the whole (from
        the compiler's thread), starting with the latest now; ``on_error`` if it fails."""
        with self._cond:
            self._listener, self._on_error = listener, on_error
            error, compiled, prefix = self._error, self._compiled, self._prefix
        if error is not None:
            on_error(error)
        elif compiled is not None:
            listener(compiled.timeline, True)
        elif prefix is not None:
            listener(prefix, False)


class EstimatingBank:
    """The speech cache as far as it goes, and a guess for the rest: for a level estimate.

    Clips already spoken are themselves; the others get a length guessed from their text,
    and stay "being prepared" for good, so ``analyse(estimate=True)`` lets a ready clip's
    stats stand in for them. Nothing is synthesised.
    """

    def __init__(self, bank: SpeechCache) -> None:
        self.bank = bank
        self._never: Future[None] = Future()

    def clip(self, text: str, voice: VoiceSettings) -> Clip:
        known = self.bank.known(text, voice)
        if known is not None:
            return known
        ms = len(text) * MS_PER_CHAR_AT_175 * 175 / max(1, int(voice.rate))
        return Clip(f"guess-{len(text)}", ms_to_frames(round(ms)), Path(), self._never)


def estimated_timeline(routine: Routine, bank: SpeechCache) -> Timeline:
    """The routine laid out with the clips spoken so far and guessed lengths for the rest."""
    return compile_routine(routine, EstimatingBank(bank)).timeline


def estimate_level(routine: Routine, bank: SpeechCache, prefix: Timeline) -> Level:
    """The provisional level a cold start plays ``prefix`` at.

    Waits for the prefix's own clips (the player needs them first anyway; and they stand in
    for the clips not yet spoken), then analyses the estimated layout.
    """
    from voiceguide.render import analyse

    for speech in prefix.speech:
        known = bank.known(speech.text, speech.voice)
        if known is not None:
            known.ready()
    return analyse(estimated_timeline(routine, bank), EstimatingBank(bank), estimate=True)
