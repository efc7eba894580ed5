"""Without a terminal (a service's journal), a play writes one line per control action on
stderr, with where it came from and what it did, among its lines per part."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from tests.conftest import ctl, wait_for_socket, write
from voiceguide.errors import ExitCode
from voiceguide.player.parts import Part
from voiceguide.player.statusline import CONTROL_LINE, JOURNAL_LINE, Journal, control_text
from voiceguide.timeline import Timeline

ROUTINE = """title: Journal Test
voice: {engine: fake}
steps:
  - {name: Warm Up, duration: 60s, say: Begin.}
  - {name: Cool Down, duration: 60s, say: Slow down.}
"""


def until(sock: Path, proc: subprocess.Popen[str], ok: Callable[[dict[str, Any]], bool]) -> None:
    """Poll the player's status until ``ok`` holds (the player still running)."""
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.communicate()[1]
        status: dict[str, Any] = json.loads(ctl("status", sock))
        if ok(status):
            return
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def test_each_control_action_is_a_journal_line(tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    sock = tmp_path / "s.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "play", str(script), "--output", "null"]
        + ["--socket", str(sock)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_socket(sock, proc)
        until(sock, proc, lambda s: s["state"] == "playing")
        ctl("pause", sock)
        until(sock, proc, lambda s: s["state"] == "paused")
        ctl("pause", sock)  # paused already: nothing to do, still journaled
        ctl("resume", sock)
        until(sock, proc, lambda s: s["state"] == "playing")
        ctl("next", sock)
        until(sock, proc, lambda s: s["step"] == "Cool Down")
        ctl("volume-down", sock)
        until(sock, proc, lambda s: s["volume_db"] == -3.0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    lines = err.splitlines()
    actions = [line for line in lines if CONTROL_LINE.match(line)]
    assert actions == [
        "voiceguide: pause (socket) -> paused",
        "voiceguide: pause (socket) -> no effect",
        "voiceguide: resume (socket) -> resumed",
        "voiceguide: next (socket) -> skipped to Cool Down",
        "voiceguide: volume-down (socket) -> -3 dB",
        "voiceguide: stop (signal) -> stopping",
    ], err
    # the part a skip leads to comes after the skip (the journal's thread may write it after
    # an action that followed at once), before the stop; ``status`` asks are not journaled
    assert lines.index(actions[3]) < lines.index("1:00 Cool Down") < lines.index(actions[5]), err
    assert lines[-1] == "voiceguide: interrupted"
    others = [line for line in lines[:-1] if not CONTROL_LINE.match(line)]
    assert all(JOURNAL_LINE.match(line) for line in others), err


def test_the_line_of_an_action() -> None:
    assert control_text("next", "button", "skipped to Child's Pose") == (
        "voiceguide: next (button) -> skipped to Child's Pose"
    )
    assert control_text("ready", "key", None) == "voiceguide: ready (key) -> no effect"
    assert CONTROL_LINE.match(control_text("whats-next", "socket", "said what's next"))
    assert not JOURNAL_LINE.match(control_text("pause", "socket", "paused"))


def test_back_within_the_same_part_writes_no_part_line() -> None:
    """A step back to an earlier part is journaled; the place heard moving back a little
    within the part (as a re-cue is spoken on resuming) is not a new part."""
    every = tuple(
        Part("step", name, name, i, None, start, end, i)
        for i, (name, start, end) in enumerate([("One", 0, 10_000), ("Two", 10_000, 20_000)])
    )
    timeline = cast(Timeline, SimpleNamespace(origin_ms=0))
    stream = io.StringIO()
    journal = Journal(stream)
    for ms in (0, 5_000, 12_000, 11_800, 13_000, 4_000, 15_000):
        journal.tick({"position_file_ms": ms}, timeline, every)
    assert stream.getvalue().splitlines() == ["0:00 One", "0:10 Two", "0:00 One", "0:10 Two"]
