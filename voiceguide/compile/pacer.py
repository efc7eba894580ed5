"""The breathing pacer's part of a step's layout, for the compiler (``voiceguide.compile``).

Over the phases ``breath.schedule`` times (the cycles spread over the timed part, to its
end), it places a tone per phase (unless the pattern has none), the breath words ("Breathe
in", "Hold", ...) for the first spoken cycles, and the cues locked to breaths, which replace
the words where they fall: so words and cues follow the stretched or shortened cycles. The
words are the step's counting voice's (``counting_voice:``); the cues speak with their own
voice.
"""

from __future__ import annotations

from typing import Protocol

from voiceguide.breath import BreathPhase
from voiceguide.model import CueKind, Phase, Step, VoiceSettings, Where
from voiceguide.timeline import Speech, ToneName

TONE_FOR_PHASE: dict[Phase, ToneName] = {
    Phase.INHALE: "inhale",
    Phase.HOLD_IN: "hold",
    Phase.EXHALE: "exhale",
    Phase.HOLD_OUT: "hold",
}


class Say(Protocol):
    """Speak ``text`` at ``at`` as a ``cue`` of the step, from ``where`` in the script,
    with ``voice``."""

    def __call__(
        self, text: str, at: int, cue: str, where: Where, voice: VoiceSettings
    ) -> Speech: ...


class Sound(Protocol):
    """Place tone ``name`` from ``start`` for ``duration`` ms in step ``step``."""

    def __call__(self, name: ToneName, start: int, duration: int, step: int | None) -> None: ...


def pace(index: int, step: Step, phases: list[BreathPhase], say: Say, tone: Sound) -> None:
    """Lay out step ``index``'s breathing over ``phases``."""
    pattern = step.breathing
    assert pattern is not None
    locked = [c for c in step.cues if c.kind in (CueKind.PHASE, CueKind.EVERY_BREATHS)]
    words = {
        Phase.INHALE: pattern.inhale_text,
        Phase.HOLD_IN: pattern.hold_text,
        Phase.EXHALE: pattern.exhale_text,
        Phase.HOLD_OUT: pattern.hold_text,
    }
    for ph in phases:
        if pattern.tones:
            tone(TONE_FOR_PHASE[ph.phase], ph.start_ms, ph.duration_ms, index)
        spoken_here = False
        for cue in locked:
            if cue.kind is CueKind.PHASE and cue.phase is ph.phase:
                hit = cue.cycles is None or ph.cycle < cue.cycles
            else:
                hit = (
                    cue.kind is CueKind.EVERY_BREATHS
                    and ph.phase is Phase.INHALE
                    and (ph.cycle + 1) % cue.every_breaths == 0
                )
            if hit:
                say(cue.text, ph.start_ms, cue.kind.value, cue.where, cue.voice or step.voice)
                spoken_here = True
        if not spoken_here and ph.cycle < pattern.spoken_cycles:
            say(words[ph.phase], ph.start_ms, "breath", step.where, step.counting_voice)
