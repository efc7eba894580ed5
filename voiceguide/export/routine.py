"""A laid-out routine to its files: the one mix, at the level each format gets, measured.

Every format gets the same mix (``render``, at the level ``render.cached_level`` finds).
A lossless file is that mix, metered as it is written. A lossy file gets the lossless mix,
only quieter: a uniform gain keeps the balance of speech and tones exactly. Its encoder
overshoots the mix's peaks, so the decoded file is measured, and it lands at or under
LOSSY_PEAK_DBTP (ffmpeg's ebur128, oversampling further, reads up to 0.2 dB more): the
first encode is made quieter by the overshoot the format typically has (measured on the
built-in routines), and if the decoded file still peaks higher, it is encoded once more,
quieter by the excess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.errors import ExportError
from voiceguide.export import overshoot

if TYPE_CHECKING:
    from voiceguide.dsp.loudness import LoudnessMeter
    from voiceguide.dsp.samples import Samples
    from voiceguide.timeline import Timeline
    from voiceguide.voices.base import SpeechBank

Progress = Callable[[int, int], None]  # (frames written, frames in all), as they go

LOSSY = (".mp3", ".ogg")
LOSSY_PEAK_DBTP = -1.3  # 0.3 dB under the promised -1 dBTP
OVERSHOOT_DB = {".mp3": 0.2, ".ogg": 1.2}  # MP3 at 96 kbit/s and more; Vorbis
LOW_BITRATE_OVERSHOOT_DB = 1.9  # MP3 below 96 kbit/s


@dataclass(frozen=True)
class Written:
    """The files an export wrote, and the loudness and true peak of its audio as written
    (decoded, for a lossy format; None where a decoder could not read it back)."""

    outputs: list[Path]
    lufs: float | None
    peak_dbtp: float | None


def export_timeline(
    timeline: Timeline,
    bank: SpeechBank,
    output: Path,
    *,
    bitrate: int,
    split: bool,
    subtitles: bool,
    progress: Progress | None = None,
) -> Written:
    """Render ``timeline`` once and write it to ``output`` (format from its suffix): split
    into chapters and with subtitles as asked; ``progress(done, total)`` in frames."""
    from voiceguide.dsp.loudness import LoudnessMeter
    from voiceguide.export import export_audio, export_subtitles
    from voiceguide.render import cached_level, prefetch, render
    from voiceguide.units import SAMPLE_RATE, ms_to_frames

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create folder {output.parent}: {exc.strerror}") from None
    suffix = output.suffix.lower()
    level = cached_level(timeline, bank)  # the one mix, every format
    lossy = suffix in LOSSY
    known = overshoot.key(timeline, suffix, bitrate)
    if lossy:
        expected = max(_overshoot(suffix, bitrate), overshoot.expected(timeline, suffix, bitrate))
        level = level.quieter(max(0.0, level.output_peak_db + expected - LOSSY_PEAK_DBTP))
    total = ms_to_frames(timeline.duration_ms)
    report = (lambda done: progress(done, total)) if progress else None
    measured: list[tuple[float, float] | None] = []  # each attempt's decoded lossy file
    meter = LoudnessMeter(SAMPLE_RATE)  # a lossless file is the mix, metered as made
    while True:
        blocks = prefetch(_metered(render(timeline, bank, level), None if lossy else meter))
        try:
            written = export_audio(
                timeline,
                blocks,
                output,
                split=split,
                bitrate=bitrate,
                progress=report,
                subtitles=subtitles and not split,  # the audio and its subtitles together
                check=_checker(measured) if lossy else None,
            )
        except _TooLoud:
            first = measured[0]
            assert first is not None
            overshoot.remember(known, first[1] - level.output_peak_db + 0.05)
            level = level.quieter(first[1] - LOSSY_PEAK_DBTP + 0.1)  # once more, quieter
            continue
        break
    if split and subtitles:  # one file for the whole routine, beside the playlist
        written.append(export_subtitles(timeline, output.with_suffix(".vtt")))
    if not lossy:
        return Written(written, meter.integrated(), meter.true_peak_db())
    last = measured[-1]
    return Written(written, *(last if last is not None else (None, None)))


class _TooLoud(Exception):
    """A lossy file's first encode peaks over LOSSY_PEAK_DBTP: it is discarded, not kept."""


def _checker(measured: list[tuple[float, float] | None]) -> Callable[[list[Path]], None]:
    """An ``export_audio`` check that measures the lossy file as decoded, before it replaces
    the target, into ``measured``; it refuses a first attempt that peaks too high (the next
    one is made quieter by the excess)."""

    def check(paths: list[Path]) -> None:
        from voiceguide.export.measure import measure

        try:
            measured.append(measure(paths))
        except (OSError, RuntimeError):  # a libsndfile that cannot decode it: not measured
            measured.append(None)
        last = measured[-1]
        if last is not None and last[1] > LOSSY_PEAK_DBTP and len(measured) == 1:
            raise _TooLoud()

    return check


def _metered(blocks: Iterator[Samples], meter: LoudnessMeter | None) -> Iterator[Samples]:
    """``blocks``, each also given to ``meter`` (if any) on the way."""
    for block in blocks:
        if meter is not None:
            meter.add(block)
        yield block


def _overshoot(suffix: str, bitrate: int) -> float:
    """How far a lossy format's decoded peaks typically rise over the mix's (dB)."""
    if suffix == ".mp3" and bitrate < 96:
        return LOW_BITRATE_OVERSHOOT_DB
    return OVERSHOOT_DB[suffix]
