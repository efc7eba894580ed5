"""Model -> timeline: place every chime, instruction, cue, breath tone and rest in time.

Speech durations come from the rendered clips (through a ``SpeechBank``), never from
guesses; a bank that speaks ahead is first told every text, in the order they are needed
(``texts_ahead``). Cues that do not fit before the next speech (or before their step ends)
are collected as ``FitIssue``s (``voiceguide.compile.cuefit``).

Layout of a step (each side of a sided step is laid out the same way): chime at the start
-> instruction (or the "switch sides" line) -> start cues, one after another -> the
breathing pacer (``voiceguide.compile.pacer``), from the next whole 100 ms after a short
gap; cues at fixed offsets, halfway, before the end, every N seconds, or locked to breaths
are placed where they belong. Countdown ticks fill the last seconds. An optional rest
follows each step but the last, inside that step's chapter, with its "Next: ..." preview.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.breath import schedule
from voiceguide.compile.cuefit import FitIssue, Placed, fit_issues, routine_time
from voiceguide.compile.music import with_music
from voiceguide.compile.pacer import pace
from voiceguide.errors import EngineError, ScriptError
from voiceguide.limits import MAX_TEXT_CHARS
from voiceguide.model import CueKind, Routine, Step, VoiceSettings, Where, voices_of
from voiceguide.speakable import speakable
from voiceguide.timeline import Chapter, SidePart, Silence, Speech, Timeline, Tone, ToneName
from voiceguide.units import ms_to_frames
from voiceguide.voices.base import Clip, PreparingBank, SpeechBank
from voiceguide.words import DEFAULT_LANGUAGE, phrases

if TYPE_CHECKING:
    from voiceguide.voices.base import Request

CHIME_MS = 1500  # length of the chime event at each step (and side) start
CHIME_LEAD_MS = 700  # speech starts this long after the chime
NO_CHIME_LEAD_MS = 200
SPEECH_GAP_MS = 400  # between utterances spoken one after another
PACER_GAP_MS = 800  # between the last start utterance and the first breath
INTRO_LEAD_MS = 500
PARAGRAPH_GAP_MS = 700
INTRO_TAIL_MS = 1500  # quiet after the intro before 0:00; 0:00 is rounded up to a second
OUTRO_TAIL_MS = 2000
TICK_MS = 150
WORDS = phrases()  # the chapter titles and spoken durations of the default language
INTRO_TITLE = WORDS.introduction
OUTRO_TITLE = WORDS.closing


@dataclass(frozen=True)
class Compiled:
    """The timeline and the fit issues found while building it.

    ``pending`` holds the clips still being stored when it was built, each with the first
    place in the script that speaks it: ``wait_for_speech`` names that place if one fails.
    """

    timeline: Timeline
    issues: tuple[FitIssue, ...]
    pending: tuple[tuple[Clip, Where], ...] = field(default=(), compare=False, repr=False)


def located(where: Where, error: EngineError) -> EngineError:
    """``error`` (an engine failing on a text) with the script position that asked for it."""
    return EngineError(f"{where}: {error}")


def wait_for_speech(compiled: Compiled) -> None:
    """Wait until every clip of ``compiled`` is stored; an engine failure names its cue."""
    for clip, where in compiled.pending:
        try:
            clip.ready()
        except EngineError as error:
            raise located(where, error) from error


class _Builder:
    def __init__(
        self,
        routine: Routine,
        bank: SpeechBank,
        on_final: Callable[[Timeline], None] | None = None,
    ) -> None:
        self.routine = routine
        self.bank = bank
        self.on_final = on_final
        self.origin: int | None = None  # known once the intro is laid out
        self.lang = DEFAULT_LANGUAGE  # what the texts are written in: how they are spoken
        self.placed: list[Placed] = []
        self.tones: list[Tone] = []
        self.silences: list[Silence] = []
        self.chapters: list[Chapter] = []
        self.sides: list[SidePart] = []
        self.pending: dict[str, tuple[Clip, Where]] = {}

    def say(
        self,
        text: str,
        start: int,
        *,
        voice: VoiceSettings,
        step: int | None,
        cue: str,
        where: Where,
        limit: int,
        limit_name: str,
        part: int = 0,
        cycle: int | None = None,
    ) -> Speech:
        """Speak ``text`` (filled in) with ``voice`` from ``start``; the Speech placed."""
        if len(text) > MAX_TEXT_CHARS:
            raise ScriptError(
                where.path,
                where.line,
                where.column,
                f"with its placeholders filled in, this text is {len(text)} characters long, "
                f"more than the limit of {MAX_TEXT_CHARS}",
            )
        spoken = speakable(text, self.lang)
        try:
            clip = self.bank.clip(spoken, voice)
        except EngineError as error:
            raise located(where, error) from error
        if clip.pending is not None and clip.key not in self.pending:
            self.pending[clip.key] = (clip, where)
        speech = Speech(start, clip.duration_ms, text, step, cue, voice, spoken)
        self.placed.append(Placed(speech, where, limit, limit_name, part, cycle))
        return speech

    def tone(self, name: ToneName, start: int, duration: int, step: int | None) -> None:
        if duration > 0:
            self.tones.append(Tone(start, duration, name, step))

    def final(self, ms: int) -> None:
        """Everything before file time ``ms`` is laid out for good: hand on that much."""
        if self.on_final is not None:
            self.on_final(with_music(self.prefix(ms), self.routine, whole=False))

    def prefix(self, ms: int) -> Timeline:
        """The timeline so far, up to ``ms``: a prefix of the one ``build`` returns."""
        r = self.routine
        events: list[Speech | Tone | Silence] = [p.speech for p in self.placed]
        events += [*self.tones, *self.silences]
        events = sorted((e for e in events if e.start_ms < ms), key=_event_key)
        chapters = list(self.chapters)
        if self.origin is None and r.intro:  # the intro, so far
            chapters.insert(0, Chapter(0, ms, INTRO_TITLE, None))
        return Timeline(
            title=r.title,
            author=r.author,
            duration_ms=ms,
            origin_ms=self.origin if self.origin is not None else ms,
            events=tuple(events),
            chapters=tuple(chapters),
            sides=tuple(p for p in self.sides if p.start_ms < ms),
        )

    def paragraphs(
        self, text: str, start: int, cue: str, where: Where, limit: int = 1 << 62
    ) -> int:
        """Speak blank-line separated paragraphs one after another; returns the end."""
        t = start
        for i, para in enumerate(text.split("\n\n")):
            if i:
                self.final(t)  # the pause before this paragraph is a quiet place to go on
            s = self.say(
                para,
                t,
                voice=self.routine.voice,
                step=None,
                cue=cue,
                where=where,
                limit=limit,
                limit_name="the routine",
            )
            t = s.end_ms + PARAGRAPH_GAP_MS
        return t - PARAGRAPH_GAP_MS

    def lay_out(self) -> int:
        """Place everything, in order; returns the end."""
        r = self.routine
        t = 0
        if r.intro:
            end = self.paragraphs(r.intro, INTRO_LEAD_MS, "intro", r.intro_where)
            origin = -(-(end + INTRO_TAIL_MS) // 1000) * 1000
            self.chapters.append(Chapter(0, origin, INTRO_TITLE, None))
            t = origin
        self.origin = t
        for index, step in enumerate(r.steps):
            self.final(t)
            t = self.step(index, step, t)
        self.final(t)
        if r.outro:
            start = t
            self.tone("chime", t, CHIME_MS, None)
            end = self.paragraphs(r.outro, t + CHIME_LEAD_MS, "outro", r.outro_where)
            t = end + OUTRO_TAIL_MS
            self.chapters.append(Chapter(start, t, OUTRO_TITLE, None))
        return t

    def build(self) -> Compiled:
        """The whole timeline (the prefix up to the end) and its fit issues."""
        timeline = with_music(self.prefix(self.lay_out()), self.routine, whole=True)
        names = [step.name for step in self.routine.steps]
        issues = tuple(fit_issues(self.placed, names, self.origin or 0))
        return Compiled(timeline, issues, tuple(self.pending.values()))

    def step(self, index: int, step: Step, start: int) -> int:
        r = self.routine
        nxt = r.steps[index + 1].name if index + 1 < len(r.steps) else WORDS.the_end
        values = {
            "step": step.name,
            "title": r.title,
            "next": nxt,
            "duration": WORDS.duration(step.duration_ms),
        }
        sides = step.sides or (None,)
        timed = self.wait(index, step, start, values) if step.wait else start
        span = step.duration_ms // len(sides)
        for j, side in enumerate(sides):
            h0 = timed + j * span
            h1 = timed + step.duration_ms if j == len(sides) - 1 else h0 + span
            if side is not None:
                other = step.sides[(j + 1) % len(step.sides)] if j == 0 else step.sides[j - 1]
                values |= {"side": side, "other_side": other}
                self.sides.append(SidePart(h0, h1, side, index))
            opening = step.say if j == 0 else step.switch
            if j == 0 and step.wait:
                opening = step.wait.go
            self.side(index, step, h0, h1, values, first=j == 0, opening=opening)
        end = timed + step.duration_ms
        if r.rest_ms and index + 1 < len(r.steps):
            rest_end = end + r.rest_ms
            self.say(
                _fill(r.rest_say, values | {"remaining": WORDS.duration(r.rest_ms)}),
                end + NO_CHIME_LEAD_MS,
                voice=r.voice,
                step=index,
                cue="rest",
                where=r.rest_where,
                limit=rest_end,
                limit_name="the next step",
            )
            self.silences.append(Silence(end, r.rest_ms, index, "rest"))
            end = rest_end
        self.chapters.append(Chapter(start, end, step.name, index))
        return end

    def wait(self, index: int, step: Step, start: int, values: dict[str, str]) -> int:
        """The waiting part of a step: chime, instruction, the wait line, the pause.

        Returns where the timed part starts (the end of the pause, on a whole 100 ms).
        """
        wait = step.wait
        assert wait is not None
        limit = 1 << 62  # nothing follows within the wait: only the next speech limits it
        values = values | {"remaining": WORDS.duration(step.duration_ms)}  # all of it: waiting
        if step.sides:
            values = values | {"side": step.sides[0], "other_side": step.sides[1]}
        if step.chime:
            self.tone("chime", start, CHIME_MS, index)
        t = start + (CHIME_LEAD_MS if step.chime else NO_CHIME_LEAD_MS)
        for text, cue in ((step.say, "instruction"), (wait.say, "wait")):
            if text:
                said = self.say(
                    _fill(text, values),
                    t,
                    voice=step.voice,
                    step=index,
                    cue=cue,
                    where=step.say_where if cue == "instruction" else step.where,
                    limit=limit,
                    limit_name="the wait",
                )
                t = said.end_ms + SPEECH_GAP_MS
        remind = _fill(wait.remind, values)
        self.silences.append(Silence(t, wait.pause_ms, index, "wait", remind, wait.every_ms))
        return -(-(t + wait.pause_ms) // 100) * 100

    def side(
        self,
        index: int,
        step: Step,
        h0: int,
        h1: int,
        values: dict[str, str],
        *,
        first: bool,
        opening: str | None,
    ) -> None:
        where_end = "the end of the step" if first or not step.sides else "the end of the side"
        end_name = f"{where_end} at {routine_time(h1 - (self.origin or 0))}"
        cycles: dict[int, int] = {}  # a pacer word's start -> its breathing cycle

        def say(text: str, at: int, cue: str, where: Where, voice: VoiceSettings) -> Speech:
            filled = _fill(text, values | {"remaining": WORDS.duration(h1 - at)})
            return self.say(
                filled,
                at,
                voice=voice,
                step=index,
                cue=cue,
                where=where,
                limit=h1,
                limit_name=end_name,
                part=h0,
                cycle=cycles.get(at),
            )

        if step.chime:
            self.tone("chime", h0, min(CHIME_MS, h1 - h0), index)
        t = h0 + (CHIME_LEAD_MS if step.chime else NO_CHIME_LEAD_MS)
        chain_end = t
        if opening:
            kind, here = ("instruction", step.say_where) if first else ("switch", step.where)
            chain_end = say(opening, t, kind, here, step.voice).end_ms
            t = chain_end + SPEECH_GAP_MS
        for cue in step.cues:
            if cue.kind is CueKind.START:
                chain_end = say(cue.text, t, "start", cue.where, cue.voice or step.voice).end_ms
                t = chain_end + SPEECH_GAP_MS
        for cue in step.cues:
            times: list[int] = []
            if cue.kind is CueKind.AT:
                times = [h0 + cue.offset_ms]
            elif cue.kind is CueKind.HALFWAY:
                times = [h0 + (h1 - h0) // 2]
            elif cue.kind is CueKind.BEFORE_END:
                times = [h1 - cue.offset_ms]
            elif cue.kind is CueKind.EVERY:
                times = list(range(h0 + cue.offset_ms, h1, cue.every_ms))
            for at in times:
                say(cue.text, at, cue.kind.value, cue.where, cue.voice or step.voice)
        if step.breathing:
            pace_start = -(-(chain_end + PACER_GAP_MS) // 100) * 100
            phases = schedule(step.breathing, pace_start, h1)
            cycles.update((ph.start_ms, ph.cycle) for ph in phases)
            pace(index, step, phases, say, self.tone)
        for k in range(1, step.countdown + 1):
            at = h1 - k * 1000
            if at > h0:
                self.tone("tick", at, TICK_MS, index)


def _fill(text: str, values: dict[str, str]) -> str:
    return text.format_map(values)


_KIND_RANK = {"tone": 0, "silence": 1, "speech": 2}


def _event_key(e: Speech | Tone | Silence) -> tuple[int, int, str]:
    label = e.text if isinstance(e, Speech) else e.tone if isinstance(e, Tone) else e.reason
    return (e.start_ms, _KIND_RANK[e.kind], label)


class _Guesses:
    """A SpeechBank of guessed lengths (``estimate_ms``) that notes what it is asked for."""

    def __init__(self, bank: SpeechBank) -> None:
        self.bank = bank
        self.asked: list[Request] = []

    def clip(self, text: str, voice: VoiceSettings) -> Clip:
        self.asked.append((text, voice))
        return Clip("guess", ms_to_frames(self.bank.estimate_ms(text, voice)), Path())

    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        return self.bank.estimate_ms(text, voice)


def texts_ahead(routine: Routine, bank: SpeechBank) -> list[Request]:
    """The texts the layout of ``routine`` will ask ``bank`` for, in order, from a layout
    with guessed lengths: exact but for a ``{remaining}`` whose time hangs on a clip's
    length. A failure stops it quietly: the real layout meets it again, with its place."""
    guesses = _Guesses(bank)
    with contextlib.suppress(EngineError, ScriptError, ValueError):
        _Builder(routine, guesses).lay_out()
    return guesses.asked


def compile_routine(
    routine: Routine, bank: SpeechBank, on_final: Callable[[Timeline], None] | None = None
) -> Compiled:
    """Build the timeline of ``routine``, measuring every spoken clip through ``bank``.

    A bank that speaks ahead (``PreparingBank``, for an engine that speaks many texts at
    once) is first told every text, in the order the layout asks for them (``texts_ahead``).
    ``on_final`` is handed prefixes of the timeline as it is laid out (after each intro
    paragraph, and at each step's start): everything in a prefix is as it will be in the
    whole. A player can start on them before the last cue is spoken into the cache.
    """
    if isinstance(bank, PreparingBank) and any(map(bank.speaks_ahead, voices_of(routine))):
        bank.prepare(texts_ahead(routine, bank))
    return _Builder(routine, bank, on_final).build()
