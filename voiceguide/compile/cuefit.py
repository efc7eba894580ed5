"""The cue-fit check: speech that runs into the next speech, or past the end of its part.

The compiler places every text where the script asks for it, with the clip's measured
length; a cue that does not fit becomes a ``FitIssue`` with the time it needs and the time
it has. ``voiceguide check`` reports them; ``export`` refuses to overlap or cut speech.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from voiceguide.model import Where
from voiceguide.timeline import Speech
from voiceguide.units import clock_ms


@dataclass(frozen=True)
class FitIssue:
    """A cue that does not fit: it needs ``measured_ms`` but has ``available_ms``."""

    where: Where
    step: str
    text: str
    start_ms: int
    measured_ms: int
    available_ms: int
    blocker: str  # what it runs into

    def __str__(self) -> str:
        return (
            f"{self.where}: cue {self.text!r} in {self.step!r} at {clock_ms(self.start_ms)} "
            f"needs {self.measured_ms / 1000:.2f}s but only "
            f"{max(0, self.available_ms) / 1000:.2f}s are free before {self.blocker}"
        )


@dataclass(frozen=True)
class Placed:
    """A speech as the compiler placed it: where the script asks for it, and the end of
    the step (or side, or rest) it belongs to."""

    speech: Speech
    where: Where
    limit_ms: int
    limit_name: str


def fit_issues(placed: Iterable[Placed], step_names: Sequence[str]) -> list[FitIssue]:
    """Speech that runs into the next speech, or past the end of its step; ``step_names``
    names the routine's steps (``Speech.step`` indexes them)."""
    ordered = sorted(placed, key=lambda p: (p.speech.start_ms, p.speech.text))
    issues = []
    for i, p in enumerate(ordered):
        s = p.speech
        nxt = ordered[i + 1].speech if i + 1 < len(ordered) else None
        if nxt is not None and nxt.start_ms < s.end_ms and nxt.start_ms <= p.limit_ms:
            available, blocker = (
                nxt.start_ms - s.start_ms,
                f"{nxt.text!r} at {clock_ms(nxt.start_ms)}",
            )
        elif s.end_ms > p.limit_ms:
            available, blocker = p.limit_ms - s.start_ms, p.limit_name
        else:
            continue
        step = step_names[s.step] if s.step is not None else "the routine"
        issues.append(
            FitIssue(p.where, step, s.text, s.start_ms, s.duration_ms, available, blocker)
        )
    return issues
