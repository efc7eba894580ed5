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
>>> speakable("The 2nd round: 20-30s.")
'The second round: 20 to 30 seconds.'

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
    ordinal: Callable[[int], str | None]  # 21 -> "twenty-first"; None: left as written
    ordinal_suffixes: tuple[str, ...]  # what follows the digits of an ordinal: "st", "nd", ...


_ONES = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]
_TEENS = [
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _english_ordinal(n: int) -> str | None:
    """1 -> "first", 21 -> "twenty-first", 40 -> "fortieth"; beyond 99, None."""
    if 1 <= n <= 9:
        return _ONES[n - 1]
    if 10 <= n <= 19:
        return _TEENS[n - 10]
    if 20 <= n <= 99:
        tens, ones = divmod(n, 10)
        if ones:
            return f"{_TENS[tens - 2]}-{_ONES[ones - 1]}"
        return _TENS[tens - 2][:-1] + "ieth"
    return None


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
        ordinal=_english_ordinal,
        ordinal_suffixes=("st", "nd", "rd", "th"),
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
# what may follow the last number of a pattern or a range: a unit, or no more of the number
_END = rf"(?=\s*(?:{_UNIT})(?!\w)|(?!\w|\.\d|{_DASH}\d|[.,:]\d))"
_PATTERN = re.compile(rf"(?<![\w.,:])\d+(?:{_DASH}\d+){{2,3}}{_END}", re.IGNORECASE)
_RANGE = re.compile(rf"(?<![\w.,:])({_NUMBER}){_DASH}({_NUMBER}){_END}", re.IGNORECASE)
_QUANTITY = re.compile(rf"(?<![\w.,:])({_NUMBER})\s*({_UNIT})(?!\w)", re.IGNORECASE)
_COMPOUND = re.compile(  # 1m30s, 1h 30m, 1 h 30 min
    r"(?<![\w.,:])(\d+)\s*(h|m)\s*(\d+)\s*(m|min|s)(?!\w)", re.IGNORECASE
)
_RANGE_WITH_UNIT = r"(?<![\w.,:])({number}) {to} ({number})\s*({unit})(?!\w)"  # after _RANGE


def speakable(text: str, lang: str = "en") -> str:
    """``text`` as it should be heard in language ``lang`` (see the module's examples).

    A text with nothing to rewrite comes back as it is, and ``speakable`` of its own
    result changes nothing more. Raises UnknownLanguage when there are no rules for ``lang``.
    """
    words = phrases(lang)
    rules = RULES.get(words.lang)
    if rules is None:
        raise UnknownLanguage(lang)
    text = _abbreviations(text, rules)
    unit = _unit_namer(words, rules)
    text = _COMPOUND.sub(lambda m: _compound(m, unit), text)
    text = _PATTERN.sub(lambda m: " ".join(re.split(_DASH, m.group(0))), text)
    text = _RANGE.sub(lambda m: f"{m.group(1)} {rules.to} {m.group(2)}", text)
    with_unit = _RANGE_WITH_UNIT.format(number=_NUMBER, to=re.escape(rules.to), unit=_UNIT)
    text = re.sub(
        with_unit,
        lambda m: f"{m.group(1)} {rules.to} {m.group(2)} {unit(m.group(3), plural=True)}",
        text,
        flags=re.IGNORECASE,
    )
    text = _QUANTITY.sub(
        lambda m: f"{m.group(1)} {unit(m.group(2), plural=_plural(m.group(1)))}", text
    )
    return _ordinals(text, rules)


def _compound(m: re.Match[str], unit: Callable[..., str]) -> str:
    """``1m30s`` -> ``1 minute 30 seconds``; ``1h30m`` -> ``1 hour 30 minutes``; anything
    else (``1m30m``) as written."""
    big, small = m.group(2).casefold(), m.group(4).casefold()
    if (big, small) not in (("m", "s"), ("h", "m"), ("h", "min")):
        return m.group(0)
    a, b = m.group(1), m.group(3)
    return f"{a} {unit(big, plural=_plural(a))} {b} {unit(small, plural=_plural(b))}"


def _ordinals(text: str, rules: Rules) -> str:
    suffixes = "|".join(rules.ordinal_suffixes)
    if not suffixes:
        return text

    def word(m: re.Match[str]) -> str:
        return rules.ordinal(int(m.group(1))) or m.group(0)

    return re.sub(rf"(?<![\w.,:])(\d+)(?:{suffixes})(?!\w)", word, text, flags=re.IGNORECASE)


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
