"""How to make a cue fit: the earliest time where it fits, or the setting to lower.

Pure arithmetic on the spans of the speech around a cue (file time, ms), for the cue-fit
check (``voiceguide.compile.cuefit``). A cue is moved on the grid its field is written on
(whole seconds from the start of its step or side for ``at``, back from the end for
``before_end``), so the fix can be written into the script as it stands. Each search is
bounded (``MAX_CHECKS``): a script with thousands of cues is checked in bounded time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate

Span = tuple[int, int]  # start, end (ms)
SECOND = 1000
MAX_CHECKS = 20_000  # candidate times one search tries, at most


class Busy:
    """Spans of speech, asked whether a span overlaps any of them (in log time)."""

    def __init__(self, spans: Sequence[Span]) -> None:
        ordered = sorted(spans)
        self.starts = [s for s, _ in ordered]
        self.max_end = list(accumulate((e for _, e in ordered), max))

    def until(self, start: int, end: int) -> int | None:
        """None if ``[start, end)`` overlaps no span, else the end of the latest-ending span
        that it overlaps (no start before that end is free)."""
        i = bisect_left(self.starts, end)  # the spans that start before ``end``
        if i and self.max_end[i - 1] > start:
            return self.max_end[i - 1]
        return None


def _ceil(t: int, anchor: int) -> int:
    """The first whole second from ``anchor`` at or after ``t``."""
    return anchor + -(-(t - anchor) // SECOND) * SECOND


def earliest_fit(
    wanted: int, duration: int, others: Sequence[Span], lo: int, hi: int, anchor: int
) -> int | None:
    """The earliest start at or after ``wanted``, ``anchor`` plus a whole number of
    seconds, where ``duration`` ms of speech overlaps none of ``others`` and stays inside
    ``[lo, hi]``; None if there is none."""
    busy = Busy(others)
    start = _ceil(max(wanted, lo), anchor)
    for _ in range(MAX_CHECKS):
        if start + duration > hi:
            return None
        until = busy.until(start, start + duration)
        if until is None:
            return start
        start = _ceil(until, anchor)
    return None


def latest_fit(
    wanted: int, duration: int, others: Sequence[Span], lo: int, hi: int, anchor: int
) -> int | None:
    """The latest start at or before ``wanted`` on the same grid as ``earliest_fit``."""
    busy = Busy(others)
    t = min(wanted, hi - duration)
    start = anchor + ((t - anchor) // SECOND) * SECOND
    for _ in range(MAX_CHECKS):
        if start < lo:
            return None
        if busy.until(start, start + duration) is None:
            return start
        start -= SECOND
    return None


def every_fit(
    wanted: int, every: int, duration: int, others: Sequence[Span], lo: int, hi: int
) -> int | None:
    """The smallest ``from`` (ms after ``lo``, whole seconds, at least ``wanted``) at which
    every repetition (each ``every`` ms until ``hi``) fits; None if there is none."""
    busy = Busy(others)
    checks = 0
    for offset in range(-(-wanted // SECOND) * SECOND, hi - lo, SECOND):
        for t in range(lo + offset, hi, max(1, every)):
            checks += 1
            if checks > MAX_CHECKS:
                return None
            if t + duration > hi or busy.until(t, t + duration) is not None:
                break
        else:
            return offset
    return None


def spoken_cycles_to_keep(cycle: int) -> int:
    """The ``spoken_cycles`` that leaves out the pacer's words of ``cycle`` (from 0): the
    cycles before it stay spoken."""
    return cycle


def seconds(ms: int) -> str:
    """``ms`` as a script writes it: ``16s``, ``2.5s``."""
    return f"{ms / 1000:g}s"
