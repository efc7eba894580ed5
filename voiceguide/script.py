"""Routine scripts (YAML) -> the model, with every error pointing at ``file:line:col``.

The YAML is composed into nodes (PyYAML's safe loader) so that each value keeps its
position; values are then checked field by field. Includes are resolved relative to the
including file; include cycles are errors. See the README for the format.
"""

from __future__ import annotations

import difflib
import os
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

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
from voiceguide.units import parse_duration

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


@dataclass
class Node:
    """A YAML value with its position; mappings keep their keys' positions too."""

    value: Any
    line: int
    column: int
    keys: dict[str, tuple[int, int]] | None = None


class _Reader:
    """Reads one file's nodes into model values, raising ScriptError with positions."""

    def __init__(self, path: Path, stack: tuple[Path, ...]) -> None:
        self.path = path
        self.stack = stack

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
                raise self.fail(node.keys[key], f"unknown field {key!r}{extra}", _join(field, key))
        return dict(node.value)

    def required(self, node: Node, m: dict[str, Node], key: str, field: str) -> Node:
        if key not in m:
            raise self.fail(node, f"missing required field {key!r}", _join(field, key))
        return m[key]

    def text(self, node: Node, field: str) -> str:
        if (
            isinstance(node.value, bool)
            or node.value is None
            or isinstance(node.value, dict | list)
        ):
            raise self.fail(node, f"expected text, got {_kind(node)}", field)
        text = " ".join(str(node.value).split())
        if not text:
            raise self.fail(node, "text is empty", field)
        return text

    def paragraphs(self, node: Node, field: str) -> str:
        """Text that keeps blank-line paragraph breaks (intro and outro)."""
        if not isinstance(node.value, str):
            raise self.fail(node, f"expected text, got {_kind(node)}", field)
        paras = [" ".join(p.split()) for p in node.value.split("\n\n")]
        text = "\n\n".join(p for p in paras if p)
        if not text:
            raise self.fail(node, "text is empty", field)
        return text

    def duration(self, node: Node, field: str, *, allow_zero: bool = False) -> int:
        try:
            ms = parse_duration(node.value)
        except (ValueError, TypeError, AttributeError):
            raise self.fail(
                node, f"expected a duration such as 90s, 2m or 1m30s, got {node.value!r}", field
            ) from None
        if ms <= 0 and not allow_zero:
            raise self.fail(node, "must be longer than zero", field)
        return ms

    def integer(self, node: Node, field: str, low: int, high: int) -> int:
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise self.fail(node, f"expected a whole number, got {node.value!r}", field)
        if not low <= node.value <= high:
            raise self.fail(node, f"must be between {low} and {high}, got {node.value}", field)
        return int(node.value)

    def number(self, node: Node, field: str, low: float, high: float) -> float:
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise self.fail(node, f"expected a number, got {node.value!r}", field)
        if not low <= node.value <= high:
            raise self.fail(node, f"must be between {low} and {high}, got {node.value}", field)
        return float(node.value)

    def boolean(self, node: Node, field: str) -> bool:
        if not isinstance(node.value, bool):
            raise self.fail(node, f"expected true or false, got {node.value!r}", field)
        return node.value

    def template(self, node: Node, field: str, *, sided: bool) -> str:
        text = self.text(node, field)
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            raise self.fail(node, f"bad template: {exc}", field) from None
        for name in names:
            if name not in TEMPLATE_FIELDS:
                known = ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS))
                raise self.fail(node, f"unknown placeholder {{{name}}} (known: {known})", field)
            if name in SIDED_FIELDS and not sided:
                raise self.fail(node, f"{{{name}}} is only known in a step with sides", field)
        return text

    # -- the routine --------------------------------------------------------------
    def routine(self, root: Node) -> Routine:
        m = self.mapping(root, "", ROUTINE_KEYS)
        title = self.text(self.required(root, m, "title", ""), "title")
        voice = self.voice(m["voice"]) if "voice" in m else VoiceSettings()
        breath_defaults = (
            self.mapping(m["breathing"], "breathing", BREATH_KEYS) if "breathing" in m else {}
        )
        steps_node = self.required(root, m, "steps", "")
        if not isinstance(steps_node.value, list) or not steps_node.value:
            raise self.fail(steps_node, "expected a non-empty list of steps", "steps")
        steps: list[Step] = []
        files: list[Path] = [self.path]
        for i, item in enumerate(steps_node.value):
            field = f"steps[{i}]"
            if isinstance(item.value, dict) and "include" in item.value:
                included, inc_files = self.include(item, field)
                steps.extend(included)
                files.extend(f for f in inc_files if f not in files)
            else:
                steps.append(self.step(item, field, breath_defaults))
        return Routine(
            title=title,
            author=self.text(m["author"], "author") if "author" in m else None,
            intro=self.paragraphs(m["intro"], "intro") if "intro" in m else None,
            outro=self.paragraphs(m["outro"], "outro") if "outro" in m else None,
            voice=voice,
            rest_ms=self.duration(m["rest"], "rest", allow_zero=True) if "rest" in m else 0,
            rest_say=self.template(m["rest_say"], "rest_say", sided=False)
            if "rest_say" in m
            else Routine.rest_say,
            steps=tuple(steps),
            source=self.path,
            files=tuple(files),
        )

    def voice(self, node: Node) -> VoiceSettings:
        m = self.mapping(node, "voice", VOICE_KEYS)
        v = VoiceSettings()
        if "engine" in m:
            v = replace(v, engine=self.text(m["engine"], "voice.engine"))
        if "voice" in m:
            v = replace(v, voice=self.text(m["voice"], "voice.voice"))
        if "rate" in m:
            v = replace(v, rate=self.integer(m["rate"], "voice.rate", 60, 400))
        if "volume" in m:
            v = replace(v, volume=self.number(m["volume"], "voice.volume", 0.0, 1.0))
        return v

    def include(self, node: Node, field: str) -> tuple[list[Step], tuple[Path, ...]]:
        m = self.mapping(node, field, INCLUDE_KEYS)
        ref = self.text(m["include"], f"{field}.include")
        target = Path(os.path.normpath(self.path.parent / ref))
        if target.resolve() in self.stack:
            raise self.fail(
                m["include"], f"include cycle: {ref} includes itself", f"{field}.include"
            )
        if not target.is_file():
            raise self.fail(m["include"], f"included script not found: {ref}", f"{field}.include")
        routine = load_script(target, _stack=self.stack)
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
        wanted = self.text(m["step"], f"{field}.step")
        matches = [s for s in routine.steps if s.name.casefold() == wanted.casefold()]
        if not matches:
            names = ", ".join(repr(s.name) for s in routine.steps)
            raise self.fail(
                m["step"], f"no step {wanted!r} in {ref} (steps: {names})", f"{field}.step"
            )
        step = matches[0]
        if overrides:
            step = self.override(step, overrides, field, node)
        return [step], routine.files

    def override(self, step: Step, m: dict[str, Node], field: str, node: Node) -> Step:
        sided = bool(self.sides(m["sides"], f"{field}.sides")) if "sides" in m else bool(step.sides)
        changes: dict[str, Any] = {"where": self.where(node)}
        if "name" in m:
            changes["name"] = self.text(m["name"], f"{field}.name")
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
            changes["breathing"] = self.breathing(m["breathing"], f"{field}.breathing", {})
        if "chime" in m:
            changes["chime"] = self.boolean(m["chime"], f"{field}.chime")
        if "countdown" in m:
            changes["countdown"] = self.integer(m["countdown"], f"{field}.countdown", 0, 10)
        if "wait" in m:
            changes["wait"] = self.wait(m["wait"], f"{field}.wait")
        new = replace(step, **changes)
        self.check_step(new, node, field)
        return new

    def step(self, node: Node, field: str, breath_defaults: dict[str, Node]) -> Step:
        m = self.mapping(node, field, STEP_KEYS)
        sides = self.sides(m["sides"], f"{field}.sides") if "sides" in m else ()
        sided = bool(sides)
        step = Step(
            name=self.text(self.required(node, m, "name", field), f"{field}.name"),
            duration_ms=self.duration(
                self.required(node, m, "duration", field), f"{field}.duration"
            ),
            say=self.template(m["say"], f"{field}.say", sided=sided) if "say" in m else None,
            sides=sides,
            switch=self.template(m["switch"], f"{field}.switch", sided=True)
            if "switch" in m
            else Step.switch,
            cues=self.cues(m["cues"], f"{field}.cues", sided=sided) if "cues" in m else (),
            breathing=self.breathing(m["breathing"], f"{field}.breathing", breath_defaults)
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
            return tuple(self.text(n, f"{field}[{i}]") for i, n in enumerate(node.value))
        raise self.fail(node, "expected true, 'both' or a list of at least two side names", field)

    def cues(self, node: Node, field: str, *, sided: bool) -> tuple[Cue, ...]:
        if not isinstance(node.value, list):
            raise self.fail(node, f"expected a list of cues, got {_kind(node)}", field)
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
        phase = PHASE_NAMES.get(str(value.value))
        if phase is None:
            raise self.fail(
                value, f"expected one of {', '.join(PHASE_NAMES)}, got {value.value!r}", sub
            )
        cycles = self.integer(m["cycles"], f"{field}.cycles", 1, 1000) if "cycles" in m else None
        return replace(cue, kind=CueKind.PHASE, phase=phase, cycles=cycles)

    def breathing(self, node: Node, field: str, defaults: dict[str, Node]) -> BreathPattern:
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
                kw[attr] = self.text(m[key], f"{field}.{key}")
        inhale, hold_in, exhale, hold_out = phases
        return BreathPattern(inhale, hold_in, exhale, hold_out, **kw)

    def pattern(self, node: Node, field: str) -> list[int]:
        raw = str(node.value).strip().lower()
        raw = NAMED_PATTERNS.get(raw, raw)
        parts = raw.split("-")
        try:
            seconds = [float(p) for p in parts]
        except ValueError:
            seconds = []
        if len(seconds) not in (2, 3, 4) or any(s < 0 for s in seconds):
            names = ", ".join(NAMED_PATTERNS)
            raise self.fail(
                node,
                f"expected inhale-hold-exhale-hold seconds such as 4-0-6-0, or one of {names}; "
                f"got {node.value!r}",
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
    return f"{v!r}"


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _to_node(
    node: yaml.Node, construct: Callable[[yaml.Node], Any], fail: Callable[..., ScriptError]
) -> Node:
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.MappingNode):
        values: dict[str, Node] = {}
        keys: dict[str, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key_node, yaml.ScalarNode):
                raise fail(pos, "a key must be plain text")
            key = str(construct(key_node))
            if key in values:
                raise fail(pos, f"duplicate field {key!r}")
            keys[key] = pos
            values[key] = _to_node(value_node, construct, fail)
        return Node(values, line, column, keys)
    if isinstance(node, yaml.SequenceNode):
        return Node([_to_node(n, construct, fail) for n in node.value], line, column)
    return Node(construct(node), line, column)


def parse_script(text: str, path: Path, _stack: tuple[Path, ...] = ()) -> Routine:
    """Parse a routine script's text; ``path`` names it in errors and anchors includes."""
    reader = _Reader(path, (*_stack, path.resolve()))
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ScriptError(path, 1, 1, "the script is empty")
        node = _to_node(root, loader.construct_object, reader.fail)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ScriptError(
            path, line, column, f"YAML syntax: {exc.problem or exc.context}"
        ) from None
    except yaml.YAMLError as exc:
        raise ScriptError(path, 1, 1, f"YAML syntax: {exc}") from None
    finally:
        loader.dispose()
    return reader.routine(node)


def load_script(path: Path | str, _stack: tuple[Path, ...] = ()) -> Routine:
    """Read and parse a routine script file (and its includes)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScriptError(path, 1, 1, "no such script file") from None
    except UnicodeDecodeError as exc:
        raise ScriptError(path, 1, 1, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ScriptError(path, 1, 1, f"cannot read: {exc.strerror}") from None
    return parse_script(text, path, _stack)
