"""What a routine will say and lay out, counted as its steps are read, held to the limits.

The counts are upper bounds of what the compiler makes of a step (its utterances, and its
tones, chimes, ticks and silences), so that a routine too big to build is refused at the
step that makes it so, before anything is compiled or spoken.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceguide import limits
from voiceguide.model import Cue, CueKind, Step
from voiceguide.script.compose import Node
from voiceguide.script.fields import Fields
from voiceguide.script.messages import hours, over
from voiceguide.units import clock


@dataclass
class Totals:
    """What the steps so far add up to, held to the routine-wide limits."""

    spoken: int = 0
    events: int = 0
    ms: int = 0

    def add(self, f: Fields, step: Step, rest_ms: int, node: Node, field: str) -> None:
        """Add a step (and the rest before it); refuse what goes over a limit."""
        spoken, events = step_counts(step)
        self.spoken += spoken + (1 if rest_ms else 0)
        self.events += events + spoken + (2 if rest_ms else 0)
        self.ms += step.duration_ms + rest_ms + (step.wait.pause_ms if step.wait else 0)
        if self.spoken > limits.MAX_SPOKEN_CUES:
            raise f.fail(node, over(self.spoken, "spoken"), field)
        if self.events > limits.MAX_EVENTS:
            raise f.fail(node, over(self.events, "events"), field)
        if self.ms > limits.MAX_ROUTINE_MS:
            raise f.fail(
                node,
                f"the routine would last {clock(self.ms)} by the end of this step, longer "
                f"than the limit of {hours(limits.MAX_ROUTINE_MS)} for a routine",
                field,
            )


def cycles(step: Step, span: int) -> int:
    """At most how many breathing cycles fit in one side (or the step)."""
    return span // step.breathing.cycle_ms + 1 if step.breathing else 0


def repeats(cue: Cue, span: int, cycles: int) -> int:
    """At most how often ``cue`` is spoken in one side (or the step) of ``span`` ms."""
    if cue.kind is CueKind.EVERY:
        return max(0, span - cue.offset_ms) // max(1, cue.every_ms) + 1
    if cue.kind is CueKind.PHASE:
        return cycles if cue.cycles is None else min(cycles, cue.cycles)
    if cue.kind is CueKind.EVERY_BREATHS:
        return cycles // max(1, cue.every_breaths)
    return 1


def step_counts(step: Step) -> tuple[int, int]:
    """Upper bounds of a step's utterances and of its other timeline events (tones, chimes,
    ticks, silences), as the compiler lays it out."""
    sides = max(1, len(step.sides))
    span = step.duration_ms // sides
    n = cycles(step, span)
    spoken = 1 + sum(repeats(c, span, n) for c in step.cues)
    other = 1 + step.countdown
    if step.breathing:
        spoken += min(step.breathing.spoken_cycles, n) * 4
        other += n * 4 if step.breathing.tones else 0
    waiting = (2, 2) if step.wait else (0, 0)
    return spoken * sides + waiting[0], other * sides + waiting[1]
