"""Where ``voiceguide play --from`` starts: a step number, a routine time, or a step's name.

``start_at(timeline, value)`` reads what people type and gives the file time to play from:

- ``2``: the second step (steps are numbered from 1, as ``voiceguide plan`` shows them);
- ``1:30``, ``90s``, ``1m30s``: that moment on the routine clock (0:00 = the first step's
  start, ``Timeline.origin_ms``), inside a step if need be;
- ``stretch``: the step with that word in its name, case-insensitive. An exact name wins,
  then a whole word, then the start of the name or of a word; more than one match is an
  error that lists them, and no match lists the steps.

A value that names no place is a ``FromError``: a usage error (exit 2) of one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from voiceguide.errors import ExitCode, VoiceguideError
from voiceguide.timeline import Chapter, Timeline
from voiceguide.units import clock, parse_duration

_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d{2})(?:\.(\d{1,3}))?")
_UNITS = re.compile(r"(?:\d+(?:\.\d+)?(?:h|ms|m|s))+")
_WORD = re.compile(r"\w+")


class FromError(VoiceguideError):
    """``--from`` names no step or moment of the routine (a usage error)."""

    exit_code = ExitCode.USAGE

    def __init__(self, value: str, why: str) -> None:
        self.value = value
        super().__init__(f"--from {value!r}: {why}")


def steps_of(timeline: Timeline) -> list[Chapter]:
    """The steps' chapters in order (the intro and outro are no step)."""
    return sorted((c for c in timeline.chapters if c.step is not None), key=lambda c: c.step or 0)


def listing(chapters: list[Chapter]) -> str:
    """``1 'Warm Up', 2 'Cool Down'``: steps as numbered in ``voiceguide plan``."""
    return ", ".join(f"{(c.step or 0) + 1} {c.title!r}" for c in chapters)


def routine_time(value: str) -> int | None:
    """Milliseconds on the routine clock for ``7:00``, ``1:02:03``, ``90s`` or ``1m30s``;
    None if ``value`` is not written as a time."""
    text = value.strip().replace(" ", "").lower()
    if match := _CLOCK.fullmatch(text):
        hours, minutes, seconds, fraction = match.groups()
        if int(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
            return None
        ms = (int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)) * 1000
        return ms + int((fraction or "0").ljust(3, "0"))
    if _UNITS.fullmatch(text):
        return parse_duration(text)
    return None


def named(chapters: list[Chapter], value: str) -> list[Chapter]:
    """The steps ``value`` names: the best tier that matches (exact name, whole word, start
    of the name or of a word)."""
    wanted = " ".join(value.casefold().split())
    words = _WORD.findall(wanted)

    def title(c: Chapter) -> str:
        return " ".join(c.title.casefold().split())

    def has_words(c: Chapter, *, prefix: bool) -> bool:
        got = _WORD.findall(title(c))
        n = len(words)
        for i in range(len(got) - n + 1):
            run = got[i : i + n]
            if run[:-1] == words[:-1] and (
                run[-1].startswith(words[-1]) if prefix else run[-1] == words[-1]
            ):
                return True
        return False

    tiers: list[Callable[[Chapter], bool]] = [
        lambda c: title(c) == wanted,
        lambda c: bool(words) and has_words(c, prefix=False),
        lambda c: title(c).startswith(wanted) or (bool(words) and has_words(c, prefix=True)),
    ]
    for matches in tiers:
        found = [c for c in chapters if matches(c)]
        if found:
            return found
    return []


def start_at(timeline: Timeline, value: str) -> int:
    """The file time ``--from value`` starts at (see the module docstring)."""
    chapters = steps_of(timeline)
    text = value.strip()
    if not text:
        raise FromError(
            value, f"name a step, its number or a time; the steps are: {listing(chapters)}"
        )
    exact = [c for c in chapters if " ".join(c.title.casefold().split()) == text.casefold()]
    if len(exact) == 1:
        return exact[0].start_ms
    if text.isdigit():
        number = int(text)
        chosen = [c for c in chapters if (c.step or 0) + 1 == number]
        if not chosen:
            raise FromError(value, f"no step {number}; the steps are: {listing(chapters)}")
        return chosen[0].start_ms
    ms = routine_time(text)
    if ms is not None:
        end = timeline.duration_ms - timeline.origin_ms
        if ms >= end:
            last = max((c.end_ms for c in chapters), default=timeline.origin_ms)
            steps_end = last - timeline.origin_ms
            raise FromError(
                value,
                f"the routine ends at {clock(end)}"
                if steps_end >= end
                else f"the last step ends at {clock(steps_end)}, the closing words at {clock(end)}",
            )
        return timeline.origin_ms + ms
    found = named(chapters, text)
    if len(found) == 1:
        return found[0].start_ms
    if found:
        raise FromError(value, f"more than one step matches: {listing(found)}")
    raise FromError(value, f"no step matches; the steps are: {listing(chapters)}")
