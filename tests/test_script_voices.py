"""Voices per routine, step and cue: reading, inheritance, includes, errors, the layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DurationBank, write
from voiceguide.compile import compile_routine
from voiceguide.errors import ScriptError
from voiceguide.model import DEFAULT_RATE, VoiceSettings, voices_of, with_voices
from voiceguide.script import load_script

SCRIPT = """\
title: Voices
voice: {engine: fake, voice: emma, rate: 150, volume: 0.8}
counting_voice: {voice: bob}
steps:
  - name: Plain
    duration: 30s
    say: Start.
    breathing: {pattern: 4-0-4-0, spoken_cycles: 1}
  - name: Own
    duration: 30s
    say: Go.
    voice: {speed: 1.25}
    counting_voice: {volume: 0.5}
    breathing: {pattern: 4-0-4-0, spoken_cycles: 1}
    cues:
      - {at: 20s, say: Quietly now., voice: {volume: 0.3}}
      - {at: 25s, say: By name., voice: anna}
      - {at: 27s, say: As the step.}
"""

EMMA = VoiceSettings("fake", "emma", 150, 0.8)


def test_voices_inherit_field_by_field(tmp_path: Path) -> None:
    r = load_script(write(tmp_path, SCRIPT))
    plain, own = r.steps
    assert r.voice == EMMA
    assert (plain.voice, plain.counting_voice) == (EMMA, VoiceSettings("fake", "bob", 150, 0.8))
    fast = VoiceSettings("fake", "emma", round(1.25 * DEFAULT_RATE), 0.8)
    assert own.voice == fast
    assert own.counting_voice == VoiceSettings("fake", "bob", 200, 0.5)
    quiet, named, same = own.cues
    assert quiet.voice == VoiceSettings("fake", "emma", 200, 0.3)
    assert named.voice == VoiceSettings("fake", "anna", 200, 0.8)
    assert same.voice is None


def test_each_speech_carries_the_voice_it_is_spoken_with(tmp_path: Path) -> None:
    r = load_script(write(tmp_path, SCRIPT.replace("title: Voices", "title: V\nintro: Hi.")))
    tl = compile_routine(r, DurationBank()).timeline
    by_text = {(e.text, e.cue): e.voice for e in tl.speech}
    bob = VoiceSettings("fake", "bob", 150, 0.8)
    assert by_text[("Hi.", "intro")] == EMMA
    assert by_text[("Start.", "instruction")] == EMMA
    breath = [{e.voice for e in tl.speech if e.cue == "breath" and e.step == i} for i in (0, 1)]
    assert breath[0] == {bob}  # the counting voice, in each step
    assert breath[1] == {VoiceSettings("fake", "bob", 200, 0.5)}
    assert by_text[("Go.", "instruction")].rate == 200
    assert by_text[("Quietly now.", "at")].volume == 0.3
    assert by_text[("By name.", "at")].voice == "anna"
    assert by_text[("As the step.", "at")] == r.steps[1].voice


def test_without_voices_every_speech_is_the_routines(tmp_path: Path) -> None:
    text = "title: T\nvoice: emma\nsteps:\n  - {name: A, duration: 20s, say: Go.}\n"
    r = load_script(write(tmp_path, text))
    assert r.voice == VoiceSettings(voice="emma")
    assert r.steps[0].voice == r.steps[0].counting_voice == r.voice
    assert voices_of(r) == {r.voice}


def test_an_included_step_keeps_its_scripts_voice_fields_and_takes_the_rest(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        "title: Lib\nvoice: {rate: 120}\nsteps:\n"
        "  - {name: Slow, duration: 20s, say: Slowly.}\n"
        "  - {name: Loud, duration: 20s, say: Loudly., voice: {volume: 1.0}}\n",
        "lib.yaml",
    )
    main = write(
        tmp_path,
        "title: Main\nvoice: {engine: fake, voice: emma, volume: 0.6}\nsteps:\n"
        "  - include: lib.yaml\n"
        "  - {include: lib.yaml, step: Slow, voice: {voice: anna}}\n"
        "  - {include: lib.yaml, step: Loud, voice: {rate: 140}, counting_voice: bob}\n",
    )
    slow, loud, slow_anna, loud_140 = load_script(main).steps
    assert slow.voice == VoiceSettings("fake", "emma", 120, 0.6)
    assert loud.voice == VoiceSettings("fake", "emma", 120, 1.0)
    assert slow_anna.voice == VoiceSettings("fake", "anna", 120, 0.6)
    assert loud_140.voice == VoiceSettings("fake", "emma", 140, 1.0)
    assert loud_140.counting_voice == VoiceSettings("fake", "bob", 140, 1.0)


def test_with_voices_replaces_engine_and_voice_everywhere(tmp_path: Path) -> None:
    r = load_script(write(tmp_path, SCRIPT))
    assert with_voices(r, None, None) == r
    both = with_voices(r, "piper", "joe")
    assert {(v.engine, v.voice) for v in voices_of(both)} == {("piper", "joe")}
    assert {v.rate for v in voices_of(both)} == {v.rate for v in voices_of(r)}
    engine_only = with_voices(r, "espeak", None)
    assert {v.voice for v in voices_of(engine_only)} == {"emma", "bob", "anna"}
    assert {v.engine for v in voices_of(engine_only)} == {"espeak"}


def test_voices_of_lists_every_voice_used(tmp_path: Path) -> None:
    r = load_script(write(tmp_path, SCRIPT))
    assert voices_of(r) == {
        EMMA,
        VoiceSettings("fake", "bob", 150, 0.8),
        VoiceSettings("fake", "emma", 200, 0.8),
        VoiceSettings("fake", "bob", 200, 0.5),
        VoiceSettings("fake", "emma", 200, 0.3),
        VoiceSettings("fake", "anna", 200, 0.8),
    }
    quiet = SCRIPT.replace("spoken_cycles: 1", "spoken_cycles: 0")
    assert not any(v.voice == "bob" for v in voices_of(load_script(write(tmp_path, quiet))))


ERRORS = [
    # (id, script text, line, column, message fragment)
    (
        "rate-and-speed",
        "title: x\nvoice:\n  rate: 150\n  speed: 1.2\nsteps:\n  - {name: A, duration: 9s}\n",
        4,
        3,
        "'rate' (words a minute) or 'speed' (a factor), not both",
    ),
    (
        "speed-range",
        "title: x\nsteps:\n  - name: A\n    duration: 9s\n    voice: {speed: 3}\n",
        5,
        20,
        "must be between 0.5 and 2.0",
    ),
    (
        "unknown-voice-key",
        "title: x\nsteps:\n  - name: A\n    duration: 9s\n    counting_voice: {pich: 2}\n",
        5,
        22,
        "unknown field 'pich'",
    ),
    (
        "cue-voice-not-text",
        "title: x\nsteps:\n  - name: A\n    duration: 9s\n"
        "    cues:\n      - {at: 2s, say: Hi, voice: [a]}\n",
        6,
        34,
        "expected a voice name or a mapping of engine, voice, rate, speed, volume, got a list",
    ),
    (
        "volume-range",
        "title: x\nvoice: {volume: 2}\nsteps:\n  - {name: A, duration: 9s}\n",
        2,
        17,
        "must be between 0.0 and 1.0",
    ),
    (
        "counting-voice-in-cue",
        "title: x\nsteps:\n  - name: A\n    duration: 9s\n"
        "    cues:\n      - {at: 2s, say: Hi, counting_voice: bob}\n",
        6,
        27,
        "unknown field 'counting_voice'",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_voice_errors_are_located(
    tmp_path: Path, text: str, line: int, column: int, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScriptError) as info:
        load_script(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}:{column}: "), message
    assert fragment in message, message
