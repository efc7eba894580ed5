"""Provisional levels, for a player that starts before every clip is ready.

A cold start plays the first part of a routine while the rest is still being spoken into
the speech cache. ``EstimatingBank`` is the speech cache as far as it goes and the engine's
guess of each missing clip's length (``SpeechCache.estimate_ms``); laid out with it, the
routine can be analysed (``analyse(estimate=True)``) before it is spoken. The exact level
follows once the cache has every clip (``Session.set_level``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from voiceguide.model import VoiceSettings
from voiceguide.render.analysis import analyse
from voiceguide.render.level import Level
from voiceguide.render.level_cache import cached_level
from voiceguide.timeline import Timeline
from voiceguide.units import ms_to_frames
from voiceguide.voices.base import Clip, SpeechBank
from voiceguide.voices.cache import SpeechCache


class EstimatingBank:
    """The speech cache as far as it goes, and a guess for the rest: for a level estimate.

    Clips already spoken are themselves; the others get the length the engine guesses from
    their text, and stay "being prepared" for good, so ``analyse(estimate=True)`` lets a
    ready clip's stats stand in for them. Nothing is synthesised.
    """

    def __init__(self, bank: SpeechCache) -> None:
        self.bank = bank
        self._never: Future[None] = Future()

    def clip(self, text: str, voice: VoiceSettings) -> Clip:
        known = self.bank.known(text, voice)
        if known is not None:
            return known
        frames = ms_to_frames(self.bank.estimate_ms(text, voice))
        return Clip(f"guess-{len(text)}", frames, Path(), self._never)

    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        return self.bank.estimate_ms(text, voice)


def estimate_level(
    prefix: Timeline, bank: SpeechCache, lay_out: Callable[[SpeechBank], Timeline]
) -> Level:
    """The provisional level a cold start plays ``prefix`` at.

    Waits for the prefix's own clips (the player needs them first anyway; and they stand in
    for the clips not yet spoken), then analyses the whole routine as ``lay_out`` lays it
    out with an ``EstimatingBank`` (the compiler, given by the caller).
    """
    for speech in prefix.speech:
        known = bank.known(speech.spoken, speech.voice)
        if known is not None:
            known.ready()
    guess = EstimatingBank(bank)
    return analyse(lay_out(guess), guess, estimate=True)


def starting_level(timeline: Timeline, bank: SpeechCache) -> Level:
    """The level a whole timeline starts playing at: the exact one (``cached_level``), or
    while clips are still being prepared, ``analyse``'s estimate (the exact one follows)."""
    if bank.busy:
        return analyse(timeline, bank, estimate=True)
    return cached_level(timeline, bank)
