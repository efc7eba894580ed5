"""``voiceguide check``: each conflict at the cue the user wrote, in routine time, with who
collides with whom and the smallest fix; the warnings (cues never spoken, a slow_to that
speeds up); ``--strict``; and the small things (a missing script, "1 step", YAML slips).

The table runs through the library the command prints (``check_report``) with the pure fake
speech bank (200 ms + 60 ms a character), so every line is exact; a few run end to end
through the real command and espeak-ng.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DurationBank, write
from voiceguide.compile import compile_routine
from voiceguide.compile.cuefit import FitIssue, Placed, fit_issues, routine_time
from voiceguide.compile.fixes import earliest_fit, every_fit, latest_fit, spoken_cycles_to_keep
from voiceguide.compile.report import check_report, plural
from voiceguide.errors import ExitCode, ScriptError
from voiceguide.model import Where
from voiceguide.script import load_script
from voiceguide.timeline import Speech

# name: (script, the lines check prints ({path}: the script), exit code, with --strict).
# A breathing step of 31.8 s paces exactly three 10 s cycles of 4-0-6-0 from 1.5 s (after
# the chime's lead and the gap) to 0.3 s before its end: the pacer's words at 1.5, 5.5,
# 11.5 s ...
CASES: dict[str, tuple[str, list[str], int, int]] = {
    "an automatic breath word runs into a cue: the cue's line, move it or fewer words": (
        """title: T
steps:
  - name: Neck
    duration: 31.8s
    breathing: {pattern: 4-0-6-0, spoken_cycles: 3}
    cues:
      - {at: 12s, say: Soft}
""",
        [
            "{path}:7:9: the automatic 'Breathe in' at 0:11.5 in 'Neck' needs 0.80s but only "
            "0.50s are free before the cue 'Soft' at 0:12",
            "  fix: move the cue to at: 13s (the earliest time it fits), or set spoken_cycles: 1 "
            "in the breathing of 'Neck'",
        ],
        4,
        4,
    ),
    "a cue runs into a breath word: routine time, the intro before 0:00": (
        """title: T
intro: Hello.
steps:
  - name: Neck
    duration: 31.8s
    breathing: 4-0-6-0
    cues:
      - {at: 10.5s, say: Roll the shoulders}
""",
        [
            "{path}:8:9: the cue 'Roll the shoulders' at 0:10.5 in 'Neck' needs 1.28s but only "
            "1.00s are free before the automatic 'Breathe in' at 0:11.5",
            "  fix: move the cue to at: 13s (the earliest time it fits), or set spoken_cycles: 1 "
            "in the breathing of 'Neck'",
        ],
        4,
        4,
    ),
    "a before_end cue runs past the end: the nearest before_end that fits": (
        """title: T
steps:
  - name: Short
    duration: 10s
    cues:
      - {before_end: 1s, say: Almost there now}
""",
        [
            "{path}:6:9: the cue 'Almost there now' at 0:09 in 'Short' needs 1.16s but only "
            "1.00s are free before the end of the step at 0:10",
            "  fix: move the cue to before_end: 2s (the nearest time it fits)",
        ],
        4,
        4,
    ),
    "two cues the user wrote: the other one's line": (
        """title: T
steps:
  - name: A
    duration: 30s
    cues:
      - {at: 5s, say: Lift the arms up high}
      - {at: 6s, say: Hold}
""",
        [
            "{path}:6:9: the cue 'Lift the arms up high' at 0:05 in 'A' needs 1.46s but only "
            "1.00s are free before the cue 'Hold' at 0:06 (line 7)",
            "  fix: move the cue to at: 7s (the earliest time it fits)",
        ],
        4,
        4,
    ),
    "the automatic switch line, in the second side: the offset counts from the side": (
        """title: T
steps:
  - name: Twist
    duration: 40s
    sides: true
    cues:
      - {at: 1s, say: Turn}
""",
        [
            "{path}:7:9: the automatic 'Switch sides. Now the left side.' at 0:20.7 in 'Twist' "
            "needs 2.12s but only 0.30s are free before the cue 'Turn' at 0:21",
            "  fix: move the cue to at: 3s (the earliest time it fits)",
        ],
        4,
        4,
    ),
    "every: the earliest from that fits every repetition": (
        """title: T
steps:
  - name: A
    duration: 30s
    cues:
      - {every: 10s, say: Good and steady work}
      - {at: 11s, say: Breathe}
""",
        [
            "{path}:6:9: the cue 'Good and steady work' at 0:10 in 'A' needs 1.40s but only "
            "1.00s are free before the cue 'Breathe' at 0:11 (line 7)",
            "  fix: set from: 12s (the earliest where every repetition fits)",
        ],
        4,
        4,
    ),
    "an instruction too long for its step: at its say, shorten it or lengthen the step": (
        """title: T
steps:
  - name: Short
    duration: 3s
    say: Lie down and let your whole body go heavy
""",
        [
            "{path}:5:10: the instruction 'Lie down and let your whole body go h...' at 0:00.7 "
            "in 'Short' needs 2.66s but only 2.30s are free before the end of the step at 0:03",
            "  fix: shorten the text, or lengthen the step by 1s",
        ],
        4,
        4,
    ),
    "a cue that fits nowhere in its step, and the automatic rest line": (
        """title: T
rest: 1s
steps:
  - name: A
    duration: 3s
    cues:
      - {at: 1s, say: This is a cue far too long for a three second step}
  - name: B
    duration: 3s
""",
        [
            "{path}:7:9: the cue 'This is a cue far too long for a thre...' at 0:01 in 'A' "
            "needs 3.20s but only 2.00s are free before the end of the step at 0:03",
            "  fix: shorten the text, or lengthen the step by 2s",
            "{path}:2:7: the automatic 'Rest. Next: B.' at 0:03.2 in 'A' needs 1.04s but only "
            "0.80s are free before the next step",
            "  fix: shorten the text, or lengthen the rest by 1s",
        ],
        4,
        4,
    ),
    "on: hold_in in a pattern with no hold: never spoken": (
        """title: T
steps:
  - name: Calm
    duration: 30s
    breathing: 4-0-6-0
    cues:
      - {on: hold_in, say: Hold it}
""",
        [
            "{path}:7:9: warning: this cue is never spoken: on: hold_in, but the pattern "
            "4-0-6-0 has no hold after the inhale",
            "  fix: lock it to a phase the pattern has (on: inhale or on: exhale), or give the "
            "pattern a hold_in (hold_in: 2s)",
        ],
        0,
        3,
    ),
    "slow_to faster than the pattern: at the slow_to": (
        """title: T
steps:
  - name: Box
    duration: 60s
    breathing: {pattern: box, slow_to: 5}
""",
        [
            "{path}:5:40: warning: slow_to: 5 breaths a minute is faster than the pattern "
            "4-4-4-4 (3.75 a minute): the breathing speeds up",
            "  fix: set slow_to below 3.75 to slow it down, or remove it",
        ],
        0,
        3,
    ),
    "every from after the end of the step: never spoken": (
        """title: T
steps:
  - name: A
    duration: 30s
    cues:
      - {every: 60s, say: Again}
""",
        [
            "{path}:6:9: warning: this cue is never spoken: its first time (from: 60s) is after "
            "the end of the step (30s)",
            "  fix: set from: to less than 30s, or a shorter every:",
        ],
        0,
        3,
    ),
    "every_breaths more than the step has: never spoken": (
        """title: T
steps:
  - name: A
    duration: 30s
    breathing: 4-0-6-0
    cues:
      - {every_breaths: 10, say: Good}
""",
        [
            "{path}:7:9: warning: this cue is never spoken: every_breaths: 10, but the step has "
            "fewer breathing cycles (about 3 of 4-0-6-0 in 30s)",
            "  fix: set every_breaths: 3 or less, or lengthen the step",
        ],
        0,
        3,
    ),
    "a clean script says nothing here": (
        "title: T\nsteps:\n  - {name: A, duration: 30s, say: Go}\n",
        [],
        0,
        0,
    ),
}


def _report(tmp_path: Path, text: str, strict: bool = False):  # type: ignore[no-untyped-def]
    path = write(tmp_path, text)
    routine = load_script(path)
    return path, check_report(routine, compile_routine(routine, DurationBank()), strict=strict)


@pytest.mark.parametrize("name", list(CASES))
def test_check_says_where_who_and_the_fix(tmp_path: Path, name: str) -> None:
    text, lines, code, strict_code = CASES[name]
    path, report = _report(tmp_path, text)
    assert list(report.lines) == [line.format(path=path) for line in lines]
    assert (report.error.exit_code if report.error else 0) == code
    _, strict = _report(tmp_path, text, strict=True)
    assert (strict.error.exit_code if strict.error else 0) == strict_code


def test_conflicts_and_warnings_together_end_as_the_fit_error(tmp_path: Path) -> None:
    _, report = _report(
        tmp_path,
        "title: T\nsteps:\n  - name: A\n    duration: 30s\n    cues:\n"
        "      - {at: 5s, say: Lift the arms up high}\n      - {at: 6s, say: Hold}\n"
        "      - {every: 60s, say: Again}\n",
    )
    assert report.error is not None and report.error.exit_code == ExitCode.CUE_FIT
    assert str(report.error) == "1 cue does not fit, 1 warning"
    assert [str(w.where).rsplit(":", 2)[1:] for w in report.warnings] == [["8", "9"]]


def test_the_export_refusal_carries_the_issues_and_their_fixes(tmp_path: Path) -> None:
    from voiceguide.compile.job import refuse_misfits
    from voiceguide.errors import CueFitError

    path = write(tmp_path, CASES["two cues the user wrote: the other one's line"][0])
    compiled = compile_routine(load_script(path), DurationBank())
    with pytest.raises(CueFitError) as info:
        refuse_misfits(compiled, "nothing was exported")
    assert str(info.value).splitlines()[0] == "1 cue does not fit; nothing was exported:"
    assert (
        str(info.value).splitlines()[2]
        == "  fix: move the cue to at: 7s (the earliest time it fits)"
    )
    (issue,) = info.value.issues
    assert isinstance(issue, FitIssue) and str(issue.where) == f"{path}:6:9"


# the suggestion logic


def test_earliest_fit_jumps_past_what_is_in_the_way_on_whole_seconds() -> None:
    others = [(11_120, 11_920), (14_980, 15_840)]
    assert earliest_fit(10_500, 1280, others, 0, 40_000, anchor=0) == 12_000
    assert earliest_fit(12_000, 1280, others, 0, 40_000, anchor=0) == 12_000
    assert earliest_fit(14_000, 1280, others, 0, 40_000, anchor=0) == 16_000
    assert earliest_fit(10_500, 1280, others, 0, 13_000, anchor=0) is None  # no room after
    assert earliest_fit(500, 100, [], 0, 10_000, anchor=300) == 1300  # the grid is the field's


def test_latest_fit_is_the_nearest_before_on_the_grid_from_the_end() -> None:
    # before_end: 1s of a 1.16 s cue in a part ending at 10 s: 2 s before the end fits
    assert latest_fit(9000, 1160, [], 0, 10_000, anchor=10_000) == 8000
    assert latest_fit(9000, 1160, [(7500, 8500)], 0, 10_000, anchor=10_000) == 6000
    assert latest_fit(9000, 1160, [(0, 9000)], 0, 10_000, anchor=10_000) is None


def test_every_fit_moves_from_until_every_repetition_fits() -> None:
    # every 10 s in a 30 s part, 1.4 s long; something at 11-11.44 s
    assert every_fit(10_000, 10_000, 1400, [(11_000, 11_440)], 0, 30_000) == 12_000
    assert every_fit(10_000, 10_000, 1400, [], 0, 30_000) == 10_000
    assert every_fit(10_000, 10_000, 1400, [(0, 30_000)], 0, 30_000) is None


def test_the_setting_to_lower_keeps_the_cycles_before_the_breath_in_the_way() -> None:
    assert spoken_cycles_to_keep(1) == 1  # the words of cycle 0 stay
    assert spoken_cycles_to_keep(0) == 0


def _placed(start: int, ms: int, text: str, cue: str, line: int, **kw: int) -> Placed:
    speech = Speech(start, ms, text, 0, cue)
    return Placed(speech, Where("r.yaml", line, 9), 40_000, "the end of the step", **kw)


def test_a_locked_cue_into_a_breath_word_names_spoken_cycles_and_a_shorter_text() -> None:
    placed = [
        _placed(1500, 2500, "Slowly now", "phase", 7, cycle=0),
        _placed(3500, 800, "Breathe out", "breath", 3, cycle=0),
    ]
    (issue,) = fit_issues(placed, ["Calm"])
    assert str(issue.where) == "r.yaml:7:9"
    assert issue.blocker == "the automatic 'Breathe out' at 0:03.5"
    assert issue.fix == "set spoken_cycles: 0 in the breathing of 'Calm', or shorten the text"


def test_what_no_move_helps_says_to_shorten_or_lengthen() -> None:
    (issue,) = fit_issues([_placed(38_000, 3500, "Long start cue", "start", 6)], ["A"])
    assert issue.fix == "shorten the text, or lengthen the step by 2s"


def test_routine_time_shows_what_it_needs() -> None:
    assert [routine_time(ms) for ms in (0, 30_000, 62_500, 11_120, -3500)] == [
        "0:00",
        "0:30",
        "1:02.5",
        "0:11.12",
        "-0:03.5",
    ]
    assert [plural(1, "step"), plural(2, "step"), plural(1, "cue does", "cues do")] == [
        "1 step",
        "2 steps",
        "1 cue does",
    ]


# YAML slips and a missing script


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "cues: [{at: 5s, say: Now, and breathe}]",
            ":5:31: steps[0].cues[0].and breathe: unknown field 'and breathe': this looks like "
            "YAML read a comma in unquoted text inside {...} as the end of the text: put the "
            "text in quotes",
        ),
        (
            "say: {remaining}",
            ":5:10: steps[0].say: expected text, got a mapping: this looks like YAML read "
            "{remaining} in unquoted text as a mapping: put the text in quotes",
        ),
        (
            "say: {remaining} left",
            ":5:22: YAML syntax: did not find expected key; this looks like YAML read {...} in "
            "unquoted text as a mapping: put the text in quotes",
        ),
        ("sya: Go", ":5:5: steps[0].sya: unknown field 'sya'; did you mean 'say'?"),
    ],
)
def test_a_yaml_slip_suggests_quoting(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, f"title: T\nsteps:\n  - name: A\n    duration: 30s\n    {line}\n")
    with pytest.raises(ScriptError) as info:
        load_script(path)
    assert str(info.value) == f"{path}{message}"


def test_a_before_end_longer_than_its_step_is_an_error_at_the_cue(tmp_path: Path) -> None:
    """Not a warning: such a cue has no time in its step at all (exit 3)."""
    path = write(
        tmp_path,
        "title: T\nsteps:\n  - name: A\n    duration: 30s\n    sides: true\n    cues:\n"
        "      - {before_end: 20s, say: Hi}\n",
    )
    with pytest.raises(ScriptError) as info:
        load_script(path)
    assert str(info.value) == (
        f"{path}:7:9: steps[0].cues[0]: before_end: 20s is not inside the side (15s): "
        "give a time shorter than the side"
    )
    assert info.value.exit_code == ExitCode.SCRIPT


# end to end: the real command, espeak-ng


def vg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *args], capture_output=True, text=True, timeout=120
    )


NEEDS = r"needs \d+\.\d\ds but only \d+\.\d\ds are free before"


def test_the_command_prints_the_conflict_and_its_fix_and_exits_4(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "title: T\nsteps:\n  - name: A\n    duration: 30s\n    cues:\n"
        "      - {at: 5s, say: Lift your arms up high above your head}\n"
        "      - {at: 6s, say: Hold}\n",
    )
    done = vg("check", str(path))
    assert done.returncode == ExitCode.CUE_FIT, done.stderr
    first, fix = done.stdout.splitlines()
    assert re.fullmatch(
        re.escape(f"{path}:6:9: the cue 'Lift your arms up high above your head' at 0:05 in 'A' ")
        + NEEDS
        + re.escape(" the cue 'Hold' at 0:06 (line 7)"),
        first,
    ), first
    assert re.fullmatch(r"  fix: move the cue to at: \d+s \(the earliest time it fits\)", fix), fix
    assert done.stderr == "voiceguide: 1 cue does not fit\n"


def test_the_command_prints_warnings_exits_0_and_3_with_strict(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "title: T\nsteps:\n  - name: Calm\n    duration: 30s\n    breathing: 4-0-6-0\n"
        "    cues:\n      - {on: hold_in, say: Hold it}\n",
    )
    done = vg("check", str(path))
    assert done.returncode == 0, done.stderr
    warning, fix, ok = done.stdout.splitlines()
    assert warning.startswith(f"{path}:7:9: warning: this cue is never spoken: on: hold_in")
    assert fix.startswith("  fix: lock it to a phase the pattern has")
    assert ok.startswith(f"{path}: ok: 1 step, ")  # not "1 steps"
    strict = vg("check", "--strict", str(path))
    assert strict.returncode == ExitCode.SCRIPT
    assert strict.stdout.splitlines() == [warning, fix]
    assert strict.stderr == "voiceguide: 1 warning, errors with --strict\n"


def test_a_missing_script_has_no_made_up_position(tmp_path: Path) -> None:
    done = vg("check", str(tmp_path / "nope.yaml"))
    assert done.returncode == ExitCode.SCRIPT
    assert done.stderr == (
        f"voiceguide: no such script: {tmp_path / 'nope.yaml'} "
        "(not a file nor a built-in routine; see 'voiceguide routines')\n"
    )
