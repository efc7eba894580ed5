"""The player end to end: ``voiceguide play`` through each real backend into a PulseAudio
null sink, recorded from its monitor and compared with the export of the same routine.

The export is found whole in the recording, with no gap (every quarter second at the
start's alignment, the end within 1 ms of it); control actions sent through the socket
(``voiceguide ctl``) show their effect in the recording.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from tests.conftest import ctl, wait_for_socket, write
from tests.pulse import PulseServer, Recording, start_pulse
from tests.test_output import find, real_time
from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE, ms_to_frames

pytestmark = pytest.mark.e2e

Samples = npt.NDArray[np.float32]

ROUTINE = """title: Player Test
intro: Player test.
steps:
  - name: Breathe
    duration: 8s
    say: Breathe slowly.
    breathing: {pattern: 3-0-3-0, spoken_cycles: 0}
  - name: Stretch
    duration: 8s
    say: Reach up.
"""

TALKING = """title: Device Test
intro: Device test.
steps:
  - name: Talk
    duration: 16s
    say: Keep breathing slowly and steadily.
    cues:
      - {every: 2s, from: 3s, say: Still here with you.}
"""

WAITING = """title: Wait Test
steps:
  - name: Ready Step
    duration: 6s
    say: Lie down.
    wait: {pause: 3s, say: Tell me when., remind: Still waiting., every: 5s}
"""


def assert_gapless_with_pauses(ref: Samples, recording: Samples) -> None:
    """Every sounding quarter second of ``ref`` is in the recording at the alignment of its
    first one: no gap, no slip (within 1 ms); the last one too."""
    seg = SAMPLE_RATE // 4
    loud = [
        at
        for at in range(0, len(ref) - seg + 1, seg)
        if float(np.sqrt(np.mean(ref[at : at + seg] ** 2))) > 0.01
    ]
    assert len(loud) > 8
    first, match = find(ref[loud[0] : loud[0] + seg], recording)
    start = first - loud[0]
    assert match > 0.98
    for at in loud[1:]:
        shift, match = best_match(ref[at : at + seg], recording, start + at, reach=240)
        assert match > 0.98, f"the audio at {at / SAMPLE_RATE:.2f} s is not in the recording"
        assert abs(shift) <= 24, f"gap: the audio at {at / SAMPLE_RATE:.2f} s is {shift} frames off"


def best_match(segment: Samples, recording: Samples, at: int, reach: int) -> tuple[int, float]:
    """The shift within ``reach`` frames of ``at`` where ``segment`` matches the recording
    best (normalised correlation: a decaying chime correlates more with its own louder
    start than with itself, so a plain cross-correlation peak can mislead)."""
    best = (0, -1.0)
    norm = float(np.linalg.norm(segment)) + 1e-12
    for shift in range(-reach, reach + 1):
        lo = at + shift
        if lo < 0 or lo + len(segment) > len(recording):
            continue
        part = recording[lo : lo + len(segment)]
        match = float(part @ segment) / (float(np.linalg.norm(part)) * norm + 1e-12)
        if match > best[1]:
            best = (shift, match)
    return best


def vg(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "voiceguide", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
        **kw,
    )


def exported(script: Path) -> tuple[Samples, dict[str, Any]]:
    wav = script.with_suffix(".wav")
    done = subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", str(script), "-o", str(wav)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    plan = subprocess.run(
        [sys.executable, "-m", "voiceguide", "plan", str(script), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sf.read(str(wav), dtype="float32")[0], json.loads(plan.stdout)


@contextlib.contextmanager
def controlled_play(
    pulse: PulseServer, script: Path, frames: int, sock: Path
) -> Iterator[tuple[subprocess.Popen[str], Recording]]:
    """A play on pacat with a control socket, recorded until the player is done; if the
    block fails, the player and the recorder are ended, so a retry finds the socket and the
    sink free."""
    rec = pulse.record(frames / SAMPLE_RATE + 180.0)
    proc = vg("play", str(script), "--output", "pacat", "--socket", str(sock))
    try:
        wait_for_socket(sock, proc)
        yield proc, rec
    except BaseException:
        proc.kill()
        proc.communicate()
        rec.proc.kill()
        raise


@pytest.mark.parametrize("backend", ["sounddevice", "pacat", "aplay"])
def test_play_is_the_export_gapless(
    backend: str,
    pulse: PulseServer,
    tmp_path: Path,
) -> None:
    script = write(tmp_path, ROUTINE)
    ref, _ = exported(script)

    def measure() -> None:
        rec = pulse.record(len(ref) / SAMPLE_RATE + 120.0)  # until the player is done
        proc = vg("play", str(script), "--output", backend, "--socket", str(tmp_path / "s"))
        _, err = proc.communicate(timeout=120)
        recording = rec.finish()
        assert proc.returncode == 0, err
        assert_gapless_with_pauses(ref, recording)

    real_time(measure)


def test_pause_resume_and_next_through_the_socket(pulse: PulseServer, tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    ref, plan = exported(script)

    def measure() -> None:
        sock = tmp_path / "ctl.sock"
        with controlled_play(pulse, script, len(ref), sock) as (proc, rec):
            # Each step waits on the player's status, not on a timer: on a busy machine the
            # re-cue, say, takes longer to speak.
            _poll(sock, proc, lambda s: s["position_file_ms"] >= 2000, "playing", 30)
            assert ctl("pause", sock).strip() == "ok"
            status = _poll(sock, proc, lambda s: s["state"] == "paused", "pausing", 10)
            paused_at = status["position_file_ms"]
            # The next sounding half second after the pause: it must play before "next" is sent.
            at = ms_to_frames(paused_at) + ms_to_frames(300)
            half = SAMPLE_RATE // 2
            while float(np.sqrt(np.mean(ref[at : at + half] ** 2))) < 0.01:
                at += SAMPLE_RATE // 20
            time.sleep(2.5)  # held paused this long (at least)
            ctl("resume", sock)
            heard = (at + half) // FRAMES_PER_MS + 300
            _poll(sock, proc, lambda s: s["position_file_ms"] >= heard, "resuming", 30)
            ctl("next", sock)
        _, err = proc.communicate(timeout=120)
        recording = rec.finish()
        assert proc.returncode == 0, err
        # Before the pause: the export from its start.
        start, match = find(ref[:SAMPLE_RATE], recording)
        assert match > 0.98
        # The pause: two seconds and more of silence.
        level = np.sqrt(np.convolve(recording**2, np.ones(2400) / 2400, mode="valid"))
        quiet = level < 1e-4
        longest = max(
            (len(run) for run in np.split(quiet, np.flatnonzero(np.diff(quiet)) + 1) if run[0]),
            default=0,
        )
        assert longest > 2.0 * SAMPLE_RATE
        # After the pause the export goes on from where it stopped (after the spoken re-cue):
        # its next sounding half second is in the recording, later than it is in the export.
        offset, match = find(ref[at : at + half], recording[start + at :])
        assert match > 0.95
        # "next" jumped to the start of the second step: its first second is in the recording.
        stretch = next(c for c in plan["chapters"] if c["title"] == "Stretch")
        s0 = ms_to_frames(stretch["start_ms"])
        offset, match = find(ref[s0 : s0 + SAMPLE_RATE], recording)
        assert match > 0.95

    real_time(measure)


def test_a_waiting_step_holds_until_ready(pulse: PulseServer, tmp_path: Path) -> None:
    script = write(tmp_path, WAITING)
    ref, plan = exported(script)
    (wait,) = [e for e in plan["events"] if e["kind"] == "silence"]

    def measure() -> None:
        sock = tmp_path / "ctl.sock"
        with controlled_play(pulse, script, len(ref), sock) as (proc, rec):
            _poll(sock, proc, lambda s: s["state"] == "waiting", "the player never waited", 30)
            time.sleep(6.0)  # longer than the export's pause: the player holds, reminds once
            assert _status(sock)["state"] == "waiting"
            ctl("ready", sock)
        _, err = proc.communicate(timeout=60)
        recording = rec.finish()
        assert proc.returncode == 0, err
        end = ms_to_frames(wait["start_ms"] + wait["duration_ms"])
        tail = ref[end:]
        offset, match = find(tail[: 2 * SAMPLE_RATE], recording)
        assert match > 0.95
        head, match = find(ref[:SAMPLE_RATE], recording)
        assert match > 0.95
        assert offset - head > end + 2 * SAMPLE_RATE  # held 6 s, past the export's 3 s pause

    real_time(measure)


def _status(sock: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ctl("status", sock))
    return data


def _poll(sock: Path, proc: subprocess.Popen[str], ok: Any, what: str, timeout: float) -> Any:
    """Poll the player's status until ``ok(status)``; that status (fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, proc.communicate()[1]
        status = _status(sock)
        if ok(status):
            return status
        assert time.monotonic() < deadline, f"{what}: {status}"
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["sounddevice", "pacat"])
def test_a_lost_sound_server_is_reopened_and_the_play_goes_on(backend: str, tmp_path: Path) -> None:
    """The sound server dies mid-play and comes back: the player reopens the device and goes
    on from where it was heard, gaplessly, and finishes with exit 0; what the sound
    libraries print meanwhile stays off the terminal."""
    script = write(tmp_path, TALKING)
    ref, _ = exported(script)
    root = tmp_path / "victim"
    victim = start_pulse(root)
    again: PulseServer | None = None
    sock = tmp_path / "ctl.sock"
    proc = vg(
        "play", str(script), "--output", backend, "--socket", str(sock), env=victim.client_env
    )
    try:
        wait_for_socket(sock, proc)
        before = _poll(sock, proc, lambda s: s["position_file_ms"] > 4000, "playing", 30)
        victim.stop()
        _poll(sock, proc, lambda s: s["state"] == "reconnecting", "noticing the loss", 10)
        lost_at = _status(sock)["position_file_ms"]
        assert before["position_file_ms"] <= lost_at <= before["position_file_ms"] + 2500
        again = start_pulse(root)
        rec = again.record(len(ref) / SAMPLE_RATE + 120.0)  # until the player is done
        after = _poll(sock, proc, lambda s: s["state"] == "playing", "reopening", 15)
        assert after["device_failures"] == 1
        # It kept its place (it may have reopened up to 2 s before the recording began).
        assert lost_at - 100 <= after["position_file_ms"] <= lost_at + 4000
        _, err = proc.communicate(timeout=60)
        recording = rec.finish()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        victim.stop()
        if again is not None:
            again.stop()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert not [line for line in err.splitlines() if line.startswith(("ALSA lib", "Expression"))]
    # The routine went on from where it was lost: what follows is in the recording, from
    # soon after that place (the recording began as the server came back), and in step
    # (no gap: every quarter second at the alignment of the first).
    seg = SAMPLE_RATE // 4
    at = ms_to_frames(lost_at)
    heard = [
        a
        for a in range(at, at + 4 * SAMPLE_RATE, seg)
        if float(np.sqrt(np.mean(ref[a : a + seg] ** 2))) > 0.01
        and find(ref[a : a + seg], recording)[1] > 0.98
    ]
    assert heard, "nothing from where the play was lost is in the recording"
    # (6 s of it: on a busy machine a later stall may be recovered from too, which replays
    # what the lost device held and so moves what follows.)
    assert_gapless_with_pauses(ref[heard[0] : heard[0] + 6 * SAMPLE_RATE], recording)


def test_a_device_that_never_comes_back_gives_up_after_device_wait(tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    victim = start_pulse(tmp_path / "victim")
    sock = tmp_path / "ctl.sock"
    proc = vg(
        "play",
        str(script),
        "--output",
        "pacat",
        "--socket",
        str(sock),
        "--device-wait",
        "2",
        env=victim.client_env,
    )
    try:
        wait_for_socket(sock, proc)
        _poll(sock, proc, lambda s: s["position_file_ms"] > 1000, "playing", 30)
        victim.stop()
        lost = time.monotonic()
        _, err = proc.communicate(timeout=60)
        gave_up = time.monotonic() - lost
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        victim.stop()
    assert proc.returncode == 7, err
    from voiceguide.player.statusline import JOURNAL_LINE

    lines = [line for line in err.strip().splitlines() if not JOURNAL_LINE.match(line)]
    assert len(lines) == 1, err  # besides the line per part
    assert "could not be reopened within 2 s" in lines[0] and "voiceguide export" in lines[0]
    assert gave_up >= 2.0


@pytest.mark.parametrize("backend", ["sounddevice", "pacat"])
def test_a_stalled_sound_server_does_not_end_the_play(backend: str, tmp_path: Path) -> None:
    """The sound server stops answering for 3 s (SIGSTOP), longer than the stall limit:
    the player reopens the device once it answers again and plays to the end (exit 0)."""
    script = write(tmp_path, TALKING)
    victim = start_pulse(tmp_path / "victim")
    sock = tmp_path / "ctl.sock"
    proc = vg(
        "play", str(script), "--output", backend, "--socket", str(sock), env=victim.client_env
    )
    try:
        wait_for_socket(sock, proc)
        _poll(sock, proc, lambda s: s["position_file_ms"] > 3000, "playing", 30)
        victim.proc.send_signal(signal.SIGSTOP)
        try:
            stalled = _poll(sock, proc, lambda s: s["state"] == "reconnecting", "the stall", 10)
            time.sleep(1.0)  # still hung for a while after the stall was noticed
        finally:
            victim.proc.send_signal(signal.SIGCONT)
        after = _poll(sock, proc, lambda s: s["state"] == "playing", "reopening", 20)
        assert after["device_failures"] >= 1
        assert after["position_file_ms"] >= stalled["position_file_ms"] - 100
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        victim.proc.send_signal(signal.SIGCONT)
        victim.stop()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_stop_and_resume_are_in_routine_time(tmp_path: Path) -> None:
    """The status and the stop message show routine time (0:00 is the first step, the intro
    before it); the saved position is file time, and a resume goes on from it."""
    script = write(tmp_path, ROUTINE)
    origin = exported(script)[1]["origin_ms"]
    sock = tmp_path / "ctl.sock"
    proc = vg("play", str(script), "--output", "null", "--socket", str(sock))
    try:
        wait_for_socket(sock, proc)
        first = _poll(sock, proc, lambda s: s["part"] is not None, "a part", 30)
        if first["part"]["kind"] == "intro":
            assert first["position"].startswith("-") and first["position_ms"] < 0
        status = _poll(sock, proc, lambda s: s["position_ms"] >= 1000, "the first step", 30)
        assert status["position_ms"] == status["position_file_ms"] - origin
        assert status["part"]["kind"] == "step" and status["step"] == "Breathe"
        assert ctl("status", sock).count("\n") == 1  # one line of JSON
        ctl("stop", sock)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    saved = json.loads((Path(os.environ["VOICEGUIDE_CACHE_DIR"]) / "positions.json").read_text())
    file_ms = saved[str(script.resolve())]["position_ms"]
    at = (file_ms - origin) // 1000
    assert f"stopped at {at // 60}:{at % 60:02d}: " in err, err
    again = vg("play", str(script), "--output", "null", "--socket", str(sock), "--resume")
    try:
        wait_for_socket(sock, again)
        status = _poll(sock, again, lambda s: s["part"] is not None, "resuming", 30)
        assert status["position_file_ms"] >= file_ms - 300 and status["step"] == "Breathe"
        ctl("stop", sock)
        again.communicate(timeout=30)
    finally:
        if again.poll() is None:
            again.kill()
            again.communicate()


SIDED = """title: Sides Test
steps:
  - name: Twist
    duration: 16s
    sides: true
    say: Twist gently to the {side}.
  - name: Rest Here
    duration: 6s
    say: Lie still.
"""


def test_next_goes_to_the_other_side_and_the_time_left_is_the_sides(
    pulse: PulseServer, tmp_path: Path
) -> None:
    """Through ctl, against the recording: in the right side of a sided step, the status
    names the side and counts its own time down, and "next" plays the left side's start,
    not the next step's."""
    script = write(tmp_path, SIDED)
    ref, plan = exported(script)
    right, left = plan["sides"]

    def measure() -> None:
        sock = tmp_path / "ctl.sock"
        with controlled_play(pulse, script, len(ref), sock) as (proc, rec):
            at = right["start_ms"] + 1500
            status = _poll(sock, proc, lambda s: s["position_file_ms"] >= at, "playing", 30)
            assert status["part"]["kind"] == "side"
            assert status["part"]["name"] == "Twist, right side"
            assert status["next"] == "Twist, left side"
            side_left = (right["end_ms"] - status["position_file_ms"]) / 1000
            assert abs(status["remaining_s"] - side_left) <= 1
            ctl("next", sock)
            status = _poll(sock, proc, lambda s: s["part"]["side"] == "left", "skipping", 10)
            assert status["last"] == "skipped to Twist, left side"
            heard = left["start_ms"] + 1500  # its first second, and the output's buffer
            _poll(sock, proc, lambda s: s["position_file_ms"] >= heard, "playing on", 30)
            ctl("stop", sock)
        proc.communicate(timeout=60)
        recording = rec.finish()
        s0 = ms_to_frames(left["start_ms"])
        _, match = find(ref[s0 : s0 + SAMPLE_RATE], recording)
        assert match > 0.95  # the left side's first second was played

    real_time(measure)
