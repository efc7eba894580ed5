"""``voiceguide plan --json``: every speech with what is written, what is spoken, and by
which voice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import write

SCRIPT = """\
title: Plan
voice: {engine: fake}
steps:
  - name: Only
    duration: 20s
    say: Hold 30s.
    cues:
      - {at: 10s, say: Softly., voice: {volume: 0.5}}
"""


def plan_json(script: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide", "plan", "--json", str(script)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def test_plan_json_shows_written_and_spoken_text(tmp_path: Path) -> None:
    data = plan_json(write(tmp_path, SCRIPT))
    events = data["events"]
    assert isinstance(events, list)
    said, softly = [e for e in events if e["kind"] == "speech"]
    assert (said["text"], said["spoken"]) == ("Hold 30s.", "Hold 30 seconds.")


def test_plan_json_shows_the_voice_of_each_speech(tmp_path: Path) -> None:
    data = plan_json(write(tmp_path, SCRIPT))
    events = data["events"]
    assert isinstance(events, list)
    voices = [(e["text"], e["voice"]) for e in events if e["kind"] == "speech"]
    full = {"engine": "fake", "voice": None, "rate": 160, "volume": 1.0}
    assert voices == [("Hold 30s.", full), ("Softly.", full | {"volume": 0.5})]
