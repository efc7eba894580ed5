"""What each field of a routine script holds and means: the tables ``schema`` builds from.

One table per mapping of the format, ``field -> (schema fragment, description)``. The
fields are the reader's; the names, limits and defaults in the fragments come from the
reader and the model. The number ranges that the readers write inline (a countdown of 0 to
10 seconds, say) are repeated here, and ``tests/test_schema.py`` holds each one against the
reader at its bounds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from voiceguide import limits
from voiceguide.model import BreathPattern, Music, Routine, Step, Wait
from voiceguide.script.breathing import NAMED_PATTERNS
from voiceguide.script.cues import PHASE_NAMES
from voiceguide.script.fields import TEMPLATE_FIELDS
from voiceguide.script.includes import SCRIPT_SUFFIXES
from voiceguide.script.music import FORMATS, LEVEL_RANGE_DB, MAX_FADE_MS
from voiceguide.script.voices import MAX_RATE, MAX_SPEED, MIN_RATE, MIN_SPEED
from voiceguide.words import phrases

Table = dict[str, tuple[dict[str, Any], str]]

COUNTDOWN = (0, 10)  # steps.read_fields: countdown
SPOKEN_CYCLES = (0, 1000)  # breathing.breathing: spoken_cycles
SLOW_TO_BPM = (1.0, 30.0)  # breathing.breathing: slow_to
BREATHS = (1, 1000)  # cues.cue: every_breaths, cycles
VOLUME = (0.0, 1.0)  # voices.voice_fields: volume


def ref(name: str) -> dict[str, Any]:
    """A reference to the schema's definition ``name``."""
    return {"$ref": f"#/definitions/{name}"}


def default(cls: type, attr: str) -> Any:
    """The model's default of ``cls.attr``: milliseconds as seconds (``10s``)."""
    field = next(f for f in dataclasses.fields(cls) if f.name == attr)
    value = field.default
    assert value is not dataclasses.MISSING, f"{cls.__name__}.{attr} has no default"
    return f"{value / 1000:g}s" if attr.endswith("_ms") else value


def _integer(bounds: tuple[int, int]) -> dict[str, Any]:
    return {"type": "integer", "minimum": bounds[0], "maximum": bounds[1]}


def _number(bounds: tuple[float, float]) -> dict[str, Any]:
    return {"type": "number", "minimum": bounds[0], "maximum": bounds[1]}


def _text(name: str, dflt: Any = None) -> dict[str, Any]:
    return {**ref(name), **({} if dflt is None else {"default": dflt})}


PLACEHOLDERS = ", ".join("{" + name + "}" for name in sorted(TEMPLATE_FIELDS))
SIDES = " then ".join(phrases().both_sides)

ROUTINE: Table = {
    "title": (ref("name"), "The routine's title (required)."),
    "author": (ref("name"), "Who wrote the routine (in the files' tags)."),
    "intro": (
        ref("paragraphs"),
        "Spoken before 0:00; blank lines separate paragraphs.",
    ),
    "outro": (ref("paragraphs"), "Spoken after the last step; blank lines separate paragraphs."),
    "voice": (
        ref("voice"),
        "The voice of the intro, outro, rests and every step: a voice name, or a mapping "
        "of engine, voice, rate or speed, and volume.",
    ),
    "counting_voice": (
        ref("voice"),
        "The voice of the breath words ('Breathe in', 'Hold', ...): the fields it names "
        "in place of voice's.",
    ),
    "breathing": (
        ref("breathing_fields"),
        "Defaults for every step's breathing (a step's breathing: true takes them as they are).",
    ),
    "rest": (
        {**ref("duration_or_zero"), "default": default(Routine, "rest_ms")},
        "A rest between steps: 10s, 1m30s, 250ms or seconds.",
    ),
    "rest_say": (
        _text("plain_template", default(Routine, "rest_say")),
        "Said at the start of each rest.",
    ),
    "music": (
        ref("music"),
        f"A music bed under the whole file: a {FORMATS} file (a path relative to this "
        "script), or a mapping of file, level_db and fade.",
    ),
    "steps": (
        {
            "type": "array",
            "minItems": 1,
            "maxItems": limits.MAX_STEPS,
            "items": {  # an entry with include: is an include, any other a step
                "if": {"type": "object", "required": ["include"]},
                "then": ref("include"),
                "else": ref("step"),
            },
        },
        f"The steps (required): each a step, or an include of another script's steps "
        f"(at most {limits.MAX_STEPS}, included ones counted).",
    ),
}

STEP: Table = {
    "name": (ref("name"), "The step's name (required)."),
    "duration": (
        ref("duration"),
        "How long the step lasts (required): 2m, 90s, 1m30s, 1.5s, 250ms or seconds. "
        "With sides, each side gets an equal share.",
    ),
    "say": (
        ref("template"),
        f"The instruction, spoken at the start. Placeholders: {PLACEHOLDERS}.",
    ),
    "sides": (
        {
            "anyOf": [
                {"type": "boolean"},
                {"const": "both"},
                {
                    "type": "array",
                    "minItems": 2,
                    "maxItems": limits.MAX_SIDES,
                    "items": ref("name"),
                },
            ],
            "default": False,
        },
        f"true or both ({SIDES}), or a list of two or more side names: the step is done on "
        "each side in turn, its cues repeated on each.",
    ),
    "switch": (
        _text("template", default(Step, "switch")),
        "Spoken at the start of each later side.",
    ),
    "cues": (
        {"type": "array", "maxItems": limits.MAX_CUES_PER_STEP, "items": ref("cue")},
        "What is said during the step: plain texts, or mappings of say and one timing "
        "(at, before_end, every, every_breaths, on).",
    ),
    "breathing": (
        ref("breathing"),
        "A breathing pacer: a pattern (4-0-6-0, box ...), true (the routine's defaults) or "
        "a mapping.",
    ),
    "chime": (
        {"type": "boolean", "default": default(Step, "chime")},
        "The chime at the start.",
    ),
    "countdown": (
        {**_integer(COUNTDOWN), "default": default(Step, "countdown")},
        "Soft ticks in the last seconds of the step (and of each side).",
    ),
    "wait": (
        ref("wait"),
        "Hold before the timed part until 'ready' (the player); a fixed pause in an export.",
    ),
    "music": (
        ref("music"),
        f"A music bed under this step in place of the routine's: a {FORMATS} file, or a "
        "mapping of file, level_db and fade.",
    ),
    "voice": (ref("voice"), "The step's voice: the fields it names in place of the routine's."),
    "counting_voice": (
        ref("voice"),
        "The step's voice of the breath words: the fields it names in place of the routine's.",
    ),
}

INCLUDE: Table = {
    "include": (
        {
            "type": "string",
            "pattern": r"\.(?:" + "|".join(s[1:] for s in SCRIPT_SUFFIXES) + r")\s*$",
        },
        "Another routine script (.yaml), by a path relative to this file, inside this "
        "script's folder or the built-in library: its steps, or with step: one of them.",
    ),
    "step": (
        ref("name"),
        "Which step of the included script (by name); the entry's other fields override it.",
    ),
}

WAIT: Table = {
    "pause": (
        {**ref("duration"), "default": default(Wait, "pause_ms")},
        "The pause in an export.",
    ),
    "say": (_text("plain_template", default(Wait, "say")), "Said when the wait begins."),
    "remind": (
        _text("plain_template", default(Wait, "remind")),
        "Repeated while the player waits.",
    ),
    "every": (
        {**ref("duration"), "default": default(Wait, "every_ms")},
        "How often the player reminds.",
    ),
    "go": (_text("plain_template", default(Wait, "go")), "Said when the timed part starts."),
}

_PATTERNS = ", ".join(NAMED_PATTERNS)
BREATH: Table = {
    "pattern": (ref("pattern"), f"Inhale-hold-exhale-hold seconds, or one of {_PATTERNS}."),
    "inhale": (ref("duration_or_zero"), "The inhale, in place of the pattern's."),
    "hold_in": (ref("duration_or_zero"), "The hold after the inhale, in place of the pattern's."),
    "exhale": (ref("duration_or_zero"), "The exhale, in place of the pattern's."),
    "hold_out": (ref("duration_or_zero"), "The hold after the exhale, in place of the pattern's."),
    "spoken_cycles": (
        {**_integer(SPOKEN_CYCLES), "default": default(BreathPattern, "spoken_cycles")},
        "How many cycles speak their words; the later ones have tones only.",
    ),
    "slow_to": (
        _number(SLOW_TO_BPM),
        "Slow down gradually to this many breaths a minute by the end.",
    ),
    "tones": (
        {"type": "boolean", "default": default(BreathPattern, "tones")},
        "The rising and falling breath tones.",
    ),
    "say_inhale": (
        _text("template", default(BreathPattern, "inhale_text")),
        "The words of a spoken inhale.",
    ),
    "say_hold": (
        _text("template", default(BreathPattern, "hold_text")),
        "The words of a spoken hold.",
    ),
    "say_exhale": (
        _text("template", default(BreathPattern, "exhale_text")),
        "The words of a spoken exhale.",
    ),
}

_AT = {"anyOf": [{"enum": ["start", "halfway", "half"]}, ref("duration")]}
CUE: Table = {
    "say": (ref("template"), f"What the cue says (required). Placeholders: {PLACEHOLDERS}."),
    "at": (_AT, "When, from the start of the step (or side): a time, start or halfway."),
    "before_end": (ref("duration"), "When, before the end of the step (or side)."),
    "every": (ref("duration"), "Repeated this often until the end."),
    "from": (
        ref("duration_or_zero"),
        "With every: the first time (the default: one every in).",
    ),
    "every_breaths": (_integer(BREATHS), "On every this many inhales (with breathing)."),
    "on": (
        {"enum": list(PHASE_NAMES)},
        "On a breathing phase, in place of the pacer's words (with breathing).",
    ),
    "cycles": (_integer(BREATHS), "With on: only in the first this many cycles."),
    "voice": (ref("voice"), "The cue's voice: the fields it names in place of the step's."),
}

VOICE: Table = {
    "engine": (ref("name"), "The speech engine (see 'voiceguide voices')."),
    "voice": (ref("name"), "A voice of the engine (see 'voiceguide voices')."),
    "rate": (
        _integer((MIN_RATE, MAX_RATE)),
        "Words a minute (or speed, not both).",
    ),
    "speed": (
        _number((MIN_SPEED, MAX_SPEED)),
        "A factor of the usual rate (or rate, not both).",
    ),
    "volume": (_number(VOLUME), "0 to 1: 0.5 is 6 dB quieter."),
}

MUSIC: Table = {
    "file": (ref("text"), f"The {FORMATS} file, by a path relative to this script (or ~/...)."),
    "level_db": (
        {**_number(LEVEL_RANGE_DB), "default": default(Music, "level_db")},
        "How far under the voice it sounds (dB).",
    ),
    "fade": (
        {
            **ref("duration_or_zero"),
            "maximum": MAX_FADE_MS / 1000,
            "default": default(Music, "fade_ms"),
        },
        f"How long it fades in and out (at most {MAX_FADE_MS // 1000}s).",
    ),
}
