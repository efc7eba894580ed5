"""The voice fields of a script: ``voice:`` and ``counting_voice:`` at the routine, a step
or a cue, and how they are inherited.

A ``voice:`` is a voice name (``voice: emma``) or a mapping of ``engine``, ``voice``,
``rate`` (words a minute) or ``speed`` (a factor of the usual rate), and ``volume``. Each
place changes only the fields it names: a step's voice is the routine's with the step's
fields in place, a cue's the step's with the cue's. A ``counting_voice:`` (the breath
words) is its own level's ``voice:`` with its fields in place.

Inheritance is resolved when the script is read (``resolve``), so every step and cue holds
the complete voice it speaks with.
"""

from __future__ import annotations

from dataclasses import replace

from voiceguide.model import DEFAULT_RATE, Step, VoiceFields, VoiceSettings
from voiceguide.script.compose import Node
from voiceguide.script.fields import Fields, kind

_SHOWN = ("engine", "voice", "rate", "speed", "volume")
VOICE_KEYS = set(_SHOWN)
MIN_SPEED, MAX_SPEED = 0.5, 2.0
MIN_RATE, MAX_RATE = 60, 400


def voice_fields(f: Fields, node: Node, field: str) -> VoiceFields:
    """A ``voice:`` value: a voice name, or a mapping of its fields."""
    if isinstance(node.value, str):
        return VoiceFields(voice=f.name(node, field))
    if not isinstance(node.value, dict):
        raise f.fail(
            node,
            f"expected a voice name or a mapping of {', '.join(_SHOWN)}, got {kind(node)}",
            field,
        )
    m = f.mapping(node, field, VOICE_KEYS)
    v = VoiceFields()
    if "engine" in m:
        v = replace(v, engine=f.name(m["engine"], f"{field}.engine"))
    if "voice" in m:
        v = replace(v, voice=f.name(m["voice"], f"{field}.voice"))
    if "rate" in m and "speed" in m:
        assert node.keys is not None
        second = max(("rate", "speed"), key=lambda k: (m[k].line, m[k].column))
        raise f.fail(
            node.keys[second],
            "give 'rate' (words a minute) or 'speed' (a factor), not both",
            f"{field}.{second}",
        )
    if "rate" in m:
        v = replace(v, rate=f.integer(m["rate"], f"{field}.rate", MIN_RATE, MAX_RATE))
    if "speed" in m:
        speed = f.number(m["speed"], f"{field}.speed", MIN_SPEED, MAX_SPEED)
        v = replace(v, rate=round(speed * DEFAULT_RATE))
    if "volume" in m:
        v = replace(v, volume=f.number(m["volume"], f"{field}.volume", 0.0, 1.0))
    return v


def resolve(step: Step, voice: VoiceSettings, counting: VoiceFields) -> Step:
    """``step`` with its complete voices, in a routine whose voice is ``voice`` and whose
    ``counting_voice:`` sets ``counting``: what the step's own script set wins, the rest
    comes from the routine."""
    own = step.voice_fields.over(voice)
    cues = tuple(
        replace(c, voice=None if c.voice_fields is None else c.voice_fields.over(own))
        for c in step.cues
    )
    counted = counting.then(step.counting_fields).over(own)
    return replace(step, voice=own, counting_voice=counted, cues=cues)
