"""The status line: its text from a status, drawn live on a real pseudo-terminal as keys
are pressed, and a journal of one line per part when standard error is no terminal."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write
from voiceguide.player.statusline import JOURNAL_LINE, line_text

BASE: dict[str, Any] = {
    "title": "Evening",
    "state": "playing",
    "position": "1:10",
    "position_ms": 25_000,
    "position_file_ms": 75_000,
    "step": "Seated Spinal Twist",
    "side": "left",
    "remaining_s": 20,
    "next": "Foam Roll",
    "volume_db": 0.0,
}
T = "Evening │ "


@pytest.mark.parametrize(
    ("changes", "span", "expected"),
    [
        (  # playing, in a side: the bar and time left are the side's
            {},
            (65_000, 85_000),
            T + "Seated Spinal Twist · left │ ━━━━━━────── 0:10 left │ next: Foam Roll │ "
            "+0 dB │ playing",
        ),
        (  # paused, no side, louder, the last part
            {"state": "paused", "side": None, "next": None, "volume_db": 3.0},
            (75_000, 135_000),
            T + "Seated Spinal Twist │ ──────────── 1:00 left │ last part │ +3 dB │ paused",
        ),
        (  # waiting for the listener; no span known: the status's time left, no bar filled
            {"state": "waiting", "side": None},
            None,
            T + "Seated Spinal Twist │ ──────────── 0:20 left │ next: Foam Roll │ +0 dB │ "
            "waiting for ready (Enter)",
        ),
        (  # in the intro (the newer status: part, position_file_ms, routine time)
            {
                "part": {"kind": "intro", "name": "Introduction", "side": None},
                "position": "-0:06",
                "position_ms": -6000,
                "position_file_ms": 6000,
                "side": None,
                "next": "Warm Up",
            },
            (0, 12_000),
            T + "Introduction │ ━━━━━━────── 0:06 left │ next: Warm Up │ +0 dB │ playing",
        ),
        (  # the last command's effect, from the status itself
            {"last": "skipped to Foam Roll", "volume_db": -6.0, "state": "reconnecting"},
            (75_000, 95_000),
            T + "Seated Spinal Twist · left │ ──────────── 0:20 left │ next: Foam Roll │ "
            "-6 dB │ reconnecting │ skipped to Foam Roll",
        ),
    ],
    ids=["playing-side", "paused", "waiting", "intro", "last-effect"],
)
def test_the_line_from_a_status(
    changes: dict[str, Any], span: tuple[int, int] | None, expected: str
) -> None:
    assert line_text({**BASE, **changes}, span) == expected


ROUTINE = """title: Status Test
steps:
  - {name: Warm Up, duration: 40s, say: Begin.}
  - name: Twist
    duration: 10s
    sides: [right, left]
    say: Twist.
  - {name: Cool Down, duration: 40s, say: Slow down.}
"""
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """``voiceguide play`` on a pseudo-terminal 200 columns wide; what it draws, read on a
    thread."""

    def __init__(self, *args: str) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
        env = {**os.environ, "COLUMNS": "200", "TERM": "xterm-256color"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voiceguide", "play", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            env=env,
        )
        os.close(slave)
        self.master = master
        self.data = b""
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.data += chunk

    def text(self) -> str:
        with self.lock:
            return self.data.decode(errors="replace")

    def latest(self) -> str:
        """The line as last drawn (whole: followed by its erase-to-end)."""
        drawn = self.text().split("\r")
        whole = [ANSI.sub("", d) for d in drawn if d.endswith("\x1b[K")]
        return whole[-1] if whole else ""

    def wait_for(self, *parts: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while not all(p in (line := self.latest()) for p in parts):
            assert self.proc.poll() is None, self.text()
            assert time.monotonic() < deadline, f"never drew {parts}: {self.latest()!r}"
            time.sleep(0.02)
        return line

    def press(self, key: bytes) -> None:
        os.write(self.master, key)


def test_the_live_line_on_a_terminal_follows_the_keys(tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    term = Terminal(str(script), "--output", "null", "--socket", str(tmp_path / "s.sock"))
    try:
        first = term.wait_for("Warm Up", "playing")
        assert "Status Test │ Warm Up │ " in first and "next: Twist" in first
        term.press(b"+")
        assert "+3 dB │ playing │ +3 dB" in term.wait_for("│ +3 dB │ playing │ +3 dB")
        term.press(b"n")
        term.wait_for("│ Twist · right │", "skipped to Twist")
        term.press(b" ")
        term.wait_for("│ paused │ paused")
        term.press(b"q")
        assert term.proc.wait(timeout=60) == 0, term.text()
        deadline = time.monotonic() + 10
        while "stopped at" not in term.text():
            assert time.monotonic() < deadline, term.text()
            time.sleep(0.02)
        out = term.text()
        tail = out[out.rindex("\x1b[K") :]  # after the last drawing: cleared, cursor shown
        assert tail.index("\x1b[2K") < tail.index("\x1b[?25h") < tail.index("stopped at")
        assert "\x1b[?25l" in out
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()
        os.close(term.master)


def test_without_a_terminal_one_line_per_part_and_no_escape_codes(tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    done = subprocess.run(
        [sys.executable, "-m", "voiceguide", "play", str(script), "--output", "null", "--fast"]
        + ["--socket", str(tmp_path / "s.sock")],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stderr and "\r" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[:-1] == [
        "0:00 Warm Up",
        "0:40 Twist, right side",
        "0:45 Twist, left side",
        "0:50 Cool Down",
    ]
    assert all(JOURNAL_LINE.match(line) for line in lines[:-1])
    assert lines[-1] == "finished"


def test_the_key_help_on_a_terminal_clears_the_status_line_first() -> None:
    import io

    from voiceguide.player.keys import KEY_HELP, KeyReader

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, start in ((Terminal(), "\r\x1b[K"), (io.StringIO(), "")):
        reader = KeyReader.__new__(KeyReader)
        reader.help_stream = stream
        reader._say(KEY_HELP)
        assert stream.getvalue() == start + KEY_HELP + "\n"
