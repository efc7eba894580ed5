"""Which engine speaks when a script names none, and what ``voiceguide voices`` reports."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.conftest import vg, write
from voiceguide.errors import EngineError, ExitCode
from voiceguide.voices import ENGINE_ENV, default_engine
from voiceguide.voices.available import default_note


def without_engine_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != ENGINE_ENV}


def test_the_default_is_the_natural_voice_where_it_installs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENGINE_ENV)
    assert default_engine() == "hibari"
    assert default_note() == "default engine: hibari (the natural voice)"


def test_without_the_neural_runtime_the_default_is_the_system_voice_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENGINE_ENV)
    real = importlib.util.find_spec

    def no_onnxruntime(name: str, *args: object) -> object:
        return None if name == "onnxruntime" else real(name)

    monkeypatch.setattr(importlib.util, "find_spec", no_onnxruntime)
    assert default_engine() == "pyttsx3"
    note = default_note()
    assert note.startswith("default engine: pyttsx3 (system voices), since hibari cannot run: ")
    assert "onnxruntime" in note and "fix" in note


def test_the_environment_names_another_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENGINE_ENV, "Piper")
    assert default_engine() == "piper"
    monkeypatch.setenv(ENGINE_ENV, "espeak")
    with pytest.raises(EngineError, match="VOICEGUIDE_ENGINE='espeak' is not a speech engine"):
        default_engine()


def test_a_script_without_an_engine_speaks_with_the_default(tmp_path: object) -> None:
    from voiceguide.pipeline import load

    routine = load("daily")
    assert routine.voice.engine == "pyttsx3"  # the suite's VOICEGUIDE_ENGINE
    assert load("daily", engine="Hibari", voice="heart").voice.engine == "hibari"
    assert load("daily", engine="hibari", voice="Heart").voice.voice == "Heart"


def test_voices_lists_every_engine_and_the_default() -> None:
    proc = vg("voices", env=without_engine_env())
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "default engine: hibari (the natural voice)"
    assert "hibari (default): usable" in lines
    assert any(line.split() and line.split()[0] == "heart" for line in lines)
    assert "piper: usable" in lines
    assert any("en_US-joe-medium" in line for line in lines)
    assert any(line.startswith("pyttsx3: usable") for line in lines)


def test_voices_of_one_engine() -> None:
    proc = vg("voices", "--engine", "pyttsx3")
    assert proc.returncode == 0, proc.stderr
    assert any(line.split()[0].startswith("gmw/en") for line in proc.stdout.splitlines())


def test_an_unknown_engine_is_one_line_and_exit_5() -> None:
    proc = vg("export", "daily", "--engine", "espeak", "-o", "nowhere.mp3")
    assert proc.returncode == ExitCode.ENGINE
    assert proc.stderr.strip().splitlines() == [
        "voiceguide: unknown speech engine 'espeak'; use one of: fake, hibari, piper, pyttsx3"
    ]


def test_the_command_line_engine_and_voice_reach_every_voice_and_the_default_fills_the_rest(
    tmp_path: Path,
) -> None:
    from voiceguide.model import voices_of
    from voiceguide.pipeline import load

    script = write(
        tmp_path,
        """title: Two voices
voice: {voice: en-gb}
counting_voice: {engine: fake}
steps:
  - name: Breathe
    duration: 20s
    voice: {volume: 0.8}
    breathing: {pattern: 4-0-4-0, spoken_cycles: 1}
    cues:
      - {at: 5s, say: Soft., voice: {engine: fake, voice: calm}}
""",
    )
    found = voices_of(load(script))
    assert {v.engine for v in found} == {"pyttsx3", "fake"}  # None became the default
    overridden = voices_of(load(script, engine="pyttsx3", voice="en-us"))
    assert {(v.engine, v.voice) for v in overridden} == {("pyttsx3", "en-us")}
    assert {v.volume for v in overridden} == {1.0, 0.8}  # what --voice does not name stays


@pytest.mark.parametrize(
    ("engine", "voice", "says"),
    [
        ("hibari", "emma", "voiceguide: hibari voice 'emma' is not installed (voiceguide never"),
        ("hibari", "zork", "voiceguide: hibari has no voice 'zork'; fix: use one of: heart,"),
        ("piper", "nope", "voiceguide: unknown piper voice 'nope' (found: en_US-joe-medium)"),
    ],
)
def test_a_voice_the_command_line_names_is_its_error_not_a_cues(
    engine: str, voice: str, says: str, tmp_path: Path
) -> None:
    env = {**os.environ, "HIBARI_HOME": str(tmp_path)}  # no hibari voice fetched here
    for command in ("export", "check", "play"):
        proc = vg(command, "daily", "--engine", engine, "--voice", voice, env=env)
        assert proc.returncode == ExitCode.ENGINE, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(says), lines
        assert "fix:" in lines[0]
