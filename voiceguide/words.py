"""The words voiceguide speaks or prints on its own, one table per language.

A script brings its own texts; everything else that is said or shown comes from here: the
chapter titles around the steps, the breathing cues, the default step, rest and wait lines,
the side names, spoken durations and the player's re-cue and "what's next" lines. Keeping
them in one place is what lets a routine be guided in another language.

>>> en = phrases("en")
>>> en.duration(90_000)
'1 minute 30 seconds'
>>> en.side_name("left")
'left side'
>>> en.resuming.format(where="Twist, left side", left=en.duration(20_000))
'Resuming: Twist, left side, 20 seconds left.'

To add a language: write a ``Phrases`` with every field in that language (templates keep
the same ``{placeholders}``), add it to ``LANGUAGES`` under its language code (``"de"``),
and check that the breathing cues and side names read well when spoken.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceguide.errors import VoiceguideError

DEFAULT_LANGUAGE = "en"


class UnknownLanguage(VoiceguideError, LookupError):
    """No table of words for a language code."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        known = ", ".join(sorted(LANGUAGES))
        super().__init__(f"no words for language {lang!r} (known: {known})")


@dataclass(frozen=True)
class Phrases:
    """Everything voiceguide says or prints by itself in one language.

    Fields holding ``{name}`` are templates, filled in with ``str.format``.
    """

    lang: str
    # chapter titles of the spoken frame around the steps
    introduction: str
    closing: str
    the_end: str  # what comes "next" after the last step
    # spoken durations: (singular, plural)
    minute: tuple[str, str]
    second: tuple[str, str]
    # the breathing pacer's default cues
    breathe_in: str
    hold: str
    breathe_out: str
    # the sides of ``sides: true`` (or ``both``), in the order they are held
    both_sides: tuple[str, str]
    side: str  # {side}: "left" -> "left side"
    side_word: str  # a side name already ending in it is said as it is ("left side")
    # defaults of a step's, a rest's and a wait's lines (templates as in a script)
    switch_sides: str  # {side}
    rest: str  # {next}
    wait_say: str
    wait_remind: str
    wait_go: str
    # the player's spoken lines
    resuming: str  # {where} (step, and side if any), {left} (a spoken duration)
    whats_next: str  # {left}, {step} (the part now), {next} (the part after it)
    # the player's parts (``player.parts``) that are not a step's or a side's own name
    wait_part: str  # {step}: getting into position for it, before its time runs
    rest_part: str  # {next}: the step after the rest
    # what the player's last command did, as ``ctl status`` shows it
    did_pause: str
    did_resume: str
    did_skip: str  # {part}
    did_back: str  # {part}
    did_repeat: str  # {part}
    did_volume: str  # {db}: the volume now, signed
    did_ready: str
    did_start: str  # a play that waited for start (play --wait-start) begins
    did_whats_next: str
    did_stop: str

    def duration(self, ms: int) -> str:
        """A duration as words for speech: ``1 minute 30 seconds``, ``45 seconds``."""
        seconds = round(ms / 1000)
        minutes, secs = divmod(seconds, 60)
        parts = []
        if minutes:
            parts.append(f"{minutes} {self.minute[minutes != 1]}")
        if secs or not minutes:
            parts.append(f"{secs} {self.second[secs != 1]}")
        return " ".join(parts)

    def side_name(self, side: str) -> str:
        """How a side is named in speech: ``left`` is "left side"; ``left side`` and a side
        of more words ("your right knee", "both knees") stay as they are."""
        if side.casefold().endswith(self.side_word.casefold()) or len(side.split()) > 1:
            return side
        return self.side.format(side=side)


ENGLISH = Phrases(
    lang="en",
    introduction="Introduction",
    closing="Closing",
    the_end="the end",
    minute=("minute", "minutes"),
    second=("second", "seconds"),
    breathe_in="Breathe in",
    hold="Hold",
    breathe_out="Breathe out",
    both_sides=("right", "left"),
    side="{side} side",
    side_word="side",
    switch_sides="Switch sides. Now the {side} side.",
    rest="Rest. Next: {next}.",
    wait_say="Get into position. Ready when you are.",
    wait_remind="Take your time. Press enter, or send ready, when you are set.",
    wait_go="Let's begin.",
    resuming="Resuming: {where}, {left} left.",
    whats_next="{left} left in {step}. Next: {next}.",
    wait_part="Getting ready for {step}",
    rest_part="Rest before {next}",
    did_pause="paused",
    did_resume="resumed",
    did_skip="skipped to {part}",
    did_back="back to {part}",
    did_repeat="repeating {part}",
    did_volume="{db:+g} dB",
    did_ready="ready: going on",
    did_start="started",
    did_whats_next="said what's next",
    did_stop="stopping",
)

LANGUAGES: dict[str, Phrases] = {ENGLISH.lang: ENGLISH}


def norm(text: str) -> str:
    """A language code, voice id or name as compared: trimmed, case-folded, ``_`` as ``-``."""
    return text.strip().casefold().replace("_", "-")


def phrases(lang: str = DEFAULT_LANGUAGE) -> Phrases:
    """The words of language ``lang`` (a code such as ``en``; ``en-GB`` finds ``en``).

    Raises UnknownLanguage when there is no table for it.
    """
    code = norm(lang)
    found = LANGUAGES.get(code) or LANGUAGES.get(code.split("-", 1)[0])
    if found is None:
        raise UnknownLanguage(lang)
    return found


def speaks(tag: str, lang: str = DEFAULT_LANGUAGE) -> bool:
    """Whether a voice's language tag (``en``, ``en-gb``, ``en_US``) is language ``lang``."""
    tag, lang = norm(tag), norm(lang)
    return tag == lang or tag.startswith(lang + "-")
