"""The ID3v2.4 tag of an MP3: titles, track number and chapters (CHAP + CTOC).

mutagen renders each frame, but the tag is assembled here: mutagen orders frames by size on
save, while readers such as ffmpeg list CHAP frames in file order. Frames are therefore
rendered one at a time (a one-frame tag saved to memory, header stripped) and concatenated
in our order: text frames, the CTOC, then one CHAP per chapter by start time. The tag is
built before any audio is encoded, so it is written first and the file is never rewritten.
"""

from __future__ import annotations

import io
from typing import Any

import mutagen.id3

from voiceguide.export.base import SOFTWARE, TrackInfo

# mutagen's frame constructors are untyped; go through Any rather than silence strict mypy.
_id3: Any = mutagen.id3
Frame = Any

PADDING = 512  # spare bytes so tag editors can change a title without rewriting the file
_UTF8 = 3


def chapter_ids(count: int) -> list[str]:
    """Element ids of the CHAP frames, in start order: chp0, chp1, ..."""
    return [f"chp{index}" for index in range(count)]


def id3_frames(info: TrackInfo) -> list[Frame]:
    """The frames of ``info``'s tag, in the order they are written."""
    frames: list[Frame] = [
        _id3.TIT2(encoding=_UTF8, text=[info.title]),
        _id3.TPE1(encoding=_UTF8, text=[info.artist]),
        _id3.TALB(encoding=_UTF8, text=[info.album]),
    ]
    if info.track is not None:
        number, total = info.track
        frames.append(_id3.TRCK(encoding=_UTF8, text=[f"{number}/{total}"]))
    frames.append(_id3.TSSE(encoding=_UTF8, text=[SOFTWARE]))
    if info.chapters:
        ids = chapter_ids(len(info.chapters))
        frames.append(
            _id3.CTOC(
                element_id="toc",
                flags=_id3.CTOCFlags.TOP_LEVEL | _id3.CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[_id3.TIT2(encoding=_UTF8, text=[info.title])],
            )
        )
        for element_id, chapter in zip(ids, info.chapters, strict=True):
            frames.append(
                _id3.CHAP(
                    element_id=element_id,
                    start_time=chapter.start_ms,
                    end_time=chapter.end_ms,
                    start_offset=0xFFFFFFFF,  # no byte offsets: times only
                    end_offset=0xFFFFFFFF,
                    sub_frames=[_id3.TIT2(encoding=_UTF8, text=[chapter.title])],
                )
            )
    return frames


def render_id3(info: TrackInfo, padding: int = PADDING) -> bytes:
    """A complete ID3v2.4 tag (header, frames in order, zero padding)."""
    body = b"".join(_render_frame(frame) for frame in id3_frames(info))
    return b"ID3\x04\x00\x00" + _syncsafe(len(body) + padding) + body + bytes(padding)


def _render_frame(frame: Frame) -> bytes:
    tag = _id3.ID3()
    tag.add(frame)
    buffer = io.BytesIO()
    tag.save(buffer, v1=0, v2_version=4, padding=lambda _info: 0)
    rendered = buffer.getvalue()
    if rendered[:3] != b"ID3" or rendered[5] != 0:  # no unsynchronisation or extended header
        raise RuntimeError("unexpected ID3 rendering from mutagen")
    return rendered[10:]


def _syncsafe(value: int) -> bytes:
    if value >= 1 << 28:
        raise ValueError("ID3 tag too large")
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))
