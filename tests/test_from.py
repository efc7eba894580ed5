"""``play --from``: what people type -> the file time the play starts at."""

from __future__ import annotations

import pytest

from voiceguide.errors import ExitCode
from voiceguide.player.start import FromError, routine_time, start_at
from voiceguide.timeline import Chapter, Timeline

ORIGIN = 10_000  # the intro's end: 0:00 on the routine clock
STEPS = ["Warm Up", "Hamstring Stretch", "Quad Stretch", "Cat-Cow", "Cat", "Child's Pose"]
TIMELINE = Timeline(
    title="From Test",
    duration_ms=ORIGIN + 60_000 * len(STEPS) + 5_000,
    origin_ms=ORIGIN,
    events=(),
    chapters=(
        Chapter(0, ORIGIN, "Introduction", None),
        *(
            Chapter(ORIGIN + 60_000 * i, ORIGIN + 60_000 * (i + 1), name, i)
            for i, name in enumerate(STEPS)
        ),
        Chapter(
            ORIGIN + 60_000 * len(STEPS), ORIGIN + 60_000 * len(STEPS) + 5_000, "Closing", None
        ),
    ),
)


def step(number: int) -> int:
    """The file time step ``number`` (1-based) starts at."""
    return ORIGIN + 60_000 * (number - 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", step(1)),
        ("2", step(2)),
        (" 6 ", step(6)),
        ("0:00", ORIGIN),
        ("1:30", ORIGIN + 90_000),
        ("5:00", ORIGIN + 300_000),
        ("0:01:05", ORIGIN + 65_000),
        ("1:30.5", ORIGIN + 90_500),
        ("65s", ORIGIN + 65_000),
        ("90s", ORIGIN + 90_000),
        ("1m30s", ORIGIN + 90_000),
        ("1M30S", ORIGIN + 90_000),
        ("2m", ORIGIN + 120_000),
        ("Warm Up", step(1)),
        ("warm up", step(1)),
        ("WARM", step(1)),
        ("up", step(1)),  # a word inside the name
        ("wa", step(1)),  # the start of a word
        ("hamstring", step(2)),
        ("ham", step(2)),
        ("quad stretch", step(3)),
        ("Cat", step(5)),  # an exact name wins over a word of another
        ("cow", step(4)),
        ("cat-cow", step(4)),
        ("child", step(6)),
        ("child's", step(6)),
        ("pose", step(6)),
    ],
)
def test_from_finds_the_place(value: str, expected: int) -> None:
    assert start_at(TIMELINE, value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "stretch",
            "--from 'stretch': more than one step matches: 2 'Hamstring Stretch', 3 'Quad Stretch'",
        ),
        (
            "str",
            "--from 'str': more than one step matches: 2 'Hamstring Stretch', 3 'Quad Stretch'",
        ),
        ("ca", "--from 'ca': more than one step matches: 4 'Cat-Cow', 5 'Cat'"),
        (
            "0",
            "--from '0': no step 0; the steps are: 1 'Warm Up', 2 'Hamstring Stretch', "
            "3 'Quad Stretch', 4 'Cat-Cow', 5 'Cat', 6 \"Child's Pose\"",
        ),
        (
            "7",
            "--from '7': no step 7; the steps are: 1 'Warm Up', 2 'Hamstring Stretch', "
            "3 'Quad Stretch', 4 'Cat-Cow', 5 'Cat', 6 \"Child's Pose\"",
        ),
        (
            "nap",
            "--from 'nap': no step matches; the steps are: 1 'Warm Up', 2 'Hamstring "
            "Stretch', 3 'Quad Stretch', 4 'Cat-Cow', 5 'Cat', 6 \"Child's Pose\"",
        ),
        (
            "introduction",
            "--from 'introduction': no step matches; the steps are: 1 'Warm Up', "
            "2 'Hamstring Stretch', 3 'Quad Stretch', 4 'Cat-Cow', 5 'Cat', 6 \"Child's Pose\"",
        ),
        ("6:05", "--from '6:05': the last step ends at 6:00, the closing words at 6:05"),
        ("1h", "--from '1h': the last step ends at 6:00, the closing words at 6:05"),
        (
            "1:75",
            "--from '1:75': no step matches; the steps are: 1 'Warm Up', 2 'Hamstring "
            "Stretch', 3 'Quad Stretch', 4 'Cat-Cow', 5 'Cat', 6 \"Child's Pose\"",
        ),
        (
            "",
            "--from '': name a step, its number or a time; the steps are: 1 'Warm Up', "
            "2 'Hamstring Stretch', 3 'Quad Stretch', 4 'Cat-Cow', 5 'Cat', 6 \"Child's Pose\"",
        ),
    ],
)
def test_from_refuses_what_names_no_place(value: str, message: str) -> None:
    with pytest.raises(FromError) as caught:
        start_at(TIMELINE, value)
    assert str(caught.value) == message
    assert caught.value.exit_code == ExitCode.USAGE
    assert "\n" not in str(caught.value)


def test_an_exact_name_wins_over_a_step_number() -> None:
    chapters = (Chapter(0, 1000, "Breathe", 0), Chapter(1000, 2000, "1", 1))
    timeline = Timeline("Numbers", 2000, 0, (), chapters)
    assert start_at(timeline, "1") == 1000
    assert start_at(timeline, "2") == 1000
    assert start_at(timeline, "0:00") == 0


@pytest.mark.parametrize("value", ["warm", "7", "90", "1:2", "1:2:3", "-1:00", "1.5"])
def test_what_is_not_written_as_a_time(value: str) -> None:
    assert routine_time(value) is None
