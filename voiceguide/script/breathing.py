"""The breathing pacer of a step: a named or written pattern, phase lengths and cues.

``breathing: box``, ``breathing: 4-0-6-0``, ``breathing: true`` (the routine's defaults) or a
mapping; a step's mapping is laid over the routine-level ``breathing`` defaults.
"""

from __future__ import annotations

import math
from typing import Any

from voiceguide import limits
from voiceguide.model import BreathPattern
from voiceguide.script.compose import Node
from voiceguide.script.fields import Fields, kind
from voiceguide.script.messages import hours

NAMED_PATTERNS = {
    "relaxing": "4-0-6-0",
    "box": "4-4-4-4",
    "4-7-8": "4-7-8-0",
    "coherent": "5-0-5-0",
    "resonant": "5-0-5-0",
}

BREATH_KEYS = {
    "pattern",
    "inhale",
    "hold_in",
    "exhale",
    "hold_out",
    "spoken_cycles",
    "slow_to",
    "tones",
    "say_inhale",
    "say_hold",
    "say_exhale",
}


def breathing(
    f: Fields, node: Node, field: str, defaults: dict[str, Node], *, sided: bool
) -> BreathPattern:
    """A step's ``breathing``: a pattern name or numbers, ``true``, or a mapping laid over
    ``defaults``."""
    if node.value is True:
        if not defaults:
            raise f.fail(node, "'breathing: true' needs routine-level 'breathing' defaults", field)
        m: dict[str, Node] = dict(defaults)
    elif isinstance(node.value, str | int):
        m = {**defaults, "pattern": node}
    else:
        m = {**defaults, **f.mapping(node, field, BREATH_KEYS)}
    if "pattern" not in m:
        raise f.fail(
            node, "missing required field 'pattern' (e.g. 4-0-6-0 or box)", f"{field}.pattern"
        )
    phases = pattern(f, m["pattern"], f"{field}.pattern")
    for i, key in enumerate(("inhale", "hold_in", "exhale", "hold_out")):
        if key in m:
            phases[i] = f.duration(m[key], f"{field}.{key}", allow_zero=True)
    if phases[0] <= 0 or phases[2] <= 0:
        raise f.fail(m["pattern"], "inhale and exhale must be longer than zero", f"{field}.pattern")
    kw: dict[str, Any] = {}
    if "spoken_cycles" in m:
        kw["spoken_cycles"] = f.integer(m["spoken_cycles"], f"{field}.spoken_cycles", 0, 1000)
    if "slow_to" in m:
        kw["slow_to_bpm"] = f.number(m["slow_to"], f"{field}.slow_to", 1.0, 30.0)
        kw["slow_to_where"] = f.where(m["slow_to"])
    if "tones" in m:
        kw["tones"] = f.boolean(m["tones"], f"{field}.tones")
    for key, attr in (
        ("say_inhale", "inhale_text"),
        ("say_hold", "hold_text"),
        ("say_exhale", "exhale_text"),
    ):
        if key in m:
            kw[attr] = f.template(m[key], f"{field}.{key}", sided=sided)
    inhale, hold_in, exhale, hold_out = phases
    return BreathPattern(inhale, hold_in, exhale, hold_out, **kw)


def pattern(f: Fields, node: Node, field: str) -> list[int]:
    """``4-0-6-0`` (or ``4-6``, ``4-7-8``, a name such as ``box``) as the four phases in ms."""
    raw = "" if isinstance(node.value, dict | list) else str(node.value).strip().lower()
    raw = NAMED_PATTERNS.get(raw, raw)
    parts = raw.split("-")
    try:
        seconds = [float(p) for p in parts]
    except ValueError:
        seconds = []
    if len(seconds) not in (2, 3, 4) or not all(0 <= s < math.inf for s in seconds):
        names = ", ".join(NAMED_PATTERNS)
        raise f.fail(
            node,
            f"expected inhale-hold-exhale-hold seconds such as 4-0-6-0, or one of {names}; "
            f"got {kind(node)}",
            field,
        )
    if any(s * 1000 > limits.MAX_DURATION_MS for s in seconds):
        raise f.fail(
            node,
            f"a breath phase is longer than the limit of {hours(limits.MAX_DURATION_MS)} "
            "for one duration",
            field,
        )
    if len(seconds) == 2:
        seconds = [seconds[0], 0, seconds[1], 0]
    elif len(seconds) == 3:
        seconds = [*seconds, 0]
    return [round(s * 1000) for s in seconds]
