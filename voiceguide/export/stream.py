"""Drive writers from one block stream: exact frame counts, cuts across blocks, progress.

The stream is consumed once, block by block; a block that straddles a track boundary is
sliced so that every track receives exactly ``TrackInfo.frames`` frames. Too many or too few
frames in the stream is an ExportError (the caller's atomic group then discards the files).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from voiceguide.errors import ExportError
from voiceguide.export.base import AudioWriter, TrackInfo, WriterFactory, as_block

Progress = Callable[[int], None]


def write_tracks(
    blocks: Iterable[NDArray[np.float32]],
    tracks: Sequence[tuple[Path, TrackInfo]],
    factory: WriterFactory,
    bitrate: int,
    progress: Progress | None = None,
) -> int:
    """Write consecutive tracks from ``blocks``; returns the frames written in total.

    OSErrors from a writer that do not name a file (a full disk) are re-raised naming the
    file being written, so the atomic group can report its target.
    """
    total = sum(info.frames for _, info in tracks)
    written = 0
    writer: AudioWriter | None = None
    remaining = 0

    def finish_empty(index: int) -> int:
        """Write the zero-frame tracks from ``index`` on; returns the next non-empty one."""
        while index < len(tracks) and tracks[index][1].frames == 0:
            path, info = tracks[index]
            with _naming(path), factory(path, info, bitrate) as empty:
                empty.finish()
            index += 1
        return index

    try:
        index = finish_empty(0)
        for raw in blocks:
            block = as_block(raw)
            if written + block.size > total:
                raise ExportError(
                    f"the audio stream is longer than the timeline ({total} frames expected)"
                )
            while block.size:
                path, info = tracks[index]
                with _naming(path):
                    if writer is None:
                        writer = factory(path, info, bitrate).__enter__()
                        remaining = info.frames
                    take = min(remaining, block.size)
                    writer.write(block[:take])
                    block = block[take:]
                    remaining -= take
                    written += take
                    if remaining == 0:
                        writer.finish()
                        done, writer = writer, None
                        done.__exit__(None, None, None)
                if writer is None:
                    index = finish_empty(index + 1)
            if progress is not None:
                progress(written)
        if written != total:
            raise ExportError(f"the audio stream ended after {written} of {total} frames expected")
    except BaseException as error:
        if writer is not None:
            writer.__exit__(type(error), error, error.__traceback__)
        raise
    return written


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Give an OSError without a file name the name of the file being written."""
    try:
        yield
    except ExportError:
        raise
    except OSError as error:
        if error.filename is not None:
            raise
        raise OSError(error.errno, error.strerror or str(error), str(path)) from error
