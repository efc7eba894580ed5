"""A step's cues: a bare text at the start, or a mapping with one timing.

The timings are ``at`` (an offset, ``start`` or ``halfway``), ``before_end``, ``every``
(with ``from``), ``every_breaths`` and ``on`` a breathing phase (with ``cycles``).
"""

from __future__ import annotations

from dataclasses import replace

from voiceguide import limits
from voiceguide.model import Cue, CueKind, Phase
from voiceguide.script.compose import Node
from voiceguide.script.fields import Fields, kind
from voiceguide.script.messages import over
from voiceguide.script.voices import voice_fields

PHASE_NAMES = {
    "inhale": Phase.INHALE,
    "hold": Phase.HOLD_IN,
    "hold_in": Phase.HOLD_IN,
    "exhale": Phase.EXHALE,
    "hold_out": Phase.HOLD_OUT,
}

CUE_KEYS = {"say", "at", "before_end", "every", "from", "every_breaths", "on", "cycles", "voice"}
CUE_TIMING_KEYS = ("at", "before_end", "every", "every_breaths", "on")


def cues(f: Fields, node: Node, field: str, *, sided: bool) -> tuple[Cue, ...]:
    """A step's ``cues`` list."""
    if not isinstance(node.value, list):
        raise f.fail(node, f"expected a list of cues, got {kind(node)}", field)
    if len(node.value) > limits.MAX_CUES_PER_STEP:
        raise f.fail(node, over(len(node.value), "cues"), field)
    return tuple(cue(f, n, f"{field}[{i}]", sided=sided) for i, n in enumerate(node.value))


def cue(f: Fields, node: Node, field: str, *, sided: bool) -> Cue:
    """One cue: a bare text (spoken at the start) or a mapping with ``say`` and one timing."""
    if isinstance(node.value, str):  # a bare string is a cue at the start
        return Cue(text=f.template(node, field, sided=sided), where=f.where(node))
    m = f.mapping(node, field, CUE_KEYS)
    keys = node.keys or {}
    text = f.template(f.required(node, m, "say", field), f"{field}.say", sided=sided)
    timing = [k for k in CUE_TIMING_KEYS if k in m]
    if len(timing) > 1:
        raise f.fail(
            keys[timing[1]],
            f"a cue has one timing; got both {timing[0]!r} and {timing[1]!r}",
            field,
        )
    own = voice_fields(f, m["voice"], f"{field}.voice") if "voice" in m else None
    plain = Cue(text=text, where=f.where(node), voice_fields=own)
    if "from" in m and timing != ["every"]:
        raise f.fail(keys["from"], "'from' goes with 'every'", f"{field}.from")
    if "cycles" in m and timing != ["on"]:
        raise f.fail(keys["cycles"], "'cycles' goes with 'on'", f"{field}.cycles")
    if not timing:
        return plain
    key = timing[0]
    value = m[key]
    sub = f"{field}.{key}"
    if key == "at":
        if value.value == "start":
            return plain
        if value.value in ("halfway", "half"):
            return replace(plain, kind=CueKind.HALFWAY)
        return replace(plain, kind=CueKind.AT, offset_ms=f.duration(value, sub))
    if key == "before_end":
        return replace(plain, kind=CueKind.BEFORE_END, offset_ms=f.duration(value, sub))
    if key == "every":
        every = f.duration(value, sub)
        start = f.duration(m["from"], f"{field}.from", allow_zero=True) if "from" in m else every
        return replace(plain, kind=CueKind.EVERY, every_ms=every, offset_ms=start)
    if key == "every_breaths":
        n = f.integer(value, sub, 1, 1000)
        return replace(plain, kind=CueKind.EVERY_BREATHS, every_breaths=n)
    phase = None if isinstance(value.value, dict | list) else PHASE_NAMES.get(str(value.value))
    if phase is None:
        raise f.fail(value, f"expected one of {', '.join(PHASE_NAMES)}, got {kind(value)}", sub)
    cycles = f.integer(m["cycles"], f"{field}.cycles", 1, 1000) if "cycles" in m else None
    return replace(plain, kind=CueKind.PHASE, phase=phase, cycles=cycles)
