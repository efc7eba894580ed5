"""Routine scripts (YAML) -> the model, with every error pointing at ``file:line:col``.

The YAML is parsed into events (PyYAML's safe loader) and composed here into nodes that
keep each value's position; values are then checked field by field. Composing counts every
node, aliases as copies of what they name, so recursive aliases and alias bombs are refused
before anything is built. Every size is held to ``voiceguide.limits``. Text may not hold
control characters (raw or escaped): they would reach terminals, tags and subtitles.

Includes are resolved relative to the including file and must name a routine script inside
the folder tree of the script being loaded, or in the built-in library (symlinks
followed); include cycles are errors. See the README for the format.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from voiceguide import limits
from voiceguide.errors import ScriptError
from voiceguide.model import (
    BreathPattern,
    Cue,
    CueKind,
    Phase,
    Routine,
    Step,
    VoiceSettings,
    Wait,
    Where,
)
from voiceguide.paths import scripts_dir
from voiceguide.units import clock, parse_duration

if hasattr(yaml, "CSafeLoader"):  # PyYAML's wheels bundle libyaml: several times faster

    class _Loader(yaml.CSafeLoader):
        """A safe loader where only true/false are booleans (YAML 1.2): ``on: inhale`` is
        a key."""

else:  # pragma: no cover - a PyYAML built without libyaml

    class _Loader(yaml.SafeLoader):  # type: ignore[no-redef]
        """A safe loader where only true/false are booleans (YAML 1.2): ``on: inhale`` is
        a key."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)

NAMED_PATTERNS = {
    "relaxing": "4-0-6-0",
    "box": "4-4-4-4",
    "4-7-8": "4-7-8-0",
    "coherent": "5-0-5-0",
    "resonant": "5-0-5-0",
}
TEMPLATE_FIELDS = {"side", "other_side", "remaining", "next", "step", "title", "duration"}
SIDED_FIELDS = {"side", "other_side"}
PHASE_NAMES = {
    "inhale": Phase.INHALE,
    "hold": Phase.HOLD_IN,
    "hold_in": Phase.HOLD_IN,
    "exhale": Phase.EXHALE,
    "hold_out": Phase.HOLD_OUT,
}

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
}
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
}
INCLUDE_KEYS = {"include", "step"} | STEP_KEYS
CUE_KEYS = {"say", "at", "before_end", "every", "from", "every_breaths", "on", "cycles"}
CUE_TIMING_KEYS = ("at", "before_end", "every", "every_breaths", "on")
WAIT_KEYS = {"pause", "say", "remind", "every", "go"}
VOICE_KEYS = {"engine", "voice", "rate", "volume"}
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


SCRIPT_SUFFIXES = (".yaml", ".yml")

# No text may hold these: C0 and C1 control characters but tab and line breaks, DEL, lone
# surrogates, non-characters, and the bidirectional controls that reorder what is shown.
_FORBIDDEN = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
    r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass
class Node:
    """A YAML value with its position; mappings keep their keys' positions too."""

    value: Any
    line: int
    column: int
    keys: dict[str, tuple[int, int]] | None = None


@dataclass
class _Context:
    """What one load shares with its includes: the folders includes may come from, and
    each script read so far (read once, however often it is included), with the resolved
    paths of the files it read."""

    roots: tuple[Path, ...]
    loaded: dict[Path, tuple[Routine, frozenset[Path]]] = field(default_factory=dict)


@dataclass
class _Totals:
    """What the steps so far add up to, held to the routine-wide limits."""

    spoken: int = 0
    events: int = 0
    ms: int = 0


class _Reader:
    """Reads one file's nodes into model values, raising ScriptError with positions."""

    def __init__(self, path: Path, stack: tuple[Path, ...], ctx: _Context) -> None:
        self.path = path
        self.stack = stack
        self.ctx = ctx

    def fail(
        self, node: Node | tuple[int, int], message: str, field: str | None = None
    ) -> ScriptError:
        line, column = (node.line, node.column) if isinstance(node, Node) else node
        return ScriptError(self.path, line, column, message, field)

    def where(self, node: Node) -> Where:
        return Where(str(self.path), node.line, node.column)

    # -- generic field readers ------------------------------------------------------
    def mapping(self, node: Node, field: str, allowed: set[str]) -> dict[str, Node]:
        if not isinstance(node.value, dict):
            raise self.fail(node, f"expected a mapping, got {_kind(node)}", field)
        assert node.keys is not None
        for key in node.value:
            if key not in allowed:
                hint = difflib.get_close_matches(key, sorted(allowed), n=1)
                extra = (
                    f"; did you mean {hint[0]!r}?"
                    if hint
                    else f" (allowed: {', '.join(sorted(allowed))})"
                )
                raise self.fail(
                    node.keys[key],
                    f"unknown field {_excerpt(key)}{extra}",
                    _join(field, _excerpt(key, quote=False)),
                )
        return dict(node.value)

    def required(self, node: Node, m: dict[str, Node], key: str, field: str) -> Node:
        if key not in m:
            raise self.fail(node, f"missing required field {key!r}", _join(field, key))
        return m[key]

    def text(self, node: Node, field: str, limit: int = limits.MAX_TEXT_CHARS) -> str:
        if (
            isinstance(node.value, bool)
            or node.value is None
            or isinstance(node.value, dict | list)
        ):
            raise self.fail(node, f"expected text, got {_kind(node)}", field)
        text = " ".join(str(node.value).split())
        if not text:
            raise self.fail(node, "text is empty", field)
        if len(text) > limit:
            raise self.fail(node, _too_long(len(text), limit), field)
        return text

    def name(self, node: Node, field: str) -> str:
        """A title, author, step, side or voice name: short text."""
        return self.text(node, field, limits.MAX_NAME_CHARS)

    def paragraphs(self, node: Node, field: str) -> str:
        """Text that keeps blank-line paragraph breaks (intro and outro)."""
        if not isinstance(node.value, str):
            raise self.fail(node, f"expected text, got {_kind(node)}", field)
        paras = [" ".join(p.split()) for p in node.value.split("\n\n")]
        paras = [p for p in paras if p]
        if not paras:
            raise self.fail(node, "text is empty", field)
        longest = max(len(p) for p in paras)
        if longest > limits.MAX_TEXT_CHARS:
            raise self.fail(node, f"a paragraph {_too_long(longest, limits.MAX_TEXT_CHARS)}", field)
        return "\n\n".join(paras)

    def duration(self, node: Node, field: str, *, allow_zero: bool = False) -> int:
        value = node.value
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, f"expected a finite duration, got {value}", field)
        try:
            ms = parse_duration(value)
        except (ValueError, TypeError, AttributeError):
            if isinstance(value, float) and value > 0:  # too many milliseconds for a float
                ms = limits.MAX_DURATION_MS + 1
            else:
                raise self.fail(
                    node,
                    f"expected a duration such as 90s, 2m or 1m30s, got {_kind(node)}",
                    field,
                ) from None
        if ms <= 0 and not allow_zero:
            raise self.fail(node, "must be longer than zero", field)
        if ms > limits.MAX_DURATION_MS:
            raise self.fail(
                node,
                f"{_excerpt(value)} is longer than the limit of {_hours(limits.MAX_DURATION_MS)} "
                "for one duration",
                field,
            )
        return ms

    def integer(self, node: Node, field: str, low: int, high: int) -> int:
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise self.fail(node, f"expected a whole number, got {_kind(node)}", field)
        if not low <= node.value <= high:
            raise self.fail(
                node, f"must be between {low} and {high}, got {_excerpt(node.value)}", field
            )
        return int(node.value)

    def number(self, node: Node, field: str, low: float, high: float) -> float:
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise self.fail(node, f"expected a number, got {_kind(node)}", field)
        if not low <= node.value <= high:
            raise self.fail(
                node, f"must be between {low} and {high}, got {_excerpt(node.value)}", field
            )
        return float(node.value)

    def boolean(self, node: Node, field: str) -> bool:
        if not isinstance(node.value, bool):
            raise self.fail(node, f"expected true or false, got {_kind(node)}", field)
        return node.value

    def template(self, node: Node, field: str, *, sided: bool) -> str:
        text = self.text(node, field)
        try:
            parts = [
                (name, spec, conversion)
                for _, name, spec, conversion in string.Formatter().parse(text)
                if name is not None
            ]
        except ValueError as exc:
            raise self.fail(node, f"bad template: {exc}", field) from None
        for name, spec, conversion in parts:
            if name not in TEMPLATE_FIELDS:
                known = ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS))
                raise self.fail(
                    node,
                    f"unknown placeholder {{{_excerpt(name, quote=False)}}} (known: {known})",
                    field,
                )
            if spec or conversion:
                raise self.fail(node, f"a placeholder takes no format: write {{{name}}}", field)
            if name in SIDED_FIELDS and not sided:
                raise self.fail(node, f"{{{name}}} is only known in a step with sides", field)
        return text

    # -- the routine --------------------------------------------------------------
    def routine(self, root: Node) -> Routine:
        m = self.mapping(root, "", ROUTINE_KEYS)
        title = self.name(self.required(root, m, "title", ""), "title")
        voice = self.voice(m["voice"]) if "voice" in m else VoiceSettings()
        breath_defaults = (
            self.mapping(m["breathing"], "breathing", BREATH_KEYS) if "breathing" in m else {}
        )
        rest_ms = self.duration(m["rest"], "rest", allow_zero=True) if "rest" in m else 0
        steps_node = self.required(root, m, "steps", "")
        if not isinstance(steps_node.value, list) or not steps_node.value:
            raise self.fail(steps_node, "expected a non-empty list of steps", "steps")
        if len(steps_node.value) > limits.MAX_STEPS:
            raise self.fail(steps_node, _over(len(steps_node.value), "steps"), "steps")
        steps: list[Step] = []
        files: list[Path] = [self.path]
        totals = _Totals()
        for i, item in enumerate(steps_node.value):
            field = f"steps[{i}]"
            if isinstance(item.value, dict) and "include" in item.value:
                included, inc_files = self.include(item, field)
                files.extend(f for f in inc_files if f not in files)
            else:
                included = [self.step(item, field, breath_defaults)]
            if len(steps) + len(included) > limits.MAX_STEPS:
                raise self.fail(item, _over(len(steps) + len(included), "steps"), field)
            for step in included:
                self.add_up(totals, step, rest_ms if steps else 0, item, field)
                steps.append(step)
        intro = self.paragraphs(m["intro"], "intro") if "intro" in m else None
        outro = self.paragraphs(m["outro"], "outro") if "outro" in m else None
        for key, text in (("intro", intro), ("outro", outro)):
            if text is not None:
                paragraphs = text.count("\n\n") + 1
                if totals.spoken + paragraphs > limits.MAX_SPOKEN_CUES:
                    raise self.fail(m[key], _over(totals.spoken + paragraphs, "spoken"), key)
                totals.spoken += paragraphs
        return Routine(
            title=title,
            author=self.name(m["author"], "author") if "author" in m else None,
            intro=intro,
            outro=outro,
            voice=voice,
            rest_ms=rest_ms,
            rest_say=self.template(m["rest_say"], "rest_say", sided=False)
            if "rest_say" in m
            else Routine.rest_say,
            steps=tuple(steps),
            source=self.path,
            files=tuple(files),
            intro_where=self.where(m["intro"]) if "intro" in m else self.where(root),
            outro_where=self.where(m["outro"]) if "outro" in m else self.where(root),
            rest_where=self.where(m["rest_say" if "rest_say" in m else "rest"])
            if "rest" in m
            else self.where(root),
        )

    def add_up(self, totals: _Totals, step: Step, rest_ms: int, node: Node, field: str) -> None:
        """Add a step (and the rest before it) to the totals; refuse what goes over a limit."""
        spoken, events = _step_counts(step)
        totals.spoken += spoken + (1 if rest_ms else 0)
        totals.events += events + spoken + (2 if rest_ms else 0)
        totals.ms += step.duration_ms + rest_ms + (step.wait.pause_ms if step.wait else 0)
        if totals.spoken > limits.MAX_SPOKEN_CUES:
            raise self.fail(node, _over(totals.spoken, "spoken"), field)
        if totals.events > limits.MAX_EVENTS:
            raise self.fail(node, _over(totals.events, "events"), field)
        if totals.ms > limits.MAX_ROUTINE_MS:
            raise self.fail(
                node,
                f"the routine would last {clock(totals.ms)} by the end of this step, longer "
                f"than the limit of {_hours(limits.MAX_ROUTINE_MS)} for a routine",
                field,
            )

    def voice(self, node: Node) -> VoiceSettings:
        m = self.mapping(node, "voice", VOICE_KEYS)
        v = VoiceSettings()
        if "engine" in m:
            v = replace(v, engine=self.name(m["engine"], "voice.engine"))
        if "voice" in m:
            v = replace(v, voice=self.name(m["voice"], "voice.voice"))
        if "rate" in m:
            v = replace(v, rate=self.integer(m["rate"], "voice.rate", 60, 400))
        if "volume" in m:
            v = replace(v, volume=self.number(m["volume"], "voice.volume", 0.0, 1.0))
        return v

    def include_target(self, node: Node, ref: str, field: str) -> Path:
        """The script an include names, if it may be read: a routine script (.yaml) inside
        the folder tree of the script being loaded, or in the built-in library."""
        target = Path(os.path.normpath(self.path.parent / ref))
        shown = _excerpt(ref, quote=False)
        if target.suffix not in SCRIPT_SUFFIXES:
            raise self.fail(node, f"an include names a routine script (.yaml), not {shown}", field)
        try:
            real = target.resolve()
        except (OSError, RuntimeError):  # a symlink loop
            raise self.fail(node, f"included script not found: {shown}", field) from None
        if not any(real.is_relative_to(root) for root in self.ctx.roots):
            raise self.fail(
                node,
                f"included script {shown} is outside this script's folder and the built-in "
                "library; an include must name a script inside them",
                field,
            )
        if real in self.stack:
            raise self.fail(node, f"include cycle: {shown} includes itself", field)
        if not target.is_file():
            raise self.fail(node, f"included script not found: {shown}", field)
        if len(self.stack) >= limits.MAX_INCLUDE_DEPTH:
            raise self.fail(
                node,
                f"includes nest more than {limits.MAX_INCLUDE_DEPTH} deep (the limit)",
                field,
            )
        return target

    def include(self, node: Node, field: str) -> tuple[list[Step], tuple[Path, ...]]:
        m = self.mapping(node, field, INCLUDE_KEYS)
        ref = self.text(m["include"], f"{field}.include")
        target = self.include_target(m["include"], ref, f"{field}.include")
        real = target.resolve()
        if real in self.ctx.loaded:
            routine, read = self.ctx.loaded[real]
            if read & set(self.stack):
                raise self.fail(
                    m["include"],
                    f"include cycle: {_excerpt(ref, quote=False)} includes this script",
                    f"{field}.include",
                )
        else:
            if len(self.ctx.loaded) + len(self.stack) + 1 > limits.MAX_INCLUDED_FILES:
                raise self.fail(
                    m["include"],
                    f"the routine reads more than {limits.MAX_INCLUDED_FILES} script files "
                    "(the limit)",
                    f"{field}.include",
                )
            routine = _load(target, self.stack, self.ctx)
        overrides = {k: v for k, v in m.items() if k not in ("include", "step")}
        if "step" not in m:
            if overrides:
                key = next(iter(overrides))
                raise self.fail(
                    node.keys[key] if node.keys else node,
                    "overrides need 'step' to pick one step of the included script",
                    _join(field, key),
                )
            return list(routine.steps), routine.files
        wanted = self.name(m["step"], f"{field}.step")
        matches = [s for s in routine.steps if s.name.casefold() == wanted.casefold()]
        if not matches:
            names = _excerpt(", ".join(repr(s.name) for s in routine.steps), quote=False, limit=200)
            raise self.fail(
                m["step"],
                f"no step {_excerpt(wanted)} in {_excerpt(ref, quote=False)} (steps: {names})",
                f"{field}.step",
            )
        step = matches[0]
        if overrides:
            step = self.override(step, overrides, field, node)
        return [step], routine.files

    def override(self, step: Step, m: dict[str, Node], field: str, node: Node) -> Step:
        sided = bool(self.sides(m["sides"], f"{field}.sides")) if "sides" in m else bool(step.sides)
        changes: dict[str, Any] = {"where": self.where(node)}
        if "name" in m:
            changes["name"] = self.name(m["name"], f"{field}.name")
        if "duration" in m:
            changes["duration_ms"] = self.duration(m["duration"], f"{field}.duration")
        if "say" in m:
            changes["say"] = self.template(m["say"], f"{field}.say", sided=sided)
        if "sides" in m:
            changes["sides"] = self.sides(m["sides"], f"{field}.sides")
        if "switch" in m:
            changes["switch"] = self.template(m["switch"], f"{field}.switch", sided=True)
        if "cues" in m:
            changes["cues"] = self.cues(m["cues"], f"{field}.cues", sided=sided)
        if "breathing" in m:
            changes["breathing"] = self.breathing(
                m["breathing"], f"{field}.breathing", {}, sided=sided
            )
        if "chime" in m:
            changes["chime"] = self.boolean(m["chime"], f"{field}.chime")
        if "countdown" in m:
            changes["countdown"] = self.integer(m["countdown"], f"{field}.countdown", 0, 10)
        if "wait" in m:
            changes["wait"] = self.wait(m["wait"], f"{field}.wait")
        new = replace(step, **changes)
        if not new.sides:  # the included step's own texts may speak of its sides
            pattern = new.breathing
            texts = [new.say or "", *(c.text for c in new.cues)]
            texts += (
                [pattern.inhale_text, pattern.hold_text, pattern.exhale_text] if pattern else []
            )
            if any(_sided(text) for text in texts):
                raise self.fail(
                    node.keys["sides"] if node.keys and "sides" in node.keys else node,
                    "the included step's texts use {side} or {other_side}: it needs its sides",
                    f"{field}.sides",
                )
        self.check_step(new, node, field)
        return new

    def step(self, node: Node, field: str, breath_defaults: dict[str, Node]) -> Step:
        m = self.mapping(node, field, STEP_KEYS)
        sides = self.sides(m["sides"], f"{field}.sides") if "sides" in m else ()
        sided = bool(sides)
        step = Step(
            name=self.name(self.required(node, m, "name", field), f"{field}.name"),
            duration_ms=self.duration(
                self.required(node, m, "duration", field), f"{field}.duration"
            ),
            say=self.template(m["say"], f"{field}.say", sided=sided) if "say" in m else None,
            sides=sides,
            switch=self.template(m["switch"], f"{field}.switch", sided=True)
            if "switch" in m
            else Step.switch,
            cues=self.cues(m["cues"], f"{field}.cues", sided=sided) if "cues" in m else (),
            breathing=self.breathing(
                m["breathing"], f"{field}.breathing", breath_defaults, sided=sided
            )
            if "breathing" in m
            else None,
            chime=self.boolean(m["chime"], f"{field}.chime") if "chime" in m else True,
            countdown=self.integer(m["countdown"], f"{field}.countdown", 0, 10)
            if "countdown" in m
            else 0,
            wait=self.wait(m["wait"], f"{field}.wait") if "wait" in m else None,
            where=self.where(node),
        )
        self.check_step(step, node, field)
        return step

    def wait(self, node: Node, field: str) -> Wait | None:
        """``wait: true``, ``wait: 15s`` (the pause in an export), or a mapping."""
        if node.value is False:
            return None
        if node.value is True:
            return Wait()
        if not isinstance(node.value, dict):
            return Wait(pause_ms=self.duration(node, field))
        m = self.mapping(node, field, WAIT_KEYS)
        w = Wait()
        if "pause" in m:
            w = replace(w, pause_ms=self.duration(m["pause"], f"{field}.pause"))
        if "every" in m:
            w = replace(w, every_ms=self.duration(m["every"], f"{field}.every"))
        if "say" in m:
            w = replace(w, say=self.template(m["say"], f"{field}.say", sided=False))
        if "remind" in m:
            w = replace(w, remind=self.template(m["remind"], f"{field}.remind", sided=False))
        if "go" in m:
            w = replace(w, go=self.template(m["go"], f"{field}.go", sided=False))
        return w

    def check_step(self, step: Step, node: Node, field: str) -> None:
        """Checks that need the whole step: cue offsets inside the step (or each side)."""
        span = step.duration_ms // max(1, len(step.sides))
        for i, cue in enumerate(step.cues):
            pos = (cue.where.line, cue.where.column)
            if cue.kind in (CueKind.AT, CueKind.BEFORE_END) and cue.offset_ms >= span:
                raise self.fail(
                    pos,
                    f"offset {cue.offset_ms / 1000:g}s is not inside the "
                    f"{'side' if step.sides else 'step'} ({span / 1000:g}s)",
                    f"{field}.cues[{i}]",
                )
            if cue.kind in (CueKind.EVERY_BREATHS, CueKind.PHASE) and step.breathing is None:
                raise self.fail(
                    pos,
                    "a cue locked to breathing needs 'breathing' in its step",
                    f"{field}.cues[{i}]",
                )
            repeats = _repeats(cue, span, _cycles(step, span)) * max(1, len(step.sides))
            if repeats > limits.MAX_SPOKEN_CUES:
                raise self.fail(
                    pos, f"this cue {_over(repeats, 'spoken', repeats=True)}", f"{field}.cues[{i}]"
                )
        if step.breathing and step.breathing.cycle_ms > span:
            raise self.fail(
                node,
                f"one breathing cycle ({step.breathing.cycle_ms / 1000:g}s) is longer than the "
                f"{'side' if step.sides else 'step'} ({span / 1000:g}s)",
                f"{field}.breathing",
            )

    def sides(self, node: Node, field: str) -> tuple[str, ...]:
        if node.value is True or node.value == "both":
            return ("right", "left")
        if node.value is False:
            return ()
        if isinstance(node.value, list) and len(node.value) >= 2:
            if len(node.value) > limits.MAX_SIDES:
                raise self.fail(node, _over(len(node.value), "sides"), field)
            return tuple(self.name(n, f"{field}[{i}]") for i, n in enumerate(node.value))
        raise self.fail(node, "expected true, 'both' or a list of at least two side names", field)

    def cues(self, node: Node, field: str, *, sided: bool) -> tuple[Cue, ...]:
        if not isinstance(node.value, list):
            raise self.fail(node, f"expected a list of cues, got {_kind(node)}", field)
        if len(node.value) > limits.MAX_CUES_PER_STEP:
            raise self.fail(node, _over(len(node.value), "cues"), field)
        return tuple(self.cue(n, f"{field}[{i}]", sided=sided) for i, n in enumerate(node.value))

    def cue(self, node: Node, field: str, *, sided: bool) -> Cue:
        if isinstance(node.value, str):  # a bare string is a cue at the start
            return Cue(text=self.template(node, field, sided=sided), where=self.where(node))
        m = self.mapping(node, field, CUE_KEYS)
        keys = node.keys or {}
        text = self.template(self.required(node, m, "say", field), f"{field}.say", sided=sided)
        timing = [k for k in CUE_TIMING_KEYS if k in m]
        if len(timing) > 1:
            raise self.fail(
                keys[timing[1]],
                f"a cue has one timing; got both {timing[0]!r} and {timing[1]!r}",
                field,
            )
        cue = Cue(text=text, where=self.where(node))
        if "from" in m and timing != ["every"]:
            raise self.fail(keys["from"], "'from' goes with 'every'", f"{field}.from")
        if "cycles" in m and timing != ["on"]:
            raise self.fail(keys["cycles"], "'cycles' goes with 'on'", f"{field}.cycles")
        if not timing:
            return cue
        key = timing[0]
        value = m[key]
        sub = f"{field}.{key}"
        if key == "at":
            if value.value == "start":
                return cue
            if value.value in ("halfway", "half"):
                return replace(cue, kind=CueKind.HALFWAY)
            return replace(cue, kind=CueKind.AT, offset_ms=self.duration(value, sub))
        if key == "before_end":
            return replace(cue, kind=CueKind.BEFORE_END, offset_ms=self.duration(value, sub))
        if key == "every":
            every = self.duration(value, sub)
            start = (
                self.duration(m["from"], f"{field}.from", allow_zero=True) if "from" in m else every
            )
            return replace(cue, kind=CueKind.EVERY, every_ms=every, offset_ms=start)
        if key == "every_breaths":
            n = self.integer(value, sub, 1, 1000)
            return replace(cue, kind=CueKind.EVERY_BREATHS, every_breaths=n)
        phase = None if isinstance(value.value, dict | list) else PHASE_NAMES.get(str(value.value))
        if phase is None:
            raise self.fail(
                value, f"expected one of {', '.join(PHASE_NAMES)}, got {_kind(value)}", sub
            )
        cycles = self.integer(m["cycles"], f"{field}.cycles", 1, 1000) if "cycles" in m else None
        return replace(cue, kind=CueKind.PHASE, phase=phase, cycles=cycles)

    def breathing(
        self, node: Node, field: str, defaults: dict[str, Node], *, sided: bool
    ) -> BreathPattern:
        if node.value is True:
            if not defaults:
                raise self.fail(
                    node, "'breathing: true' needs routine-level 'breathing' defaults", field
                )
            m: dict[str, Node] = dict(defaults)
        elif isinstance(node.value, str | int):
            m = {**defaults, "pattern": node}
        else:
            m = {**defaults, **self.mapping(node, field, BREATH_KEYS)}
        if "pattern" not in m:
            raise self.fail(
                node, "missing required field 'pattern' (e.g. 4-0-6-0 or box)", f"{field}.pattern"
            )
        phases = self.pattern(m["pattern"], f"{field}.pattern")
        for i, key in enumerate(("inhale", "hold_in", "exhale", "hold_out")):
            if key in m:
                phases[i] = self.duration(m[key], f"{field}.{key}", allow_zero=True)
        if phases[0] <= 0 or phases[2] <= 0:
            raise self.fail(
                m["pattern"], "inhale and exhale must be longer than zero", f"{field}.pattern"
            )
        kw: dict[str, Any] = {}
        if "spoken_cycles" in m:
            kw["spoken_cycles"] = self.integer(
                m["spoken_cycles"], f"{field}.spoken_cycles", 0, 1000
            )
        if "slow_to" in m:
            kw["slow_to_bpm"] = self.number(m["slow_to"], f"{field}.slow_to", 1.0, 30.0)
        if "tones" in m:
            kw["tones"] = self.boolean(m["tones"], f"{field}.tones")
        for key, attr in (
            ("say_inhale", "inhale_text"),
            ("say_hold", "hold_text"),
            ("say_exhale", "exhale_text"),
        ):
            if key in m:
                kw[attr] = self.template(m[key], f"{field}.{key}", sided=sided)
        inhale, hold_in, exhale, hold_out = phases
        return BreathPattern(inhale, hold_in, exhale, hold_out, **kw)

    def pattern(self, node: Node, field: str) -> list[int]:
        raw = "" if isinstance(node.value, dict | list) else str(node.value).strip().lower()
        raw = NAMED_PATTERNS.get(raw, raw)
        parts = raw.split("-")
        try:
            seconds = [float(p) for p in parts]
        except ValueError:
            seconds = []
        if len(seconds) not in (2, 3, 4) or not all(0 <= s < math.inf for s in seconds):
            names = ", ".join(NAMED_PATTERNS)
            raise self.fail(
                node,
                f"expected inhale-hold-exhale-hold seconds such as 4-0-6-0, or one of {names}; "
                f"got {_kind(node)}",
                field,
            )
        if any(s * 1000 > limits.MAX_DURATION_MS for s in seconds):
            raise self.fail(
                node,
                f"a breath phase is longer than the limit of {_hours(limits.MAX_DURATION_MS)} "
                "for one duration",
                field,
            )
        if len(seconds) == 2:
            seconds = [seconds[0], 0, seconds[1], 0]
        elif len(seconds) == 3:
            seconds = [*seconds, 0]
        return [round(s * 1000) for s in seconds]


def _kind(node: Node) -> str:
    v = node.value
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if v is None:
        return "nothing"
    return _excerpt(v)


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _excerpt(value: object, *, quote: bool = True, limit: int = limits.EXCERPT_CHARS) -> str:
    """A value as an error quotes it: its repr (or text), cut to ``limit`` characters, so no
    message repeats much of a file that may not be a routine script at all."""
    text = repr(value) if quote else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _sided(text: str) -> bool:
    """Whether a (valid) template speaks of sides."""
    return any(name in SIDED_FIELDS for _, name, _, _ in string.Formatter().parse(text))


def _hours(ms: int) -> str:
    return f"{ms / 3_600_000:g} hours"


def _too_long(chars: int, limit: int) -> str:
    return f"is {chars} characters long, more than the limit of {limit}"


_WHAT = {
    "steps": (limits.MAX_STEPS, "steps in a routine"),
    "cues": (limits.MAX_CUES_PER_STEP, "cues in a step"),
    "sides": (limits.MAX_SIDES, "sides in a step"),
    "spoken": (limits.MAX_SPOKEN_CUES, "spoken cues in a routine"),
    "events": (limits.MAX_EVENTS, "timeline events in a routine"),
}


def _over(count: int, what: str, *, repeats: bool = False) -> str:
    """``count`` goes over the limit named ``what``: the message says so, naming the limit."""
    limit, noun = _WHAT[what]
    if repeats:
        return f"is spoken {count} times, more than the limit of {limit} {noun}"
    return f"makes {count} {noun.split(' in ')[0]}, more than the limit of {limit} {noun}"


def _cycles(step: Step, span: int) -> int:
    """At most how many breathing cycles fit in one side (or the step)."""
    return span // step.breathing.cycle_ms + 1 if step.breathing else 0


def _repeats(cue: Cue, span: int, cycles: int) -> int:
    """At most how often ``cue`` is spoken in one side (or the step) of ``span`` ms."""
    if cue.kind is CueKind.EVERY:
        return max(0, span - cue.offset_ms) // max(1, cue.every_ms) + 1
    if cue.kind is CueKind.PHASE:
        return cycles if cue.cycles is None else min(cycles, cue.cycles)
    if cue.kind is CueKind.EVERY_BREATHS:
        return cycles // max(1, cue.every_breaths)
    return 1


def _step_counts(step: Step) -> tuple[int, int]:
    """Upper bounds of a step's utterances and of its other timeline events (tones, chimes,
    ticks, silences), as the compiler lays it out."""
    sides = max(1, len(step.sides))
    span = step.duration_ms // sides
    cycles = _cycles(step, span)
    spoken = 1 + sum(_repeats(c, span, cycles) for c in step.cues)
    other = 1 + step.countdown
    if step.breathing:
        spoken += min(step.breathing.spoken_cycles, cycles) * 4
        other += cycles * 4 if step.breathing.tones else 0
    waiting = (2, 2) if step.wait else (0, 0)
    return spoken * sides + waiting[0], other * sides + waiting[1]


def _position(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of ``text[index]``."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _forbidden(text: str) -> str:
    """What an error says of the first character in ``text`` that no text may hold."""
    found = _FORBIDDEN.search(text)
    assert found is not None
    ch = found.group()
    kind = "bidirectional control" if _BIDI.match(ch) else "control character"
    return f"{kind} U+{ord(ch):04X} is not allowed in a script (remove it)"


def _too_many() -> str:
    return f"the script has more than {limits.MAX_YAML_NODES} values (the limit)"


def _check_anchor(
    name: str,
    anchors: dict[str, tuple[Node, int, int]],
    opened: set[str],
    pos: tuple[int, int],
    fail: Callable[..., ScriptError],
) -> None:
    if name in anchors or name in opened:
        raise fail(pos, f"anchor &{_excerpt(name, quote=False)} is defined twice")


_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
# The only tags a script may write out: YAML's core types (scripts need none of them).
_SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}
_COLLECTION_TAGS = {"!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _tag_refused(tag: str) -> str:
    return f"YAML tag {_excerpt(tag, quote=False)} is not allowed in a script"


def _scalar(loader: _Loader, event: Any, fail: Callable[..., ScriptError]) -> Any:
    """A scalar's value, typed as the safe loader types it (text the quick way); explicit
    tags other than YAML's core types are refused, and so is a value its tag cannot read."""
    pos = (event.start_mark.line + 1, event.start_mark.column + 1)
    tag = event.tag
    if tag is not None and tag != "!" and tag not in _SCALAR_TAGS:
        raise fail(pos, _tag_refused(tag))
    if tag is None or tag == "!":
        if not event.implicit[0]:  # quoted or a block: text
            return event.value
        tag = loader.resolve(  # type: ignore[no-untyped-call]
            yaml.ScalarNode, event.value, event.implicit
        )
    if tag == _STR_TAG:
        return event.value
    value = event.value
    if tag == _INT_TAG and value.isascii() and value.isdigit() and value[0] != "0":
        return int(value)  # what the constructor does (0-led digits are octal), quicker
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return loader.construct_object(node)
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError):
        short = tag.rsplit(":", 1)[-1]
        raise fail(pos, f"not a valid {short}: {_excerpt(value)}") from None


def _too_deep() -> str:
    return f"lists and mappings nest more than {limits.MAX_YAML_DEPTH} deep (the limit)"


@dataclass
class _Open:
    """A list or mapping being composed."""

    node: Node
    anchor: str | None
    start: int  # the node count when it opened
    depth: int  # 1 for the top level
    deepest: int  # the deepest level inside it so far
    key: tuple[str, tuple[int, int]] | None = None  # a mapping's key awaiting its value


def _compose(text: str, fail: Callable[..., ScriptError]) -> Node | None:
    """The one YAML document in ``text`` as nodes, or None when there is none.

    Composed from the parser's events, iteratively: each node is counted, an alias as
    many nodes as what it names (an alias bomb is refused at the alias that crosses
    ``MAX_YAML_NODES``), an alias to a value still being composed is a recursive alias,
    and nesting is held to ``MAX_YAML_DEPTH``. Aliases share the node they name.
    """
    loader = _Loader(text)
    anchors: dict[str, tuple[Node, int, int]] = {}  # node, nodes in it, levels in it
    opened: set[str] = set()
    stack: list[_Open] = []
    count = 0
    root: Node | None = None
    done = False

    def attach(node: Node, pos: tuple[int, int]) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        top = stack[-1]
        if isinstance(top.node.value, list):
            top.node.value.append(node)
        elif top.key is None:
            if isinstance(node.value, dict | list):
                raise fail(pos, "a key must be plain text")
            key = str(node.value)
            if key in top.node.value:
                raise fail(pos, f"duplicate field {_excerpt(key)}")
            top.key = (key, pos)
        else:
            key, key_pos = top.key
            top.node.value[key] = node
            assert top.node.keys is not None
            top.node.keys[key] = key_pos
            top.key = None

    try:
        while True:
            event: Any = loader.get_event()  # typed by ``kind`` below
            kind = type(event)
            if kind is yaml.ScalarEvent:
                pos = (event.start_mark.line + 1, event.start_mark.column + 1)
                count += 1
                if count > limits.MAX_YAML_NODES:
                    raise fail(pos, _too_many())
                value = _scalar(loader, event, fail)
                if isinstance(value, str) and _FORBIDDEN.search(value):
                    raise fail(pos, _forbidden(value))
                node = Node(value, *pos)
                if event.anchor is not None:
                    _check_anchor(event.anchor, anchors, opened, pos, fail)
                    anchors[event.anchor] = (node, 1, 0)
                attach(node, pos)
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                top = stack.pop()
                if stack:
                    stack[-1].deepest = max(stack[-1].deepest, top.deepest)
                if top.anchor is not None:
                    levels = top.deepest - top.depth + 1
                    anchors[top.anchor] = (top.node, count - top.start, levels)
                    opened.discard(top.anchor)
                attach(top.node, (top.node.line, top.node.column))
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                pos = (event.start_mark.line + 1, event.start_mark.column + 1)
                count += 1
                if count > limits.MAX_YAML_NODES:
                    raise fail(pos, _too_many())
                if len(stack) >= limits.MAX_YAML_DEPTH:
                    raise fail(pos, _too_deep())
                if event.tag is not None and event.tag not in _COLLECTION_TAGS:
                    raise fail(pos, _tag_refused(event.tag))
                if kind is yaml.SequenceStartEvent:
                    node = Node([], *pos)
                else:
                    node = Node({}, *pos, keys={})
                if event.anchor is not None:
                    _check_anchor(event.anchor, anchors, opened, pos, fail)
                    opened.add(event.anchor)
                depth = len(stack) + 1
                stack.append(_Open(node, event.anchor, count, depth, depth))
            elif kind is yaml.AliasEvent:
                pos = (event.start_mark.line + 1, event.start_mark.column + 1)
                name = event.anchor
                if name in opened:
                    raise fail(
                        pos,
                        f"recursive alias *{_excerpt(name, quote=False)}: it names a value "
                        "that contains it",
                    )
                if name not in anchors:
                    raise fail(pos, f"unknown alias *{_excerpt(name, quote=False)}")
                node, size, levels = anchors[name]
                count += size
                if count > limits.MAX_YAML_NODES:
                    raise fail(
                        pos,
                        f"aliases expand the script to more than {limits.MAX_YAML_NODES} "
                        "values (the limit)",
                    )
                if len(stack) + levels > limits.MAX_YAML_DEPTH:
                    raise fail(pos, _too_deep())
                if stack:
                    stack[-1].deepest = max(stack[-1].deepest, len(stack) + levels)
                attach(node, pos)
            elif kind is yaml.DocumentStartEvent:
                if done:
                    pos = (event.start_mark.line + 1, event.start_mark.column + 1)
                    raise fail(pos, "a script is one YAML document; found a second one")
                done = True
            elif kind is yaml.StreamEndEvent:
                break
    finally:
        loader.dispose()
    return root


def parse_script(text: str, path: Path) -> Routine:
    """Parse a routine script's text; ``path`` names it in errors and anchors includes."""
    return _parse(text, path, (), _context(path))


def _context(path: Path) -> _Context:
    """Includes may come from the folder tree of the script at ``path`` (where it is named,
    and where it is if that is a symlink) and from the built-in library."""
    return _Context(roots=(path.parent.resolve(), path.resolve().parent, scripts_dir().resolve()))


def _parse(text: str, path: Path, stack: tuple[Path, ...], ctx: _Context) -> Routine:
    reader = _Reader(path, (*stack, path.resolve()), ctx)
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        raise reader.fail(_position(text, bad.start()), _forbidden(bad.group()))
    try:
        node = _compose(text, reader.fail)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = _excerpt(exc.problem or exc.context, quote=False, limit=120)
        raise ScriptError(path, line, column, f"YAML syntax: {problem}") from None
    except yaml.reader.ReaderError as exc:
        line, column = _position(text, min(exc.position, len(text)))
        raise ScriptError(path, line, column, f"YAML syntax: {exc.reason}") from None
    except yaml.YAMLError as exc:
        problem = _excerpt(str(exc).splitlines()[0] if str(exc) else "", quote=False, limit=120)
        raise ScriptError(path, 1, 1, f"YAML syntax: {problem}") from None
    if node is None:
        raise ScriptError(path, 1, 1, "the script is empty")
    return reader.routine(node)


def load_script(path: Path | str) -> Routine:
    """Read and parse a routine script file (and its includes)."""
    path = Path(path)
    return _load(path, (), _context(path))


def _load(path: Path, stack: tuple[Path, ...], ctx: _Context) -> Routine:
    """Read and parse one script file, at most ``MAX_SCRIPT_BYTES`` of it."""
    try:
        with path.open("rb") as f:
            data = f.read(limits.MAX_SCRIPT_BYTES + 1)
    except FileNotFoundError:
        raise ScriptError(path, 1, 1, "no such script file") from None
    except OSError as exc:
        raise ScriptError(path, 1, 1, f"cannot read: {exc.strerror}") from None
    if len(data) > limits.MAX_SCRIPT_BYTES:
        raise ScriptError(
            path,
            1,
            1,
            f"the script is larger than the limit of {limits.MAX_SCRIPT_BYTES // 1024} KiB",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", "replace")
        line, column = _position(before, len(before))
        raise ScriptError(path, line, column, f"not UTF-8 text ({exc.reason})") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # as reading text would
    routine = _parse(text, path, stack, ctx)
    real = path.resolve()
    read = frozenset(f.resolve() for f in routine.files)
    ctx.loaded[real] = (routine, read)
    return routine
