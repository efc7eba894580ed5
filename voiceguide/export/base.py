"""What every audio writer shares: track metadata, the writer protocol, sample conversion.

A writer is opened on a (temporary) path for one track whose exact length is known up front,
receives mono float blocks in order, and is finished once; the stream driver in
``voiceguide.export.stream`` checks the frame count and handles atomic replacement.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

import numpy as np
from numpy.typing import NDArray

from voiceguide.timeline import Chapter, Timeline
from voiceguide.units import ms_to_frames

DEFAULT_ARTIST = "voiceguide"
SOFTWARE = "voiceguide"


@dataclass(frozen=True)
class TrackInfo:
    """One output file: its tags and its exact length in frames.

    ``chapters`` are relative to the start of this track (ms), sorted by start; only
    formats with chapter support use them. ``track`` is ``(number, total)`` for split parts.
    """

    title: str
    album: str
    artist: str
    frames: int
    chapters: tuple[Chapter, ...] = ()
    track: tuple[int, int] | None = None


class AudioWriter(Protocol):
    """Receives a track's blocks in order; ``finish`` completes the file.

    Used as a context manager: leaving it always releases resources; a writer left without
    ``finish`` (an error) leaves an incomplete file that the caller discards.
    """

    def __enter__(self) -> AudioWriter: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def write(self, block: NDArray[np.float32]) -> None: ...

    def finish(self) -> None: ...


class Closable(Protocol):
    def close(self) -> None: ...


class FileWriterBase:
    """What ``AudioWriter``s over one open file (``self._file``) share: ``write`` passes
    each non-empty block to ``_write``; leaving stops the writer's own work (``_stop``) and
    closes the file; after an error, a failing close does not hide the first error."""

    _file: Closable

    def _write(self, block: NDArray[np.float32]) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        """Stop what the writer runs besides the file (a thread); nothing by default."""

    def write(self, block: NDArray[np.float32]) -> None:
        if block.size:
            self._write(block)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()
        if exc is None:
            self._file.close()
            return
        with contextlib.suppress(Exception):  # the file is discarded; keep the first error
            self._file.close()


WriterFactory = Callable[[Path, TrackInfo, int], AudioWriter]
"""``factory(path, info, bitrate_kbps)``: open a writer (lossless formats ignore bitrate)."""


def as_block(block: NDArray[np.floating] | NDArray[np.float32]) -> NDArray[np.float32]:
    """A 1-D float32 view (or copy) of a mono block."""
    array = np.asarray(block, dtype=np.float32)
    if array.ndim != 1:
        if array.ndim == 2 and array.shape[1] == 1:
            return array[:, 0]
        raise ValueError(f"expected mono blocks (1-D), got shape {array.shape}")
    return array


def clip_unit(block: NDArray[np.float32]) -> NDArray[np.float32]:
    """Clip to [-1, 1] (a copy only when something is out of range)."""
    if block.size and (block.max() > 1.0 or block.min() < -1.0):
        return np.clip(block, -1.0, 1.0)
    return block


def artist_of(timeline: Timeline) -> str:
    """The artist tag: the routine's author, else ``voiceguide``."""
    return timeline.author or DEFAULT_ARTIST


def whole_track(timeline: Timeline) -> TrackInfo:
    """The single-file track: the routine title, every chapter (sorted, clipped to the end)."""
    end = timeline.duration_ms
    chapters = tuple(
        replace(chapter, end_ms=min(max(chapter.end_ms, chapter.start_ms), end))
        for chapter in sorted(timeline.chapters, key=lambda c: (c.start_ms, c.end_ms))
        if 0 <= chapter.start_ms < end or (chapter.start_ms == 0 and end == 0)
    )
    return TrackInfo(
        title=timeline.title,
        album=timeline.title,
        artist=artist_of(timeline),
        frames=ms_to_frames(timeline.duration_ms),
        chapters=chapters,
    )
