"""The timeline: immutable, deterministic events in integer milliseconds.

One timeline drives every sink: the renderer mixes it, exporters write it, the player plays
it. It is plain data and round-trips through JSON, so golden files can pin it down.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from voiceguide.model import VoiceSettings

ToneName = Literal["inhale", "exhale", "hold", "chime", "tick"]

# Every ``step`` below is an index into the routine's steps (``Routine.steps``), or None for
# what belongs to no step (the intro and the outro).


@dataclass(frozen=True)
class _Span:
    """What every event has: where it starts and how long it lasts."""

    start_ms: int
    duration_ms: int

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms


@dataclass(frozen=True)
class Speech(_Span):
    """A spoken clip; ``duration_ms`` is measured from the rendered clip.

    ``text`` is what the script wrote, filled in (subtitles, plans and chapters show it);
    ``spoken`` what the voice says (``voiceguide.speakable``), which the clip is of. Left
    empty, it is ``text``.
    """

    text: str
    step: int | None
    cue: str  # what produced it: instruction, switch, cue kind, breath, rest, intro, outro
    voice: VoiceSettings = VoiceSettings()
    spoken: str = ""
    kind: Literal["speech"] = "speech"

    def __post_init__(self) -> None:
        if not self.spoken:
            object.__setattr__(self, "spoken", self.text)


@dataclass(frozen=True)
class Tone(_Span):
    """A synthesised tone: breath glides, the step chime, countdown ticks."""

    tone: ToneName
    step: int | None
    kind: Literal["tone"] = "tone"


@dataclass(frozen=True)
class Silence(_Span):
    """An explicit pause: a rest, or a wait for the listener ("wait": the player holds here
    until ready, saying ``remind`` every ``every_ms``; an export keeps the fixed length)."""

    step: int | None
    reason: str
    remind: str | None = None
    every_ms: int = 0
    kind: Literal["silence"] = "silence"


@dataclass(frozen=True)
class Chapter:
    """A chapter marker: one per step (its ``step``), plus the intro and outro when present."""

    start_ms: int
    end_ms: int
    title: str
    step: int | None
    kind: Literal["chapter"] = "chapter"

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class SidePart:
    """One side of a sided step (``sides: [right, left]``): where it starts and ends."""

    start_ms: int
    end_ms: int
    side: str
    step: int
    kind: Literal["side"] = "side"


@dataclass(frozen=True)
class MusicBed:
    """A music bed over one part of the file (``voiceguide.compile.music``): the file (by
    path and content hash), its level relative to the voice, its fades, and where in the
    file it starts (the file loops from its start, with a crossfade, past its end)."""

    start_ms: int
    end_ms: int
    file: str
    sha256: str
    level_db: float
    fade_in_ms: int
    fade_out_ms: int
    offset_ms: int = 0
    kind: Literal["music"] = "music"

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


Event = Speech | Tone | Silence | Chapter


@dataclass(frozen=True)
class Timeline:
    """Everything a sink needs: the events (sorted by start), total length and chapters.

    ``origin_ms`` is where the routine clock reads 0:00 (the end of the intro): step times
    in a routine are stated on that clock.
    """

    title: str
    duration_ms: int
    origin_ms: int
    events: tuple[Speech | Tone | Silence, ...]
    chapters: tuple[Chapter, ...]
    author: str | None = None
    sides: tuple[SidePart, ...] = ()
    music: tuple[MusicBed, ...] = ()

    @property
    def speech(self) -> tuple[Speech, ...]:
        return tuple(e for e in self.events if isinstance(e, Speech))

    def side_at(self, ms: int) -> SidePart | None:
        """The side being done at file time ``ms``, if that is inside a sided step."""
        return next((p for p in self.sides if p.start_ms <= ms < p.end_ms), None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_json`` reads it back to an equal timeline (music beds
        only where there are some, so a routine without music reads as it always has)."""
        data = {
            "title": self.title,
            "author": self.author,
            "duration_ms": self.duration_ms,
            "origin_ms": self.origin_ms,
            "chapters": [asdict(c) for c in self.chapters],
            "sides": [asdict(p) for p in self.sides],
            "events": [asdict(e) for e in self.events],
        }
        if self.music:
            data["music"] = [asdict(m) for m in self.music]
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Timeline:
        events: list[Speech | Tone | Silence] = []
        for raw in data["events"]:
            item = dict(raw)
            kind = item.pop("kind")
            if kind == "speech":
                item["voice"] = VoiceSettings(**item["voice"])
                events.append(Speech(**item))
            elif kind == "tone":
                events.append(Tone(**item))
            else:
                events.append(Silence(**item))
        chapters = []
        for raw in data["chapters"]:
            item = dict(raw)
            item.pop("kind")
            chapters.append(Chapter(**item))
        sides = []
        for raw in data.get("sides", []):
            item = dict(raw)
            item.pop("kind")
            sides.append(SidePart(**item))
        music = []
        for raw in data.get("music", []):
            item = dict(raw)
            item.pop("kind")
            music.append(MusicBed(**item))
        return cls(
            music=tuple(music),
            sides=tuple(sides),
            title=data["title"],
            author=data.get("author"),
            duration_ms=data["duration_ms"],
            origin_ms=data["origin_ms"],
            events=tuple(events),
            chapters=tuple(chapters),
        )
