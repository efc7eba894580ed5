"""The JSON Schema of a routine script, built from the reader's own definition of the format.

Editors complete and check a script with it (yaml-language-server: VS Code's YAML extension,
Neovim, Helix, JetBrains): ``voiceguide schema`` prints it, and the package ships it as
``voiceguide.schema.json`` beside this module. The fields each mapping allows, the names the
format knows (breathing patterns, phases, placeholders), the limits, the duration form and
the defaults are read from the reader and the model (``ROUTINE_KEYS``, ``NAMED_PATTERNS``,
``limits``, ``Step`` ...), so they cannot drift; what this module adds is each field's kind
(a fragment of schema) and description, in the tables of ``schema_fields``. A field the
reader knows and those tables do not is still allowed, undescribed (``undescribed`` names
it; a test keeps that empty). Draft-07, the draft editors' servers handle best.

A schema sees one file's values, so the reader still checks what needs more: a text's
length after its runs of spaces become one and its placeholders are filled in, ``{side}``
only in a step with sides, cues and breaths that fit inside their step or side, an
inhale and exhale longer than zero, a duration written as text within its limit, whole
numbers written as ``3.0``, the routine-wide counts (steps with includes, spoken cues,
timeline events, length), ``breathing: true`` needing routine-level defaults, and what an
include names (the file, its step, cycles). Those errors come from ``voiceguide check``.
"""

from __future__ import annotations

import json
from typing import Any

from voiceguide import limits
from voiceguide.script.breathing import BREATH_KEYS, NAMED_PATTERNS
from voiceguide.script.cues import CUE_KEYS, CUE_TIMING_KEYS
from voiceguide.script.fields import SIDED_FIELDS, TEMPLATE_FIELDS
from voiceguide.script.includes import INCLUDE_KEYS
from voiceguide.script.music import MUSIC_KEYS
from voiceguide.script.routine import ROUTINE_KEYS
from voiceguide.script.schema_fields import (
    BREATH,
    CUE,
    INCLUDE,
    MUSIC,
    ROUTINE,
    STEP,
    VOICE,
    WAIT,
    Table,
    ref,
)
from voiceguide.script.steps import STEP_KEYS, WAIT_KEYS
from voiceguide.script.voices import VOICE_KEYS
from voiceguide.units import _PART

DRAFT = "http://json-schema.org/draft-07/schema#"
FILE_NAME = "voiceguide.schema.json"

MAX_SECONDS = limits.MAX_DURATION_MS / 1000
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"  # what float() reads of a breath phase's seconds


def _template(names: set[str]) -> dict[str, Any]:
    """Text (a string or a number) whose ``{placeholders}`` are all in ``names``; ``{{``
    and ``}}`` are literal braces."""
    known = "|".join(sorted(names))
    shown = ", ".join("{" + name + "}" for name in sorted(names))
    return {
        "type": ["string", "number"],
        "pattern": rf"^(?=[\s\S]*\S)(?:[^{{}}]|\{{\{{|\}}\}}|\{{(?:{known})\}})*$",
        "patternErrorMessage": f"text with known placeholders only ({shown}); "
        "a literal brace is written {{ or }}",
    }


def _duration(*, zero: bool) -> dict[str, Any]:
    """A duration: seconds as a number, or text such as ``90s``, ``1m30s``, ``250ms``."""
    positive = "" if zero else "(?=.*[1-9])"
    bound: dict[str, Any] = {"minimum": 0} if zero else {"exclusiveMinimum": 0}
    return {
        "anyOf": [
            {"type": "number", **bound, "maximum": MAX_SECONDS},
            {
                "type": "string",
                "pattern": rf"^\s*{positive}(?:{_PART.pattern} *)+\s*$",
                "patternErrorMessage": "expected a duration such as 90s, 2m or 1m30s"
                + ("" if zero else ", longer than zero"),
            },
        ],
    }


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


def definitions() -> dict[str, Any]:
    """The shared parts: the kinds of value, and the mappings more than one field holds."""
    names = "|".join(_any_case(n) for n in NAMED_PATTERNS)
    phases = rf"{_NUMBER}\s*(?:-\s*{_NUMBER}\s*){{1,3}}"
    return {
        "text": {"type": ["string", "number"], "pattern": r"\S"},
        "name": {"type": ["string", "number"], "pattern": r"\S"},
        "paragraphs": {"type": "string", "pattern": r"\S"},
        "template": _template(TEMPLATE_FIELDS),
        "plain_template": _template(TEMPLATE_FIELDS - SIDED_FIELDS),
        "duration": _duration(zero=False),
        "duration_or_zero": _duration(zero=True),
        "pattern": {
            "anyOf": [
                {"enum": list(NAMED_PATTERNS)},
                {
                    "type": "string",
                    "pattern": rf"^\s*(?:{phases}|{names})\s*$",
                    "patternErrorMessage": "expected inhale-hold-exhale-hold seconds such as "
                    f"4-0-6-0, or one of {', '.join(NAMED_PATTERNS)}",
                },
            ],
            "description": "Inhale-hold-exhale-hold seconds such as 4-0-6-0 (or 4-6, 4-7-8), "
            "or a name: " + ", ".join(f"{n} ({p})" for n, p in NAMED_PATTERNS.items()) + ".",
        },
        "voice": {
            "anyOf": [
                {
                    "type": "string",
                    "pattern": r"\S",
                    "description": "A voice name (see 'voiceguide voices').",
                },
                {**_mapping(VOICE, VOICE_KEYS), "not": {"required": ["rate", "speed"]}},
            ],
        },
        "music": {
            "anyOf": [
                described(ref("text"), "The music file, by a path relative to this script."),
                _mapping(MUSIC, MUSIC_KEYS, required=("file",)),
            ],
        },
        "breathing_fields": _mapping(BREATH, BREATH_KEYS),
        "breathing": {
            "anyOf": [
                {"const": True, "description": "The routine's breathing defaults."},
                ref("pattern"),
                ref("breathing_fields"),
            ],
        },
        "wait": {
            "anyOf": [
                {"type": "boolean"},
                described(ref("duration"), "The pause in an export (short for pause:)."),
                _mapping(WAIT, WAIT_KEYS),
            ],
        },
        "cue": {
            "anyOf": [
                {**_template(TEMPLATE_FIELDS), "type": "string", "description": CUE_TEXT},
                {
                    **_mapping(CUE, CUE_KEYS, required=("say",)),
                    "not": {"anyOf": [{"required": list(pair)} for pair in _pairs()]},
                    "dependencies": {"from": ["every"], "cycles": ["on"]},
                },
            ],
        },
        "step": {
            **_mapping(STEP, STEP_KEYS, required=("name", "duration")),
            "allOf": [_unsided(), _locked_needs_breathing()],
        },
        "include": _include(),
    }


def _unsided() -> dict[str, Any]:
    """A step without sides speaks of none: its instruction, cues and breath words know
    no ``{side}`` or ``{other_side}`` (``switch:`` is only spoken on a later side)."""
    plain = ref("plain_template")
    return {
        "if": {"properties": {"sides": {"const": False}}},  # no sides, or sides: false
        "then": {
            "properties": {
                "say": plain,
                "cues": {
                    "items": {
                        "if": {"type": "string"},
                        "then": plain,
                        "else": {"properties": {"say": plain}},
                    }
                },
                "breathing": {"properties": {k: plain for k in SAY_BREATH}},
            }
        },
    }


SAY_BREATH = ("say_inhale", "say_hold", "say_exhale")


def _locked_needs_breathing() -> dict[str, Any]:
    """A cue locked to the breath (``on``, ``every_breaths``) needs the step's breathing."""
    locked = {"type": "object", "anyOf": [{"required": ["on"]}, {"required": ["every_breaths"]}]}
    return {
        "if": {"required": ["cues"], "properties": {"cues": {"contains": locked}}},
        "then": {"required": ["breathing"]},
    }


def _include() -> dict[str, Any]:
    """An include entry: its fields other than ``include`` and ``step`` override the one
    step it picks. There are no routine defaults to take there: no ``breathing: true``."""
    mapping = _mapping({**INCLUDE, **STEP}, INCLUDE_KEYS, required=("include",))
    breathing = mapping["properties"]["breathing"]
    breathing["allOf"] = [*breathing["allOf"], {"not": {"const": True}}]
    return {**mapping, "dependencies": {key: ["step"] for key in _ordered(STEP, STEP_KEYS)}}


CUE_TEXT = "A cue spoken right after the instruction (and after the cues before it)."


def _pairs() -> list[tuple[str, str]]:
    """Every two timings of a cue: a cue has one."""
    keys = CUE_TIMING_KEYS
    return [(a, b) for i, a in enumerate(keys) for b in keys[i + 1 :]]


def described(fragment: dict[str, Any], doc: str) -> dict[str, Any]:
    """``fragment`` with a description. Draft-07 ignores whatever stands beside a ``$ref``,
    so a reference goes into an ``allOf`` of its own."""
    if "$ref" not in fragment:
        return {**fragment, "description": doc}
    rest = {k: v for k, v in fragment.items() if k != "$ref"}
    return {"allOf": [{"$ref": fragment["$ref"]}], **rest, "description": doc}


def _ordered(table: Table, keys: set[str]) -> list[str]:
    """The reader's ``keys`` in the table's order, any the table lacks after them."""
    return [k for k in table if k in keys] + sorted(keys - set(table))


def _mapping(table: Table, keys: set[str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A mapping of the reader's ``keys`` (no others), each as ``table`` describes it."""
    properties: dict[str, Any] = {}
    for key in _ordered(table, keys):
        fragment, doc = table.get(key, ({}, "(not described)"))
        properties[key] = described(fragment, doc)
    mapping: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
    if required:
        mapping["required"] = list(required)
    return mapping


def build() -> dict[str, Any]:
    """The JSON Schema of a routine script (draft-07), as a dict."""
    top = _mapping(ROUTINE, ROUTINE_KEYS, required=("title", "steps"))
    no_defaults = {  # breathing: true takes the routine's breathing defaults
        "if": {"not": {"required": ["breathing"]}},
        "then": {
            "properties": {
                "steps": {"items": {"properties": {"breathing": {"not": {"const": True}}}}}
            }
        },
    }
    return {
        "$schema": DRAFT,
        "title": "voiceguide routine script",
        "description": "A routine script of voiceguide: a title and a list of steps, "
        "with their instructions, cues, breathing and voices. 'voiceguide check' "
        "checks what a schema cannot (lengths, timings, includes).",
        **top,
        "allOf": [no_defaults],
        "definitions": definitions(),
    }


def schema_json() -> str:
    """The schema as the shipped file holds it (and ``voiceguide schema`` prints it)."""
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def undescribed() -> list[str]:
    """Fields the reader allows that the schema's tables do not describe (``mapping.key``)."""
    found = []
    for where, table, keys in (
        ("routine", ROUTINE, ROUTINE_KEYS),
        ("step", STEP, STEP_KEYS),
        ("include", INCLUDE, INCLUDE_KEYS - STEP_KEYS),
        ("wait", WAIT, WAIT_KEYS),
        ("breathing", BREATH, BREATH_KEYS),
        ("cue", CUE, CUE_KEYS),
        ("voice", VOICE, VOICE_KEYS),
        ("music", MUSIC, MUSIC_KEYS),
    ):
        found += [f"{where}.{key}" for key in sorted(keys - set(table))]
    return found


__all__ = ["DRAFT", "FILE_NAME", "build", "schema_json", "undescribed"]
