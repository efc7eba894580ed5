"""Breathing patterns -> phase times: the pacer's schedule over a timed part of a step.

The rule, in one sentence: the cycles are spread evenly over the part, each within
``TOLERANCE`` (15 %) of the pattern's length; where no whole number of cycles can do that,
the cycles keep their length and the last exhale runs on to the end of the part. So the
breathing guidance lasts to the end of every part, but for ``QUIET_END_MS``: the next part's
chime starts out of a moment of quiet, where a player that joins a routine laid out as it
plays can join it (``player.render_ahead``). Only a part with less room than one inhale,
hold and exhale has no breathing at all.

With ``slow_to_bpm`` the pattern's length grows linearly over the part, from its own length
to ``60 / slow_to_bpm`` seconds, every phase in proportion; the spread scales that slowing
curve as a whole, so every cycle is within the tolerance of the slowed length where it
starts. Phase boundaries are rounded to 10 ms (times stay readable); the last one is
exactly ``QUIET_END_MS`` before the end of the part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from voiceguide.model import BreathPattern, Phase

PHASE_ORDER = (Phase.INHALE, Phase.HOLD_IN, Phase.EXHALE, Phase.HOLD_OUT)
STRETCH_STEP_MS = 10  # phase boundaries are rounded to 10 ms, so times stay readable
TOLERANCE = 0.15  # how far a cycle may be stretched or shortened to fill its part
QUIET_END_MS = 300  # the breathing ends this long before its part does


@dataclass(frozen=True)
class BreathPhase:
    """One phase of one cycle (cycle counts from 0)."""

    start_ms: int
    duration_ms: int
    phase: Phase
    cycle: int

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms


@dataclass(frozen=True)
class Fit:
    """How the cycles fill a part: ``count`` cycles, each ``scale`` times the pattern's
    (slowed) length where it starts. ``long_exhale``: no whole number of cycles is within
    the tolerance, so they keep their length (``scale`` 1) and the last cycle's exhale runs
    on to the end of the part, in place of its hold after the exhale."""

    count: int
    scale: float
    long_exhale: bool = False


def pattern_phases(pattern: BreathPattern) -> list[tuple[Phase, int]]:
    """The (phase, ms) pairs of one cycle at the pattern's length; zero-length phases dropped."""
    lengths = (pattern.inhale_ms, pattern.hold_in_ms, pattern.exhale_ms, pattern.hold_out_ms)
    return [(p, ms) for p, ms in zip(PHASE_ORDER, lengths, strict=True) if ms > 0]


def _slowing(pattern: BreathPattern) -> tuple[float, float]:
    """The cycle length at the start of a part and its growth over the whole part, in ms."""
    first = float(pattern.cycle_ms)
    last = 60_000 / pattern.slow_to_bpm if pattern.slow_to_bpm else first
    return first, last - first


def natural_count(pattern: BreathPattern, span_ms: int) -> float:
    """How many cycles at the pattern's (slowed) length fill ``span_ms``, a fraction included.

    A cycle starting at ``t`` lasts ``a + b * t / span`` (``_slowing``), so the cycles grow
    geometrically by ``1 + b / span`` and ``n`` of them end at ``a span / b ((1 + b/span)^n - 1)``.
    """
    a, b = _slowing(pattern)
    if span_ms <= 0:
        return 0.0
    if b == 0 or b <= -span_ms:  # no slowing; or a speeding-up of more than the part's length
        return span_ms / a
    return math.log1p(b / a) / math.log1p(b / span_ms)


def spread_scale(pattern: BreathPattern, span_ms: int, count: int) -> float:
    """The scale that makes exactly ``count`` cycles fill ``span_ms`` (the inverse of
    ``natural_count``: with it, ``count`` cycles of ``scale`` times the slowed length end at
    the end of the part)."""
    a, b = _slowing(pattern)
    if b == 0:
        return span_ms / (count * a)
    return span_ms / b * math.expm1(math.log1p(b / a) / count)


def fit(pattern: BreathPattern, span_ms: int) -> Fit:
    """How the cycles fill a part of ``span_ms``: the whole number of cycles (one fewer or one
    more than fit at the pattern's length) whose spread is nearest the pattern's length,
    within ``TOLERANCE``; else the cycles that fit whole and a long last exhale."""
    whole = math.floor(natural_count(pattern, span_ms))
    options = []
    for count in (whole, whole + 1):
        if count >= 1:
            scale = spread_scale(pattern, span_ms, count)
            if abs(scale - 1) <= TOLERANCE + 1e-9:
                options.append((abs(scale - 1), count, scale))
    if options:
        _, count, scale = min(options)
        return Fit(count, scale)
    if whole == 0:
        one = pattern.inhale_ms + pattern.hold_in_ms + pattern.exhale_ms
        return Fit(1, 1.0, long_exhale=True) if 0 < one <= span_ms else Fit(0, 1.0)
    return Fit(whole, 1.0, long_exhale=True)


def schedule(pattern: BreathPattern, start_ms: int, part_end_ms: int) -> list[BreathPhase]:
    """All phases of the cycles that fill ``[start_ms, part_end_ms - QUIET_END_MS)``
    (``fit``), in order."""
    end_ms = part_end_ms - QUIET_END_MS
    span = end_ms - start_ms
    if span <= 0:
        return []
    how = fit(pattern, span)
    if how.count == 0:
        return []
    a, b = _slowing(pattern)
    growth = 1 + how.scale * b / span  # each cycle is this many times the one before
    phases = pattern_phases(pattern)
    bounds: list[tuple[Phase, int, float]] = []  # phase, cycle, where it ends (from start)
    t = 0.0
    for cycle in range(how.count):
        length = how.scale * a * growth**cycle
        for phase, ms in phases:
            t += ms * length / a
            bounds.append((phase, cycle, t))
    if how.long_exhale:
        while bounds[-1][0] is not Phase.EXHALE:  # the hold after it gives way to the exhale
            bounds.pop()
    out: list[BreathPhase] = []
    at = start_ms
    for i, (phase, cycle, end) in enumerate(bounds):
        step = STRETCH_STEP_MS
        until = end_ms if i == len(bounds) - 1 else min(end_ms, start_ms + round(end / step) * step)
        if until > at:
            out.append(BreathPhase(at, until - at, phase, cycle))
            at = until
    return out
