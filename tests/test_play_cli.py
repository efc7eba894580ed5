"""``voiceguide play`` on the null output: stop, resume, start from a step, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ctl, wait_for_socket, write
from voiceguide.errors import ExitCode

ROUTINE = """title: Resume Test
voice: {engine: fake}
steps:
  - {name: Warm Up, duration: 20s, say: Begin.}
  - {name: Cool Down, duration: 20s, say: Slow down.}
"""


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "play", *args, "--output", "null"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def status_when_up(sock: Path, proc: subprocess.Popen[str]) -> dict[str, object]:
    wait_for_socket(sock, proc)
    data: dict[str, object] = json.loads(ctl("status", sock))
    return data


def test_stop_saves_the_position_and_resume_goes_on_from_it(tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    sock = tmp_path / "s.sock"
    proc = start(str(script), "--socket", str(sock))
    status_when_up(sock, proc)
    time.sleep(2.0)
    # The position is bounded by the player's own status and the time the stop took to
    # arrive (on a busy machine, starting `voiceguide ctl` alone takes seconds).
    sent = time.monotonic()
    before = int(json.loads(ctl("status", sock))["position_ms"])
    ctl("stop", sock)
    took = time.monotonic() - sent
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped at 0:" in err and "--resume" in err
    positions = json.loads(
        (Path(os.environ["VOICEGUIDE_CACHE_DIR"]) / "positions.json").read_text()
    )
    saved = positions[str(script.resolve())]["position_ms"]
    assert before >= 1500
    assert before - 100 <= saved <= before + took * 1000 + 300

    again = start(str(script), "--socket", str(sock), "--resume")
    status = status_when_up(sock, again)
    assert status["step"] == "Warm Up"
    assert int(str(status["position_ms"])) >= saved - 300
    ctl("stop", sock)
    again.communicate(timeout=30)


def test_from_a_step_and_an_unknown_step(tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    sock = tmp_path / "s.sock"
    proc = start(str(script), "--socket", str(sock), "--from", "cool")
    status = status_when_up(sock, proc)
    assert status["step"] == "Cool Down"
    ctl("stop", sock)
    proc.communicate(timeout=30)
    bad = start(str(script), "--from", "nap")
    _, err = bad.communicate(timeout=30)
    assert bad.returncode == ExitCode.USAGE
    assert err.strip() == (
        "voiceguide: --from 'nap': no step matches; the steps are: 1 'Warm Up', 2 'Cool Down'"
    )


LONG = """title: From Test
voice: {engine: fake}
intro: Welcome to the routine.
steps:
  - {name: Warm Up, duration: 60s, say: Begin.}
  - {name: Hamstring Stretch, duration: 60s, say: Reach down.}
  - {name: Quad Stretch, duration: 60s, say: Hold your foot.}
"""


def seconds(position: object) -> int:
    """``1:30`` (a status's routine-clock ``position``) in seconds, plus one: the position
    heard lags the one played by the output's latency, and the clock drops the fraction."""
    minutes, _, secs = str(position).partition(":")
    return int(minutes) * 60 + int(secs) + 1


def started_at(
    script: Path, sock: Path, *args: str, env: dict[str, str] | None = None
) -> dict[str, object]:
    """The first status of ``play SCRIPT ARGS`` (stopped at once after)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "play", str(script), "--output", "null"]
        + ["--socket", str(sock), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        status = status_when_up(sock, proc)
        ctl("stop", sock)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        proc.kill()
    return status


def test_from_takes_a_step_number_a_word_and_a_routine_time(tmp_path: Path) -> None:
    script = write(tmp_path, LONG)
    sock = tmp_path / "s.sock"
    assert started_at(script, sock, "--from", "2")["step"] == "Hamstring Stretch"
    assert started_at(script, sock, "--from", "QUAD")["step"] == "Quad Stretch"
    status = started_at(script, sock, "--from", "1:30")  # inside the second step
    assert status["step"] == "Hamstring Stretch"
    assert seconds(status["position"]) >= 90
    status = started_at(script, sock, "--from", "65s", "--resume")  # --from wins
    assert status["step"] == "Hamstring Stretch"
    assert seconds(status["position"]) >= 65


def test_from_a_routine_time_on_a_cold_start(tmp_path: Path) -> None:
    """Nothing cached: the whole is laid out before the play starts at that time."""
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "fresh-cache")}
    status = started_at(write(tmp_path, LONG), tmp_path / "s.sock", "--from", "2m5s", env=env)
    assert status["step"] == "Quad Stretch"
    assert seconds(status["position"]) >= 125


def test_from_what_names_no_place_is_a_usage_error_of_one_line(tmp_path: Path) -> None:
    script = write(tmp_path, LONG)
    steps = "1 'Warm Up', 2 'Hamstring Stretch', 3 'Quad Stretch'"
    for value, why in [
        ("stretch", "more than one step matches: 2 'Hamstring Stretch', 3 'Quad Stretch'"),
        ("4", f"no step 4; the steps are: {steps}"),
        ("3:00", "the routine ends at 3:00"),
        ("nap", f"no step matches; the steps are: {steps}"),
    ]:
        bad = start(str(script), "--from", value)
        try:
            _, err = bad.communicate(timeout=30)
        finally:
            bad.kill()
        assert bad.returncode == ExitCode.USAGE, err
        assert err.splitlines() == [f"voiceguide: --from {value!r}: {why}"]


def test_sigterm_stops_cleanly_with_130(tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    sock = tmp_path / "s.sock"
    proc = start(str(script), "--socket", str(sock))
    status_when_up(sock, proc)
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED
    assert "Traceback" not in err
    assert not sock.exists()


def test_two_sigterms_50_ms_apart_end_with_130(tmp_path: Path) -> None:
    """The second signal may land as Python exits, once it has put the default handlers
    back (which ended with 143); ignored by then, the exit stays 130."""
    script = write(tmp_path, ROUTINE)
    for attempt in range(3):
        sock = tmp_path / f"s{attempt}.sock"
        proc = start(str(script), "--socket", str(sock))
        status_when_up(sock, proc)
        proc.terminate()
        time.sleep(0.05)
        if proc.poll() is None:
            proc.terminate()
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == ExitCode.INTERRUPTED, err
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1] == "voiceguide: interrupted"


def test_volume_outside_its_range_is_a_usage_error(tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    for volume in ("10", "-31", "nan"):
        bad = start(str(script), "--volume", volume)
        try:
            _, err = bad.communicate(timeout=30)
        finally:
            bad.kill()
        assert bad.returncode == ExitCode.USAGE, err
        assert "--volume" in err and "Traceback" not in err


def test_a_finished_play_exits_0(tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "voiceguide",
            "play",
            str(script),
            "--output",
            "null",
            "--fast",
            "--socket",
            str(tmp_path / "s.sock"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "finished"  # after a line per part


COLD = """title: Cold Start
voice: {engine: fake}
intro: |
  Welcome. This first paragraph is heard while the rest is still being spoken.

  A second paragraph.
steps:
  - {name: One, duration: 8s, say: Begin the first step., cues: [{at: 3s, say: Three seconds in.}]}
  - {name: Two, duration: 8s, say: And the second., cues: [{at: halfway, say: Halfway there.}]}
"""


def play_fast(script: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", "play", str(script), "--output", "null", "--fast"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_a_cold_start_plays_to_the_end(tmp_path: Path) -> None:
    """Nothing cached: it starts on the first part laid out and plays the whole."""
    done = play_fast(write(tmp_path, COLD), tmp_path / "fresh-cache")
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (0, "finished")
    assert list((tmp_path / "fresh-cache" / "speech").glob("*.clip"))  # all spoken by now


def test_a_cold_start_stops_on_cues_that_do_not_fit(tmp_path: Path) -> None:
    """Found only once all is laid out: the play stops with the same error and code."""
    misfit = COLD.replace(
        "{at: halfway, say: Halfway there.}", "{before_end: 1s, say: " + "word " * 40 + "}"
    )
    done = play_fast(write(tmp_path, misfit), tmp_path / "fresh-cache")
    assert done.returncode == ExitCode.CUE_FIT, done.stderr
    assert "1 cue does not fit" in done.stderr and "Traceback" not in done.stderr
