"""The breathing schedule fills every timed part to its end: the last-cycle rule.

The cycles are spread evenly over the part, each within ``TOLERANCE`` of the pattern's
length (with ``slow_to``, of the slowed length where the cycle starts); where no whole
number of cycles can do that, they keep their length and the last exhale runs on to the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SCRIPTS, DurationBank, write
from voiceguide.breath import (
    QUIET_END_MS,
    STRETCH_STEP_MS,
    TOLERANCE,
    BreathPhase,
    Fit,
    fit,
    schedule,
)
from voiceguide.compile import compile_routine
from voiceguide.model import BreathPattern, Phase
from voiceguide.script import load_script
from voiceguide.timeline import Silence, Speech, Tone

GAP_MS = 2000  # the most a part may end without breathing guidance


def pattern(text: str, slow_to: float | None = None) -> BreathPattern:
    a, b, c, d = (round(float(s) * 1000) for s in text.split("-"))
    return BreathPattern(a, b, c, d, slow_to_bpm=slow_to)


def cycles(phases: list[BreathPhase]) -> list[list[BreathPhase]]:
    out: list[list[BreathPhase]] = []
    for ph in phases:
        if ph.cycle == len(out):
            out.append([])
        out[-1].append(ph)
    return out


def slowed_ms(p: BreathPattern, start_ms: int, end_ms: int, at_ms: int) -> float:
    """The pattern's cycle length at ``at_ms`` in the part, slowed as ``slow_to`` asks."""
    last = 60_000 / p.slow_to_bpm if p.slow_to_bpm else p.cycle_ms
    return p.cycle_ms + (last - p.cycle_ms) * (at_ms - start_ms) / (end_ms - start_ms)


@pytest.mark.parametrize(
    ("text", "slow_to", "span_ms", "expected", "last_phases"),
    [
        # a whole number of cycles: nothing changes
        ("4-0-6-0", None, 60_000, Fit(6, 1.0), [("inhale", 4000), ("exhale", 6000)]),
        # one short: six cycles, each 1.7 % shorter
        ("4-0-6-0", None, 59_000, Fit(6, 59 / 60), [("inhale", 3930), ("exhale", 5900)]),
        # halfway between 5 and 6: the nearer spread (6 x -8.3 %, not 5 x +10 %)
        ("4-0-6-0", None, 55_000, Fit(6, 55 / 60), [("inhale", 3670), ("exhale", 5500)]),
        ("4-0-6-0", None, 11_000, Fit(1, 1.1), [("inhale", 4400), ("exhale", 6600)]),
        ("4-0-6-0", None, 9_000, Fit(1, 0.9), [("inhale", 3600), ("exhale", 5400)]),
        # 1.35 cycles: +35 % or -32.5 %, both out of tolerance: the last exhale runs on
        ("4-0-6-0", None, 13_500, Fit(1, 1.0, True), [("inhale", 4000), ("exhale", 9500)]),
        # less room than one breath in and out: no breathing (the one exception)
        ("4-0-6-0", None, 8_000, Fit(0, 1.0), []),
        # the five-minute box routine: 18.5 cycles, spread as 19 of 15.6 s
        (
            "4-4-4-4",
            None,
            296_000,
            Fit(19, 296 / 304),
            [("inhale", 3900), ("hold_in", 3890), ("exhale", 3900), ("hold_out", 3890)],
        ),
        # the hold after the exhale gives way to the long exhale
        (
            "4-4-4-4",
            None,
            20_000,
            Fit(1, 1.0, True),
            [("inhale", 4000), ("hold_in", 4000), ("exhale", 12_000)],
        ),
        (
            "4-4-4-4",
            None,
            13_000,
            Fit(1, 1.0, True),
            [("inhale", 4000), ("hold_in", 4000), ("exhale", 5000)],
        ),
        # gradual slowing: the whole curve scaled, the last cycle near 12 s (5 a minute)
        (
            "4-0-6-0",
            5,
            178_500,
            Fit(16, pytest.approx(1.0228, abs=1e-4)),  # type: ignore[arg-type]
            [("inhale", 4850), ("exhale", 7280)],
        ),
    ],
)
def test_the_last_cycle_rule(
    text: str,
    slow_to: float | None,
    span_ms: int,
    expected: Fit,
    last_phases: list[tuple[str, int]],
) -> None:
    p = pattern(text, slow_to)
    assert fit(p, span_ms) == expected
    phases = schedule(p, 1000, 1000 + span_ms + QUIET_END_MS)  # a part QUIET_END_MS longer
    last = cycles(phases)[-1] if phases else []
    assert [(ph.phase.value, ph.duration_ms) for ph in last] == last_phases
    if phases:
        assert phases[-1].end_ms == 1000 + span_ms


PHASE_S = st.integers(min_value=5, max_value=100).map(lambda tenths: tenths * 100)
HOLD_S = st.one_of(st.just(0), PHASE_S)


@settings(max_examples=400, deadline=None)
@given(
    inhale=PHASE_S,
    hold_in=HOLD_S,
    exhale=PHASE_S,
    hold_out=HOLD_S,
    slow_to=st.one_of(st.none(), st.floats(min_value=1.0, max_value=30.0)),
    start=st.integers(min_value=0, max_value=600).map(lambda n: n * 100),
    span=st.integers(min_value=0, max_value=900_000),
)
def test_breathing_lasts_to_the_end_of_any_part(
    inhale: int,
    hold_in: int,
    exhale: int,
    hold_out: int,
    slow_to: float | None,
    start: int,
    span: int,
) -> None:
    p = BreathPattern(inhale, hold_in, exhale, hold_out, slow_to_bpm=slow_to)
    phases = schedule(p, start, start + span)
    end = start + span - QUIET_END_MS  # the breathing ends a moment before the part
    if not phases:  # the one exception: less room than one inhale, hold and exhale
        assert span - QUIET_END_MS < inhale + hold_in + exhale
        return
    assert start + span - phases[-1].end_ms <= GAP_MS
    assert phases[-1].end_ms == end
    assert phases[0].start_ms == start
    assert all(a.end_ms == b.start_ms for a, b in zip(phases, phases[1:], strict=False))
    how = fit(p, end - start)
    order = [ph for ph, ms in zip(Phase, (inhale, hold_in, exhale, hold_out), strict=True) if ms]
    all_cycles = cycles(phases)
    assert len(all_cycles) == how.count
    # every boundary is rounded to 10 ms, which moves a cycle's start on the slowing curve too
    growth = abs(slowed_ms(p, start, end, end) - p.cycle_ms) / (end - start)
    slack = 2 * STRETCH_STEP_MS * (1 + growth)
    for i, cycle in enumerate(all_cycles):
        last = i == len(all_cycles) - 1
        assert [ph.phase for ph in cycle] == (
            order[: order.index(Phase.EXHALE) + 1] if last and how.long_exhale else order
        )
        length = cycle[-1].end_ms - cycle[0].start_ms
        own = slowed_ms(p, start, end, cycle[0].start_ms)
        if last and how.long_exhale:
            # the cycles kept their length, and this exhale runs on to the end
            assert cycle[-1].duration_ms >= exhale * own / p.cycle_ms - slack
            continue
        assert (1 - TOLERANCE) * own - slack <= length <= (1 + TOLERANCE) * own + slack
        if how.long_exhale:
            assert abs(length - own) <= slack
        else:
            assert length == pytest.approx(how.scale * own, abs=slack)


def test_a_five_minute_box_routine_is_guided_to_its_end(tmp_path: Path) -> None:
    """The breath words and tones follow the stretched cycles, to the end of the step."""
    routine = load_script(
        write(
            tmp_path,
            """title: Box
steps:
  - name: Box breathing
    duration: 5m
    say: Sit tall.
    breathing: {pattern: box, spoken_cycles: 3}
    cues:
      - {every_breaths: 5, say: Soften your shoulders.}
""",
        )
    )
    tl = compile_routine(routine, DurationBank()).timeline
    step = next(c for c in tl.chapters if c.step == 0)
    tones = [e for e in tl.events if isinstance(e, Tone) and e.tone in ("inhale", "hold", "exhale")]
    assert tones[-1].end_ms == step.end_ms - QUIET_END_MS  # the chime after it starts in quiet
    assert tones[-1].tone == "hold"  # box breathing ends on its hold after the exhale
    # each cycle 16 s, shortened by less than 15 %
    inhales = [t for t in tones if t.tone == "inhale"]
    lengths = [b.start_ms - a.start_ms for a, b in zip(inhales, inhales[1:], strict=False)]
    assert all(16_000 * (1 - TOLERANCE) <= n <= 16_000 for n in lengths)
    said = [(e.start_ms, e.text) for e in tl.events if isinstance(e, Speech)]
    words = [(at, x) for at, x in said if x in ("Breathe in", "Hold", "Breathe out")]
    assert words == [
        (t.start_ms, {"inhale": "Breathe in", "hold": "Hold"}.get(t.tone, "Breathe out"))
        for t in tones[:12]
    ]
    soften = [at for at, x in said if x == "Soften your shoulders."]
    assert soften == [t.start_ms for t in inhales[4::5]]


def test_every_part_of_the_daily_routine_starts_out_of_quiet() -> None:
    """The breathing ends QUIET_END_MS before its part: the next chime starts after a moment
    of nothing sounding, where a cold start's player joins the routine as it is laid out
    (``player.render_ahead``: QUIET_MS of quiet)."""
    from voiceguide.player.render_ahead import QUIET_MS

    tl = compile_routine(load_script(SCRIPTS / "daily.yaml"), DurationBank()).timeline
    sounding = [(e.start_ms, e.end_ms) for e in tl.events if not isinstance(e, Silence)]
    starts = sorted({c.start_ms for c in tl.chapters[1:]} | {p.start_ms for p in tl.sides})
    for at in starts:
        assert not [(a, b) for a, b in sounding if a < at < b + QUIET_MS], at
