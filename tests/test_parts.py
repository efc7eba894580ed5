"""The player's parts, worked out from a timeline laid out by hand (pure logic)."""

from __future__ import annotations

import pytest

from voiceguide.player.announce import recue, whats_next
from voiceguide.player.parts import next_part, part_at, parts, routine_clock, routine_ms
from voiceguide.timeline import Chapter, SidePart, Silence, Timeline
from voiceguide.words import ENGLISH

# intro 0-10 s; Warm Up 10-40 s, its rest 30-40 s; Twist 40-110 s: a wait (40-45 s, its
# pause ending at 49.95 s), then the right side 50-80 s and the left 80-110 s; closing.
TIMELINE = Timeline(
    title="Parts",
    duration_ms=120_000,
    origin_ms=10_000,
    events=(
        Silence(30_000, 10_000, 0, "rest"),
        Silence(45_000, 4_950, 1, "wait", "Take your time.", 10_000),
    ),
    chapters=(
        Chapter(0, 10_000, "Introduction", None),
        Chapter(10_000, 40_000, "Warm Up", 0),
        Chapter(40_000, 110_000, "Twist", 1),
        Chapter(110_000, 120_000, "Closing", None),
    ),
    sides=(SidePart(50_000, 80_000, "right", 1), SidePart(80_000, 110_000, "left", 1)),
)

R, L = "Twist, right side", "Twist, left side"
WAIT = "Getting ready for Twist"
REST = "Rest before Twist"

TABLE = [
    # file ms, kind, name, side, ms left in the part, the next part
    (0, "intro", "Introduction", None, 10_000, "Warm Up"),
    (9_999, "intro", "Introduction", None, 1, "Warm Up"),
    (10_000, "step", "Warm Up", None, 20_000, REST),
    (29_999, "step", "Warm Up", None, 1, REST),
    (30_000, "rest", REST, None, 10_000, WAIT),
    (40_000, "wait", WAIT, None, 9_950, R),
    (49_950, "side", R, "right", 30_050, L),  # the right side takes the rounding's 50 ms
    (54_000, "side", R, "right", 26_000, L),
    (80_000, "side", L, "left", 30_000, "Closing"),
    (110_000, "closing", "Closing", None, 10_000, None),
    (120_000, "closing", "Closing", None, 0, None),  # the end: still the last part
]


@pytest.mark.parametrize(("ms", "kind", "name", "side", "left", "after"), TABLE)
def test_part_at(
    ms: int, kind: str, name: str, side: str | None, left: int, after: str | None
) -> None:
    all_parts = parts(TIMELINE, ENGLISH)
    part = part_at(all_parts, ms)
    assert part is not None
    assert (part.kind, part.name, part.side, part.left_ms(ms)) == (kind, name, side, left)
    nxt = next_part(all_parts, part)
    assert (nxt.name if nxt else None) == after


def test_parts_follow_each_other_without_a_gap_and_know_their_step() -> None:
    all_parts = parts(TIMELINE, ENGLISH)
    assert [p.index for p in all_parts] == list(range(len(all_parts)))
    assert all_parts[0].start_ms == 0 and all_parts[-1].end_ms == TIMELINE.duration_ms
    assert all(a.end_ms == b.start_ms for a, b in zip(all_parts, all_parts[1:], strict=False))
    assert [(p.title, p.step) for p in all_parts if p.kind in ("wait", "side")] == [
        ("Twist", 1)
    ] * 3
    assert [p.step for p in all_parts if p.kind in ("intro", "closing")] == [None, None]


def test_nothing_laid_out_has_no_part() -> None:
    empty = Timeline("Empty", 0, 0, (), ())
    assert parts(empty, ENGLISH) == ()
    assert part_at((), 0) is None and next_part((), None) is None
    assert recue(None, 0, ENGLISH) == "" == whats_next(None, None, 0, ENGLISH)


def test_routine_time_starts_at_the_first_step_and_counts_the_intro_down() -> None:
    assert routine_ms(TIMELINE, 10_000) == 0 and routine_ms(TIMELINE, 0) == -10_000
    assert [routine_clock(TIMELINE, ms) for ms in (0, 9_500, 10_000, 74_999)] == [
        "-0:10",
        "-0:01",
        "0:00",
        "1:04",
    ]


def test_what_is_said_names_the_part_and_its_time_left() -> None:
    all_parts = parts(TIMELINE, ENGLISH)
    right = part_at(all_parts, 54_000)
    assert recue(right, 54_000, ENGLISH) == "Resuming: Twist, right side, 26 seconds left."
    assert (
        whats_next(right, next_part(all_parts, right), 54_000, ENGLISH)
        == "26 seconds left in Twist, right side. Next: Twist, left side."
    )
    last = part_at(all_parts, 115_000)
    assert whats_next(last, None, 115_000, ENGLISH) == "5 seconds left in Closing. Next: the end."
