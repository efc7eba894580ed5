"""Split export: one audio file per chapter plus an extended M3U playlist, from one stream.

Layout: for ``audio/daily.mp3`` the parts go into a folder named after the stem, numbered in
chapter order, and the playlist takes the output's place with an ``.m3u`` suffix::

    audio/daily.m3u              #EXTM3U, then #EXTINF:seconds,title + "daily/01 - Introduction.mp3"
    audio/daily/01 - Introduction.mp3
    audio/daily/02 - Cat-Cow.mp3

Cuts are at chapter starts, exact to the frame: part n runs from chapter n's start to chapter
n+1's start (the first part from 0:00, the last to the end), so the parts always add up to the
whole routine even if chapters leave gaps; when chapters tile the routine, as the timeline
builds them, the cuts are exactly the chapter bounds. Parts of zero length are left out.

Each part is tagged: title = chapter title, album = routine title, track = n/total. All files
are written to temporary files and replaced together at the end, playlist last; the folder is
created if needed (and removed again if the export fails and it is still empty). Files of an
earlier export into the same folder that are not part of this one are not removed.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from voiceguide.errors import ExportError
from voiceguide.export.atomic import atomic_group
from voiceguide.export.base import TrackInfo, WriterFactory, artist_of
from voiceguide.export.stream import write_tracks
from voiceguide.export.subtitles import write_vtt
from voiceguide.timeline import Timeline
from voiceguide.units import ms_to_frames

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')  # not allowed on Windows/FAT players
_MAX_NAME = 100


@dataclass(frozen=True)
class Part:
    """One split file: its place in the routine (ms) and its tags."""

    path: Path
    start_ms: int
    end_ms: int
    info: TrackInfo


def split_folder(path: Path | str) -> Path:
    """The folder of a split export of ``path``: beside it, named after its stem."""
    return Path(path).with_suffix("")


def playlist_path(path: Path | str) -> Path:
    """The playlist of a split export of ``path``: ``path`` with an ``.m3u`` suffix."""
    return Path(path).with_suffix(".m3u")


def safe_title(title: str, fallback: str) -> str:
    """A chapter title usable as a file name on any player's file system."""
    name = " ".join(_UNSAFE.sub(" ", title).split())[:_MAX_NAME].rstrip(" .")
    return name or fallback


def plan_parts(timeline: Timeline, path: Path | str) -> list[Part]:
    """The parts of a split export of ``timeline`` to ``path`` (nothing is written)."""
    path = Path(path)
    folder = split_folder(path)
    duration = timeline.duration_ms
    chapters = sorted(
        (c for c in timeline.chapters if 0 <= c.start_ms < duration),
        key=lambda c: c.start_ms,
    )
    if not chapters:
        spans = [(0, duration, timeline.title)] if duration > 0 else []
    else:
        starts = [0] + [c.start_ms for c in chapters[1:]] + [duration]
        spans = [
            (starts[i], starts[i + 1], chapter.title)
            for i, chapter in enumerate(chapters)
            if starts[i + 1] > starts[i]
        ]
    width = max(2, len(str(len(spans))))
    parts = []
    for number, (start, end, title) in enumerate(spans, start=1):
        name = f"{number:0{width}d} - {safe_title(title, f'Part {number}')}{path.suffix}"
        info = TrackInfo(
            title=title,
            album=timeline.title,
            artist=artist_of(timeline),
            frames=ms_to_frames(end - start),
            track=(number, len(spans)),
        )
        parts.append(Part(folder / name, start, end, info))
    return parts


def render_m3u(parts: Iterable[Part], title: str, base: Path) -> str:
    """Extended M3U: ``#EXTINF:<whole seconds>,<title>`` then the path relative to ``base``.

    Paths use ``/`` whatever the platform; the text is UTF-8.
    """
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(title)}"]
    for part in parts:
        seconds = round((part.end_ms - part.start_ms) / 1000)
        relative = part.path.relative_to(base).as_posix()
        lines += [f"#EXTINF:{seconds},{_one_line(part.info.title)}", relative]
    return "\n".join(lines) + "\n"


def export_split(
    timeline: Timeline,
    blocks: Iterable[NDArray[np.float32]],
    path: Path | str,
    factory: WriterFactory,
    *,
    bitrate: int,
    progress: Callable[[int], None] | None = None,
    subtitles: bool = False,
    check: Callable[[list[Path]], None] | None = None,
) -> list[Path]:
    """Write every part (and its ``.vtt`` if asked), then the playlist; returns their paths.

    ``check`` gets the finished parts (temporary names, in order) before anything replaces
    its target, and may refuse them by raising."""
    path = Path(path)
    parts = plan_parts(timeline, path)
    if not parts:
        raise ExportError(f"cannot write {path}: the routine is empty, nothing to split")
    folder = split_folder(path)
    created = _make_folder(folder)
    playlist = playlist_path(path)
    written: list[Path] = []
    try:
        with atomic_group() as group:
            tracks = [(group.path(part.path), part.info) for part in parts]
            write_tracks(blocks, tracks, factory, bitrate, progress)
            if check is not None:
                check([temp for temp, _ in tracks])
            written += [part.path for part in parts]
            if subtitles:
                for part in parts:
                    vtt = part.path.with_suffix(".vtt")
                    write_vtt(group.path(vtt), timeline.speech, part.start_ms, part.end_ms)
                    written.append(vtt)
            group.path(playlist).write_text(
                render_m3u(parts, timeline.title, playlist.parent), encoding="utf-8", newline="\n"
            )
            written.append(playlist)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if still empty
        raise
    return written


def _make_folder(folder: Path) -> bool:
    """Create the split folder (its parent must exist); True if it did not exist."""
    try:
        folder.mkdir()
    except FileExistsError:
        if not folder.is_dir():
            raise ExportError(f"cannot write {folder}: a file of that name exists") from None
        return False
    except OSError as error:
        raise ExportError(f"cannot write {folder}: {error.strerror or error}") from error
    return True


def _one_line(text: str) -> str:
    return " ".join(text.split())
