"""The normaliser's table: cue texts as written, and as they should be heard."""

from __future__ import annotations

import doctest

import pytest

from voiceguide import speakable as module
from voiceguide.speakable import speakable
from voiceguide.words import UnknownLanguage

CASES = [
    # breathing patterns: numbers, not dashes
    ("Breathe 4-7-8.", "Breathe 4 7 8."),
    ("Box breathing, 4-4-4-4.", "Box breathing, 4 4 4 4."),
    ("a 5 - 0 - 5 - 0 rhythm", "a 5 0 5 0 rhythm"),
    # ranges
    ("Repeat 2-3 times.", "Repeat 2 to 3 times."),
    ("Repeat 2\u20133 times.", "Repeat 2 to 3 times."),
    ("Hold 20-30 s.", "Hold 20 to 30 seconds."),
    ("Hold 20-30 seconds.", "Hold 20 to 30 seconds."),
    # durations and units
    ("Hold 30s.", "Hold 30 seconds."),
    ("Hold for 1 sec.", "Hold for 1 second."),
    ("Rest 5 min.", "Rest 5 minutes."),
    ("Rest 1 min, then go on.", "Rest 1 minute, then go on."),
    ("Walk for 2 hrs", "Walk for 2 hours"),
    ("Hold 1m30s.", "Hold 1 minute 30 seconds."),
    ("Hold 2m 1s", "Hold 2 minutes 1 second"),
    ("45 seconds left", "45 seconds left"),
    ("1.5 min", "1.5 minutes"),
    # abbreviations that engines split sentences at or spell out
    ("Ask Dr. Smith first.", "Ask Doctor Smith first."),
    ("Use a prop, e.g. a towel.", "Use a prop, for example a towel."),
    ("Knees, hips, etc. relax.", "Knees, hips, et cetera relax."),
    ("10 reps", "10 repetitions"),
    # left alone: words that only look like units, plain numbers, times of day
    ("Lie still for a moment.", "Lie still for a moment."),
    ("Step 3 of 8", "Step 3 of 8"),
    ("Its 2s and 3s", "Its 2 seconds and 3 seconds"),
    ("Press the 4th button", "Press the 4th button"),
    ("At 7:30 every day", "At 7:30 every day"),
    ("x-ray and warm-up", "x-ray and warm-up"),
]


@pytest.mark.parametrize(("written", "heard"), CASES, ids=[c[0] for c in CASES])
def test_cue_texts_become_what_should_be_heard(written: str, heard: str) -> None:
    assert speakable(written) == heard


def test_what_is_already_speakable_stays() -> None:
    for _, heard in CASES:
        assert speakable(heard) == heard


def test_a_language_without_rules_is_a_clear_error() -> None:
    with pytest.raises(UnknownLanguage, match="'xx'"):
        speakable("Hold 30s.", "xx")


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(module).failed == 0
