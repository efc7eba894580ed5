"""Cue text made speakable: what a script writes, turned into what should be heard.

Speech engines read what they are given. Written the way a routine sheet is written, a cue
is misheard: "4-7-8" comes out as "four dash seven dash eight", "2-3" as "two dash three",
"30s" as "thirty z", "5 min" as "five min", and "Dr. Smith" as two sentences. ``speakable``
rewrites those forms, and leaves every other word as it is (numbers stay digits: every
engine reads "30" as thirty).

>>> speakable("Breathe 4-7-8, 2-3 rounds, hold 30s.")
'Breathe 4 7 8, 2 to 3 rounds, hold 30 seconds.'
>>> speakable("Rest 1 min, then ask Dr. Smith, e.g. by phone.")
'Rest 1 minute, then ask Doctor Smith, for example by phone.'

One table of rules per language (``RULES``), keyed like the words table
(``voiceguide.words``); the unit names themselves come from that table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from voiceguide.words import Phrases, UnknownLanguage, phrases

_NUMBER = r"\d+(?:[.,]\d+)?"
_DASH = r"\s*[-\u2013\u2014]\s*"  # hyphen, en dash, em dash


@dataclass(frozen=True)
class Rules:
    """How one language's cue texts become speakable."""

    to: str  # the word of a range: "2-3" -> "2 to 3"
    hour: tuple[str, str]  # (singular, plural); minutes and seconds are the words table's
    abbreviations: dict[str, str]  # written (with its dot) -> spoken, matched as whole words


RULES: dict[str, Rules] = {
    "en": Rules(
        to="to",
        hour=("hour", "hours"),
        abbreviations={
            "Dr.": "Doctor",
            "Mr.": "Mister",
            "Mrs.": "Missus",
            "Ms.": "Miz",
            "e.g.": "for example",
            "i.e.": "that is",
            "etc.": "et cetera",
            "approx.": "approximately",
            "vs.": "versus",
            "incl.": "including",
            "reps": "repetitions",
        },
    ),
}

# unit spellings -> which unit (matched after a number, case-insensitively)
_UNITS = {
    "h": "hour",
    "hr": "hour",
    "hrs": "hour",
    "hour": "hour",
    "hours": "hour",
    "m": "minute",
    "min": "minute",
    "mins": "minute",
    "minute": "minute",
    "minutes": "minute",
    "s": "second",
    "sec": "second",
    "secs": "second",
    "second": "second",
    "seconds": "second",
}
_UNIT = "|".join(sorted(_UNITS, key=len, reverse=True))
_PATTERN = re.compile(rf"(?<![\w.])\d+(?:{_DASH}\d+){{2,3}}(?!\w|\.\d|{_DASH}\d)")
_RANGE = re.compile(rf"(?<![\w.])({_NUMBER}){_DASH}({_NUMBER})(?!\w|\.\d|{_DASH}\d)")
_QUANTITY = re.compile(rf"(?<![\w.])({_NUMBER})\s*({_UNIT})(?!\w)", re.IGNORECASE)
_COMPOUND = re.compile(r"(?<![\w.])(\d+)\s*m\s*(\d+)\s*s(?!\w)", re.IGNORECASE)  # 1m30s
_RANGE_WITH_UNIT = r"(?<![\w.])({number}) {to} ({number})\s*({unit})(?!\w)"  # after _RANGE


def speakable(text: str, lang: str = "en") -> str:
    """``text`` as it should be heard in language ``lang`` (see the module's examples).

    Raises UnknownLanguage when there are no rules for ``lang``.
    """
    words = phrases(lang)
    rules = RULES.get(words.lang)
    if rules is None:
        raise UnknownLanguage(lang)
    text = _abbreviations(text, rules)
    text = _PATTERN.sub(lambda m: " ".join(re.split(_DASH, m.group(0))), text)
    text = _RANGE.sub(lambda m: f"{m.group(1)} {rules.to} {m.group(2)}", text)
    unit = _unit_namer(words, rules)
    text = _COMPOUND.sub(
        lambda m: (
            f"{m.group(1)} {unit('m', plural=_plural(m.group(1)))} "
            f"{m.group(2)} {unit('s', plural=_plural(m.group(2)))}"
        ),
        text,
    )
    with_unit = _RANGE_WITH_UNIT.format(number=_NUMBER, to=re.escape(rules.to), unit=_UNIT)
    text = re.sub(
        with_unit,
        lambda m: f"{m.group(1)} {rules.to} {m.group(2)} {unit(m.group(3), plural=True)}",
        text,
        flags=re.IGNORECASE,
    )
    return _QUANTITY.sub(
        lambda m: f"{m.group(1)} {unit(m.group(2), plural=_plural(m.group(1)))}", text
    )


def _abbreviations(text: str, rules: Rules) -> str:
    for written, spoken in rules.abbreviations.items():
        pattern = rf"(?<![\w.]){re.escape(written)}" + ("" if written.endswith(".") else r"\b")
        text = re.sub(pattern, spoken, text)
    return text


def _unit_namer(words: Phrases, rules: Rules) -> Callable[..., str]:
    names = {"hour": rules.hour, "minute": words.minute, "second": words.second}

    def name(written: str, *, plural: bool) -> str:
        return names[_UNITS[written.casefold()]][plural]

    return name


def _plural(number: str) -> bool:
    return number.replace(",", ".") not in ("1", "1.0")
