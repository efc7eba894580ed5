"""The routine model: frozen dataclasses that a script parses into. No I/O here.

Times are integer milliseconds. Every element keeps a ``Where`` (file, line, column) so that
later stages (the cue-fit check) can point at the script line that caused a problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path

from voiceguide.words import phrases

_WORDS = phrases()  # the defaults speak the default language


@dataclass(frozen=True)
class Where:
    """A position in a script file (1-based line and column)."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


NOWHERE = Where("<none>", 0, 0)


DEFAULT_RATE = 160
"""Words a minute of a voice that a script does not speed up or slow down."""


@dataclass(frozen=True)
class VoiceSettings:
    """Which engine and voice a script asks for, and how fast and loud, as the script says
    it (``voice: {engine, voice, rate, volume}``). Each engine turns this request into its
    own settings (``voices.base.Engine.settings``: words a minute for espeak-ng, a speed or
    length scale for a neural engine, from ``speed``); those make the speech cache key."""

    engine: str | None = None  # None: the default engine (``voices.default_engine``)
    voice: str | None = None  # engine voice id or name; None: the engine's English default
    rate: int = DEFAULT_RATE  # words per minute
    volume: float = 1.0  # 0..1, applied by the engine

    @property
    def speed(self) -> float:
        """``rate`` as a factor of the usual DEFAULT_RATE (2.0: twice as fast)."""
        return self.rate / DEFAULT_RATE


@dataclass(frozen=True)
class VoiceFields:
    """The voice fields a script sets at one place (a routine, a step, a cue); None: not
    set there, so the place above decides. Kept beside the complete ``VoiceSettings`` so
    that an included step can take what its own script leaves open from the routine that
    includes it."""

    engine: str | None = None
    voice: str | None = None
    rate: int | None = None
    volume: float | None = None

    def over(self, base: VoiceSettings) -> VoiceSettings:
        """``base`` with the fields set here in place."""
        changes = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(base, **{k: v for k, v in changes.items() if v is not None})

    def then(self, later: VoiceFields) -> VoiceFields:
        """These fields, with those ``later`` sets in place."""
        changes = {f.name: getattr(later, f.name) for f in fields(later)}
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


class Phase(Enum):
    """The four phases of a breathing cycle, in order."""

    INHALE = "inhale"
    HOLD_IN = "hold_in"
    EXHALE = "exhale"
    HOLD_OUT = "hold_out"


@dataclass(frozen=True)
class BreathPattern:
    """A breathing pacer: phase lengths, how many cycles are spoken, optional slowing.

    ``slow_to_bpm`` stretches every phase proportionally, cycle by cycle, so that the rate
    goes linearly from the pattern's own breaths per minute to ``slow_to_bpm`` by the end.
    """

    inhale_ms: int
    hold_in_ms: int
    exhale_ms: int
    hold_out_ms: int
    spoken_cycles: int = 2
    slow_to_bpm: float | None = None
    tones: bool = True
    inhale_text: str = _WORDS.breathe_in
    hold_text: str = _WORDS.hold
    exhale_text: str = _WORDS.breathe_out
    slow_to_where: Where = NOWHERE  # where the script sets ``slow_to`` (check warns there)

    @property
    def cycle_ms(self) -> int:
        return self.inhale_ms + self.hold_in_ms + self.exhale_ms + self.hold_out_ms

    @property
    def bpm(self) -> float:
        return 60_000 / self.cycle_ms


class CueKind(Enum):
    """When a cue is spoken, relative to its step (or to each side of a sided step)."""

    START = "start"  # right after the step's instruction
    AT = "at"  # at an offset from the start
    HALFWAY = "halfway"
    BEFORE_END = "before_end"  # an offset before the end ("10 seconds left")
    EVERY = "every"  # every N ms from ``offset_ms`` (default: N) until the end
    EVERY_BREATHS = "every_breaths"  # at the inhale of every Nth breathing cycle
    PHASE = "phase"  # locked to a breathing phase (all cycles, or the first ``cycles``)


@dataclass(frozen=True)
class Cue:
    """A spoken cue inside a step. ``text`` may hold templates such as ``{remaining}``."""

    text: str
    kind: CueKind = CueKind.START
    offset_ms: int = 0
    every_ms: int = 0
    every_breaths: int = 0
    phase: Phase | None = None
    cycles: int | None = None
    where: Where = NOWHERE
    voice: VoiceSettings | None = None  # None: the step's voice
    voice_fields: VoiceFields | None = None  # what the cue's ``voice:`` set, if it has one


@dataclass(frozen=True)
class Wait:
    """A step that waits for the listener before its timed part starts.

    The player holds after ``say`` until "ready" comes (a key, ``voiceguide ctl ready``),
    repeating ``remind`` every ``every_ms``; an export has a fixed ``pause_ms`` instead.
    """

    pause_ms: int = 10_000
    say: str = _WORDS.wait_say
    remind: str = _WORDS.wait_remind
    every_ms: int = 30_000
    go: str = _WORDS.wait_go


@dataclass(frozen=True)
class Music:
    """A music bed (``music:``): the listener's own audio file under a routine or a step,
    looped or trimmed to it, ducked under speech like the tones and faded in and out.

    ``level_db`` is the music's loudness relative to the voice's (the file is measured and
    set that far under it); ``fade_ms`` is the length of the fade in and of the fade out.
    """

    path: Path  # resolved, read by soundfile (WAV, FLAC, MP3, Ogg)
    level_db: float = -18.0
    fade_ms: int = 2000
    where: Where = NOWHERE


@dataclass(frozen=True)
class Step:
    """One step of a routine. With ``sides``, the duration is split equally between them."""

    name: str
    duration_ms: int
    say: str | None = None
    sides: tuple[str, ...] = ()
    switch: str = _WORDS.switch_sides
    cues: tuple[Cue, ...] = ()
    breathing: BreathPattern | None = None
    chime: bool = True
    countdown: int = 0  # ticks in the last N seconds of the step (and of each side)
    wait: Wait | None = None  # hold for "ready" before the timed part (see Wait)
    music: Music | None = None  # None: the routine's music bed, if it has one
    where: Where = NOWHERE
    say_where: Where = NOWHERE  # where the script writes ``say`` (the step's place if not)
    voice: VoiceSettings = VoiceSettings()  # everything but the breath words
    counting_voice: VoiceSettings = VoiceSettings()  # the breath words
    # what the step's own script set, at its routine's level and the step's (see VoiceFields)
    voice_fields: VoiceFields = VoiceFields()
    counting_fields: VoiceFields = VoiceFields()


@dataclass(frozen=True)
class Routine:
    """A whole routine: steps plus the spoken frame around them."""

    title: str
    steps: tuple[Step, ...]
    intro: str | None = None
    outro: str | None = None
    voice: VoiceSettings = VoiceSettings()
    rest_ms: int = 0  # a rest between steps, with ``rest_say`` spoken at its start
    rest_say: str = _WORDS.rest
    author: str | None = None
    source: Path | None = None
    files: tuple[Path, ...] = field(default=())  # every script file read, includes too
    intro_where: Where = NOWHERE  # where the intro, outro and rest texts are in the script
    outro_where: Where = NOWHERE
    rest_where: Where = NOWHERE
    music: Music | None = None  # a music bed under the whole file (steps may set their own)


def with_voices(routine: Routine, engine: str | None, voice: str | None) -> Routine:
    """``routine`` with the engine and/or the voice name replaced in every voice it uses
    (the routine's, each step's, each cue's); None leaves that field as the script has it."""
    if engine is None and voice is None:
        return routine
    return map_voices(routine, VoiceFields(engine=engine, voice=voice).over)


def map_voices(routine: Routine, change: Callable[[VoiceSettings], VoiceSettings]) -> Routine:
    """``routine`` with ``change`` applied to every voice it holds (the routine's, each
    step's and counting voice, each cue's own)."""
    steps = tuple(
        replace(
            s,
            voice=change(s.voice),
            counting_voice=change(s.counting_voice),
            cues=tuple(c if c.voice is None else replace(c, voice=change(c.voice)) for c in s.cues),
        )
        for s in routine.steps
    )
    return replace(routine, voice=change(routine.voice), steps=steps)


def voices_of(routine: Routine) -> set[VoiceSettings]:
    """Every voice ``routine`` speaks with: the routine's (intro, outro, rests, and what a
    player says), each step's, each cue's own, and the counting voice of each step whose
    breathing speaks."""
    found = {routine.voice}
    for s in routine.steps:
        found.add(s.voice)
        found.update(c.voice for c in s.cues if c.voice is not None)
        if s.breathing is not None and s.breathing.spoken_cycles > 0:
            found.add(s.counting_voice)
    return found
