"""The cue-fit check: speech that runs into the next speech, or past the end of its part.

The compiler places every text where the script asks for it, with the clip's measured
length; a cue that does not fit becomes a ``FitIssue``: who collides with whom (the
pacer's words, the switch, rest and wait lines named as automatic), in routine time (0:00
is the first step, the intro before it is negative), at the script position of the cue
the user wrote, with the smallest fix (``voiceguide.compile.fixes``). ``voiceguide check``
reports them; ``export`` refuses to overlap or cut speech.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from voiceguide.compile.fixes import (
    earliest_fit,
    every_fit,
    latest_fit,
    seconds,
    spoken_cycles_to_keep,
)
from voiceguide.model import Where
from voiceguide.timeline import Speech
from voiceguide.units import clock

AUTOMATIC = {"breath": "the automatic", "switch": "the automatic", "rest": "the automatic"}
TIMED = {"at", "halfway", "before_end", "every"}
WRITTEN = TIMED | {"start", "every_breaths", "phase"}  # the cues a script lists
QUOTED_CHARS = 40


@dataclass(frozen=True)
class FitIssue:
    """A cue that does not fit: it needs ``measured_ms`` but has ``available_ms``.

    ``where`` is the script position to act on: the cue the user wrote, even when the
    speech that runs over is an automatic one (the pacer's "Breathe in" running into it).
    ``subject`` and ``blocker`` say who collides with whom; ``fix`` the smallest way out.
    """

    where: Where
    step: str
    text: str
    start_ms: int  # file time
    measured_ms: int
    available_ms: int
    blocker: str  # what it runs into
    origin_ms: int = 0  # where 0:00 of the routine clock is in file time
    subject: str = ""  # what runs over: "the cue 'Relax'", "the automatic 'Breathe in'"
    fix: str = ""

    def __str__(self) -> str:
        subject = self.subject or f"the cue {quoted(self.text)}"
        return (
            f"{self.where}: {subject} at {routine_time(self.start_ms - self.origin_ms)} "
            f"in {self.step!r} needs {self.measured_ms / 1000:.2f}s but only "
            f"{max(0, self.available_ms) / 1000:.2f}s are free before {self.blocker}"
        )


@dataclass(frozen=True)
class Placed:
    """A speech as the compiler placed it: where the script asks for it, and the end of
    the step (or side, or rest) it belongs to.

    ``part_ms`` is where that step (or side, rest, wait) starts: a timed cue's offset
    counts from it; ``cycle`` the breathing cycle (from 0) of a pacer's word."""

    speech: Speech
    where: Where
    limit_ms: int
    limit_name: str
    part_ms: int = 0
    cycle: int | None = None


def quoted(text: str) -> str:
    """A text as a message quotes it: its repr, cut to ``QUOTED_CHARS``."""
    shown = text if len(text) <= QUOTED_CHARS else text[: QUOTED_CHARS - 3] + "..."
    return repr(shown)


def routine_time(ms: int) -> str:
    """A routine time as check shows it: ``0:30``, ``1:02.5``, ``-0:03.5`` in the intro."""
    sign = "-" if ms < 0 else ""
    whole = clock(abs(ms))
    frac = f"{abs(ms) % 1000:03d}".rstrip("0")
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


def label(p: Placed) -> str:
    """Who a speech is, as a message names it."""
    kind, text = p.speech.cue, quoted(p.speech.text)
    if kind in AUTOMATIC:
        return f"{AUTOMATIC[kind]} {text}"
    if kind in WRITTEN:
        return f"the cue {text}"
    return f"the {kind} {text}"


def fit_issues(
    placed: Iterable[Placed], step_names: Sequence[str], origin_ms: int = 0
) -> list[FitIssue]:
    """Speech that runs into the next speech, or past the end of its step; ``step_names``
    names the routine's steps (``Speech.step`` indexes them), ``origin_ms`` is 0:00."""
    ordered = sorted(placed, key=lambda p: (p.speech.start_ms, p.speech.text))
    parts: dict[tuple[int, int], list[Placed]] = {}  # the speech of each step, side, rest
    for p in ordered:
        parts.setdefault((p.part_ms, p.limit_ms), []).append(p)
    issues = []
    for i, p in enumerate(ordered):
        s = p.speech
        nxt = ordered[i + 1] if i + 1 < len(ordered) else None
        if nxt is not None and nxt.speech.start_ms < s.end_ms and nxt.speech.start_ms <= p.limit_ms:
            available = nxt.speech.start_ms - s.start_ms
            at = routine_time(nxt.speech.start_ms - origin_ms)
            blocker = f"{label(nxt)} at {at}"
        elif s.end_ms > p.limit_ms:
            available, blocker, nxt = p.limit_ms - s.start_ms, p.limit_name, None
        else:
            continue
        step = step_names[s.step] if s.step is not None else "the routine"
        where = p.where
        if s.cue not in WRITTEN and nxt is not None and nxt.speech.cue in WRITTEN:
            where = nxt.where  # point at the cue the user wrote, not at its step
        elif nxt is not None and nxt.speech.cue in WRITTEN and nxt.where != p.where:
            blocker += f" (line {nxt.where.line})"
        fix = suggest(p, nxt, parts, step)
        issues.append(
            FitIssue(
                where,
                step,
                s.text,
                s.start_ms,
                s.duration_ms,
                available,
                blocker,
                origin_ms,
                label(p),
                fix,
            )
        )
    return issues


def suggest(
    p: Placed, nxt: Placed | None, parts: dict[tuple[int, int], list[Placed]], step: str
) -> str:
    """The smallest fix of ``p`` running into ``nxt`` (None: into the end of its part):
    move the timed cue of the two to the earliest time it fits, leave out the pacer's
    words from the breath in the way, or say what else would do."""
    fixes = []
    for mover in (p, nxt):
        if mover is not None and mover.speech.cue in TIMED:
            fixes.append(move(mover, parts[mover.part_ms, mover.limit_ms]))
            break
    for q in (nxt, p):
        if q is not None and q.speech.cue == "breath" and q.cycle is not None:
            keep = spoken_cycles_to_keep(q.cycle)
            fixes.append(f"set spoken_cycles: {keep} in the breathing of {step!r}")
            break
    s = p.speech
    fixes = [f for f in fixes if f]  # a move that fits nowhere in the part says nothing
    if fixes and s.cue in WRITTEN and s.cue not in TIMED:
        fixes.append("shorten the text")
    if not fixes:
        if nxt is None:
            over = -(-(s.end_ms - p.limit_ms) // 1000)
            part = "rest" if s.cue == "rest" else "side" if "side" in p.limit_name else "step"
            fixes.append(f"shorten the text, or lengthen the {part} by {over}s")
        else:
            fixes.append(f"shorten {label(p)}, or move {label(nxt)} later")
    return ", or ".join(fixes)


def move(p: Placed, part: Sequence[Placed]) -> str:
    """Where timed cue ``p`` fits among the other speech of its ``part``, in its own field:
    the earliest time at or after where it is, or else the latest before it; "" if none."""
    s = p.speech
    lo, hi = p.part_ms, p.limit_ms
    mine = [o.where == p.where and o.speech.cue == s.cue for o in part]
    others = [
        (o.speech.start_ms, o.speech.end_ms) for o, m in zip(part, mine, strict=True) if not m
    ]
    if s.cue == "every":
        starts = [o.speech.start_ms for o, m in zip(part, mine, strict=True) if m]
        every = starts[1] - starts[0] if len(starts) > 1 else hi - lo
        first = starts[0] - lo if starts else 0
        found = every_fit(first, every, s.duration_ms, others, lo, hi)
        if found is None:
            return "no 'from:' fits every repetition: a longer 'every:' or a shorter text"
        return f"set from: {seconds(found)} (the earliest where every repetition fits)"
    anchor = hi if s.cue == "before_end" else lo
    at = earliest_fit(s.start_ms, s.duration_ms, others, lo, hi, anchor)
    when = "the earliest time it fits"
    if at is None:
        at = latest_fit(s.start_ms, s.duration_ms, others, lo, hi, anchor)
        when = "the nearest time it fits"
    if at is None:
        return ""
    field = (
        f"before_end: {seconds(hi - at)}" if s.cue == "before_end" else f"at: {seconds(at - lo)}"
    )
    return f"move the cue to {field} ({when})"
