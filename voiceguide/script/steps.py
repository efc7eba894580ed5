"""A step of a routine script: its fields, its wait, and the checks of the whole step.

A step written in a routine and an included step with overrides are read field by field
with the same readers (``read_fields``): a step must have a name and a duration, an
override changes only the fields it names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from voiceguide import limits
from voiceguide.model import CueKind, Step, VoiceFields, Wait
from voiceguide.script.breathing import breathing
from voiceguide.script.compose import Node
from voiceguide.script.counts import cycles, repeats
from voiceguide.script.cues import cues
from voiceguide.script.fields import Fields, sided
from voiceguide.script.messages import over
from voiceguide.script.music import music
from voiceguide.script.voices import voice_fields
from voiceguide.words import phrases

STEP_KEYS = {
    "wait",
    "name",
    "duration",
    "say",
    "sides",
    "switch",
    "cues",
    "breathing",
    "chime",
    "countdown",
    "voice",
    "counting_voice",
    "music",
}
WAIT_KEYS = {"pause", "say", "remind", "every", "go"}
_ATTRS = {  # the fields the model names otherwise
    "duration": "duration_ms",
    "voice": "voice_fields",
    "counting_voice": "counting_fields",
}


def read_fields(
    f: Fields,
    node: Node,
    m: dict[str, Node],
    field: str,
    *,
    sides: tuple[str, ...],
    breath_defaults: dict[str, Node],
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The step fields in ``m`` (a step's mapping) as ``Step`` attributes.

    ``sides`` are the step's own unless ``m`` names others; they decide where ``{side}``
    may be written. A field in ``required`` that ``m`` lacks is an error.
    """
    values: dict[str, Any] = {}
    if "sides" in m:
        sides = values["sides"] = read_sides(f, m["sides"], f"{field}.sides")
    has_sides = bool(sides)
    readers: dict[str, Callable[[Node, str], Any]] = {
        "name": f.name,
        "duration": f.duration,
        "say": lambda n, at: f.template(n, at, sided=has_sides),
        "switch": lambda n, at: f.template(n, at, sided=True),
        "cues": lambda n, at: cues(f, n, at, sided=has_sides),
        "breathing": lambda n, at: breathing(f, n, at, breath_defaults, sided=has_sides),
        "chime": f.boolean,
        "countdown": lambda n, at: f.integer(n, at, 0, 10),
        "wait": lambda n, at: wait(f, n, at),
        "voice": lambda n, at: voice_fields(f, n, at),
        "counting_voice": lambda n, at: voice_fields(f, n, at),
        "music": lambda n, at: music(f, n, at),
    }
    for key, read in readers.items():
        if key in m or key in required:
            value = f.required(node, m, key, field)
            values[_ATTRS.get(key, key)] = read(value, f"{field}.{key}")
    if "say" in m:
        values["say_where"] = f.where(m["say"])
    return values


def step(
    f: Fields,
    node: Node,
    field: str,
    breath_defaults: dict[str, Node],
    voices: tuple[VoiceFields, VoiceFields] = (VoiceFields(), VoiceFields()),
) -> Step:
    """A step written in the routine (``breath_defaults``: the routine's ``breathing``;
    ``voices``: what its ``voice`` and ``counting_voice`` set). Its voices are complete
    once the routine resolves them (``voices.resolve``)."""
    m = f.mapping(node, field, STEP_KEYS)
    values = read_fields(
        f, node, m, field, sides=(), breath_defaults=breath_defaults, required=("name", "duration")
    )
    values["voice_fields"] = voices[0].then(values.get("voice_fields", VoiceFields()))
    values["counting_fields"] = voices[1].then(values.get("counting_fields", VoiceFields()))
    made = Step(**{"say_where": f.where(node), **values}, where=f.where(node))
    check_step(f, made, node, field)
    return made


def override(f: Fields, step: Step, m: dict[str, Node], field: str, node: Node) -> Step:
    """An included ``step`` with the fields of ``m`` (the include's mapping) in place."""
    values = read_fields(f, node, m, field, sides=step.sides, breath_defaults={})
    for attr in ("voice_fields", "counting_fields"):  # fields set here change only those
        if attr in values:
            values[attr] = getattr(step, attr).then(values[attr])
    new = replace(step, where=f.where(node), **values)
    if not new.sides:  # the included step's own texts may speak of its sides
        pattern = new.breathing
        texts = [new.say or "", *(c.text for c in new.cues)]
        texts += [pattern.inhale_text, pattern.hold_text, pattern.exhale_text] if pattern else []
        if any(sided(text) for text in texts):
            raise f.fail(
                node.keys["sides"] if node.keys and "sides" in node.keys else node,
                "the included step's texts use {side} or {other_side}: it needs its sides",
                f"{field}.sides",
            )
    check_step(f, new, node, field)
    return new


def wait(f: Fields, node: Node, field: str) -> Wait | None:
    """``wait: true``, ``wait: 15s`` (the pause in an export), or a mapping."""
    if node.value is False:
        return None
    if node.value is True:
        return Wait()
    if not isinstance(node.value, dict):
        return Wait(pause_ms=f.duration(node, field))
    m = f.mapping(node, field, WAIT_KEYS)
    w = Wait()
    if "pause" in m:
        w = replace(w, pause_ms=f.duration(m["pause"], f"{field}.pause"))
    if "every" in m:
        w = replace(w, every_ms=f.duration(m["every"], f"{field}.every"))
    if "say" in m:
        w = replace(w, say=f.template(m["say"], f"{field}.say", sided=False))
    if "remind" in m:
        w = replace(w, remind=f.template(m["remind"], f"{field}.remind", sided=False))
    if "go" in m:
        w = replace(w, go=f.template(m["go"], f"{field}.go", sided=False))
    return w


def check_step(f: Fields, step: Step, node: Node, field: str) -> None:
    """Checks that need the whole step: cue offsets inside the step (or each side)."""
    span = step.duration_ms // max(1, len(step.sides))
    for i, cue in enumerate(step.cues):
        pos = (cue.where.line, cue.where.column)
        if cue.kind in (CueKind.AT, CueKind.BEFORE_END) and cue.offset_ms >= span:
            part = "side" if step.sides else "step"
            key = "at" if cue.kind is CueKind.AT else "before_end"
            raise f.fail(
                pos,
                f"{key}: {cue.offset_ms / 1000:g}s is not inside the {part} "
                f"({span / 1000:g}s): give a time shorter than the {part}",
                f"{field}.cues[{i}]",
            )
        if cue.kind in (CueKind.EVERY_BREATHS, CueKind.PHASE) and step.breathing is None:
            raise f.fail(
                pos,
                "a cue locked to breathing needs 'breathing' in its step",
                f"{field}.cues[{i}]",
            )
        times = repeats(cue, span, cycles(step, span)) * max(1, len(step.sides))
        if times > limits.MAX_SPOKEN_CUES:
            raise f.fail(
                pos, f"this cue {over(times, 'spoken', repeats=True)}", f"{field}.cues[{i}]"
            )
    if step.breathing and step.breathing.cycle_ms > span:
        raise f.fail(
            node,
            f"one breathing cycle ({step.breathing.cycle_ms / 1000:g}s) is longer than the "
            f"{'side' if step.sides else 'step'} ({span / 1000:g}s)",
            f"{field}.breathing",
        )


def read_sides(f: Fields, node: Node, field: str) -> tuple[str, ...]:
    """``sides: true`` (or ``both``), ``false``, or a list of two or more side names."""
    if node.value is True or node.value == "both":
        return phrases().both_sides
    if node.value is False:
        return ()
    if isinstance(node.value, list) and len(node.value) >= 2:
        if len(node.value) > limits.MAX_SIDES:
            raise f.fail(node, over(len(node.value), "sides"), field)
        return tuple(f.name(n, f"{field}[{i}]") for i, n in enumerate(node.value))
    raise f.fail(node, "expected true, 'both' or a list of at least two side names", field)
