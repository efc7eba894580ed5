"""The timeline as the listener moves through it: a list of parts, one after another.

A part is what "time left", "next", "back" and "repeat" are about: the intro, each step
(or each side of a sided step: "Seated Spinal Twist, right side"), the wait before a step
that waits for the listener, each rest, and the closing. Parts follow each other without
a gap and are in file time (``start_ms``, ``end_ms``); what the listener is shown is in
routine time (``routine_ms``: 0:00 is the first step, the intro is before it).

The parts are worked out from the timeline alone, so every sink reads the same ones: the
player speaks of them, ``plan`` lists and draws them. The names come from the words table
(``voiceguide.words``); here is only where each part starts and ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voiceguide.timeline import Chapter, Silence, Timeline
from voiceguide.units import clock
from voiceguide.words import Phrases

PartKind = Literal["intro", "step", "side", "rest", "wait", "closing"]


@dataclass(frozen=True)
class Part:
    """One part: its kind, how it is named, the step it belongs to, and where it is.

    ``title`` is the step's (the chapter's) title, ``step`` the step's index (None for the
    intro and the closing), ``side`` the side held (a ``side`` part), ``index`` the part's
    place in the list.
    """

    kind: PartKind
    name: str
    title: str
    step: int | None
    side: str | None
    start_ms: int
    end_ms: int
    index: int

    def left_ms(self, ms: int) -> int:
        """The time left in this part at file time ``ms``."""
        return max(0, self.end_ms - ms)


def _silence(timeline: Timeline, step: int, reason: str) -> Silence | None:
    return next(
        (
            e
            for e in timeline.events
            if isinstance(e, Silence) and e.step == step and e.reason == reason
        ),
        None,
    )


def _step_parts(
    timeline: Timeline, chapter: Chapter, after: str, words: Phrases
) -> list[tuple[PartKind, str, str | None, int, int]]:
    """The parts of one step's chapter: (kind, name, side, start, end), in order."""
    assert chapter.step is not None
    title = chapter.title
    out: list[tuple[PartKind, str, str | None, int, int]] = []
    t = chapter.start_ms
    wait = _silence(timeline, chapter.step, "wait")
    if wait is not None and t < wait.end_ms <= chapter.end_ms:
        out.append(("wait", words.wait_part.format(step=title), None, t, wait.end_ms))
        t = wait.end_ms
    rest = _silence(timeline, chapter.step, "rest")
    timed_end = rest.start_ms if rest is not None and t < rest.start_ms else chapter.end_ms
    sides = [p for p in timeline.sides if p.step == chapter.step]
    if sides:
        for j, side in enumerate(sides):
            end = timed_end if j == len(sides) - 1 else side.end_ms
            name = f"{title}, {words.side_name(side.side)}"
            out.append(("side", name, side.side, t, end))
            t = end
    else:
        out.append(("step", title, None, t, timed_end))
    if timed_end < chapter.end_ms:
        out.append(("rest", words.rest_part.format(next=after), None, timed_end, chapter.end_ms))
    return out


def parts(timeline: Timeline, words: Phrases) -> tuple[Part, ...]:
    """Every part of ``timeline``, in order (none before its first chapter is laid out)."""
    chapters = timeline.chapters
    raw: list[tuple[PartKind, str, str, int | None, str | None, int, int]] = []
    for i, c in enumerate(chapters):
        if c.step is None:
            kind: PartKind = "intro" if c.end_ms <= timeline.origin_ms else "closing"
            raw.append((kind, c.title, c.title, None, None, c.start_ms, c.end_ms))
            continue
        after = chapters[i + 1].title if i + 1 < len(chapters) else words.the_end
        for kind, name, side, start, end in _step_parts(timeline, c, after, words):
            raw.append((kind, name, c.title, c.step, side, start, end))
    return tuple(Part(*fields, index=i) for i, fields in enumerate(raw))


def part_at(all_parts: tuple[Part, ...], ms: int) -> Part | None:
    """The part file time ``ms`` is in (the first before it, the last after the end)."""
    found = all_parts[0] if all_parts else None
    for p in all_parts:
        if p.start_ms <= ms:
            found = p
        else:
            break
    return found


def next_part(all_parts: tuple[Part, ...], part: Part | None) -> Part | None:
    """The part after ``part``; None after the last (or when nothing is laid out yet)."""
    if part is None or part.index + 1 >= len(all_parts):
        return None
    return all_parts[part.index + 1]


def routine_ms(timeline: Timeline, ms: int) -> int:
    """File time ``ms`` on the routine clock (0 is the first step; the intro is negative)."""
    return ms - timeline.origin_ms


def routine_clock(timeline: Timeline, ms: int) -> str:
    """File time ``ms`` as the listener reads it: ``m:ss`` routine time, ``-m:ss`` in the intro."""
    at = routine_ms(timeline, ms)
    return clock(at) if at >= 0 else "-" + clock(-at + 999)  # counts down to 0:00
