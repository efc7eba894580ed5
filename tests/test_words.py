"""The words table: lookups by language, spoken durations and side names, and that every
language's templates take the same placeholders as English."""

from __future__ import annotations

import dataclasses
import doctest
import string

import pytest

from voiceguide import words
from voiceguide.errors import VoiceguideError
from voiceguide.words import ENGLISH, LANGUAGES, UnknownLanguage, phrases, speaks


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(words).failed == 0


@pytest.mark.parametrize("code", ["en", "EN", "en-GB", "en_us", " en "])
def test_a_language_code_finds_its_table(code: str) -> None:
    assert phrases(code) is ENGLISH
    assert phrases() is ENGLISH


def test_an_unknown_language_is_a_clear_error() -> None:
    with pytest.raises(UnknownLanguage, match=r"no words for language 'xx' \(known: en\)"):
        phrases("xx")
    assert issubclass(UnknownLanguage, VoiceguideError)


@pytest.mark.parametrize(
    ("ms", "said"),
    [
        (0, "0 seconds"),
        (1000, "1 second"),
        (45_000, "45 seconds"),
        (60_000, "1 minute"),
        (61_000, "1 minute 1 second"),
        (90_400, "1 minute 30 seconds"),
        (150_000, "2 minutes 30 seconds"),
    ],
)
def test_durations_are_said_in_words(ms: int, said: str) -> None:
    assert ENGLISH.duration(ms) == said


def test_a_side_is_named_once() -> None:
    assert ENGLISH.side_name("left") == "left side"
    assert ENGLISH.side_name("Left Side") == "Left Side"
    assert ENGLISH.side_name("your right knee") == "your right knee"  # a name of its own


def test_voice_languages_match_by_tag() -> None:
    assert speaks("en") and speaks("en-gb") and speaks("en_US")
    assert not speaks("eng") and not speaks("de")
    assert speaks("de-at", "de")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_every_language_fills_in_the_same_placeholders(lang: str) -> None:
    table = LANGUAGES[lang]
    assert table.lang == lang
    for f in dataclasses.fields(table):
        mine, english = getattr(table, f.name), getattr(ENGLISH, f.name)
        if isinstance(english, str) and f.name != "lang":
            assert mine and _placeholders(mine) == _placeholders(english), f.name
        elif isinstance(english, tuple):
            assert len(mine) == len(english) and all(mine), f.name
