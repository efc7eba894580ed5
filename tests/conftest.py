"""Shared fixtures: a private cache directory for every test, and a pure fake speech bank."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from voiceguide.model import VoiceSettings
from voiceguide.units import ms_to_frames
from voiceguide.voices import ENGINE_ENV
from voiceguide.voices.base import Clip

pytest_plugins = ["tests.pulse"]  # the private PulseAudio server fixture, ``pulse``

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"

# A routine that speaks every 2 s for 30 s (fake voice): a device that comes late or goes
# away is heard from, whenever it does.
TALKING = """title: Boot Test
voice: {engine: fake}
intro: Good morning.
steps:
  - name: Talk
    duration: 30s
    say: Breathe.
    cues:
      - {every: 2s, from: 2s, say: Still here.}
"""


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never touch the user's cache; the speech cache is shared within one session.

    Scripts that name no engine speak with espeak-ng (pyttsx3) here: it is fast, and what
    the golden timelines were made with; the neural engines have tests of their own, and
    the default's choice is tested with this variable unset.

    Session-scoped and set in the environment itself, so module-scoped fixtures (and the
    subprocesses they start) see it too.
    """
    saved = {name: os.environ.get(name) for name in ("VOICEGUIDE_CACHE_DIR", ENGINE_ENV)}
    os.environ["VOICEGUIDE_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "cache")
    os.environ[ENGINE_ENV] = "pyttsx3"
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class DurationBank:
    """A pure fake SpeechBank for compiler tests: 60 ms per character plus 200 ms."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def clip(self, text: str, voice: VoiceSettings) -> Clip:
        self.asked.append(text)
        return Clip(f"fake-{len(text)}", ms_to_frames(200 + 60 * len(text)), Path("/nonexistent"))

    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        return 200 + 60 * len(text)


@pytest.fixture
def bank() -> DurationBank:
    return DurationBank()


def write(tmp_path: Path, text: str, name: str = "routine.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def ctl(word: str, sock: Path) -> str:
    """``voiceguide ctl WORD`` against the player on ``sock``; its answer (it must succeed)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "voiceguide", "ctl", word, "--socket", str(sock)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_for_socket(sock: Path, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait until the player ``proc`` has opened its control socket (it must stay running)."""
    deadline = time.monotonic() + timeout
    while not sock.exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the player never opened its socket"
        time.sleep(0.02)


def ffprobe(path: Path, *args: str) -> dict[str, Any]:
    """``ffprobe ARGS PATH`` as JSON (a real reader of what the exporters write)."""
    import json
    import subprocess

    out = subprocess.run(
        ["ffprobe", "-v", "error", *args, "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def blocks_of(signal: NDArray[np.float32], size: int) -> Iterator[NDArray[np.float32]]:
    """``signal`` in blocks of ``size`` frames (the last shorter): a renderer's stream."""
    for start in range(0, signal.size, size):
        yield signal[start : start + size]


def vg(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = REPO
) -> subprocess.CompletedProcess[str]:
    """``voiceguide ARGS`` as a subprocess of this Python (``env``: its whole environment)."""
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
    )
