"""WebVTT subtitles of the spoken cues: one cue per Speech event, start --> end, its text.

Written beside the audio with the same stem (``daily.mp3`` -> ``daily.vtt``), atomically.
Cue text is put on one line (whitespace collapsed) and ``&``, ``<`` and ``>`` are escaped, so
no text can end a cue early or be read as a tag or a timing line::

    WEBVTT

    00:00:01.000 --> 00:00:03.250
    Breathe in.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from voiceguide.export.atomic import atomic_path
from voiceguide.timeline import Speech, Timeline


def subtitles_path(audio_path: Path | str) -> Path:
    """Where ``--subtitles`` writes: the audio path with a ``.vtt`` suffix."""
    return Path(audio_path).with_suffix(".vtt")


def vtt_time(ms: int) -> str:
    """``HH:MM:SS.mmm`` (hours always present, as WebVTT allows and players expect)."""
    if ms < 0:
        raise ValueError(f"a subtitle time cannot be negative: {ms}")
    seconds, millis = divmod(ms, 1000)
    minutes, secs = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    return f"{hours:02d}:{mins:02d}:{secs:02d}.{millis:03d}"


def cue_text(text: str) -> str:
    """One escaped line of cue payload."""
    line = " ".join(text.split())
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(speech: Iterable[Speech], start_ms: int = 0, end_ms: int | None = None) -> str:
    """The WebVTT document of ``speech`` cues, by start time.

    With ``start_ms``/``end_ms`` (a split part), cues are clipped to that window and timed
    from its start; cues outside it, or empty, are left out.
    """
    lines = ["WEBVTT", ""]
    for event in sorted(speech, key=lambda e: (e.start_ms, e.end_ms)):
        text = cue_text(event.text)
        begin = max(event.start_ms, start_ms)
        end = event.end_ms if end_ms is None else min(event.end_ms, end_ms)
        if not text or end <= begin:
            continue
        lines += [f"{vtt_time(begin - start_ms)} --> {vtt_time(end - start_ms)}", text, ""]
    return "\n".join(lines)


def write_vtt(
    path: Path, speech: Iterable[Speech], start_ms: int = 0, end_ms: int | None = None
) -> None:
    """Write ``render_vtt(...)`` to ``path`` (UTF-8, LF line ends); not atomic by itself."""
    with path.open("w", encoding="utf-8", newline="\n") as file:
        file.write(render_vtt(speech, start_ms, end_ms))


def export_subtitles(timeline: Timeline, path: Path | str) -> Path:
    """Write the timeline's spoken cues as WebVTT to ``path``, atomically."""
    target = Path(path)
    with atomic_path(target) as temp:
        write_vtt(temp, timeline.speech)
    return target
