"""The compiler: where every cue, tone and chapter lands, with a pure fake speech bank."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import SCRIPTS, DurationBank, write
from voiceguide.compile.layout import CHIME_LEAD_MS, compile_routine, texts_ahead, wait_for_speech
from voiceguide.errors import EngineError, ExitCode, ScriptError
from voiceguide.model import VoiceSettings
from voiceguide.script import load_script
from voiceguide.timeline import Silence, Speech, Timeline, Tone
from voiceguide.voices.base import Clip


def compile_text(tmp_path: Path, bank: DurationBank, text: str):  # type: ignore[no-untyped-def]
    return compile_routine(load_script(write(tmp_path, text)), bank)


def speech(tl: Timeline) -> list[tuple[int, str, str]]:
    return [(e.start_ms, e.cue, e.text) for e in tl.events if isinstance(e, Speech)]


def test_steps_follow_each_other_exactly_and_chapters_match(
    tmp_path: Path, bank: DurationBank
) -> None:
    c = compile_text(
        tmp_path,
        bank,
        "title: T\nsteps:\n  - {name: A, duration: 2m, say: Go}\n"
        "  - {name: B, duration: 90s, say: On}\n",
    )
    tl = c.timeline
    assert not c.issues
    assert [(ch.title, ch.start_ms, ch.end_ms) for ch in tl.chapters] == [
        ("A", 0, 120_000),
        ("B", 120_000, 210_000),
    ]
    assert tl.duration_ms == 210_000 and tl.origin_ms == 0
    assert speech(tl) == [
        (CHIME_LEAD_MS, "instruction", "Go"),
        (120_000 + CHIME_LEAD_MS, "instruction", "On"),
    ]
    chimes = [e.start_ms for e in tl.events if isinstance(e, Tone) and e.tone == "chime"]
    assert chimes == [0, 120_000]


def test_intro_ends_on_a_whole_second_and_sets_the_origin(
    tmp_path: Path, bank: DurationBank
) -> None:
    c = compile_text(
        tmp_path,
        bank,
        "title: T\nintro: |\n  Hello.\n\n  Take care.\noutro: Bye.\n"
        "steps:\n  - {name: A, duration: 1m}\n",
    )
    tl = c.timeline
    assert tl.origin_ms % 1000 == 0 and tl.origin_ms > 0
    assert [ch.title for ch in tl.chapters] == ["Introduction", "A", "Closing"]
    assert tl.chapters[1].start_ms == tl.origin_ms
    assert tl.chapters[2].start_ms == tl.origin_ms + 60_000
    assert tl.duration_ms == tl.chapters[2].end_ms
    intro = [s for s in speech(tl) if s[1] == "intro"]
    assert [s[2] for s in intro] == ["Hello.", "Take care."]


def test_sides_split_the_step_and_fill_templates(tmp_path: Path, bank: DurationBank) -> None:
    c = compile_text(
        tmp_path,
        bank,
        """title: T
steps:
  - name: Twist
    duration: 2m
    sides: true
    say: Twist to the {side}.
    cues:
      - {before_end: 10s, say: "{remaining} left on the {side}. Next: {next}."}
  - {name: Rest pose, duration: 30s}
""",
    )
    s = speech(c.timeline)
    assert (CHIME_LEAD_MS, "instruction", "Twist to the right.") in s
    assert (60_000 + CHIME_LEAD_MS, "switch", "Switch sides. Now the left side.") in s
    assert (50_000, "before_end", "10 seconds left on the right. Next: Rest pose.") in s
    assert (110_000, "before_end", "10 seconds left on the left. Next: Rest pose.") in s
    assert len(c.timeline.chapters) == 2


def test_timed_cues_land_where_asked(tmp_path: Path, bank: DurationBank) -> None:
    c = compile_text(
        tmp_path,
        bank,
        """title: T
steps:
  - name: Hold
    duration: 2m
    cues:
      - {at: 20s, say: a}
      - {at: halfway, say: b}
      - {every: 30s, say: c}
      - {every: 40s, from: 5s, say: d}
      - Start cue
""",
    )
    s = speech(c.timeline)
    assert (20_000, "at", "a") in s
    assert (60_000, "halfway", "b") in s
    assert [t for t, _, x in s if x == "c"] == [30_000, 60_000, 90_000]
    assert [t for t, _, x in s if x == "d"] == [5_000, 45_000, 85_000]
    assert (CHIME_LEAD_MS, "start", "Start cue") in s
    assert c.issues  # "b" and "c" both at 1:00: reported, never silently overlapped
    assert any(i.start_ms == 60_000 and i.available_ms == 0 for i in c.issues)


def test_breathing_speaks_first_cycles_then_tones_only(tmp_path: Path, bank: DurationBank) -> None:
    c = compile_text(
        tmp_path,
        bank,
        """title: T
steps:
  - name: Breathe
    duration: 1m
    chime: false
    breathing: {pattern: 4-0-6-0, spoken_cycles: 2}
""",
    )
    tl = c.timeline
    tones = [(e.start_ms, e.tone, e.duration_ms) for e in tl.events if isinstance(e, Tone)]
    # no instruction: the pacer starts right away (200 ms lead + 800 ms gap, on 100 ms)
    # and fills the 58.7 s to 0.3 s before the end with six cycles of 9.78 s (4-0-6-0, 2.2 %
    # shorter)
    assert tones[0] == (1000, "inhale", 3910)
    assert tones[1] == (4910, "exhale", 5870)
    assert len(tones) == 12
    assert tones[-1][0] + tones[-1][2] == 59_700
    s = speech(tl)
    assert [x for _, _, x in s] == ["Breathe in", "Breathe out"] * 2


def test_phase_locked_cues_replace_the_breath_words(tmp_path: Path, bank: DurationBank) -> None:
    c = compile_text(
        tmp_path,
        bank,
        """title: T
steps:
  - name: Cat-Cow
    duration: 1m
    breathing: {pattern: 4-0-6-0, spoken_cycles: 3}
    cues:
      - {on: inhale, cycles: 2, say: "Inhale, drop your belly."}
      - {on: exhale, say: "Exhale, round."}
""",
    )
    tl = c.timeline
    inhales = [e.start_ms for e in tl.events if isinstance(e, Tone) and e.tone == "inhale"]
    exhales = [e.start_ms for e in tl.events if isinstance(e, Tone) and e.tone == "exhale"]
    s = speech(tl)
    assert [(t, x) for t, _, x in s if x.startswith("Inhale")] == [
        (t, "Inhale, drop your belly.") for t in inhales[:2]
    ]
    assert [t for t, _, x in s if x == "Breathe in"] == inhales[2:3]
    assert [t for t, _, x in s if x == "Exhale, round."] == exhales
    assert not [x for _, _, x in s if x == "Breathe out"]


def test_every_breaths_and_slowing(tmp_path: Path, bank: DurationBank) -> None:
    c = compile_text(
        tmp_path,
        bank,
        """title: T
steps:
  - name: Slow
    duration: 3m
    breathing: {pattern: 4-0-6-0, spoken_cycles: 0, slow_to: 5}
    cues:
      - {every_breaths: 3, say: Soften.}
""",
    )
    tl = c.timeline
    inhales = [e for e in tl.events if isinstance(e, Tone) and e.tone == "inhale"]
    assert inhales[0].duration_ms == 4080  # 4 s, the whole curve stretched 2 % to fill 3:00
    assert inhales[-1].duration_ms > 4500  # stretched towards 12 s cycles (5 per minute)
    soften = [t for t, _, x in speech(tl) if x == "Soften."]
    assert soften == [inhales[i].start_ms for i in range(2, len(inhales), 3)]


def test_rest_between_steps_previews_the_next(tmp_path: Path, bank: DurationBank) -> None:
    c = compile_text(
        tmp_path,
        bank,
        "title: T\nrest: 15s\nsteps:\n  - {name: A, duration: 1m}\n  - {name: B, duration: 1m}\n",
    )
    tl = c.timeline
    assert [(ch.start_ms, ch.end_ms) for ch in tl.chapters] == [(0, 75_000), (75_000, 135_000)]
    assert (60_200, "rest", "Rest. Next: B.") in speech(tl)


def test_a_cue_that_runs_past_its_step_is_reported_with_measured_and_available(
    tmp_path: Path, bank: DurationBank
) -> None:
    c = compile_text(
        tmp_path,
        bank,
        """title: T
steps:
  - name: Short
    duration: 10s
    cues:
      - {before_end: 1s, say: "This sentence is far too long to say in one second."}
""",
    )
    (issue,) = c.issues
    assert issue.available_ms == 1000
    assert issue.measured_ms == 200 + 60 * len(
        "This sentence is far too long to say in one second."
    )
    assert str(issue).endswith(  # the cue's own line, in routine time
        ":6:9: the cue 'This sentence is far too long to say ...' at 0:09 in 'Short' "
        "needs 3.26s but only 1.00s are free before the end of the step at 0:10"
    )
    assert issue.fix == "move the cue to before_end: 4s (the nearest time it fits)"


def test_compiling_is_deterministic_and_round_trips_through_json(
    tmp_path: Path, bank: DurationBank
) -> None:
    text = (
        "title: T\nintro: Hi.\nsteps:\n  - name: A\n    duration: 1m\n    sides: true\n"
        "    say: '{side}'\n    breathing: box\n    countdown: 3\n"
    )
    a = compile_text(tmp_path, bank, text).timeline
    b = compile_text(tmp_path, bank, text).timeline
    assert a == b
    assert Timeline.from_json(a.to_json()) == a
    ticks = [e.start_ms for e in a.events if isinstance(e, Tone) and e.tone == "tick"]
    side_end = a.origin_ms + 30_000
    assert ticks[:3] == [side_end - 3000, side_end - 2000, side_end - 1000]


def test_a_waiting_step_pauses_before_its_timed_part(tmp_path: Path, bank: DurationBank) -> None:
    c = compile_text(
        tmp_path,
        bank,
        """title: T
steps:
  - name: Roll
    duration: 1m
    say: Lie on the roller.
    wait: {pause: 12s, remind: Still here., every: 20s}
    cues:
      - {before_end: 10s, say: Ten seconds.}
""",
    )
    tl = c.timeline
    assert not c.issues
    (wait,) = [e for e in tl.events if isinstance(e, Silence)]
    assert (wait.reason, wait.duration_ms, wait.remind, wait.every_ms) == (
        "wait",
        12_000,
        "Still here.",
        20_000,
    )
    s = speech(tl)
    assert [x for _, _, x in s] == [
        "Lie on the roller.",
        "Get into position. Ready when you are.",
        "Let's begin.",
        "Ten seconds.",
    ]
    timed = -(-wait.end_ms // 100) * 100
    assert s[2][0] == timed + CHIME_LEAD_MS
    assert s[3][0] == timed + 50_000
    assert tl.chapters[0].end_ms == timed + 60_000 == tl.duration_ms
    assert Timeline.from_json(tl.to_json()) == tl


@pytest.mark.parametrize("script", sorted(SCRIPTS.rglob("*.yaml")), ids=lambda p: p.stem)
def test_prefixes_handed_on_are_prefixes_of_the_whole(script: Path, bank: DurationBank) -> None:
    """What a player may start on is exactly what the finished timeline holds there."""
    prefixes: list[Timeline] = []
    whole = compile_routine(load_script(script), bank, on_final=prefixes.append).timeline
    assert prefixes
    ends = [p.duration_ms for p in prefixes]
    assert ends == sorted(ends) and ends[-1] <= whole.duration_ms
    for prefix in prefixes:
        ms = prefix.duration_ms
        assert prefix.events == tuple(e for e in whole.events if e.start_ms < ms)
        assert all(e.end_ms <= ms for e in prefix.events)  # nothing is cut at the end
        assert prefix.sides == tuple(p for p in whole.sides if p.start_ms < ms)
        known = [c for c in prefix.chapters if c.end_ms <= ms and c in whole.chapters]
        assert known == [c for c in whole.chapters if c.end_ms <= ms]
        assert prefix.chapters  # never empty: a player always knows where it is


class _FailingBank(DurationBank):
    """A bank whose engine cannot speak one text, as espeak-ng cannot speak '.'."""

    def clip(self, text: str, voice: VoiceSettings) -> Clip:
        if text == "Unspeakable.":
            raise EngineError(f"the fake engine produced no audio for {text!r}")
        return super().clip(text, voice)


class _LateFailingBank(DurationBank):
    """A bank that fails while storing a clip, after handing it out (a worker thread)."""

    def clip(self, text: str, voice: VoiceSettings) -> Clip:
        clip = super().clip(text, voice)
        if text != "Unspeakable.":
            return clip
        pending: Future[None] = Future()
        pending.set_exception(EngineError("the fake engine produced no audible sound"))
        return replace(clip, pending=pending)


@pytest.mark.parametrize("bank_type", [_FailingBank, _LateFailingBank])
def test_if_the_engine_fails_on_a_cue_the_error_names_the_cue(
    tmp_path: Path, bank_type: type[DurationBank]
) -> None:
    path = write(
        tmp_path,
        "title: T\nsteps:\n  - name: A\n    duration: 1m\n    cues:\n"
        "      - Fine.\n      - {at: 30s, say: Unspeakable.}\n",
    )
    with pytest.raises(EngineError) as info:
        compiled = compile_routine(load_script(path), bank_type())
        wait_for_speech(compiled)
    assert str(info.value).startswith(f"{path}:7:9: the fake engine produced no audi")


@pytest.mark.parametrize(
    ("where", "text", "line"),
    [
        ("intro", "intro: Unspeakable.\n", 2),
        ("outro", "outro: Unspeakable.\n", 2),
        ("rest", "rest: 5s\nrest_say: Unspeakable.\n", 3),
    ],
)
def test_if_the_engine_fails_on_a_routine_text_the_error_names_its_line(
    tmp_path: Path, where: str, text: str, line: int
) -> None:
    path = write(
        tmp_path,
        f"title: T\n{text}steps:\n  - {{name: A, duration: 1m}}\n  - {{name: B, duration: 1m}}\n",
    )
    with pytest.raises(EngineError, match=rf"^{re.escape(str(path))}:{line}:\d+: the fake engine"):
        compile_routine(load_script(path), _FailingBank())


def test_if_a_filled_in_template_is_too_long_it_never_reaches_the_engine(
    tmp_path: Path, bank: DurationBank
) -> None:
    path = write(
        tmp_path,
        f"title: {'T' * 200}\nsteps:\n  - name: A\n    duration: 1m\n    say: '{'{title} ' * 6}'\n",
    )
    with pytest.raises(ScriptError) as info:
        compile_routine(load_script(path), bank)
    assert str(info.value).startswith(f"{path}:5:10: with its placeholders filled in, this text")
    assert "more than the limit of 1000" in str(info.value)
    assert not any(len(text) > 1000 for text in bank.asked)


@pytest.mark.e2e
def test_a_real_engine_failing_on_a_cue_names_the_cue(tmp_path: Path) -> None:
    """espeak-ng speaks nothing for '.': check says where that cue is, exit 5."""
    path = write(
        tmp_path, "title: T\nsteps:\n  - name: A\n    duration: 20s\n    cues:\n      - '.'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == ExitCode.ENGINE, proc.stderr
    assert proc.stderr.startswith(
        f"voiceguide: {path}:6:9: the pyttsx3 engine produced no audio for '.'"
    ), proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_waiting_step_may_say_how_long_it_lasts(tmp_path: Path, bank: DurationBank) -> None:
    c = compile_text(
        tmp_path,
        bank,
        "title: T\nsteps:\n  - name: A\n    duration: 90s\n    say: '{remaining} of this.'\n"
        "    wait: {say: 'Ready for {remaining}?', remind: 'Still {remaining}.'}\n",
    )
    said = [text for _, _, text in speech(c.timeline)]
    assert said[:2] == ["1 minute 30 seconds of this.", "Ready for 1 minute 30 seconds?"]
    waits = [e for e in c.timeline.events if isinstance(e, Silence) and e.reason == "wait"]
    assert waits[0].remind == "Still 1 minute 30 seconds."


class _PreparingBank(DurationBank):
    """A DurationBank that is told the texts ahead (``PreparingBank``)."""

    def __init__(self) -> None:
        super().__init__()
        self.told: list[str] = []

    def speaks_ahead(self, voice: VoiceSettings) -> bool:
        return True

    def prepare(self, requests: Sequence[tuple[str, VoiceSettings]]) -> None:
        assert not self.asked, "told after being asked"
        self.told = [text for text, _ in requests]


@pytest.mark.parametrize("script", sorted(SCRIPTS.rglob("*.yaml")), ids=lambda p: p.stem)
def test_a_preparing_bank_is_told_every_text_in_the_order_asked(script: Path) -> None:
    """Guessed lengths are the DurationBank's own here, so the guesses are exact."""
    routine = load_script(script)
    told = _PreparingBank()
    whole = compile_routine(routine, told)
    assert told.told == told.asked
    assert whole == compile_routine(routine, DurationBank())  # the same layout


def test_texts_ahead_survive_a_failing_layout(tmp_path: Path) -> None:
    """The guessing layout stops quietly where the real one fails with the cue's place."""
    path = write(
        tmp_path,
        "title: T\nsteps:\n  - name: A\n    duration: 1m\n    cues:\n"
        "      - Fine.\n      - {at: 30s, say: Unspeakable.}\n      - {at: 40s, say: Later.}\n",
    )
    ahead = texts_ahead(load_script(path), _FailingEstimate())
    assert [text for text, _ in ahead] == ["Fine.", "Unspeakable."]


class _FailingEstimate(DurationBank):
    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        if text == "Unspeakable.":
            raise EngineError("no estimate")
        return super().estimate_ms(text, voice)


def test_cues_are_spoken_as_they_should_be_heard(tmp_path: Path) -> None:
    """The written text stays in the timeline; the bank (and a bank told ahead) is asked
    for the speakable one, after the templates are filled in."""
    path = write(
        tmp_path,
        "title: T\nsteps:\n  - name: A\n    duration: 2m\n    say: Breathe 4-7-8, 2-3 rounds.\n"
        "    cues:\n      - Hold approx. 30s.\n"
        "      - {before_end: 90s, say: 'The 2nd half: {remaining} left.'}\n",
    )
    told = _PreparingBank()
    tl = compile_routine(load_script(path), told).timeline
    said = [(e.text, e.spoken) for e in tl.speech]
    assert said == [
        ("Breathe 4-7-8, 2-3 rounds.", "Breathe 4 7 8, 2 to 3 rounds."),
        ("Hold approx. 30s.", "Hold approximately 30 seconds."),
        ("The 2nd half: 1 minute 30 seconds left.", "The second half: 1 minute 30 seconds left."),
    ]
    assert told.asked == told.told == [spoken for _, spoken in said]
    assert Timeline.from_json(tl.to_json()) == tl


def test_espeak_speaks_the_speakable_text(tmp_path: Path) -> None:
    """With the real espeak-ng voice: the clip measured (and later mixed) is the spoken
    text's; the written text is never synthesised."""
    from voiceguide.voices.cache import SpeechCache

    path = write(tmp_path, "title: T\nsteps:\n  - {name: A, duration: 20s, say: Rest 1 min.}\n")
    bank = SpeechCache(tmp_path / "speech")
    (said,) = compile_routine(load_script(path), bank).timeline.speech
    assert said.spoken == "Rest 1 minute."
    clip = bank.known(said.spoken, said.voice)
    assert clip is not None and clip.duration_ms == said.duration_ms
    assert bank.known(said.text, said.voice) is None
