"""WAV, FLAC and Ogg Vorbis writers through soundfile (libsndfile), block by block.

WAV and FLAC are 16-bit PCM (samples converted exactly as for MP3); Ogg Vorbis is encoded from
the float samples. Title, artist, album and track number go into the container's own tags
(RIFF INFO, Vorbis comments). libsndfile cannot write chapters, so for FLAC and Ogg mutagen
adds them afterwards as ``CHAPTER001=HH:MM:SS.mmm`` / ``CHAPTER001NAME=title`` comments (the
OGM convention that ffmpeg and VLC read; chapter ends are implied by the next start). WAV has
no chapters.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
from numpy.typing import NDArray

from voiceguide.dsp.samples import to_pcm16
from voiceguide.errors import ExportError
from voiceguide.export.base import SOFTWARE, FileWriterBase, TrackInfo, clip_unit
from voiceguide.timeline import Chapter
from voiceguide.units import SAMPLE_RATE

_NEARLY_FULL = 1 << 20  # bytes free below which a libsndfile write error means "disk full"


class SoundFileWriter(FileWriterBase):
    """One soundfile.SoundFile opened for writing; tags are set before the first block."""

    _file: Any  # soundfile.SoundFile (untyped)

    def __init__(
        self,
        path: Path,
        info: TrackInfo,
        format: str,
        subtype: str,
        compression_level: float | None = None,
    ) -> None:
        self._path = path
        self._chapters = info.chapters if format in ("FLAC", "OGG") else ()
        self._format = format
        if format not in soundfile.available_formats() or subtype not in (
            soundfile.available_subtypes(format)
        ):
            raise ExportError(
                f"cannot write {format} ({subtype}): the bundled libsndfile does not support it"
            )
        self._pcm = subtype.startswith("PCM")
        with _as_oserror(path):
            self._file = soundfile.SoundFile(
                path,
                "w",
                samplerate=SAMPLE_RATE,
                channels=1,
                format=format,
                subtype=subtype,
                compression_level=compression_level,
            )
        try:
            self._file.title = info.title
            self._file.artist = info.artist
            self._file.album = info.album
            self._file.software = SOFTWARE
            if info.track is not None:
                self._file.tracknumber = str(info.track[0])
        except BaseException:
            self._file.close()
            raise

    def _write(self, block: NDArray[np.float32]) -> None:
        with _as_oserror(self._path):
            self._file.write(to_pcm16(block) if self._pcm else clip_unit(block))

    def finish(self) -> None:
        with _as_oserror(self._path):
            self._file.close()  # libsndfile finalises headers (and Ogg pages) on close
            if self._chapters:
                add_vorbis_chapters(self._path, self._format, self._chapters)


@contextlib.contextmanager
def _as_oserror(path: Path) -> Iterator[None]:
    """libsndfile and mutagen failures as OSError naming ``path`` (for the atomic group)."""
    import mutagen

    try:
        yield
    except soundfile.LibsndfileError as error:
        # libsndfile reports any failed system call as "System error."; a full disk is the
        # common cause worth naming.
        code, reason = errno.EIO, f"libsndfile: {error.error_string}"
        with contextlib.suppress(OSError):
            if shutil.disk_usage(path.parent).free < _NEARLY_FULL:
                code, reason = errno.ENOSPC, os.strerror(errno.ENOSPC)
        raise OSError(code, reason, str(path)) from error
    except mutagen.MutagenError as error:
        raise OSError(errno.EIO, f"adding chapters: {error}", str(path)) from error


def vorbis_chapter_comments(chapters: tuple[Chapter, ...]) -> list[tuple[str, str]]:
    """``CHAPTERnnn`` / ``CHAPTERnnnNAME`` pairs, numbered from 001 in start order."""
    comments = []
    for number, chapter in enumerate(chapters, start=1):
        seconds, millis = divmod(chapter.start_ms, 1000)
        minutes, secs = divmod(seconds, 60)
        hours, mins = divmod(minutes, 60)
        comments.append((f"CHAPTER{number:03d}", f"{hours:02d}:{mins:02d}:{secs:02d}.{millis:03d}"))
        comments.append((f"CHAPTER{number:03d}NAME", chapter.title))
    return comments


def add_vorbis_chapters(path: Path, format: str, chapters: tuple[Chapter, ...]) -> None:
    """Append chapter comments to a finished FLAC or Ogg Vorbis file (mutagen, in place)."""
    import mutagen.flac
    import mutagen.oggvorbis

    opener: Any = mutagen.flac.FLAC if format == "FLAC" else mutagen.oggvorbis.OggVorbis
    audio: Any = opener(path)
    if audio.tags is None:  # pragma: no cover - libsndfile always writes a comment block
        audio.add_tags()
    for key, value in vorbis_chapter_comments(chapters):
        audio.tags.append((key, value))
    audio.save()


def open_wav(path: Path, info: TrackInfo, bitrate: int) -> SoundFileWriter:
    """WriterFactory for ``.wav`` (16-bit PCM)."""
    return SoundFileWriter(path, info, "WAV", "PCM_16")


def open_flac(path: Path, info: TrackInfo, bitrate: int) -> SoundFileWriter:
    """WriterFactory for ``.flac`` (16-bit)."""
    return SoundFileWriter(path, info, "FLAC", "PCM_16")


def open_ogg(path: Path, info: TrackInfo, bitrate: int) -> SoundFileWriter:
    """WriterFactory for ``.ogg`` (Vorbis at quality 0.8, about 40 kbit/s for speech).

    libsndfile's default (quality 0.4, about 25 kbit/s) rings so much that the decoded
    peaks rise 2.7 dB over the mix's, which the export would have to take off the whole
    file's loudness; at 0.8 they rise about 1 dB.
    """
    return SoundFileWriter(path, info, "OGG", "VORBIS", compression_level=OGG_COMPRESSION)


OGG_COMPRESSION = 0.2  # libsndfile's scale: 0 = Vorbis quality 1.0 (best), 1 = quality 0.0
