"""The JSON Schema of routine scripts agrees with the reader.

Every script the reader accepts validates (the built-in ones, the README's example and a
table of the shorthands); every script it refuses for a field's value the schema refuses
too, at the same field; the number ranges agree at their bounds. What a schema cannot see
(``NOT_EXPRESSED``) is listed, with why, and the reader alone refuses it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import REPO, SCRIPTS, write
from tests.test_script_errors import CASES, HOSTILE
from voiceguide.errors import ScriptError
from voiceguide.script import load_script
from voiceguide.script.compose import FORBIDDEN, Node, compose
from voiceguide.script.schema import FILE_NAME, build, schema_json, undescribed

VALIDATOR = jsonschema.Draft7Validator(build())
OTHER = "title: Other\nsteps:\n  - name: B\n    duration: 1m\n    breathing: box\n"


def plain(node: Node) -> Any:
    """The reader's nodes as plain values, as an editor's YAML parser reads them."""
    if isinstance(node.value, dict):
        return {key: plain(value) for key, value in node.value.items()}
    if isinstance(node.value, list):
        return [plain(value) for value in node.value]
    return node.value


def values(text: str) -> Any:
    """The script's values, or ``YAML`` if the reader refuses it before reading any field
    (syntax, aliases, tags, control characters: an editor's YAML parser's concern)."""
    if FORBIDDEN.search(text):
        return "YAML"
    try:
        node = compose(text, lambda *args: ScriptError("x", 1, 1, "refused"))
    except (ScriptError, yaml.YAMLError):
        return "YAML"
    return None if node is None else plain(node)


def schema_errors(text: str) -> list[jsonschema.ValidationError]:
    return list(VALIDATOR.iter_errors(values(text)))


def read(tmp_path: Path, text: str) -> ScriptError | None:
    """The reader's error for ``text`` (beside ``other.yaml``, for includes), or None."""
    write(tmp_path, OTHER, "other.yaml")
    try:
        load_script(write(tmp_path, text))
    except ScriptError as error:
        return error
    return None


def parts(field: str | None) -> list[str | int]:
    """``steps[0].cues[1].at`` -> ``['steps', 0, 'cues', 1, 'at']``."""
    found = re.findall(r"[^.\[\]]+", field or "")
    return [int(p) if p.isdigit() else p for p in found]


def same_place(error: ScriptError, errors: list[jsonschema.ValidationError]) -> bool:
    """Whether the schema's best error is where the reader's is: the same field, or the
    mapping or list that holds it (a missing or unknown key, a cue locked to breathing in a
    step without it)."""
    if not errors:
        return False
    schema_at = list(jsonschema.exceptions.best_match(errors).absolute_path)
    reader_at = parts(error.field)
    n = min(len(schema_at), len(reader_at))
    return schema_at[:n] == reader_at[:n] and (bool(schema_at) or len(reader_at) <= 1)


# -- the file, the command, the fields ------------------------------------------------------


def test_the_schema_is_draft_07_and_the_shipped_file_is_the_generated_one() -> None:
    jsonschema.Draft7Validator.check_schema(build())
    shipped = REPO / "voiceguide" / "script" / FILE_NAME
    assert shipped.read_text(encoding="utf-8") == schema_json(), (
        "regenerate it: voiceguide schema > voiceguide/script/voiceguide.schema.json"
    )


def test_every_field_the_reader_knows_is_described() -> None:
    assert undescribed() == []


def test_voiceguide_schema_prints_it() -> None:
    from tests.conftest import vg

    done = vg("schema")
    assert done.returncode == 0, done.stderr
    assert done.stdout == schema_json()
    assert json.loads(done.stdout)["$schema"] == "http://json-schema.org/draft-07/schema#"


# -- what the reader accepts validates ------------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted(SCRIPTS.rglob("*.yaml")), ids=lambda p: str(p.relative_to(SCRIPTS))
)
def test_every_builtin_script_validates(path: Path) -> None:
    assert schema_errors(path.read_text(encoding="utf-8")) == []


def test_the_readme_example_validates() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(title: Evening Unwind.*?)```", readme, re.S)
    assert block is not None
    assert schema_errors(block.group(1)) == []


STEP = "title: x\nsteps:\n  - name: A\n    duration: 1m\n"
SIDED = STEP + "    sides: true\n"
BREATHING = STEP + "    breathing: box\n"

VALID = [
    ("duration-seconds", STEP.replace("1m", "30")),
    ("duration-float", STEP.replace("1m", "1.5")),
    ("duration-spaced", STEP.replace("1m", "1m 30s")),
    ("duration-ms", STEP.replace("1m", "250ms")),
    ("duration-hours", STEP.replace("1m", "1h")),
    ("name-number", STEP.replace("name: A", "name: 2024")),
    ("say-number", STEP + "    say: 5\n"),
    ("say-literal-braces", STEP + "    say: 'Write {{braces}}'\n"),
    ("say-placeholders", STEP + "    say: '{title}: {step}, {duration}. {remaining}, {next}'\n"),
    ("voice-name", "voice: emma\n" + STEP[9:].replace("steps", "title: x\nsteps")),
    ("voice-mapping", STEP + "    voice: {engine: pyttsx3, voice: en, rate: 150, volume: 0.5}\n"),
    ("voice-speed", STEP + "    counting_voice: {speed: 1.2}\n"),
    ("sides-true", SIDED + "    say: '{side} first, {other_side} next'\n"),
    ("sides-both", STEP + "    sides: both\n    switch: 'Now {side}.'\n"),
    ("sides-false", STEP + "    sides: false\n"),
    ("sides-list", STEP + "    sides: [left, right, middle]\n    cues: ['{side}']\n"),
    ("sides-breath-words", SIDED + "    breathing: {pattern: box, say_inhale: 'In {side}'}\n"),
    ("breathing-name", STEP + "    breathing: relaxing\n"),
    ("breathing-name-any-case", STEP + "    breathing: ' Box '\n"),
    ("breathing-two", STEP + "    breathing: 4-6\n"),
    ("breathing-three", STEP + "    breathing: 4-7-8\n"),
    ("breathing-decimals", STEP + "    breathing: 4.5 - 0 - .5 - 0\n"),
    (
        "breathing-mapping",
        STEP + "    breathing: {pattern: 0-0-0-0, inhale: 4, exhale: 4s, hold_out: 0,"
        " spoken_cycles: 0, slow_to: 5, tones: false, say_hold: Hold it}\n",
    ),
    (
        "breathing-true",
        "title: x\nbreathing: {pattern: box}\nsteps:\n"
        "  - {name: A, duration: 1m, breathing: true}\n",
    ),
    ("wait-true", STEP + "    wait: true\n"),
    ("wait-false", STEP + "    wait: false\n"),
    ("wait-duration", STEP + "    wait: 15s\n"),
    ("wait-mapping", STEP + "    wait: {pause: 5, every: 10s, say: a, remind: b, go: c}\n"),
    ("cue-bare", STEP + "    cues: [Relax.]\n"),
    ("cue-at-start", STEP + "    cues: [{at: start, say: a}, {at: halfway, say: b}]\n"),
    ("cue-at-half", STEP + "    cues: [{at: half, say: a}, {at: 10, say: b}]\n"),
    ("cue-every-from-zero", STEP + "    cues: [{every: 10s, from: 0, say: a}]\n"),
    ("cue-before-end", STEP + "    cues: [{before_end: 10s, say: '{remaining} left'}]\n"),
    ("cue-on", BREATHING + "    cues: [{on: hold_out, cycles: 2, say: a}, {on: hold, say: b}]\n"),
    ("cue-every-breaths", BREATHING + "    cues: [{every_breaths: 3, say: a}]\n"),
    ("cue-voice", STEP + "    cues: [{say: a, voice: emma}, {say: b, voice: {volume: 0}}]\n"),
    ("chime-countdown", STEP + "    chime: false\n    countdown: 10\n"),
    (
        "routine-fields",
        "title: x\nauthor: me\nintro: |\n  One.\n\n  Two.\noutro: Bye.\nrest: 0\n"
        "rest_say: 'Rest. Next: {next}.'\ncounting_voice: {volume: 0.8}\n" + STEP[9:],
    ),
    ("include-all", "title: x\nsteps:\n  - include: other.yaml\n"),
    (
        "include-override",
        "title: x\nsteps:\n  - include: other.yaml\n    step: B\n    duration: 2m\n"
        "    name: C\n    sides: true\n    say: '{side}'\n    breathing: 4-6\n",
    ),
    (
        "include-yml-suffix",
        "title: x\nsteps:\n  - include: other.yaml\n  - name: A\n    duration: 1\n",
    ),
]


@pytest.mark.parametrize("text", [v[1] for v in VALID], ids=[v[0] for v in VALID])
def test_a_script_the_reader_accepts_validates(tmp_path: Path, text: str) -> None:
    assert read(tmp_path, text) is None
    assert schema_errors(text) == []


# -- what the reader refuses for a value is refused there -----------------------------------

INVALID = [
    ("unknown-routine-field", "titel: y\n" + STEP),
    ("unknown-cue-field", STEP + "    cues: [{say: hi, att: 5s}]\n"),
    ("unknown-wait-field", STEP + "    wait: {pase: 5s}\n"),
    ("unknown-breathing-field", STEP + "    breathing: {pattern: box, inhle: 4}\n"),
    ("unknown-defaults-field", "breathing: {patern: box}\n" + STEP),
    ("unknown-voice-field", STEP + "    voice: {sped: 1}\n"),
    ("unknown-include-field", "title: x\nsteps:\n  - include: other.yaml\n    stepp: B\n"),
    ("steps-a-mapping", "title: x\nsteps: {name: A}\n"),
    ("title-bool", STEP.replace("title: x", "title: true")),
    ("intro-number", "intro: 5\n" + STEP),
    ("name-list", STEP.replace("name: A", "name: [A]")),
    ("say-mapping", STEP + "    say: {remaining}\n"),
    ("voice-number", STEP + "    voice: 5\n"),
    ("voice-rate-and-speed", STEP + "    voice: {rate: 150, speed: 1}\n"),
    ("duration-word", STEP.replace("1m", "soon")),
    ("duration-negative", STEP.replace("1m", "-5")),
    ("duration-bool", STEP.replace("1m", "true")),
    ("wait-zero", STEP + "    wait: 0s\n"),
    ("from-negative", STEP + "    cues: [{every: 5s, from: -1, say: a}]\n"),
    ("sides-word", STEP + "    sides: all\n"),
    ("breathing-false", STEP + "    breathing: false\n"),
    ("breathing-number", STEP + "    breathing: 4\n"),
    ("breathing-five-phases", STEP + "    breathing: 4-4-4-4-4\n"),
    ("cue-number", STEP + "    cues: [5]\n"),
    ("cue-at-word", STEP + "    cues: [{at: middle, say: a}]\n"),
    ("cue-list", STEP + "    cues: Relax.\n"),
    ("cue-on-and-at", BREATHING + "    cues: [{on: inhale, at: 5s, say: a}]\n"),
    ("countdown-fraction", STEP + "    countdown: 2.5\n"),
    ("chime-word", STEP + "    chime: yes\n"),
    ("tones-number", STEP + "    breathing: {pattern: box, tones: 1}\n"),
    ("include-not-yaml", "title: x\nsteps:\n  - include: other.json\n"),
    (
        "include-breathing-true",
        "title: x\nsteps:\n  - {include: other.yaml, step: B, breathing: true}\n",
    ),
    ("side-in-cue", STEP + "    cues: ['Turn {side}']\n"),
    ("side-in-cue-say", STEP + "    cues: [{at: 5s, say: 'Turn {other_side}'}]\n"),
    ("side-with-sides-false", STEP + "    sides: false\n    say: '{side}'\n"),
    ("side-in-rest-say", "rest: 5s\nrest_say: '{side}'\n" + STEP),
    ("side-in-wait", SIDED + "    wait: {say: 'On your {side}'}\n"),
    ("every-breaths-without-breathing", STEP + "    cues: [{every_breaths: 2, say: a}]\n"),
    ("placeholder-conversion", STEP + "    say: '{next!r}'\n"),
    ("placeholder-empty", STEP + "    say: 'a {} b'\n"),
    ("lone-brace", STEP + "    say: 'a } b'\n"),
]


@pytest.mark.parametrize("text", [v[1] for v in INVALID], ids=[v[0] for v in INVALID])
def test_a_value_the_reader_refuses_the_schema_refuses_at_its_field(
    tmp_path: Path, text: str
) -> None:
    error = read(tmp_path, text)
    assert error is not None, "the reader accepts it"
    assert same_place(error, schema_errors(text)), (str(error), schema_errors(text))


NOT_EXPRESSED = {
    # a length after runs of white space become one (and placeholders are filled in)
    "long-cue": "text length",
    "long-paragraph": "text length",
    "long-title": "text length (the schema refuses it only for its empty steps)",
    # a sum or comparison of several values, or of the whole routine
    "breath-cycle-too-long": "a breathing cycle longer than its step",
    "cue-outside-step": "a cue time outside its step",
    "routine-too-long": "the routine's length",
    "every-millisecond": "how often a cue is spoken",
    "breath-of-two-milliseconds": "the timeline's events",
    "pattern-zero-inhale": "inhale and exhale after the pattern and its overrides",
    # a limit on a value written as text
    "huge-hours": "a duration written as text, over the limit",
    "huge-digits": "a duration written as text, too big for a number",
    "huge-pattern": "a breath phase over the limit",
    "nan-duration": "NaN, which JSON has no number for",
    # the files an include names
    "include-missing": "whether the included file exists",
    "include-unknown-step": "the steps of the included file",
    "include-cycle": "what the included file includes",
}


@pytest.mark.parametrize(
    ("name", "text"), [c[:2] for c in CASES + HOSTILE], ids=[c[0] for c in CASES + HOSTILE]
)
def test_the_readers_error_cases_are_refused_or_listed_as_not_expressed(
    tmp_path: Path, name: str, text: str
) -> None:
    error = read(tmp_path, text)
    assert error is not None
    if values(text) == "YAML":  # refused before any field: not the schema's to see
        assert name not in NOT_EXPRESSED
        return
    refused = same_place(error, schema_errors(text))
    assert refused is (name not in NOT_EXPRESSED), (str(error), schema_errors(text)[:1])


def test_not_expressed_names_only_cases_of_the_reader() -> None:
    assert set(NOT_EXPRESSED) <= {c[0] for c in CASES + HOSTILE}


# -- the number ranges agree at their bounds ------------------------------------------------

BOUNDS = [
    (STEP + "    countdown: {v}\n", (-1, 0, 10, 11)),
    (STEP + "    breathing: {{pattern: box, spoken_cycles: {v}}}\n", (-1, 0, 1000, 1001)),
    (STEP + "    breathing: {{pattern: box, slow_to: {v}}}\n", (0.9, 1, 30, 30.5)),
    (BREATHING + "    cues: [{{every_breaths: {v}, say: a}}]\n", (0, 1, 1000, 1001)),
    (BREATHING + "    cues: [{{on: inhale, cycles: {v}, say: a}}]\n", (0, 1, 1000, 1001)),
    (STEP + "    voice: {{rate: {v}}}\n", (59, 60, 400, 401)),
    (STEP + "    voice: {{speed: {v}}}\n", (0.49, 0.5, 2, 2.01)),
    (STEP + "    voice: {{volume: {v}}}\n", (-0.1, 0, 1, 1.1)),
    (STEP.replace("1m", "{v}"), (0, 0.5, 14400, 14401)),
    ("title: x\nrest: {v}\n" + STEP[9:], (-1, 0, 60, 14401)),
    (STEP + "    breathing: {{pattern: box, hold_in: {v}}}\n", (-1, 0, 2, 14401)),
    (
        STEP + "    sides: [{v}]\n",
        ("a", "a, b", "a, b, c, d, e, f, g, h", "a, b, c, d, e, f, g, h, i"),
    ),
]


@pytest.mark.parametrize(
    ("template", "value"),
    [(t, v) for t, vs in BOUNDS for v in vs],
    ids=[
        f"{re.sub(r'[^a-z_]+', '', t.split(chr(10))[-2])[:20]}={v}" for t, vs in BOUNDS for v in vs
    ],
)
def test_the_reader_and_the_schema_agree_on_a_bound(
    tmp_path: Path, template: str, value: object
) -> None:
    text = template.format(v=value)
    reader_ok = read(tmp_path, text) is None
    assert (schema_errors(text) == []) is reader_ok, text
