"""Every kind of script error: one line ``file:line:col: field: message``, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SCRIPTS, write
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
    with pytest.raises(ScriptError) as missing:
        load_script(tmp_path / "absent.yaml")
    assert str(missing.value) == f"no such script: {tmp_path / 'absent.yaml'}"  # no :1:1:
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


# -- hostile scripts: each refused with file:line:col, nothing built, no traceback ---------

STEP = "title: x\nsteps:\n  - name: A\n    duration: 1m\n"


def _bomb(levels: int = 9, width: int = 9) -> str:
    """Nine levels of nine aliases: 9**9 copies of one value if aliases were expanded."""
    lines = [STEP + "    say: Hi\n", "x:\n"]
    lines.append(f"  - &a0 [{', '.join(['hi'] * width)}]\n")
    for i in range(1, levels + 1):
        lines.append(f"  - &a{i} [{', '.join([f'*a{i - 1}'] * width)}]\n")
    return "".join(lines)


HOSTILE = [
    # (id, script text, line, column, expected message fragment)
    ("recursive-alias", STEP.replace("1m", "&a [*a, *a]"), 4, 19, "recursive alias *a"),
    ("recursive-alias-mapping", "title: &t {x: *t}\nsteps: []\n", 1, 15, "recursive alias *t"),
    ("recursive-alias-in-cues", STEP + "    cues: &c [Hi, *c]\n", 5, 19, "recursive alias *c"),
    ("alias-bomb", _bomb(), 11, 40, "aliases expand the script to more than 50000 values"),
    ("unknown-alias", STEP + "    say: *nope\n", 5, 10, "unknown alias *nope"),
    ("anchor-twice", "title: &t x\nauthor: &t y\nsteps: []\n", 2, 9, "defined twice"),
    ("too-deep", "title: x\nsteps: " + "[" * 40 + "]" * 40 + "\n", 2, 39, "nest more than 32"),
    ("two-documents", STEP + "---\n" + STEP, 5, 1, "one YAML document"),
    ("inf-duration", STEP.replace("1m", ".inf"), 4, 15, "expected a finite duration, got inf"),
    ("nan-duration", STEP.replace("1m", ".nan"), 4, 15, "expected a finite duration"),
    ("minus-inf", STEP.replace("1m", "-.inf"), 4, 15, "expected a finite duration"),
    ("float-overflow", STEP.replace("1m", "1.0e+308"), 4, 15, "longer than the limit of 4 hours"),
    ("huge-hours", STEP.replace("1m", "99999h"), 4, 15, "longer than the limit of 4 hours"),
    ("huge-digits", STEP.replace("1m", "9" * 400 + "s"), 4, 15, "expected a duration"),
    ("huge-int", STEP.replace("1m", "9" * 400), 4, 15, "longer than the limit of 4 hours"),
    ("inf-rest", "title: x\nrest: .inf\nsteps:\n  - {name: A, duration: 1m}\n", 2, 7, "finite"),
    ("inf-at", STEP + "    cues:\n      - {say: Hi, at: .inf}\n", 6, 23, "finite"),
    ("inf-before-end", STEP + "    cues:\n      - {say: Hi, before_end: .inf}\n", 6, 31, "finite"),
    ("inf-every", STEP + "    cues:\n      - {say: Hi, every: .inf}\n", 6, 26, "finite"),
    ("inf-from", STEP + "    cues:\n      - {say: Hi, every: 5s, from: .inf}\n", 6, 36, "finite"),
    ("inf-wait", STEP + "    wait: .inf\n", 5, 11, "finite"),
    ("inf-wait-pause", STEP + "    wait: {pause: .inf}\n", 5, 19, "finite"),
    ("inf-wait-every", STEP + "    wait: {every: .inf}\n", 5, 19, "finite"),
    ("inf-inhale", STEP + "    breathing: {pattern: box, inhale: .inf}\n", 5, 39, "finite"),
    ("inf-pattern", STEP + "    breathing: inf-0-6-0\n", 5, 16, "4-0-6-0"),
    ("nan-pattern", STEP + "    breathing: nan-0-6-0\n", 5, 16, "4-0-6-0"),
    ("huge-pattern", STEP + "    breathing: 99999999-0-6-0\n", 5, 16, "breath phase is longer"),
    ("inf-slow-to", STEP + "    breathing: {pattern: box, slow_to: .inf}\n", 5, 40, "between"),
    (
        "routine-too-long",
        "title: x\nsteps:\n" + "  - {name: A, duration: 3h}\n" * 2,
        4,
        5,
        "the routine would last 6:00:00",
    ),
    (
        "every-millisecond",
        STEP.replace("1m", "1h") + "    cues:\n      - {say: Hi, every: 1ms}\n",
        6,
        9,
        "is spoken 3600000 times, more than the limit of 5000 spoken cues",
    ),
    (
        "breath-of-two-milliseconds",
        STEP.replace("1m", "4h") + "    breathing: 0.001-0-0.001-0\n",
        3,
        5,
        "more than the limit of 50000 timeline events",
    ),
    (
        "too-many-steps",
        "title: x\nsteps:\n" + "  - {name: A, duration: 1s}\n" * 501,
        3,
        3,
        "more than the limit of 500 steps",
    ),
    (
        "too-many-cues",
        STEP + "    cues:\n" + "      - Hi\n" * 101,
        6,
        7,
        "more than the limit of 100 cues in a step",
    ),
    ("too-many-sides", STEP + "    sides: [" + ", ".join("abcdefghi") + "]\n", 5, 12, "8 sides"),
    ("long-cue", STEP + "    say: " + "a" * 1001 + "\n", 5, 10, "more than the limit of 1000"),
    (
        "long-paragraph",
        "title: x\nintro: |\n  Short.\n\n  " + "word " * 300 + "\n" + STEP[9:],
        2,
        8,
        "a paragraph is 1499 characters long",
    ),
    ("long-title", "title: " + "T" * 201 + "\nsteps: []\n", 1, 8, "more than the limit of 200"),
    ("format-spec", STEP + "    say: '{remaining:>999999999}'\n", 5, 10, "takes no format"),
    ("raw-control", STEP + "    say: Hi\x01there\n", 5, 12, "control character U+0001"),
    ("raw-control-in-comment", STEP + "# bell \x07\n", 5, 8, "control character U+0007"),
    ("raw-nul-line-3", "title: x\nsteps:\n  - name: A\x00\n", 3, 12, "U+0000"),
    ("raw-delete", STEP + "    say: Hi\x7f\n", 5, 12, "U+007F"),
    ("raw-bidi", STEP + "    say: Hi\u202e there\n", 5, 12, "bidirectional control U+202E"),
    ("escaped-osc", STEP + '    say: "\\x1b]0;x\\x07"\n', 5, 10, "control character U+001B"),
    ("escaped-nul", STEP + '    say: "\\x00"\n', 5, 10, "control character U+0000"),
    ("escaped-c1", 'title: "T\\x9b31m"\nsteps: []\n', 1, 8, "control character U+009B"),
    ("escaped-bidi", STEP + '    say: "a\\u2066b"\n', 5, 10, "bidirectional control U+2066"),
    ("escaped-surrogate", STEP + '    say: "a\\ud800b"\n', 5, 14, "invalid Unicode"),
    ("escaped-in-key", 'title: x\n"ti\\x1btle": y\nsteps: []\n', 2, 1, "control character"),
    ("bad-timestamp-tag", STEP.replace("1m", "!!timestamp 2024-01-01x"), 4, 15, "not allowed"),
    ("bad-int-tag", STEP.replace("1m", "!!int abc"), 4, 15, "not a valid int: 'abc'"),
    ("bad-bool-tag", STEP.replace("1m", "!!bool maybe"), 4, 15, "not a valid bool"),
    ("bad-hex-tag", STEP.replace("1m", "!!int -0x"), 4, 15, "not a valid int"),
    ("set-tag", STEP.replace("1m", "!!set {a: 1}"), 4, 15, "YAML tag tag:yaml.org,2002:set"),
    ("python-tag", "title: !!python/object/apply:os.system [ls]\nsteps: []\n", 1, 8, "not allowed"),
    (
        "breath-word-bad-template",
        STEP + '    breathing: {pattern: box, say_inhale: "In {oops"}\n',
        5,
        43,
        "bad template",
    ),
    (
        "breath-word-side-without-sides",
        STEP + '    breathing: {pattern: box, say_exhale: "Out {side}"}\n',
        5,
        43,
        "{side} is only known in a step with sides",
    ),
    ("escaped-in-name", 'title: x\nsteps:\n  - name: "A\\x07"\n', 3, 11, "control character"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
def test_if_script_is_hostile_it_is_refused_with_line_and_column(
    tmp_path: Path, text: str, line: int, column: int, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScriptError) as info:
        load_script(path)
    err = info.value
    assert fragment in str(err)
    assert (err.line, err.column) == (line, column), str(err)
    assert str(err).startswith(f"{path}:{line}:{column}: ")
    assert "\n" not in str(err)
    assert not any(ch in str(err) for ch in "\x00\x01\x07\x1b\x7f\x9b\u202e\u2066")
    assert len(str(err)) < len(str(path)) + 250


def test_if_script_is_larger_than_the_limit_it_is_not_parsed(tmp_path: Path) -> None:
    path = write(tmp_path, STEP + "# " + "x" * (256 * 1024) + "\n")
    with pytest.raises(ScriptError, match=r":1:1: the script is larger than the limit of 256 KiB"):
        load_script(path)


def test_if_an_alias_bomb_is_in_an_include_it_is_refused_there(tmp_path: Path) -> None:
    write(tmp_path, _bomb(), "parts/bomb.yaml")
    path = write(tmp_path, "title: x\nsteps:\n  - include: parts/bomb.yaml\n")
    with pytest.raises(ScriptError, match=r"parts/bomb\.yaml:11:40: aliases expand"):
        load_script(path)


def test_if_a_recursive_alias_is_in_an_include_it_names_the_included_file(tmp_path: Path) -> None:
    write(tmp_path, STEP + "    cues: &c [*c]\n", "parts/loop.yaml")
    path = write(tmp_path, "title: x\nsteps:\n  - include: parts/loop.yaml\n")
    with pytest.raises(ScriptError, match=r"parts/loop\.yaml:5:15: recursive alias \*c"):
        load_script(path)


def test_aliases_still_share_values_within_the_limits(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "title: x\nsteps:\n  - {name: A, duration: &d 30s, cues: &c [Relax., Breathe.]}\n"
        "  - {name: B, duration: *d, cues: *c}\n",
    )
    routine = load_script(path)
    assert [s.duration_ms for s in routine.steps] == [30_000, 30_000]
    assert [c.text for c in routine.steps[1].cues] == ["Relax.", "Breathe."]


def test_yaml_octal_and_plain_numbers_read_as_the_safe_loader_reads_them(tmp_path: Path) -> None:
    path = write(tmp_path, "title: x\nsteps:\n  - {name: A, duration: 010, countdown: 3}\n")
    step = load_script(path).steps[0]
    assert step.duration_ms == 8000 and step.countdown == 3  # 010 is octal in YAML 1.1


# -- includes: only routine scripts inside the script's folder tree or the library --------


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ("/etc/passwd", "an include names a routine script (.yaml), not /etc/passwd"),
        ("../../../../../../etc/hostname", "an include names a routine script (.yaml)"),
        ("../outside.yaml", "is outside this script's folder and the built-in library"),
        ("link.yaml", "is outside this script's folder and the built-in library"),
    ],
)
def test_if_an_include_leaves_the_folder_it_is_refused_at_its_line(
    tmp_path: Path, ref: str, fragment: str
) -> None:
    secret = "title: Secret\nsteps:\n  - {name: Hidden, duration: 1m}\n"
    outside = write(tmp_path, secret, "outside.yaml")
    (tmp_path / "routines").mkdir()
    (tmp_path / "routines" / "link.yaml").symlink_to(outside)
    path = write(tmp_path, f"title: x\nsteps:\n  - include: {ref}\n", "routines/r.yaml")
    with pytest.raises(ScriptError) as info:
        load_script(path)
    assert str(info.value).startswith(f"{path}:3:14: steps[0].include: ")
    assert fragment in str(info.value)
    assert "Hidden" not in str(info.value)


def test_includes_may_reach_into_subfolders_and_the_builtin_library(tmp_path: Path) -> None:
    write(tmp_path, "title: P\nsteps:\n  - {name: Part, duration: 1m}\n", "parts/p.yaml")
    library = SCRIPTS / "techniques" / "cat-cow.yaml"
    path = write(
        tmp_path,
        f"title: x\nsteps:\n  - include: parts/p.yaml\n  - include: {library}\n",
    )
    assert [s.name for s in load_script(path).steps] == ["Part", "Cat-Cow Stretch"]


def test_if_an_included_yaml_file_is_not_a_script_no_more_than_an_excerpt_is_quoted(
    tmp_path: Path,
) -> None:
    secret = "s3cr3t-" + "k" * 200
    for name, text in [
        ("config.yaml", f"{secret}\n"),
        ("keys.yaml", f"{secret}: 1\n"),
        ("broken.yaml", f"title: x\npassword: '{secret}\n"),
        ("listed.yaml", f"title: x\nsteps: [{secret}]\n"),
        ("list.yaml", f"- {secret}\n"),
    ]:
        write(tmp_path, text, f"other/{name}")
        path = write(tmp_path, f"title: x\nsteps:\n  - include: other/{name}\n")
        with pytest.raises(ScriptError) as info:
            load_script(path)
        message = str(info.value)
        assert secret not in message, message
        assert secret[:60] not in message, message
        quoted = message.replace(str(tmp_path), "").split(" (allowed: ")[0]  # not the list
        assert len(quoted) < 200, message


def test_if_includes_nest_too_deep_the_deepest_include_is_refused(tmp_path: Path) -> None:
    for i in range(12):
        write(tmp_path, f"title: L{i}\nsteps:\n  - include: l{i + 1}.yaml\n", f"l{i}.yaml")
    write(tmp_path, "title: L12\nsteps:\n  - {name: A, duration: 1m}\n", "l12.yaml")
    with pytest.raises(ScriptError, match=r"l7\.yaml:3:14: .*includes nest more than 8 deep"):
        load_script(tmp_path / "l0.yaml")


def test_a_file_included_many_times_is_read_once(tmp_path: Path) -> None:
    """Includes of includes would multiply the work: each file is read once per load."""
    write(tmp_path, "title: C\nsteps:\n  - {name: C, duration: 1s}\n", "c.yaml")
    write(tmp_path, "title: B\nsteps:\n" + "  - include: c.yaml\n" * 20, "b.yaml")
    path = write(tmp_path, "title: A\nsteps:\n" + "  - include: b.yaml\n" * 20)
    assert len(load_script(path).steps) == 400
    write(tmp_path, "title: A\nsteps:\n" + "  - include: b.yaml\n" * 30)
    with pytest.raises(ScriptError, match=r"routine\.yaml:28:5: .*limit of 500 steps"):
        load_script(path)


def test_an_include_cycle_through_a_file_read_before_is_still_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, "title: B\nsteps:\n  - include: routine.yaml\n", "b.yaml")
    path = write(tmp_path, "title: A\nsteps:\n  - include: b.yaml\n  - include: b.yaml\n")
    with pytest.raises(ScriptError, match=r"b\.yaml:3:14: .*include cycle"):
        load_script(path)


def test_cli_refuses_control_characters_before_they_reach_the_terminal(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'title: x\nsteps:\n  - name: A\n    duration: 5s\n    say: "\\x1b]0;x\\x07"\n'
    )
    for command in ("check", "plan", "export"):
        extra = ["--subtitles", "-o", str(tmp_path / "out.mp3")] if command == "export" else []
        proc = subprocess.run(
            [sys.executable, "-m", "voiceguide", command, str(path), "--engine", "fake", *extra],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert proc.returncode == ExitCode.SCRIPT, proc.stderr
        assert proc.stderr == (
            f"voiceguide: {path}:5:10: control character U+001B is not allowed in a script "
            "(remove it)\n"
        )
        assert proc.stdout == ""
    assert not (tmp_path / "out.mp3").exists() and not (tmp_path / "out.vtt").exists()


def test_if_an_include_drops_the_sides_its_step_speaks_of_it_is_refused(tmp_path: Path) -> None:
    twist = SCRIPTS / "techniques" / "seated-spinal-twist.yaml"
    path = write(
        tmp_path,
        f"title: x\nsteps:\n  - include: {twist}\n    step: Seated Spinal Twist\n"
        "    sides: false\n",
    )
    with pytest.raises(ScriptError) as info:
        load_script(path)
    assert str(info.value).startswith(f"{path}:5:5: steps[0].sides: the included step's texts")


def test_a_script_named_by_a_symlink_includes_from_the_folder_it_is_named_in(
    tmp_path: Path,
) -> None:
    real = write(tmp_path, "title: x\nsteps:\n  - include: parts/p.yaml\n", "elsewhere/r.yaml")
    write(tmp_path, "title: P\nsteps:\n  - {name: Part, duration: 1m}\n", "mine/parts/p.yaml")
    (tmp_path / "mine" / "r.yaml").symlink_to(real)
    assert [s.name for s in load_script(tmp_path / "mine" / "r.yaml").steps] == ["Part"]
