"""Exporters: write a rendered timeline to audio files, subtitles and playlists.

Every exporter takes the ``Timeline`` (titles, chapters, cues, duration) and the rendered
block stream (mono float32 at SAMPLE_RATE, any block sizes, exactly
``ms_to_frames(timeline.duration_ms)`` frames), writes block by block and replaces its
targets atomically (see ``atomic``). The format follows the file suffix (``WRITERS``).
``routine.export_timeline`` is the export's policy on top: it renders the timeline once,
at the level each format gets, and measures what a lossy encoder made of it.

This module stays light: numpy, soundfile, lameenc and mutagen are imported only when a
writer is actually used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.errors import UnsupportedOutput
from voiceguide.export.bitrate import DEFAULT_BITRATE, check_bitrate

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from voiceguide.export.base import WriterFactory
    from voiceguide.timeline import Timeline

Check = Callable[[list[Path]], None]
"""Called with the finished audio files (temporary names) before they replace the targets."""


def _mp3() -> WriterFactory:
    from voiceguide.export.mp3 import open_mp3

    return open_mp3


def _wav() -> WriterFactory:
    from voiceguide.export.sndfile import open_wav

    return open_wav


def _flac() -> WriterFactory:
    from voiceguide.export.sndfile import open_flac

    return open_flac


def _ogg() -> WriterFactory:
    from voiceguide.export.sndfile import open_ogg

    return open_ogg


WRITERS: dict[str, Callable[[], WriterFactory]] = {
    ".mp3": _mp3,
    ".wav": _wav,
    ".flac": _flac,
    ".ogg": _ogg,
}
"""File suffix -> lazy factory returning the WriterFactory for that format."""


def check_output(path: Path | str, bitrate: int = DEFAULT_BITRATE) -> None:
    """Refuse an output voiceguide cannot write: a suffix with no writer, or (for MP3) a
    bitrate MP3 lacks at SAMPLE_RATE. UnsupportedOutput (exit code 2, a bad argument) names
    what is accepted; nothing is loaded, so a caller checks this before any work."""
    suffix = Path(path).suffix.lower()
    if suffix not in WRITERS:
        supported = ", ".join(sorted(WRITERS))
        what = f"'{suffix}'" if suffix else "no suffix"
        raise UnsupportedOutput(
            f"cannot write {path}: unsupported format ({what}); use {supported}"
        )
    if suffix == ".mp3":
        check_bitrate(bitrate)
        check_mp3_encoder(path)


def check_mp3_encoder(path: Path | str) -> None:
    """Refuse MP3 where lameenc is not installed: it has no build for 32-bit ARM (Pi OS
    armhf), where the other formats still work. Importing it is cheap (a C extension)."""
    try:
        import lameenc  # noqa: F401, TID253
    except ImportError:
        raise UnsupportedOutput(
            f"cannot write {path}: MP3 needs lameenc, which is not installed (it has no "
            "build for 32-bit ARM); export to .ogg, .flac or .wav, or "
            "pip install lameenc where it has a wheel"
        ) from None


def writer_for(path: Path | str) -> WriterFactory:
    """The writer factory for ``path``'s suffix; UnsupportedOutput listing the supported
    ones."""
    check_output(path)
    return WRITERS[Path(path).suffix.lower()]()


def export_audio(
    timeline: Timeline,
    blocks: Iterable[NDArray[np.float32]],
    path: Path | str,
    *,
    split: bool = False,
    bitrate: int = DEFAULT_BITRATE,
    progress: Callable[[int], None] | None = None,
    subtitles: bool = False,
    check: Check | None = None,
) -> list[Path]:
    """Write ``timeline``'s audio to ``path`` (and ``path`` with ``.vtt`` if ``subtitles``).

    With ``split``, one file per chapter in a folder named after ``path``'s stem, plus an
    M3U playlist (see ``voiceguide.export.split`` for the layout), each part with its own
    ``.vtt`` if ``subtitles``.

    The files appear together when everything is written, or not at all; an existing target
    is left untouched on failure. ``progress`` gets the frames written so far after each
    block; ``check`` gets the finished audio files (still under their temporary names, in
    order) before they replace the targets, and may refuse them by raising. Returns the
    paths written, audio first (a split export's playlist last).
    """
    from voiceguide.export.atomic import atomic_group
    from voiceguide.export.base import whole_track
    from voiceguide.export.split import export_split
    from voiceguide.export.stream import write_tracks
    from voiceguide.export.subtitles import subtitles_path, write_vtt

    target = Path(path)
    check_output(target, bitrate)  # before any file is created or any block consumed
    factory = writer_for(target)
    if split:
        return export_split(
            timeline,
            blocks,
            target,
            factory,
            bitrate=bitrate,
            progress=progress,
            subtitles=subtitles,
            check=check,
        )
    written = [target]
    with atomic_group() as group:
        temp = group.path(target)
        write_tracks(blocks, [(temp, whole_track(timeline))], factory, bitrate, progress)
        if check is not None:
            check([temp])
        if subtitles:
            vtt = subtitles_path(target)
            write_vtt(group.path(vtt), timeline.speech)
            written.append(vtt)
    return written


def export_subtitles(timeline: Timeline, path: Path | str) -> Path:
    """Write the spoken cues as WebVTT to ``path`` (atomically); see ``subtitles``."""
    from voiceguide.export.subtitles import export_subtitles as write

    return write(timeline, path)


__all__ = [
    "DEFAULT_BITRATE",
    "WRITERS",
    "check_output",
    "export_audio",
    "export_subtitles",
    "writer_for",
]
