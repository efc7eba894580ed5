"""Exporters: registry, lossless formats, atomic replacement, WebVTT and split export.

Files are read back with real readers (soundfile, ffprobe, mutagen); blocks are synthetic.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from numpy.typing import NDArray

from tests.conftest import REPO, ffprobe
from tests.conftest import blocks_of as shared_blocks_of
from voiceguide.dsp.samples import to_pcm16
from voiceguide.errors import ExportError
from voiceguide.export import WRITERS, export_audio, export_subtitles, writer_for
from voiceguide.export.atomic import atomic_group, atomic_path
from voiceguide.export.base import TrackInfo
from voiceguide.export.split import plan_parts, safe_title
from voiceguide.export.subtitles import render_vtt, subtitles_path, vtt_time
from voiceguide.timeline import Chapter, Speech, Timeline
from voiceguide.units import SAMPLE_RATE, ms_to_frames

needs_ffprobe = pytest.mark.e2e  # real ffprobe: installed by ./setup.sh --dev


def make_timeline(duration_ms: int = 6_000, author: str | None = None) -> Timeline:
    chapters = (
        Chapter(0, 1_000, "Intro", None),
        Chapter(1_000, 3_500, "Cat-Cow", 0),
        Chapter(3_500, 6_000, "Child's pose / rest?", 1),
    )
    speech = (
        Speech(100, 800, "Welcome.", None, "intro"),
        Speech(1_000, 1_200, "Cat-Cow:\n  arch & round <slowly>", 0, "instruction"),
        Speech(3_400, 400, "Rest.", 1, "switch"),
    )
    return Timeline(
        title="Daily stretch",
        duration_ms=duration_ms,
        origin_ms=1_000,
        events=speech,
        chapters=chapters,
        author=author,
    )


def make_signal(timeline: Timeline) -> NDArray[np.float32]:
    """A quiet sine with a loud noise burst at every chapter start (easy to locate)."""
    frames = ms_to_frames(timeline.duration_ms)
    t = np.arange(frames) / SAMPLE_RATE
    signal = 0.2 * np.sin(2 * np.pi * 330 * t)
    rng = np.random.default_rng(7)
    for chapter in timeline.chapters:
        start = ms_to_frames(chapter.start_ms)
        burst = rng.uniform(-0.6, 0.6, 240)
        signal[start : start + 240] += burst[: frames - start]
    return signal.astype(np.float32)


def blocks_of(signal: NDArray[np.float32], size: int = 1_000) -> Iterator[NDArray[np.float32]]:
    """Blocks whose edges never line up with chapter boundaries."""
    return shared_blocks_of(signal, size)


def failing_blocks(
    signal: NDArray[np.float32], error: BaseException, after: int = 3
) -> Iterator[NDArray[np.float32]]:
    for index, block in enumerate(blocks_of(signal)):
        if index == after:
            raise error
        yield block


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.name.endswith(".part"))


# --- registry -------------------------------------------------------------------------------


def test_registry_lists_the_formats() -> None:
    assert set(WRITERS) == {".mp3", ".wav", ".flac", ".ogg"}
    assert callable(writer_for("x.MP3"))


def test_unknown_suffix_lists_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as caught:
        export_audio(make_timeline(), iter(()), tmp_path / "out.aac")
    message = str(caught.value)
    assert "out.aac" in message and "'.aac'" in message
    assert ".flac, .mp3, .ogg, .wav" in message
    assert list(tmp_path.iterdir()) == []


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, voiceguide.export;"
        "print([m for m in ('numpy', 'soundfile', 'lameenc', 'mutagen') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --- lossless and Vorbis ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_lossless_round_trip_is_exact(tmp_path: Path, suffix: str) -> None:
    timeline = make_timeline(author="Ana")
    signal = make_signal(timeline)
    path = tmp_path / f"daily{suffix}"
    assert export_audio(timeline, blocks_of(signal, 777), path) == [path]
    data, rate = soundfile.read(path, dtype="int16")
    assert rate == SAMPLE_RATE
    np.testing.assert_array_equal(data, to_pcm16(signal))
    with soundfile.SoundFile(path) as file:
        assert (file.title, file.artist, file.album) == ("Daily stretch", "Ana", "Daily stretch")


@needs_ffprobe
@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_ffprobe_reads_exact_length(tmp_path: Path, suffix: str) -> None:
    timeline = make_timeline()
    path = tmp_path / f"daily{suffix}"
    export_audio(timeline, blocks_of(make_signal(timeline)), path)
    stream = ffprobe(path, "-show_streams")["streams"][0]
    assert stream["sample_rate"] == str(SAMPLE_RATE) and stream["channels"] == 1
    assert float(stream["duration"]) == pytest.approx(6.0, abs=1e-6)
    assert soundfile.info(str(path)).frames == ms_to_frames(6_000)


@needs_ffprobe
@pytest.mark.parametrize("suffix", [".flac", ".ogg"])
def test_flac_and_ogg_carry_chapters(tmp_path: Path, suffix: str) -> None:
    timeline = make_timeline()
    path = tmp_path / f"daily{suffix}"
    export_audio(timeline, blocks_of(make_signal(timeline)), path)
    chapters = ffprobe(path, "-show_chapters")["chapters"]
    assert [(c["start_time"], c["end_time"], c["tags"]["title"]) for c in chapters] == [
        ("0.000000", "1.000000", "Intro"),
        ("1.000000", "3.500000", "Cat-Cow"),
        ("3.500000", "6.000000", "Child's pose / rest?"),
    ]
    assert soundfile.info(str(path)).frames == ms_to_frames(6_000)  # still intact


def test_ogg_vorbis_is_close_to_the_input(tmp_path: Path) -> None:
    timeline = make_timeline()
    signal = make_signal(timeline)
    path = tmp_path / "daily.ogg"
    export_audio(timeline, blocks_of(signal), path)
    data, _ = soundfile.read(path, dtype="float32")
    assert data.size == signal.size
    error = data - signal
    assert float(np.sqrt(np.mean(error**2))) < 0.02


def test_samples_out_of_range_are_clipped(tmp_path: Path) -> None:
    timeline = Timeline("Loud", 10, 0, (), ())
    signal = np.full(240, 1.5, dtype=np.float32)
    signal[120:] = -3.0
    path = tmp_path / "loud.wav"
    export_audio(timeline, iter([signal]), path)
    data, _ = soundfile.read(path, dtype="int16")
    assert set(data[:120]) == {32767} and set(data[120:]) == {-32767}


def test_progress_reports_frames_written(tmp_path: Path) -> None:
    timeline = make_timeline()
    seen: list[int] = []
    export_audio(
        timeline, blocks_of(make_signal(timeline), 5_000), tmp_path / "a.wav", progress=seen.append
    )
    total = ms_to_frames(6_000)
    assert seen == [min(total, n * 5_000) for n in range(1, -(-total // 5_000) + 1)]


def test_blocks_may_be_any_size_including_empty(tmp_path: Path) -> None:
    timeline = make_timeline()
    signal = make_signal(timeline)
    sizes = [0, 1, 23, 0, 24_000, 5, 100_000]
    pieces = []
    start = 0
    for size in sizes:
        pieces.append(signal[start : start + size])
        start += size
    pieces.append(signal[start:])
    export_audio(timeline, iter(pieces), tmp_path / "a.wav")
    data, _ = soundfile.read(tmp_path / "a.wav", dtype="int16")
    np.testing.assert_array_equal(data, to_pcm16(signal))


# --- stream length --------------------------------------------------------------------------


def test_short_stream_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    timeline = make_timeline()
    signal = make_signal(timeline)[:-1]
    with pytest.raises(ExportError, match="ended after 143999 of 144000"):
        export_audio(timeline, blocks_of(signal), tmp_path / "a.mp3")
    assert list(tmp_path.iterdir()) == []


def test_long_stream_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    timeline = make_timeline()
    signal = np.concatenate([make_signal(timeline), np.zeros(1, np.float32)])
    with pytest.raises(ExportError, match="longer than the timeline"):
        export_audio(timeline, blocks_of(signal), tmp_path / "a.wav")
    assert list(tmp_path.iterdir()) == []


# --- atomicity ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".mp3", ".wav", ".flac", ".ogg"])
@pytest.mark.parametrize("error", [KeyboardInterrupt(), RuntimeError("render failed")])
def test_interrupted_export_leaves_the_target_untouched(
    tmp_path: Path, suffix: str, error: BaseException
) -> None:
    timeline = make_timeline()
    target = tmp_path / f"daily{suffix}"
    target.write_bytes(b"previous export")
    with pytest.raises(type(error)):
        export_audio(timeline, failing_blocks(make_signal(timeline), error), target)
    assert target.read_bytes() == b"previous export"
    assert leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_interrupted_export_creates_no_target(tmp_path: Path) -> None:
    timeline = make_timeline()
    with pytest.raises(KeyboardInterrupt):
        export_audio(
            timeline,
            failing_blocks(make_signal(timeline), KeyboardInterrupt()),
            tmp_path / "a.mp3",
            subtitles=True,
        )
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_is_an_export_error(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "a.wav"
    timeline = make_timeline()
    with pytest.raises(ExportError) as caught:
        export_audio(timeline, blocks_of(make_signal(timeline)), target)
    assert str(caught.value) == f"cannot write {target}: No such file or directory"


NOBODY = 65534  # the unprivileged user (and group) the read-only case runs as under root


def export_error_as_nobody(target: Path) -> str:
    """Export to ``target`` in a forked child running as user and group NOBODY; what it
    raised (``ExportError: ...``), or ``"nothing"``. The child needs no file of the venv: the
    writer is imported here first, so root's checkout may be closed to that user."""
    writer_for(target)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            try:
                export_audio(make_timeline(), iter(()), target)
                said = "nothing"
            except BaseException as exc:
                said = f"{type(exc).__name__}: {exc}"
            os.write(write_end, said.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        said = pipe.read().decode()
    os.waitpid(pid, 0)
    return said


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_read_only_directory_is_an_export_error(tmp_path: Path) -> None:
    """A folder the user may not write to. Root may write anywhere, so as root (as in CI)
    the export runs as an unprivileged user, on a folder root owns."""
    if os.geteuid() != 0:
        tmp_path.chmod(0o500)
        try:
            with pytest.raises(ExportError) as caught:
                export_audio(make_timeline(), iter(()), tmp_path / "a.wav")
        finally:
            tmp_path.chmod(0o700)
        said, folder, left = f"ExportError: {caught.value}", tmp_path, list(tmp_path.iterdir())
    else:
        # Under /tmp, not tmp_path: pytest's base folder is closed to other users.
        folder = Path(tempfile.mkdtemp(prefix="voiceguide-read-only-"))
        try:
            folder.chmod(0o755)  # root's: others may look, not write
            said = export_error_as_nobody(folder / "a.wav")
            left = list(folder.iterdir())
        finally:
            shutil.rmtree(folder)
    assert said == f"ExportError: cannot write {folder / 'a.wav'}: Permission denied"
    assert left == []


def test_disk_full_while_writing_is_an_export_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = writer_for("x.wav")

    class Full:
        def __init__(self, path: Path, info: TrackInfo, bitrate: int) -> None:
            self.inner = real(path, info, bitrate)
            self.blocks = 0

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.inner.__exit__(None, None, None)

        def write(self, block: NDArray[np.float32]) -> None:
            self.blocks += 1
            if self.blocks == 3:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.inner.write(block)

        def finish(self) -> None:
            self.inner.finish()

    monkeypatch.setitem(WRITERS, ".wav", lambda: Full)
    target = tmp_path / "a.wav"
    target.write_bytes(b"old")
    timeline = make_timeline()
    with pytest.raises(ExportError) as caught:
        export_audio(timeline, blocks_of(make_signal(timeline)), target)
    assert str(caught.value) == f"cannot write {target}: No space left on device"
    assert isinstance(caught.value.__cause__, OSError)
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_split_names_the_part_that_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = writer_for("x.wav")

    def factory(path: Path, info: TrackInfo, bitrate: int) -> Any:
        if info.track == (2, 3):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, info, bitrate)

    monkeypatch.setitem(WRITERS, ".wav", lambda: factory)
    timeline = make_timeline()
    with pytest.raises(ExportError) as caught:
        export_audio(timeline, blocks_of(make_signal(timeline)), tmp_path / "d.wav", split=True)
    target = tmp_path / "d" / "02 - Cat-Cow.wav"
    assert str(caught.value) == f"cannot write {target}: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_an_oserror_from_the_renderer_is_not_a_write_error(tmp_path: Path) -> None:
    timeline = make_timeline()
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory", "/cache/clip.wav")
    with pytest.raises(FileNotFoundError) as caught:
        export_audio(timeline, failing_blocks(make_signal(timeline), missing), tmp_path / "a.wav")
    assert caught.value is missing and not isinstance(caught.value, ExportError)
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as temp:
        assert temp.parent == tmp_path and temp.name.startswith(".notes.txt.")
        assert temp.name.endswith(".part")
        temp.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old" and leftovers(tmp_path) == []
    with atomic_path(target) as temp:
        temp.write_text("new")
        assert target.read_text() == "old"
    assert target.read_text() == "new" and leftovers(tmp_path) == []


def test_atomic_files_get_normal_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.txt") as temp:
            temp.write_bytes(b"x\n")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "a.txt").read_bytes() == b"x\n"


def test_atomic_group_replaces_in_order_and_only_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replaced: list[str] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        replaced.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr("voiceguide.export.atomic.os.replace", spy)
    with atomic_group() as group:
        for name in ["b", "a", "list.m3u"]:
            group.path(tmp_path / name).write_text(name)
        assert replaced == []
    assert replaced == ["b", "a", "list.m3u"]
    assert (tmp_path / "list.m3u").read_text() == "list.m3u"


STALE_OWNER = """\
import os, sys
from pathlib import Path
from voiceguide.export.atomic import atomic_group
with atomic_group() as group:
    for name in sys.argv[2:]:
        temp = group.path(Path(sys.argv[1], name))
        temp.write_text("half of an export")
        print(temp, flush=True)
    os.kill(os.getpid(), 9)  # killed mid-write: nothing of its own can clean up
"""


def test_temporary_files_of_a_killed_export_are_removed_by_the_next_one(
    tmp_path: Path,
) -> None:
    """A SIGKILLed writer leaves its temporary file; the next export into that folder
    removes it, but not one a running export owns, nor any other file."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", STALE_OWNER, str(tmp_path), "daily.mp3", "other.wav"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == -9, proc.stderr
    stale = [Path(line) for line in proc.stdout.split()]
    assert len(stale) == 2
    keep = ["notes.part", ".notes.part", ".daily.mp3.xyz.part", "daily.mp3.0123abcd.part"]
    for name in keep:
        (tmp_path / name).write_text("not ours")
    assert all(p.exists() for p in stale)

    with atomic_group() as running:  # an export under way owns its temporary file
        owned = running.path(tmp_path / "running.wav")
        owned.write_text("being written")
        with atomic_path(tmp_path / "daily.mp3") as temp:
            temp.write_text("the next export")
        assert not any(p.exists() for p in stale)
        assert owned.read_text() == "being written"
    assert (tmp_path / "running.wav").read_text() == "being written"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*keep, "daily.mp3", "running.wav"])


# --- WebVTT ---------------------------------------------------------------------------------


def test_vtt_time_format() -> None:
    assert vtt_time(0) == "00:00:00.000"
    assert vtt_time(3_723_004) == "01:02:03.004"
    assert vtt_time(36_000_000) == "10:00:00.000"


def test_webvtt_document_is_exact(tmp_path: Path) -> None:
    timeline = make_timeline()
    path = subtitles_path(tmp_path / "daily.mp3")
    assert path == tmp_path / "daily.vtt"
    assert export_subtitles(timeline, path) == path
    assert path.read_bytes() == (
        b"WEBVTT\n"
        b"\n"
        b"00:00:00.100 --> 00:00:00.900\n"
        b"Welcome.\n"
        b"\n"
        b"00:00:01.000 --> 00:00:02.200\n"
        b"Cat-Cow: arch &amp; round &lt;slowly&gt;\n"
        b"\n"
        b"00:00:03.400 --> 00:00:03.800\n"
        b"Rest.\n"
    )
    assert leftovers(tmp_path) == []


def test_webvtt_window_clips_and_shifts_cues() -> None:
    speech = make_timeline().speech
    assert render_vtt(speech, 1_000, 3_500) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.200\nCat-Cow: arch &amp; round &lt;slowly&gt;\n"
        "\n00:00:02.400 --> 00:00:02.500\nRest.\n"
    )
    assert render_vtt(()) == "WEBVTT\n"


def test_subtitles_beside_the_audio(tmp_path: Path) -> None:
    timeline = make_timeline()
    written = export_audio(
        timeline, blocks_of(make_signal(timeline)), tmp_path / "d.wav", subtitles=True
    )
    assert written == [tmp_path / "d.wav", tmp_path / "d.vtt"]
    assert (tmp_path / "d.vtt").read_text().startswith("WEBVTT\n\n00:00:00.100 --> ")


# --- split ----------------------------------------------------------------------------------


def test_safe_titles() -> None:
    assert safe_title("Child's pose / rest?", "x") == "Child's pose rest"
    assert safe_title('a<b>:c"d\\e|f*g\nh', "x") == "a b c d e f g h"
    assert safe_title(" ... ", "Part 3") == "Part 3"
    assert len(safe_title("x" * 500, "p")) == 100


def test_split_plan_names_and_bounds(tmp_path: Path) -> None:
    parts = plan_parts(make_timeline(), tmp_path / "daily.wav")
    folder = tmp_path / "daily"
    assert [p.path for p in parts] == [
        folder / "01 - Intro.wav",
        folder / "02 - Cat-Cow.wav",
        folder / "03 - Child's pose rest.wav",
    ]
    assert [(p.start_ms, p.end_ms) for p in parts] == [(0, 1_000), (1_000, 3_500), (3_500, 6_000)]
    assert [p.info.track for p in parts] == [(1, 3), (2, 3), (3, 3)]
    assert {p.info.album for p in parts} == {"Daily stretch"}


def test_split_covers_gaps_and_skips_empty_chapters(tmp_path: Path) -> None:
    chapters = (
        Chapter(500, 1_000, "A", 0),
        Chapter(2_000, 2_000, "Empty", 1),
        Chapter(2_000, 3_000, "B", 2),
    )
    timeline = Timeline("T", 4_000, 0, (), chapters)
    parts = plan_parts(timeline, tmp_path / "t.mp3")
    assert [(p.info.title, p.start_ms, p.end_ms) for p in parts] == [
        ("A", 0, 2_000),
        ("B", 2_000, 4_000),
    ]
    no_chapters = plan_parts(Timeline("Solo", 1_000, 0, (), ()), tmp_path / "s.mp3")
    assert [(p.path.name, p.start_ms, p.end_ms) for p in no_chapters] == [
        ("01 - Solo.mp3", 0, 1_000)
    ]


def test_split_wav_parts_add_up_to_the_whole(tmp_path: Path) -> None:
    timeline = make_timeline()
    signal = make_signal(timeline)
    seen: list[int] = []
    written = export_audio(
        timeline, blocks_of(signal, 1_001), tmp_path / "daily.wav", progress=seen.append, split=True
    )
    parts = plan_parts(timeline, tmp_path / "daily.wav")
    assert written == [p.path for p in parts] + [tmp_path / "daily.m3u"]
    pcm = to_pcm16(signal)
    total = 0
    for part in parts:
        data, _ = soundfile.read(part.path, dtype="int16")
        start, end = ms_to_frames(part.start_ms), ms_to_frames(part.end_ms)
        np.testing.assert_array_equal(data, pcm[start:end])
        with soundfile.SoundFile(part.path) as file:
            assert file.title == part.info.title and file.album == "Daily stretch"
        total += data.size
    assert total == signal.size and seen[-1] == signal.size
    assert (tmp_path / "daily.m3u").read_bytes() == (
        b"#EXTM3U\n"
        b"#PLAYLIST:Daily stretch\n"
        b"#EXTINF:1,Intro\n"
        b"daily/01 - Intro.wav\n"
        b"#EXTINF:2,Cat-Cow\n"
        b"daily/02 - Cat-Cow.wav\n"
        b"#EXTINF:2,Child's pose / rest?\n"
        b"daily/03 - Child's pose rest.wav\n"
    )
    assert leftovers(tmp_path) == []


def test_split_with_subtitles_writes_one_vtt_per_part(tmp_path: Path) -> None:
    timeline = make_timeline()
    written = export_audio(
        timeline, blocks_of(make_signal(timeline)), tmp_path / "d.flac", subtitles=True, split=True
    )
    names = [p.relative_to(tmp_path).as_posix() for p in written]
    assert names[-1] == "d.m3u" and "d/02 - Cat-Cow.vtt" in names
    # "Rest." (3.4 s - 3.8 s) straddles the cut at 3.5 s: each part shows its own share
    assert (tmp_path / "d" / "03 - Child's pose rest.vtt").read_text() == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:00.300\nRest.\n"
    )
    assert (
        (tmp_path / "d" / "02 - Cat-Cow.vtt")
        .read_text()
        .endswith("00:00:02.400 --> 00:00:02.500\nRest.\n")
    )


@pytest.mark.parametrize("error", [KeyboardInterrupt(), RuntimeError("render failed")])
def test_interrupted_split_writes_nothing(tmp_path: Path, error: BaseException) -> None:
    timeline = make_timeline()
    signal = make_signal(timeline)
    with pytest.raises(type(error)):
        # block 100 of 1000 frames is in the third part: two parts are already complete
        export_audio(
            timeline, failing_blocks(signal, error, after=100), tmp_path / "d.mp3", split=True
        )
    assert list(tmp_path.iterdir()) == []


def test_interrupted_split_keeps_the_previous_export(tmp_path: Path) -> None:
    timeline = make_timeline()
    signal = make_signal(timeline)
    export_audio(timeline, blocks_of(signal), tmp_path / "d.wav", split=True)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(KeyboardInterrupt):
        export_audio(
            timeline,
            failing_blocks(signal, KeyboardInterrupt(), after=100),
            tmp_path / "d.wav",
            split=True,
        )
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


def test_split_of_an_empty_routine_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="empty"):
        export_audio(Timeline("T", 0, 0, (), ()), iter(()), tmp_path / "t.mp3", split=True)
    assert list(tmp_path.iterdir()) == []


def test_mp3_without_lameenc_is_refused_in_one_line_and_the_other_formats_work(
    tmp_path: Path,
) -> None:
    """On 32-bit ARM lameenc does not install: an MP3 export is a bad argument naming the
    formats that work (exit 2, nothing written), and an Ogg export still works."""
    script = tmp_path / "r.yaml"
    script.write_text("title: T\nsteps:\n  - {name: One, duration: 2s}\n", encoding="utf-8")
    without = (
        "import sys; sys.modules['lameenc'] = None; sys.argv[0] = 'voiceguide'; "
        "from voiceguide.cli import main; main()"
    )
    run = [sys.executable, "-c", without, "export", str(script)]
    mp3 = subprocess.run([*run, "-o", str(tmp_path / "r.mp3")], capture_output=True, text=True)
    assert mp3.returncode == 2, mp3.stderr
    assert mp3.stderr.splitlines() == [
        f"voiceguide: cannot write {tmp_path / 'r.mp3'}: MP3 needs lameenc, which is not "
        "installed (it has no build for 32-bit ARM); export to .ogg, .flac or .wav, or pip "
        "install lameenc where it has a wheel"
    ]
    assert not (tmp_path / "r.mp3").exists()
    ogg = subprocess.run([*run, "-o", str(tmp_path / "r.ogg")], capture_output=True, text=True)
    assert ogg.returncode == 0, ogg.stderr
    assert soundfile.info(str(tmp_path / "r.ogg")).duration > 1
