"""Where the music beds sound: the routine's under the whole file, a step's own over its part.

A step with ``music:`` has its own bed over its chapter (its rest included); the routine's
``music:`` fills the rest of the file, from the intro to the end of the closing. Parts in a
row with the same music are one bed. A bed that comes back after another goes on in its
file where it stopped (its ``offset_ms``); the renderer loops the file past its end.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import replace
from pathlib import Path

from voiceguide.model import Music, Routine
from voiceguide.timeline import Chapter, MusicBed, Timeline

_READ = 1 << 20


def with_music(timeline: Timeline, routine: Routine, *, whole: bool) -> Timeline:
    """``timeline`` with the music beds of ``routine`` in place. A prefix (not ``whole``)
    leaves out the fade out of a bed still sounding at its end: the whole goes on there."""
    beds = music_beds(routine, timeline.chapters, timeline.duration_ms, whole=whole)
    return replace(timeline, music=beds) if beds else timeline


def music_beds(
    routine: Routine, chapters: tuple[Chapter, ...], end_ms: int, *, whole: bool = True
) -> tuple[MusicBed, ...]:
    """The beds of ``routine`` over ``[0, end_ms)``, given its chapters."""
    spans: list[tuple[int, int, Music]] = []
    at = 0
    for chapter in sorted(chapters, key=lambda c: c.start_ms):
        own = routine.steps[chapter.step].music if chapter.step is not None else None
        if own is None:
            continue
        if routine.music is not None and chapter.start_ms > at:
            spans.append((at, chapter.start_ms, routine.music))
        spans.append((chapter.start_ms, min(chapter.end_ms, end_ms), own))
        at = chapter.end_ms
    if routine.music is not None and at < end_ms:
        spans.append((at, end_ms, routine.music))
    merged: list[tuple[int, int, Music]] = []
    for start, end, music in spans:
        if end <= start:
            continue
        if merged and merged[-1][1] == start and merged[-1][2] == music:
            merged[-1] = (merged[-1][0], end, music)
        else:
            merged.append((start, end, music))
    played: dict[Path, int] = {}  # how far into each file the beds so far went
    beds = []
    for start, end, music in merged:
        offset = played.get(music.path, 0)
        played[music.path] = offset + end - start
        fade_out = 0 if end == end_ms and not whole else music.fade_ms
        beds.append(
            MusicBed(
                start,
                end,
                str(music.path),
                content_hash(music.path),
                music.level_db,
                music.fade_ms,
                fade_out,
                offset,
            )
        )
    return tuple(beds)


def music_files(routine: Routine) -> list[Path]:
    """Every music file ``routine`` plays, once each, in the order the script names them."""
    found = [routine.music] if routine.music else []
    found += [s.music for s in routine.steps if s.music is not None]
    return list(dict.fromkeys(m.path for m in found))


def content_hash(path: Path) -> str:
    """The SHA-256 of the file at ``path``, read a MiB at a time (remembered while its size
    and modification time stay the same)."""
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return _hash(path, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _hash(path: Path, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_READ):
                h.update(chunk)
    except OSError:
        return "missing"
    return h.hexdigest()
