"""The silent mistakes: what a valid script asks for that will not happen as written.

``voiceguide check`` prints these (exit 0; ``--strict`` makes them errors, with the exit
code of the error each one resembles). Each is data: the script position, what is wrong
and the fix. Found from the routine and its compiled timeline:

- a cue that is never spoken: locked to a breathing phase the pattern does not have
  (``on: hold_in`` in ``4-0-6-0``), to more breaths than the step holds, or repeating
  (``every``) from after the end of its step;
- a ``slow_to`` that is faster than the pattern's own rate, so the breathing speeds up.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from voiceguide.compile.layout import Compiled
from voiceguide.errors import ExitCode
from voiceguide.model import BreathPattern, Cue, CueKind, Phase, Routine, Step, Where
from voiceguide.timeline import Speech

PHASE_FIELDS = {
    Phase.INHALE: "inhale",
    Phase.HOLD_IN: "hold_in",
    Phase.EXHALE: "exhale",
    Phase.HOLD_OUT: "hold_out",
}
PHASE_WORDS = {
    Phase.INHALE: "inhale",
    Phase.HOLD_IN: "hold after the inhale",
    Phase.EXHALE: "exhale",
    Phase.HOLD_OUT: "hold after the exhale",
}


@dataclass(frozen=True)
class ScriptWarning:
    """A valid script that will not do what it says: where, what, and the fix.

    ``exit_code`` is that of the error it resembles, for ``check --strict``."""

    where: Where
    message: str
    fix: str
    exit_code: ExitCode = ExitCode.SCRIPT

    def __str__(self) -> str:
        return f"{self.where}: warning: {self.message}"


def pattern_name(p: BreathPattern) -> str:
    """A pattern as a script writes it: ``4-0-6-0``."""
    lengths = (p.inhale_ms, p.hold_in_ms, p.exhale_ms, p.hold_out_ms)
    return "-".join(f"{ms / 1000:g}" for ms in lengths)


def _matcher(template: str) -> re.Pattern[str]:
    """A cue's text with its placeholders as wildcards: matches the texts it is spoken as."""
    parts = string.Formatter().parse(template)
    rx = "".join(re.escape(lit) + (".+?" if name is not None else "") for lit, name, _, _ in parts)
    return re.compile(rx + r"\Z", re.DOTALL)


def _spoken(cue: Cue, index: int, speech: list[Speech]) -> bool:
    """Whether ``cue`` of step ``index`` is spoken anywhere in the timeline."""
    rx = _matcher(cue.text)
    return any(s.step == index and s.cue == cue.kind.value and rx.match(s.text) for s in speech)


def _why_silent(cue: Cue, step: Step) -> tuple[str, str]:
    """Why ``cue`` of ``step`` is never spoken, and the fix."""
    span = step.duration_ms // max(1, len(step.sides))
    where_in = "side" if step.sides else "step"
    pattern = step.breathing
    if cue.kind is CueKind.PHASE and pattern is not None and cue.phase is not None:
        name = PHASE_FIELDS[cue.phase]
        length = getattr(pattern, f"{name}_ms")
        if length == 0:
            return (
                f"this cue is never spoken: on: {name}, but the pattern "
                f"{pattern_name(pattern)} has no {PHASE_WORDS[cue.phase]}",
                "lock it to a phase the pattern has (on: inhale or on: exhale), "
                f"or give the pattern a {name} ({name}: 2s)",
            )
    if cue.kind is CueKind.EVERY_BREATHS and pattern is not None:
        about = max(1, round(span / pattern.cycle_ms))
        return (
            f"this cue is never spoken: every_breaths: {cue.every_breaths}, but the "
            f"{where_in} has fewer breathing cycles (about {about} of {pattern_name(pattern)} "
            f"in {span / 1000:g}s)",
            f"set every_breaths: {about} or less, or lengthen the {where_in}",
        )
    if cue.kind is CueKind.EVERY:
        return (
            f"this cue is never spoken: its first time (from: {cue.offset_ms / 1000:g}s) is "
            f"after the end of the {where_in} ({span / 1000:g}s)",
            f"set from: to less than {span / 1000:g}s, or a shorter every:",
        )
    if cue.kind in (CueKind.PHASE, CueKind.EVERY_BREATHS):
        return (
            f"this cue is never spoken: no breathing cycle is paced in the {where_in}",
            f"lengthen the {where_in}, or shorten what is said before its breathing",
        )
    return ("this cue is never spoken", f"give it a time inside the {where_in}")


def _speeds_up(pattern: BreathPattern) -> ScriptWarning:
    return ScriptWarning(
        pattern.slow_to_where,
        f"slow_to: {pattern.slow_to_bpm:g} breaths a minute is faster than the pattern "
        f"{pattern_name(pattern)} ({pattern.bpm:.3g} a minute): the breathing speeds up",
        f"set slow_to below {pattern.bpm:.3g} to slow it down, or remove it",
    )


def script_warnings(routine: Routine, compiled: Compiled) -> list[ScriptWarning]:
    """Every warning of ``routine`` as ``compiled``, in script order (each place once)."""
    speech = [e for e in compiled.timeline.events if isinstance(e, Speech)]
    found: dict[Where, ScriptWarning] = {}
    for index, step in enumerate(routine.steps):
        pattern = step.breathing
        if pattern is not None and pattern.slow_to_bpm and pattern.slow_to_bpm > pattern.bpm:
            found.setdefault(pattern.slow_to_where, _speeds_up(pattern))
        for cue in step.cues:
            if cue.where not in found and not _spoken(cue, index, speech):
                found[cue.where] = ScriptWarning(cue.where, *_why_silent(cue, step))
    return sorted(found.values(), key=lambda w: (w.where.path, w.where.line, w.where.column))
