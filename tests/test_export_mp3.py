"""MP3 export: exact length and alignment through real decoders, the LAME Info frame, ID3.

ffmpeg/ffprobe, libsndfile (mpg123) and mutagen must all agree: the file decodes to exactly
the input frames, aligned with the input, and lists the chapters in start order.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mutagen.id3
import mutagen.mp3
import numpy as np
import pytest
import soundfile
from numpy.typing import NDArray

from tests.conftest import blocks_of as shared_blocks_of
from tests.conftest import ffprobe
from voiceguide.errors import ExportError
from voiceguide.export import DEFAULT_BITRATE, export_audio
from voiceguide.export.base import TrackInfo
from voiceguide.export.bitrate import BITRATES
from voiceguide.export.lametag import DECODER_DELAY, FrameHeader, crc16
from voiceguide.export.mp3 import ENCODER_DELAY, Mp3Writer
from voiceguide.export.split import plan_parts
from voiceguide.timeline import Chapter, Speech, Timeline
from voiceguide.units import SAMPLE_RATE, ms_to_frames

# mutagen is untyped: use it through Any in this typed test module
ID3: Any = mutagen.id3.ID3
MP3: Any = mutagen.mp3.MP3
BitrateMode: Any = mutagen.mp3.BitrateMode

pytestmark = pytest.mark.e2e  # real ffmpeg/ffprobe: installed by ./setup.sh --dev

LONG_TITLE = "A rather long introduction, so that sorting frames by size would move it"


def make_timeline(duration_ms: int = 9_000) -> Timeline:
    chapters = (
        Chapter(0, 2_500, LONG_TITLE, None),
        Chapter(2_500, 5_250, "Cat-Cow", 0),
        Chapter(5_250, 7_001, "Bird dog", 1),
        Chapter(7_001, duration_ms, "End", None),
    )
    speech = (Speech(200, 1_000, "Welcome.", None, "intro"),)
    return Timeline("Daily stretch", duration_ms, 2_500, speech, chapters, author="Ana")


def make_signal(timeline: Timeline) -> NDArray[np.float32]:
    """A sine with a broadband noise burst at every chapter start (sharp correlation peak)."""
    frames = ms_to_frames(timeline.duration_ms)
    t = np.arange(frames) / SAMPLE_RATE
    signal = 0.15 * np.sin(2 * np.pi * 250 * t)
    rng = np.random.default_rng(3)
    for chapter in timeline.chapters:
        start = ms_to_frames(chapter.start_ms)
        signal[start : start + 480] += rng.uniform(-0.5, 0.5, 480)[: frames - start]
    return signal.astype(np.float32)


def blocks_of(signal: NDArray[np.float32], size: int = 4_321) -> Iterator[NDArray[np.float32]]:
    """Blocks whose edges never line up with chapter boundaries."""
    return shared_blocks_of(signal, size)


def ffmpeg_decode(path: Path) -> NDArray[np.float64]:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-acodec", "pcm_s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32767


def lag_at(decoded: NDArray[Any], reference: NDArray[Any], start: int, span: int = 200) -> int:
    """The shift of ``decoded`` against ``reference`` around ``start`` (0 = aligned)."""
    window = reference[start : start + 480].astype(np.float64)
    best, best_lag = -np.inf, 0
    for lag in range(-span, span + 1):
        if start + lag < 0:
            continue
        piece = decoded[start + lag : start + lag + window.size]
        if piece.size < window.size:
            continue
        score = float(np.dot(piece, window))
        if score > best:
            best, best_lag = score, lag
    return best_lag


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Timeline]:
    timeline = make_timeline()
    path = tmp_path_factory.mktemp("mp3") / "daily.mp3"
    export_audio(timeline, blocks_of(make_signal(timeline)), path)
    return path, timeline


# --- length and alignment -------------------------------------------------------------------


def test_libsndfile_decodes_exact_frames_aligned(exported: tuple[Path, Timeline]) -> None:
    path, timeline = exported
    signal = make_signal(timeline)
    assert soundfile.info(str(path)).frames == signal.size
    data, rate = soundfile.read(path, dtype="float32")
    assert rate == SAMPLE_RATE and data.size == signal.size
    for chapter in timeline.chapters:
        assert lag_at(data, signal, ms_to_frames(chapter.start_ms)) == 0
    error = data - signal
    assert float(np.sqrt(np.mean(error**2))) < 0.02  # a faithful encode, not just the length


def test_ffmpeg_decodes_exact_frames_aligned(exported: tuple[Path, Timeline]) -> None:
    path, timeline = exported
    signal = make_signal(timeline)
    decoded = ffmpeg_decode(path)
    assert decoded.size == signal.size
    for chapter in timeline.chapters:
        assert lag_at(decoded, signal, ms_to_frames(chapter.start_ms)) == 0


def test_ffprobe_sample_count_and_duration(exported: tuple[Path, Timeline]) -> None:
    path, timeline = exported
    frames = ffprobe(path, "-show_frames", "-show_entries", "frame=nb_samples")["frames"]
    assert sum(int(f["nb_samples"]) for f in frames) == ms_to_frames(timeline.duration_ms)
    info = ffprobe(path, "-show_streams", "-show_format")
    stream = info["streams"][0]
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == (
        "mp3",
        str(SAMPLE_RATE),
        1,
    )
    # ffprobe's duration counts whole frames, delay (576) and padding (576-1151) included
    assert 2 * 576 / SAMPLE_RATE <= float(info["format"]["duration"]) - 9.0 < 3 * 576 / SAMPLE_RATE
    # it accepted the LAME tag's CRC: only then does it report the encoder of the tag
    assert stream["tags"]["encoder"] == "LAME3.100"


def test_mutagen_reads_exact_length_and_cbr(exported: tuple[Path, Timeline]) -> None:
    info = MP3(exported[0]).info
    assert info.length == pytest.approx(9.0, abs=1e-9)
    assert (info.bitrate, info.bitrate_mode, info.sample_rate, info.channels) == (
        DEFAULT_BITRATE * 1000,
        BitrateMode.CBR,
        SAMPLE_RATE,
        1,
    )


@pytest.mark.parametrize("frames", [1, 575, 576, 577, 1_151, 1_152, 5 * 576 + 300, 48_000])
def test_exact_for_every_length(tmp_path: Path, frames: int) -> None:
    rng = np.random.default_rng(frames)
    signal = (0.3 * rng.standard_normal(frames)).clip(-1, 1).astype(np.float32)
    path = tmp_path / "x.mp3"
    with Mp3Writer(path, TrackInfo("x", "x", "x", frames)) as writer:
        writer.write(signal)
        writer.finish()
    assert soundfile.info(str(path)).frames == frames
    if frames > 24:  # ffmpeg cannot trim files shorter than one millisecond or so
        assert ffmpeg_decode(path).size == frames


@pytest.mark.parametrize("bitrate", [8, 32, 128, 160])
def test_other_bitrates(tmp_path: Path, bitrate: int) -> None:
    timeline = make_timeline(3_000)
    timeline = Timeline(timeline.title, 3_000, 0, (), timeline.chapters[:2])
    path = tmp_path / "b.mp3"
    export_audio(timeline, blocks_of(make_signal(timeline)), path, bitrate=bitrate)
    assert soundfile.info(str(path)).frames == 72_000
    assert ffmpeg_decode(path).size == 72_000
    assert MP3(path).info.bitrate == bitrate * 1000


def test_unsupported_bitrate_is_refused_before_anything(tmp_path: Path) -> None:
    consumed: list[int] = []

    def blocks() -> Iterator[NDArray[np.float32]]:
        consumed.append(1)
        yield np.zeros(10, np.float32)

    with pytest.raises(ExportError, match="bitrate 100 kbps is not supported; use one of 8, 16"):
        export_audio(make_timeline(), blocks(), tmp_path / "a.mp3", bitrate=100)
    assert consumed == [] and list(tmp_path.iterdir()) == []
    assert 64 in BITRATES


# --- the Info frame -------------------------------------------------------------------------


def reference_crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@pytest.mark.parametrize("size", [0, 1, 100, 4_095, 4_096, 4_097, 9_999, 65_536, 100_003])
def test_crc16_matches_the_bitwise_definition(size: int) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert crc16(b"123456789") == 0xBB3D  # CRC-16/ARC check value
    assert crc16(data) == reference_crc16(data)
    cut = size // 3
    assert crc16(data[cut:], crc16(data[:cut])) == reference_crc16(data)


def test_info_frame_fields(exported: tuple[Path, Timeline]) -> None:
    path, timeline = exported
    data = path.read_bytes()
    tag_size = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    header = FrameHeader(data[tag_size : tag_size + 4])
    assert (header.sample_rate, header.mono, header.samples_per_frame) == (SAMPLE_RATE, True, 576)
    frame = data[tag_size : tag_size + header.frame_size()]
    xing = frame[4 + 9 :]
    assert xing[:4] == b"Info"
    flags, frames, size = struct.unpack(">III", xing[4:16])
    assert flags == 0x0F
    assert size == len(data) - tag_size  # Info frame + audio, no ID3
    audio = data[tag_size + len(frame) :]
    assert frames * header.frame_size() == len(audio)
    lame = xing[120:156]
    assert lame[:9] == b"LAME3.100" and lame[9] == 0x01 and lame[20] == DEFAULT_BITRATE
    delay_padding = int.from_bytes(lame[21:24], "big")
    delay, padding = delay_padding >> 12, delay_padding & 0xFFF
    assert delay == ENCODER_DELAY == 576
    assert delay + ms_to_frames(timeline.duration_ms) + padding == frames * 576
    music_length, music_crc, tag_crc = struct.unpack(">IHH", lame[28:36])
    assert music_length == size
    assert music_crc == reference_crc16(audio)
    assert tag_crc == reference_crc16(frame[: 4 + 9 + 120 + 34])
    # mutagen parses the same fields
    lame_header = MP3(path).info
    assert lame_header.encoder_info.startswith("LAME 3.100")


def test_encoder_delay_is_what_lame_adds(tmp_path: Path) -> None:
    """Without the Info frame an impulse at n comes out at n + 576 + 529 (ffmpeg)."""
    frames = 24_000
    impulse = np.zeros(frames, np.float32)
    impulse[1_000] = 0.8
    path = tmp_path / "i.mp3"
    with Mp3Writer(path, TrackInfo("i", "i", "i", frames)) as writer:
        writer.write(impulse)
        writer.finish()
    decoded = ffmpeg_decode(path)
    assert int(np.argmax(np.abs(decoded))) == 1_000
    data = path.read_bytes()
    tag_size = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    raw = tmp_path / "raw.mp3"
    raw.write_bytes(data[tag_size + 192 :])  # audio frames only: no ID3, no Info frame
    untrimmed = ffmpeg_decode(raw)
    assert int(np.argmax(np.abs(untrimmed))) == 1_000 + ENCODER_DELAY + DECODER_DELAY == 2_105


# --- tags and chapters ----------------------------------------------------------------------


def test_ffprobe_lists_chapters_in_start_order(exported: tuple[Path, Timeline]) -> None:
    path, timeline = exported
    chapters = ffprobe(path, "-show_chapters")["chapters"]
    assert [(c["start"], c["end"], c["time_base"], c["tags"]["title"]) for c in chapters] == [
        (c.start_ms, c.end_ms, "1/1000", c.title) for c in timeline.chapters
    ]
    assert [c["start_time"] for c in chapters] == ["0.000000", "2.500000", "5.250000", "7.001000"]
    tags = ffprobe(path, "-show_format")["format"]["tags"]
    assert (tags["title"], tags["album"], tags["artist"]) == ("Daily stretch",) * 2 + ("Ana",)


def test_id3_chap_and_ctoc(exported: tuple[Path, Timeline]) -> None:
    path, timeline = exported
    tag = ID3(path)
    assert tag.version == (2, 4, 0)
    assert str(tag["TIT2"]) == "Daily stretch" and str(tag["TALB"]) == "Daily stretch"
    assert str(tag["TPE1"]) == "Ana"
    chaps = tag.getall("CHAP")  # file order
    assert [c.element_id for c in chaps] == ["chp0", "chp1", "chp2", "chp3"]
    assert [(c.start_time, c.end_time, str(c.sub_frames["TIT2"])) for c in chaps] == [
        (c.start_ms, c.end_ms, c.title) for c in timeline.chapters
    ]
    (toc,) = tag.getall("CTOC")
    assert toc.child_element_ids == ["chp0", "chp1", "chp2", "chp3"]
    assert toc.flags & 1 and toc.flags & 2  # ordered, top level


def test_unsorted_chapters_are_written_in_start_order(tmp_path: Path) -> None:
    timeline = make_timeline()
    shuffled = Timeline(
        timeline.title,
        timeline.duration_ms,
        0,
        (),
        tuple(reversed(timeline.chapters)),
    )
    path = tmp_path / "s.mp3"
    export_audio(shuffled, blocks_of(make_signal(timeline)), path)
    starts = [c["start"] for c in ffprobe(path, "-show_chapters")["chapters"]]
    assert starts == [0, 2_500, 5_250, 7_001]


def test_default_artist(tmp_path: Path) -> None:
    timeline = Timeline("Solo", 1_000, 0, (), ())
    path = tmp_path / "solo.mp3"
    export_audio(timeline, iter([np.zeros(24_000, np.float32)]), path)
    tag = ID3(path)
    assert str(tag["TPE1"]) == "voiceguide" and tag.getall("CHAP") == []


# --- split ----------------------------------------------------------------------------------


def test_split_mp3_parts_are_exact_and_tagged(tmp_path: Path) -> None:
    timeline = make_timeline()
    signal = make_signal(timeline)
    written = export_audio(timeline, blocks_of(signal, 7_777), tmp_path / "daily.mp3", split=True)
    parts = plan_parts(timeline, tmp_path / "daily.mp3")
    assert written[-1] == tmp_path / "daily.m3u"
    total = 0
    for number, part in enumerate(parts, start=1):
        start, end = ms_to_frames(part.start_ms), ms_to_frames(part.end_ms)
        data, _ = soundfile.read(part.path, dtype="float32")
        assert data.size == end - start == ffmpeg_decode(part.path).size
        assert lag_at(data, signal[start:end], 0) == 0  # the part starts at its chapter marker
        total += data.size
        tag = ID3(part.path)
        assert str(tag["TIT2"]) == part.info.title
        assert str(tag["TALB"]) == "Daily stretch" and str(tag["TRCK"]) == f"{number}/4"
        assert tag.getall("CHAP") == []
    assert total == signal.size
