"""Exports killed outright (SIGKILL: no handler, no cleanup) at seeded random moments.

After every kill the target is the previous complete export, byte for byte, and decodes in
full; the temporary files a killed export leaves are removed by the next export into that
folder, so after each export that finishes there is none left.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from voiceguide.units import ms_to_frames

pytestmark = pytest.mark.e2e

# Each round: KILLS_PER_ROUND killed exports, then one that finishes (more rounds, for a
# longer run: VOICEGUIDE_KILL_ROUNDS).
ROUNDS = int(os.environ.get("VOICEGUIDE_KILL_ROUNDS", "2"))
KILLS_PER_ROUND = 4


def export(script: str, target: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "export", script, "-o", str(target), "--force"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def decoded_frames(path: Path) -> int:
    return int(sf.read(str(path), dtype="float32")[0].shape[0])


def wait_for_writing(proc: subprocess.Popen[str], folder: Path) -> None:
    """Until the export has started writing its temporary file (or has ended)."""
    deadline = time.monotonic() + 120
    before = set(temporaries(folder))
    while proc.poll() is None and not set(temporaries(folder)) - before:
        assert time.monotonic() < deadline, "the export never started writing"
        time.sleep(0.002)


@pytest.mark.parametrize("suffix", [".mp3", ".wav"])
def test_killed_exports_leave_nothing_partial(tmp_path: Path, suffix: str) -> None:
    rng = random.Random(f"kill{suffix}")
    target = tmp_path / f"daily{suffix}"
    first = export("daily", target)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    expected = ms_to_frames(_length_ms("daily"))
    assert decoded_frames(target) == expected
    complete = target.read_bytes()

    landed = 0  # kills that struck an export under way
    for _ in range(ROUNDS):
        for kill in range(KILLS_PER_ROUND):
            proc = export("daily", target)
            if kill % 2:  # while it writes: the encoder and the renderer at work
                wait_for_writing(proc, tmp_path)
                time.sleep(rng.uniform(0.0, 0.25))
            else:  # any moment: start-up, compiling, the analysis, writing
                time.sleep(rng.uniform(0.0, 1.5))
            if proc.poll() is None:
                landed += 1
                proc.kill()  # SIGKILL (an export that has ended and been reaped is not signalled)
            proc.communicate(timeout=60)
            # The target is the previous complete export (or, if the kill came too late,
            # the new one, which is the same audio): never a partial file.
            assert target.read_bytes() == complete
            assert decoded_frames(target) == expected
        done = export("daily", target)
        _, err = done.communicate(timeout=300)
        assert done.returncode == 0, err
        assert temporaries(tmp_path) == []
        assert target.read_bytes() == complete
    assert landed >= ROUNDS * KILLS_PER_ROUND // 4  # most do; a kill after the end is fine
    print(f"{landed} kills of a running export, nothing partial")


def _length_ms(script: str) -> int:
    """The routine's length, from ``voiceguide plan --json``."""
    import json

    plan = subprocess.run(
        [sys.executable, "-m", "voiceguide", "plan", script, "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(json.loads(plan)["duration_ms"])
