"""An export's bad arguments through the command line: an output format or an MP3 bitrate
voiceguide cannot write is a usage error (exit code 2) in one line naming what is accepted,
refused before anything is spoken, rendered or written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import vg, write
from voiceguide.errors import ExitCode

SCRIPT = """\
title: Tiny
steps:
  - name: Only
    duration: 2s
    say: Go.
"""


@pytest.mark.parametrize(
    ("args", "accepted"),
    [
        (["-o", "x.m4a"], "unsupported format ('.m4a'); use .flac, .mp3, .ogg, .wav"),
        (["-o", "x"], "unsupported format (no suffix); use .flac, .mp3, .ogg, .wav"),
        (["--bitrate", "7"], "MP3 bitrate 7 kbps is not supported; use one of 8, 16, 24"),
        (["-o", "x.mp3", "-b", "100", "--split"], "use one of 8, 16, 24, 32, 40, 48, 56, 64"),
        (["-o", "x.m4a", "--subtitles", "--force"], "use .flac, .mp3, .ogg, .wav"),
    ],
)
def test_a_bad_format_or_bitrate_exits_2_before_anything_is_done(
    tmp_path: Path, args: list[str], accepted: str
) -> None:
    script = write(tmp_path, SCRIPT)
    cache = tmp_path / "cache"
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache)}
    done = vg("export", str(script), *args, env=env, cwd=tmp_path)
    assert done.returncode == ExitCode.USAGE, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("voiceguide: "), done.stderr
    assert accepted in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not cache.exists()  # nothing spoken, rendered or recorded
    assert [p.name for p in tmp_path.iterdir()] == ["routine.yaml"]  # nor written


def test_a_bitrate_is_a_question_for_mp3_alone(tmp_path: Path) -> None:
    """``--bitrate`` is the MP3 encoder's: a WAV export ignores it, as before."""
    script = write(tmp_path, SCRIPT)
    done = vg("export", str(script), "-o", str(tmp_path / "a.wav"), "-b", "7", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.wav").stat().st_size > 0
