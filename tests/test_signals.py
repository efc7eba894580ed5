"""Ctrl-C and SIGTERM at any moment of a command: exit 130, "voiceguide: interrupted", no
traceback, nothing left behind.

Each run waits (on the process's state, not on a clock) until the command's entry point has
put in its handlers, then signals it after a seeded delay of 0 to 0.5 s: during its
imports (numpy, yaml), its parsing, the speech synthesis or the encoding. The commands run
for well over 0.5 s (a cold speech cache), and a busy machine only makes them slower.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from voiceguide.errors import ExitCode

pytestmark = pytest.mark.e2e

CONSOLE_SCRIPT = Path(sys.executable).with_name("voiceguide")


def catches_sigterm(pid: int) -> bool:
    """True once ``pid`` has a handler for SIGTERM (Python itself never installs one)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def start(command: list[str], cache: Path, cwd: Path) -> subprocess.Popen[str]:
    """Start ``command`` and wait until its entry point catches signals."""
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache)}
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
    deadline = time.monotonic() + 60
    while not catches_sigterm(proc.pid):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the command never installed its signal handlers"
        time.sleep(0.001)
    return proc


def interrupt(proc: subprocess.Popen[str], signals: list[tuple[float, signal.Signals]]) -> str:
    """Send each signal after its delay (from the previous one); the command's stderr."""
    for delay, signum in signals:
        time.sleep(delay)
        proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    return err


_rng = random.Random(17)
DELAYS = [(i + _rng.random()) * 0.5 / 8 for i in range(8)]  # one in each 1/16 s


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "voiceguide", "check", "daily"],
        [str(CONSOLE_SCRIPT), "export", "daily", "-o", "daily.mp3"],
    ],
    ids=["python -m voiceguide check", "voiceguide export"],
)
def test_a_signal_at_any_moment_exits_130_without_a_traceback(
    tmp_path: Path, command: list[str], signum: signal.Signals
) -> None:
    outcomes = []
    for i, delay in enumerate([0.0, *DELAYS]):
        cache = tmp_path / f"cache{i}"  # cold: the command runs long enough
        proc = start(command, cache, tmp_path)
        err = interrupt(proc, [(delay, signum)])
        outcomes.append((round(delay, 3), proc.returncode, err))
    assert all(code == ExitCode.INTERRUPTED for _, code, _ in outcomes), outcomes
    assert all(err == "voiceguide: interrupted\n" for _, _, err in outcomes), outcomes
    assert all(p.name.startswith("cache") for p in tmp_path.iterdir())  # no file left


@pytest.mark.parametrize("first", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_second_signal_during_the_cleanup_still_exits_130(
    tmp_path: Path, first: signal.Signals
) -> None:
    """Two signals 50 ms apart (an impatient user, or a service manager): still 130, one
    line, and the interrupted export leaves nothing behind."""
    for i, delay in enumerate((0.05, 0.3, 0.6)):
        proc = start(
            [str(CONSOLE_SCRIPT), "export", "daily", "-o", "daily.wav"],
            tmp_path / "cache",
            tmp_path,
        )
        err = interrupt(proc, [(delay, first), (0.05, signal.SIGTERM)])
        assert (proc.returncode, err) == (ExitCode.INTERRUPTED, "voiceguide: interrupted\n"), i
        assert all(p.name == "cache" for p in tmp_path.iterdir())  # no file left


def test_no_except_exception_swallows_an_interruption() -> None:
    """A stop signal raised inside best-effort code (``suppress(Exception)``, a library's
    ``except Exception``) still stops the command: it used to be swallowed there, and the
    export went on to write its whole file before exiting 130."""
    import contextlib

    from voiceguide.errors import Interrupted

    with pytest.raises(Interrupted), contextlib.suppress(Exception):
        raise Interrupted()
    assert issubclass(Interrupted, KeyboardInterrupt)
