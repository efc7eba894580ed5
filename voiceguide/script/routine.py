"""The top of a routine script: its title, voice, breathing defaults, rest, intro, outro
and the list of steps (written or included), counted against the routine-wide limits."""

from __future__ import annotations

from pathlib import Path

from voiceguide import limits
from voiceguide.model import Routine, Step, VoiceFields, VoiceSettings
from voiceguide.script.breathing import BREATH_KEYS
from voiceguide.script.compose import Node
from voiceguide.script.counts import Totals
from voiceguide.script.fields import Fields
from voiceguide.script.includes import Context, include
from voiceguide.script.messages import over
from voiceguide.script.music import music
from voiceguide.script.steps import step
from voiceguide.script.voices import resolve, voice_fields

ROUTINE_KEYS = {
    "title",
    "author",
    "intro",
    "outro",
    "voice",
    "breathing",
    "rest",
    "rest_say",
    "steps",
    "counting_voice",
    "music",
}


def routine(f: Fields, stack: tuple[Path, ...], ctx: Context, root: Node) -> Routine:
    """The routine of a script's top-level mapping (``stack``: the files being read)."""
    m = f.mapping(root, "", ROUTINE_KEYS)
    title = f.name(f.required(root, m, "title", ""), "title")
    own = voice_fields(f, m["voice"], "voice") if "voice" in m else VoiceFields()
    counting = (
        voice_fields(f, m["counting_voice"], "counting_voice")
        if "counting_voice" in m
        else VoiceFields()
    )
    settings = own.over(VoiceSettings())
    breath_defaults = (
        f.mapping(m["breathing"], "breathing", BREATH_KEYS) if "breathing" in m else {}
    )
    rest_ms = f.duration(m["rest"], "rest", allow_zero=True) if "rest" in m else 0
    steps_node = f.required(root, m, "steps", "")
    if not isinstance(steps_node.value, list) or not steps_node.value:
        raise f.fail(steps_node, "expected a non-empty list of steps", "steps")
    if len(steps_node.value) > limits.MAX_STEPS:
        raise f.fail(steps_node, over(len(steps_node.value), "steps"), "steps")
    steps: list[Step] = []
    files: list[Path] = [f.path]
    totals = Totals()
    for i, item in enumerate(steps_node.value):
        field = f"steps[{i}]"
        if isinstance(item.value, dict) and "include" in item.value:
            included, inc_files = include(f, stack, ctx, item, field)
            files.extend(p for p in inc_files if p not in files)
        else:
            included = [step(f, item, field, breath_defaults, (own, counting))]
        if len(steps) + len(included) > limits.MAX_STEPS:
            raise f.fail(item, over(len(steps) + len(included), "steps"), field)
        for one in included:
            totals.add(f, one, rest_ms if steps else 0, item, field)
            steps.append(resolve(one, settings, counting))
    intro = f.paragraphs(m["intro"], "intro") if "intro" in m else None
    outro = f.paragraphs(m["outro"], "outro") if "outro" in m else None
    for key, text in (("intro", intro), ("outro", outro)):
        if text is not None:
            paragraphs = text.count("\n\n") + 1
            if totals.spoken + paragraphs > limits.MAX_SPOKEN_CUES:
                raise f.fail(m[key], over(totals.spoken + paragraphs, "spoken"), key)
            totals.spoken += paragraphs
    return Routine(
        title=title,
        author=f.name(m["author"], "author") if "author" in m else None,
        intro=intro,
        outro=outro,
        voice=settings,
        rest_ms=rest_ms,
        rest_say=f.template(m["rest_say"], "rest_say", sided=False)
        if "rest_say" in m
        else Routine.rest_say,
        steps=tuple(steps),
        source=f.path,
        files=tuple(files),
        intro_where=f.where(m["intro"]) if "intro" in m else f.where(root),
        outro_where=f.where(m["outro"]) if "outro" in m else f.where(root),
        rest_where=f.where(m["rest_say" if "rest_say" in m else "rest"])
        if "rest" in m
        else f.where(root),
        music=music(f, m["music"], "music") if "music" in m else None,
    )
