"""Breathing patterns -> phase times: the pacer's schedule inside a window of a step.

With ``slow_to_bpm`` the cycle length grows linearly over the window, from the pattern's own
length to ``60 / slow_to_bpm`` seconds; every phase is stretched in proportion. Only whole
cycles are scheduled: a cycle that would not end inside the window is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceguide.model import BreathPattern, Phase

PHASE_ORDER = (Phase.INHALE, Phase.HOLD_IN, Phase.EXHALE, Phase.HOLD_OUT)
STRETCH_STEP_MS = 10  # stretched phases are rounded to 10 ms, so times stay readable


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


def cycle_phases(pattern: BreathPattern, scale: float = 1.0) -> list[tuple[Phase, int]]:
    """The (phase, ms) pairs of one cycle, stretched by ``scale``; zero-length phases dropped."""
    lengths = (pattern.inhale_ms, pattern.hold_in_ms, pattern.exhale_ms, pattern.hold_out_ms)
    out = []
    for phase, ms in zip(PHASE_ORDER, lengths, strict=True):
        if ms > 0:
            stretched = round(ms * scale / STRETCH_STEP_MS) * STRETCH_STEP_MS if scale != 1 else ms
            out.append((phase, stretched))
    return out


def schedule(pattern: BreathPattern, start_ms: int, end_ms: int) -> list[BreathPhase]:
    """All phases of the whole cycles that fit in ``[start_ms, end_ms)``."""
    span = end_ms - start_ms
    first = pattern.cycle_ms
    last = 60_000 / pattern.slow_to_bpm if pattern.slow_to_bpm else first
    phases: list[BreathPhase] = []
    t = start_ms
    cycle = 0
    while True:
        progress = (t - start_ms) / span if span > 0 else 0.0
        scale = (first + (last - first) * progress) / first
        parts = cycle_phases(pattern, scale)
        if t + sum(ms for _, ms in parts) > end_ms:
            return phases
        for phase, ms in parts:
            phases.append(BreathPhase(t, ms, phase, cycle))
            t += ms
        cycle += 1
