"""End to end: real espeak-ng through pyttsx3, real MP3 encoding, read back by real readers
(ffprobe, ffmpeg's EBU R128 meter, soundfile, mutagen)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import SCRIPTS, write
from voiceguide.errors import ExitCode
from voiceguide.units import SAMPLE_RATE, ms_to_frames

pytestmark = pytest.mark.e2e

SHORT = """title: Short Test Routine
intro: Welcome. Move slowly and stop if you feel sharp pain.
outro: Well done.
steps:
  - name: Breathe
    duration: 30s
    say: Lie on your back.
    breathing: {pattern: 4-0-6-0, spoken_cycles: 1}
    cues:
      - {before_end: 6s, say: "Next: {next}."}
  - name: Twist
    duration: 24s
    sides: true
    say: Twist gently to the {side}.
    countdown: 2
"""


def vg(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *args], capture_output=True, text=True, cwd=cwd
    )


def plan(script: Path | str) -> dict[str, Any]:
    proc = vg("plan", str(script), "--json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def ffprobe_chapters(path: Path) -> list[tuple[int, int, str]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [
        (
            round(float(c["start_time"]) * 1000),
            round(float(c["end_time"]) * 1000),
            c["tags"]["title"],
        )
        for c in json.loads(out)["chapters"]
    ]


def ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness and true peak as ffmpeg's EBU R128 filter reads them."""
    err = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostats",
            "-i",
            str(path),
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    summary = err[err.rindex("Summary:") :]
    lufs = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))  # type: ignore[union-attr]
    return lufs, peak


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The short routine exported once to MP3 (with subtitles) and to WAV."""
    folder = tmp_path_factory.mktemp("short")
    script = write(folder, SHORT)
    mp3, wav = folder / "out" / "short.mp3", folder / "out" / "short.wav"
    for target, extra in ((mp3, ["--subtitles"]), (wav, [])):
        proc = vg("export", str(script), "-o", str(target), *extra)
        assert proc.returncode == 0, proc.stderr
    return {"script": script, "mp3": mp3, "wav": wav, "plan": plan(script)}


def test_mp3_decodes_to_exactly_the_timeline_length(short: dict[str, Any]) -> None:
    expected = ms_to_frames(short["plan"]["duration_ms"])
    info = sf.info(str(short["mp3"]))
    assert info.samplerate == SAMPLE_RATE and info.channels == 1
    assert sf.read(str(short["mp3"]), dtype="float32")[0].shape == (expected,)
    assert sf.read(str(short["wav"]), dtype="float32")[0].shape == (expected,)
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(short["mp3"]), "-f", "s16le", "-"],
        capture_output=True,
        check=True,
    ).stdout
    assert len(pcm) == 2 * expected


def test_mp3_chapters_match_the_plan_to_the_millisecond(short: dict[str, Any]) -> None:
    chapters = [(c["start_ms"], c["end_ms"], c["title"]) for c in short["plan"]["chapters"]]
    assert [c[2] for c in chapters] == ["Introduction", "Breathe", "Twist", "Closing"]
    assert ffprobe_chapters(short["mp3"]) == chapters
    import mutagen.id3

    tags = mutagen.id3.ID3(str(short["mp3"]))  # type: ignore[no-untyped-call]
    assert str(tags["TALB"]) == "Short Test Routine"


def test_mp3_content_is_the_wav_content_with_no_lag(short: dict[str, Any]) -> None:
    a = sf.read(str(short["wav"]), dtype="float32")[0]
    b = sf.read(str(short["mp3"]), dtype="float32")[0]
    n = 8192
    corr = np.correlate(b[SAMPLE_RATE : SAMPLE_RATE * 6], a[SAMPLE_RATE + n : SAMPLE_RATE * 6 - n])
    assert int(np.argmax(corr)) == n  # zero lag: gapless, delay trimmed


def test_loudness_is_normalised_and_peaks_stay_under_minus_one(short: dict[str, Any]) -> None:
    import pyloudnorm

    wav = sf.read(str(short["wav"]), dtype="float64")[0]
    assert pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(wav) == pytest.approx(-16.0, abs=0.2)
    lufs, peak = ebur128(short["wav"])
    assert lufs == pytest.approx(-16.0, abs=0.2)
    assert peak <= -1.0
    lufs, peak = ebur128(short["mp3"])
    # Decoded, as a player hears it: the WAV's mix, less what LAME's low-pass takes of the
    # voice's sibilance (about 0.4 LU; making it up would cost the balance or the peak).
    assert lufs == pytest.approx(-16.0, abs=0.5)
    assert peak <= -1.0
    assert float(np.abs(wav).max()) < 1.0


def speech_and_tone_levels(path: Path, plan: dict[str, Any]) -> tuple[float, float]:
    """Mean power (dB) of the decoded file where speech sounds, and where tones sound alone
    (the timeline says where)."""
    x = sf.read(str(path), dtype="float64")[0]
    speech = np.zeros(x.size, bool)
    tones = np.zeros(x.size, bool)
    for e in plan["events"]:
        span = slice(ms_to_frames(e["start_ms"]), ms_to_frames(e["start_ms"] + e["duration_ms"]))
        (speech if e["kind"] == "speech" else tones)[span] = True
    tones &= ~speech
    return (
        float(10 * np.log10(np.mean(x[speech] ** 2))),
        float(10 * np.log10(np.mean(x[tones] ** 2))),
    )


@pytest.mark.parametrize("script", ["cat-cow", "safety"])
def test_lossy_exports_keep_the_lossless_mix_and_stay_under_minus_one_dbtp(
    tmp_path: Path, script: str
) -> None:
    """MP3 (at 96 and 64 kbit/s) and Ogg are the WAV's mix: speech against tones within
    0.5 dB of the WAV's balance, decoded true peak at most -1 dBTP in ffmpeg's meter, and
    the peak and loudness the export prints are the decoded file's (within 0.3 dB)."""
    layout = plan(script)
    balance = {}
    for name, extra in (("x.wav", []), ("x.mp3", []), ("x64.mp3", ["-b", "64"]), ("x.ogg", [])):
        target = tmp_path / name
        proc = vg("export", script, "-o", str(target), *extra)
        assert proc.returncode == 0, proc.stderr
        printed = re.search(r"(-?[\d.]+) LUFS, true peak (-?[\d.]+) dBTP", proc.stdout)
        assert printed is not None, proc.stdout
        lufs, peak = ebur128(target)
        assert peak <= -1.0, name
        assert float(printed.group(2)) == pytest.approx(peak, abs=0.3), name
        assert float(printed.group(1)) == pytest.approx(lufs, abs=0.3), name
        speech, tones = speech_and_tone_levels(target, layout)
        balance[name] = speech - tones
    for name in ("x.mp3", "x64.mp3", "x.ogg"):
        assert balance[name] == pytest.approx(balance["x.wav"], abs=0.5), balance


@pytest.mark.parametrize("split", [False, True], ids=["whole", "split"])
def test_a_lossy_file_over_the_peak_is_encoded_again_before_it_replaces_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split: bool
) -> None:
    """When the decoded first encode peaks over the limit (forced here by a lower limit and
    no headroom), it is discarded and the mix is encoded once more, quieter by the excess:
    the target is replaced once, by a file under the limit."""
    import voiceguide.export.routine
    import voiceguide.pipeline

    limit = -2.5
    monkeypatch.setattr(voiceguide.export.routine, "LOSSY_PEAK_DBTP", limit)
    monkeypatch.setattr(voiceguide.export.routine, "OVERSHOOT_DB", {".mp3": -5.0, ".ogg": -5.0})
    replaced: list[str] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if tmp_path in Path(dst).parents:  # not the caches' own files
            replaced.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)  # what the atomic writes call
    target = tmp_path / "x.mp3"
    result = voiceguide.pipeline.export("cat-cow", target, split=split)
    assert result.peak_dbtp is not None and result.peak_dbtp <= limit
    audio = sorted((tmp_path / "x").glob("*.mp3")) if split else [target]
    assert sorted(replaced) == sorted([p.name for p in audio] + (["x.m3u"] if split else []))
    assert max(ebur128(p)[1] for p in audio) <= limit + 0.3
    assert not list(tmp_path.rglob("*.part"))


def test_cues_start_at_their_scheduled_times(short: dict[str, Any]) -> None:
    """Each spoken cue that follows a pause starts sounding at its planned millisecond
    (one spoken over a breath tone, which sounds on to the end of its step, is not told
    from the tone by its loudness alone, and is left out)."""
    x = sf.read(str(short["wav"]), dtype="float64")[0]
    events = [e for e in short["plan"]["events"] if e["kind"] == "speech"]
    breaths = [
        (e["start_ms"], e["start_ms"] + e["duration_ms"])
        for e in short["plan"]["events"]
        if e["kind"] == "tone" and e["tone"] in ("inhale", "exhale", "hold")
    ]
    checked = 0
    previous_end = -10_000
    for e in events:
        under_breath = any(a < e["start_ms"] < b for a, b in breaths)
        if e["start_ms"] - previous_end >= 500 and not under_breath:
            at = ms_to_frames(e["start_ms"])
            before = x[at - ms_to_frames(120) : at - ms_to_frames(20)]
            after = x[at + ms_to_frames(20) : at + ms_to_frames(400)]
            rms_before = float(np.sqrt(np.mean(before**2)))
            rms_after = float(np.sqrt(np.mean(after**2)))
            assert rms_after > 3 * rms_before, e["text"]  # 10 dB: the chime may ring before
            checked += 1
        previous_end = e["start_ms"] + e["duration_ms"]
    assert checked >= 5


def test_subtitles_list_every_spoken_cue(short: dict[str, Any]) -> None:
    vtt = short["mp3"].with_suffix(".vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT")
    speech = [e for e in short["plan"]["events"] if e["kind"] == "speech"]
    assert vtt.count(" --> ") == len(speech)
    first = speech[0]
    assert f"00:00:00.{first['start_ms']:03d} --> " in vtt
    assert first["text"] in vtt


def test_split_writes_one_file_per_chapter_and_a_playlist(
    tmp_path: Path, short: dict[str, Any]
) -> None:
    target = tmp_path / "split" / "short.mp3"
    proc = vg("export", str(short["script"]), "-o", str(target), "--split")
    assert proc.returncode == 0, proc.stderr
    playlist = target.with_suffix(".m3u").read_text(encoding="utf-8").splitlines()
    assert playlist[0] == "#EXTM3U"
    parts = [target.parent / line for line in playlist if line and not line.startswith("#")]
    assert [p.name for p in parts] == [
        "01 - Introduction.mp3",
        "02 - Breathe.mp3",
        "03 - Twist.mp3",
        "04 - Closing.mp3",
    ]
    frames = [sf.info(str(p)).frames for p in parts]
    chapters = short["plan"]["chapters"]
    assert frames == [ms_to_frames(c["end_ms"] - c["start_ms"]) for c in chapters]
    assert vg("export", str(short["script"]), "-o", str(target), "--split").stdout.startswith(
        "up to date"
    )
    parts[2].unlink()  # a lost part makes the split export stale
    again = vg("export", str(short["script"]), "-o", str(target), "--split")
    assert again.returncode == 0 and again.stdout.startswith("wrote")
    assert parts[2].is_file()


def test_daily_routine_steps_start_on_the_minute_in_the_mp3(tmp_path: Path) -> None:
    target = tmp_path / "daily.mp3"
    proc = vg("export", "daily", "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    chapters = ffprobe_chapters(target)
    origin = chapters[1][0]
    assert chapters[0] == (0, origin, "Introduction")
    starts = [c[0] - origin for c in chapters[1:6]]
    assert starts == [0, 120_000, 240_000, 420_000, 540_000]
    assert chapters[5][1] - origin == 600_000
    assert chapters[6][2] == "Closing" and chapters[6][0] - origin == 600_000
    assert sf.info(str(target)).frames == ms_to_frames(chapters[-1][1])


@pytest.mark.parametrize("script", sorted(SCRIPTS.rglob("*.yaml")), ids=lambda p: p.stem)
def test_every_builtin_script_fits_with_the_real_voice(script: Path) -> None:
    proc = vg("check", str(script))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ": ok: " in proc.stdout


def test_unchanged_re_export_is_a_no_op_and_an_edit_resynthesises_one_cue(tmp_path: Path) -> None:
    script = write(tmp_path, SHORT.replace("Short Test Routine", "No-op Test"))
    target = tmp_path / "noop.mp3"
    assert vg("export", str(script), "-o", str(target)).returncode == 0
    stamp = target.stat().st_mtime_ns
    again = vg("export", str(script), "-o", str(target))
    assert again.returncode == 0 and again.stdout.startswith("up to date")
    assert target.stat().st_mtime_ns == stamp
    speech_dir = Path(os.environ["VOICEGUIDE_CACHE_DIR"]) / "speech"
    before = set(speech_dir.glob("*.clip"))
    script.write_text(
        SHORT.replace("Lie on your back.", "Lie down on your back."), encoding="utf-8"
    )
    edited = vg("export", str(script), "-o", str(target))
    assert edited.returncode == 0 and edited.stdout.startswith("wrote")
    assert len(set(speech_dir.glob("*.clip")) - before) == 1
    assert target.stat().st_mtime_ns != stamp


def test_export_refuses_cues_that_do_not_fit_and_writes_nothing(tmp_path: Path) -> None:
    script = write(
        tmp_path,
        "title: T\nsteps:\n  - name: A\n    duration: 10s\n    cues:\n"
        "      - {before_end: 1s, say: This sentence is far too long to be said in one second.}\n",
    )
    target = tmp_path / "refused.mp3"
    proc = vg("export", str(script), "-o", str(target))
    assert proc.returncode == ExitCode.CUE_FIT
    assert f"{script}:6:9: the cue 'This sentence" in proc.stderr
    assert "only 1.00s are free before the end of the step" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not target.exists()
    check = vg("check", str(script))
    assert check.returncode == ExitCode.CUE_FIT and "needs" in check.stdout


def test_interrupted_export_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "daily.wav"
    target.write_bytes(b"the previous export")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "export", "daily", "-o", str(target), "--force"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".daily.wav.*")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.fail("the export finished before it could be interrupted")
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert err.strip() == "voiceguide: interrupted"
    assert target.read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["daily.wav"]
