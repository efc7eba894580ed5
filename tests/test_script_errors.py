"""Every kind of script error: one line ``file:line:col: field: message``, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write
from voiceguide.errors import ExitCode, ScriptError
from voiceguide.script import load_script

GOOD_STEP = "  - name: A\n    duration: 30s\n"

CASES = [
    # (id, script text, line, column, expected message fragment)
    ("yaml-syntax", "title: x\nsteps: [\n", 3, 1, "YAML syntax"),
    ("empty", "", 1, 1, "the script is empty"),
    ("top-not-mapping", "- a\n- b\n", 1, 1, "expected a mapping"),
    ("missing-title", "steps:\n" + GOOD_STEP, 1, 1, "missing required field 'title'"),
    ("missing-steps", "title: x\n", 1, 1, "missing required field 'steps'"),
    ("empty-steps", "title: x\nsteps: []\n", 2, 8, "non-empty list of steps"),
    ("unknown-field", "title: x\ntitel: y\nsteps:\n" + GOOD_STEP, 2, 1, "did you mean 'title'"),
    (
        "duplicate-field",
        "title: x\ntitle: y\nsteps:\n" + GOOD_STEP,
        2,
        1,
        "duplicate field 'title'",
    ),
    ("text-expected", "title: [a]\nsteps:\n" + GOOD_STEP, 1, 8, "expected text"),
    ("step-missing-name", "title: x\nsteps:\n  - duration: 30s\n", 3, 5, "'name'"),
    ("step-missing-duration", "title: x\nsteps:\n  - name: A\n", 3, 5, "'duration'"),
    (
        "bad-duration",
        "title: x\nsteps:\n  - name: A\n    duration: 2 minutes\n",
        4,
        15,
        "expected a duration",
    ),
    (
        "zero-duration",
        "title: x\nsteps:\n  - name: A\n    duration: 0s\n",
        4,
        15,
        "longer than zero",
    ),
    (
        "unknown-step-field",
        "title: x\nsteps:\n  - name: A\n    duraton: 1m\n",
        4,
        5,
        "did you mean 'duration'",
    ),
    ("bad-bool", "title: x\nsteps:\n" + GOOD_STEP + "    chime: loud\n", 5, 12, "true or false"),
    (
        "out-of-range",
        "title: x\nvoice:\n  rate: 1000\nsteps:\n" + GOOD_STEP,
        3,
        9,
        "between 60 and 400",
    ),
    ("bad-sides", "title: x\nsteps:\n" + GOOD_STEP + "    sides: [left]\n", 5, 12, "at least two"),
    ("bad-pattern", "title: x\nsteps:\n" + GOOD_STEP + "    breathing: deep\n", 5, 16, "4-0-6-0"),
    (
        "pattern-zero-inhale",
        "title: x\nsteps:\n" + GOOD_STEP + "    breathing: 0-0-6-0\n",
        5,
        16,
        "inhale and exhale",
    ),
    (
        "breath-cycle-too-long",
        "title: x\nsteps:\n  - name: A\n    duration: 5s\n    breathing: box\n",
        3,
        5,
        "longer than the step",
    ),
    (
        "breathing-true-no-defaults",
        "title: x\nsteps:\n" + GOOD_STEP + "    breathing: true\n",
        5,
        16,
        "routine-level",
    ),
    (
        "cue-two-timings",
        "title: x\nsteps:\n" + GOOD_STEP + "    cues:\n      - {say: hi, at: 5s, every: 5s}\n",
        6,
        27,
        "one timing",
    ),
    (
        "cue-missing-say",
        "title: x\nsteps:\n" + GOOD_STEP + "    cues:\n      - at: 5s\n",
        6,
        9,
        "'say'",
    ),
    (
        "cue-outside-step",
        "title: x\nsteps:\n" + GOOD_STEP + "    cues:\n      - {say: hi, at: 40s}\n",
        6,
        9,
        "not inside the step",
    ),
    (
        "cue-from-without-every",
        "title: x\nsteps:\n" + GOOD_STEP + "    cues:\n      - {say: hi, from: 5s}\n",
        6,
        19,
        "'from' goes with 'every'",
    ),
    (
        "cue-cycles-without-on",
        "title: x\nsteps:\n" + GOOD_STEP + "    cues:\n      - {say: hi, cycles: 2}\n",
        6,
        19,
        "'cycles' goes with 'on'",
    ),
    (
        "cue-unknown-phase",
        "title: x\nsteps:\n"
        + GOOD_STEP
        + "    breathing: box\n    cues:\n      - {say: hi, on: sigh}\n",
        7,
        23,
        "expected one of inhale",
    ),
    (
        "phase-cue-without-breathing",
        "title: x\nsteps:\n" + GOOD_STEP + "    cues:\n      - {say: hi, on: inhale}\n",
        6,
        9,
        "needs 'breathing'",
    ),
    (
        "unknown-placeholder",
        "title: x\nsteps:\n" + GOOD_STEP + "    say: Next is {nxt}\n",
        5,
        10,
        "unknown placeholder {nxt}",
    ),
    (
        "side-without-sides",
        "title: x\nsteps:\n" + GOOD_STEP + "    say: Turn {side}\n",
        5,
        10,
        "only known in a step with sides",
    ),
    (
        "bad-template",
        "title: x\nsteps:\n" + GOOD_STEP + "    say: 'Oops {'\n",
        5,
        10,
        "bad template",
    ),
    (
        "include-missing",
        "title: x\nsteps:\n  - include: nope.yaml\n",
        3,
        14,
        "included script not found",
    ),
    (
        "include-override-without-step",
        "title: x\nsteps:\n  - include: other.yaml\n    duration: 1m\n",
        4,
        5,
        "need 'step'",
    ),
    (
        "include-unknown-step",
        "title: x\nsteps:\n  - include: other.yaml\n    step: Nope\n",
        4,
        11,
        "no step 'Nope'",
    ),
    ("include-cycle", "title: x\nsteps:\n  - include: routine.yaml\n", 3, 14, "include cycle"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_if_script_is_bad_error_points_at_line_and_column(
    tmp_path: Path, text: str, line: int, column: int, fragment: str
) -> None:
    write(tmp_path, "title: Other\nsteps:\n  - name: B\n    duration: 1m\n", "other.yaml")
    path = write(tmp_path, text)
    with pytest.raises(ScriptError) as info:
        load_script(path)
    err = info.value
    assert fragment in str(err)
    assert (err.line, err.column) == (line, column), str(err)
    assert str(err).startswith(f"{path}:{line}:{column}: ")
    assert "\n" not in str(err)


def test_if_error_is_inside_an_include_it_names_the_included_file(tmp_path: Path) -> None:
    write(tmp_path, "title: B\nsteps:\n  - name: B\n    duration: soon\n", "parts/b.yaml")
    path = write(tmp_path, "title: x\nsteps:\n  - include: parts/b.yaml\n")
    with pytest.raises(ScriptError, match=r"parts/b\.yaml:4:15: steps\[0\]\.duration: "):
        load_script(path)


def test_if_file_is_missing_or_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="no such script file"):
        load_script(tmp_path / "absent.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("title: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ScriptError, match="not UTF-8"):
        load_script(bad)


def test_on_and_yes_are_plain_words_not_booleans(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "title: yes\nsteps:\n  - name: on\n    duration: 30s\n    breathing: box\n"
        "    cues:\n      - {on: inhale, say: no}\n",
    )
    routine = load_script(path)
    assert routine.title == "yes"
    assert routine.steps[0].name == "on"
    assert routine.steps[0].cues[0].text == "no"


def test_cli_prints_one_line_and_exits_with_the_script_code(tmp_path: Path) -> None:
    path = write(tmp_path, "title: x\nsteps:\n  - name: A\n    duration: forever\n")
    for command in ("check", "plan", "export"):
        proc = subprocess.run(
            [sys.executable, "-m", "voiceguide", command, str(path), "--engine", "fake"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert proc.returncode == ExitCode.SCRIPT, proc.stderr
        assert proc.stderr.strip() == (
            f"voiceguide: {path}:4:15: steps[0].duration: "
            "expected a duration such as 90s, 2m or 1m30s, got 'forever'"
        )
        assert "Traceback" not in proc.stderr
        assert proc.stdout == ""
