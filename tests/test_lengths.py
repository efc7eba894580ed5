"""One routine length and one file length, labelled the same way by routines, check and plan.

The routine length runs from 0:00 (the first step) to the end of the last step; the file
length is the whole timeline, the intro and the closing included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DurationBank, write
from voiceguide.compile import compile_routine
from voiceguide.compile.lengths import Lengths, lengths
from voiceguide.script import load_script
from voiceguide.units import clock
from voiceguide.voices.cache import SUFFIX, SpeechCache

SCRIPT = """\
title: Lengths
voice: {engine: fake}
intro: Welcome to a short routine with a long name for its first step.
outro: Well done, that is all for today.
rest: 5s
steps:
  - {name: A step whose name is much longer than any table column cut, duration: 20s}
  - name: Waits
    duration: 30s
    wait: {say: Ready?, pause: 3s}
"""


def vg(*args: str, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = os.environ.copy()
    if cache is not None:
        env["VOICEGUIDE_CACHE_DIR"] = str(cache)
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )


def test_the_routine_ends_with_its_last_step_and_the_file_with_the_closing(
    tmp_path: Path,
) -> None:
    tl = compile_routine(load_script(write(tmp_path, SCRIPT)), DurationBank()).timeline
    found = lengths(tl)
    closing = tl.chapters[-1]
    assert closing.title == "Closing"
    # 20 s, the 5 s rest, the wait (its words and 3 s pause), 30 s: up to the closing
    assert found.routine_ms == closing.start_ms - tl.origin_ms > 55_000
    assert found.file_ms == tl.duration_ms == closing.end_ms
    assert found.label() == f"routine {clock(found.routine_ms)} · file {clock(tl.duration_ms)}"


def test_labels() -> None:
    assert Lengths(600_000, 670_400).label() == "routine 10:00 · file 11:10"
    assert Lengths(600_000, 670_400, guessed=True).label() == "routine 10:00 · file ~11:10"
    assert Lengths(3_600_000, 3_720_000).label() == "routine 1:00:00 · file 1:02:00"


def test_check_and_plan_show_the_same_two_lengths(tmp_path: Path) -> None:
    script = str(write(tmp_path, SCRIPT))
    bank = SpeechCache(Path(os.environ["VOICEGUIDE_CACHE_DIR"]) / "speech")  # as the CLI's
    expected = lengths(compile_routine(load_script(Path(script)), bank).timeline).label()
    check = vg("check", script)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip().endswith(f": ok: 2 steps, 5 spoken cues, {expected}")
    plan = vg("plan", script)
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert lines[1] == expected
    # the step column is as wide as the longest name: nothing is cut short
    assert any("A step whose name is much longer than any table column cut  " in x for x in lines)
    shown = vg("plan", "--json", script)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert Lengths(data["routine_ms"], data["file_ms"]).label() == expected
    assert data["file_ms"] == data["duration_ms"]


def test_routines_shows_the_lengths_check_and_plan_show(tmp_path: Path) -> None:
    """Listed before anything is spoken, the file length is a guess, and says so; once the
    routine is spoken (here by check), routines, check and plan agree to the second."""
    cache = tmp_path / "cache"
    cold = vg("routines", cache=cache)
    assert cold.returncode == 0, cold.stderr
    daily = next(line for line in cold.stdout.splitlines() if line.startswith("daily "))
    assert "routine 10:00 · file ~" in daily
    assert cold.stdout.splitlines()[-1].startswith("~ the file length is a guess")
    assert not list(cache.rglob(f"*{SUFFIX}"))  # nothing was spoken

    check = vg("check", "daily", cache=cache)
    assert check.returncode == 0, check.stderr
    label = check.stdout.strip().rpartition(", ")[2]
    assert label.startswith("routine 10:00 · file 11:")
    warm = vg("routines", cache=cache)
    assert warm.returncode == 0, warm.stderr
    daily = next(line for line in warm.stdout.splitlines() if line.startswith("daily "))
    assert daily.split() == ["daily", *label.split(), "Daily", "Back", "Release"]
    plan = vg("plan", "daily", cache=cache)
    assert plan.stdout.splitlines()[1] == label
