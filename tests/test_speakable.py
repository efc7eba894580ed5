"""The normaliser's table: cue texts as written, and as they should be heard."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceguide import speakable as module
from voiceguide.speakable import RULES, speakable
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
    ("Hold 20-30s.", "Hold 20 to 30 seconds."),
    ("Rest 2-3 min", "Rest 2 to 3 minutes"),
    ("Hold 1.5-2 s", "Hold 1.5 to 2 seconds"),
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
    ("Rest 90 sec.", "Rest 90 seconds."),
    ("Hold 1 min 30 sec.", "Hold 1 minute 30 seconds."),
    ("Walk 1h30m", "Walk 1 hour 30 minutes"),
    ("Walk 1 h 30 min", "Walk 1 hour 30 minutes"),
    ("Breathe 4-7-8s.", "Breathe 4 7 8 seconds."),
    # what {remaining} and {duration} fill in (WORDS.duration) is already speakable
    ("1 minute 30 seconds left.", "1 minute 30 seconds left."),
    ("1 second left.", "1 second left."),
    # ordinals: words, as no engine reads "21st" alike
    ("The 1st round", "The first round"),
    ("The 2nd and 3rd rounds", "The second and third rounds"),
    ("On the 21st breath", "On the twenty-first breath"),
    ("The 12th, 40th and 99th", "The twelfth, fortieth and ninety-ninth"),
    ("The 100th day", "The 100th day"),
    # abbreviations that engines split sentences at or spell out
    ("Ask Dr. Smith first.", "Ask Doctor Smith first."),
    ("Use a prop, e.g. a towel.", "Use a prop, for example a towel."),
    ("Knees, hips, etc. relax.", "Knees, hips, et cetera relax."),
    ("10 reps", "10 repetitions"),
    ("Breathe, i.e. slowly.", "Breathe, that is slowly."),
    ("Hold approx. 30s.", "Hold approximately 30 seconds."),
    ("Left vs. right", "Left versus right"),
    # left alone: words that only look like units, plain numbers, times of day
    ("Lie still for a moment.", "Lie still for a moment."),
    ("Step 3 of 8", "Step 3 of 8"),
    ("Its 2s and 3s", "Its 2 seconds and 3 seconds"),
    ("Press the 4th button", "Press the fourth button"),
    ("At 7:30 every day", "At 7:30 every day"),
    ("x-ray and warm-up", "x-ray and warm-up"),
]


@pytest.mark.parametrize(("written", "heard"), CASES, ids=[c[0] for c in CASES])
def test_cue_texts_become_what_should_be_heard(written: str, heard: str) -> None:
    assert speakable(written) == heard


def test_what_is_already_speakable_stays() -> None:
    for _, heard in CASES:
        assert speakable(heard) == heard


_ABBREVIATIONS = tuple(RULES["en"].abbreviations)
_PLAIN = st.text(alphabet=st.sampled_from("abeghimnrs ABDEMRS.,;:!?-'\n"), max_size=60)
_ANY = st.text(alphabet=st.sampled_from("0123456789 .,:-\u2013hmsintdrHMS"), max_size=40)


@given(_PLAIN)
def test_a_text_without_digits_or_abbreviations_is_unchanged(text: str) -> None:
    if not any(a in text for a in _ABBREVIATIONS):
        assert speakable(text) == text


@given(st.one_of(_PLAIN, _ANY, st.sampled_from([c[0] for c in CASES])))
def test_speakable_is_idempotent(text: str) -> None:
    once = speakable(text)
    assert speakable(once) == once


def test_a_language_without_rules_is_a_clear_error() -> None:
    with pytest.raises(UnknownLanguage, match="'xx'"):
        speakable("Hold 30s.", "xx")


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(module).failed == 0
