"""The music bed (``music:``): real files written here by soundfile (WAV, FLAC, Ogg, MP3),
real speech (espeak-ng through pyttsx3), real exports measured by the project's meter."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from tests.conftest import write
from voiceguide import pipeline, tones
from voiceguide.dsp.clips import SPEECH_LUFS
from voiceguide.dsp.loudness import integrated_loudness
from voiceguide.dsp.music import MusicFile, measure
from voiceguide.dsp.resample import resample
from voiceguide.errors import ScriptError
from voiceguide.render import render
from voiceguide.render.music import LOOP_XFADE_MS
from voiceguide.script import load_script
from voiceguide.timeline import Timeline
from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE, ms_to_frames

F32 = npt.NDArray[np.float32]
MP3 = "MP3" in sf.available_formats()  # libsndfile >= 1.1 reads (and writes) MP3


def tone_file(path: Path, seconds: float, rate: int = 44_100, freq: float = 440.3) -> Path:
    """A stereo sine of ``seconds`` (a non-whole number of periods: a hard loop would
    click), written by soundfile in the format the suffix names (MP3: by lameenc, as an
    export writes one)."""
    t = np.arange(round(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * freq * t)
    stereo = np.stack([x, 0.8 * x], axis=1).astype(np.float32)
    if path.suffix == ".mp3":  # libsndfile 1.2.2 misreads its own MP3s read in pieces
        import lameenc

        encoder = lameenc.Encoder()
        encoder.set_bit_rate(128)
        encoder.set_in_sample_rate(rate)
        encoder.set_channels(2)
        encoder.set_quality(2)
        pcm = np.round(stereo * 32767).astype("<i2").tobytes()
        path.write_bytes(bytes(encoder.encode(pcm) + encoder.flush()))
    else:
        sf.write(str(path), stereo, rate)
    return path


def noise_file(path: Path, seconds: float, seed: int, rate: int = 44_100) -> Path:
    rng = np.random.default_rng(seed)
    x = 0.1 * rng.standard_normal(round(seconds * rate))
    sf.write(str(path), np.clip(x, -1, 1).astype(np.float32), rate)
    return path


SCRIPT = """title: Music Test
music: {music}
intro: Welcome to the music test.
steps:
  - name: Hold
    duration: 40s
    say: Sit tall and breathe slowly.
    cues:
      - {{at: 12s, say: "Keep your shoulders soft."}}
      - {{at: 24s, say: "Let your breath slow down."}}
      - {{before_end: 6s, say: "Almost done."}}
outro: Well done.
"""


def script_with(tmp_path: Path, music: str) -> Path:
    return write(tmp_path, SCRIPT.format(music=music))


def music_of(timeline: Timeline, bank: object) -> F32:
    """The music alone as the raw mix has it (ducked, faded, at level): the raw mix less
    the raw mix without the beds (the raw mix is linear: no gain, no limiter)."""
    with_bed = np.concatenate(list(render(timeline, bank)))  # type: ignore[arg-type]
    without = np.concatenate(list(render(replace(timeline, music=()), bank)))  # type: ignore[arg-type]
    out: F32 = (with_bed - without).astype(np.float32)
    return out


def rms_db(x: F32) -> float:
    return 20 * math.log10(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-12)


@pytest.fixture(scope="module")
def ogg_bed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The test routine over a 7 s Ogg bed (so it loops), compiled, with its music alone."""
    folder = tmp_path_factory.mktemp("ogg")
    tone_file(folder / "bed.ogg", 7.0)
    script = script_with(folder, "{file: bed.ogg, level_db: -18, fade: 2s}")
    _, compiled, bank = pipeline.compile_script(script)
    return {
        "script": script,
        "timeline": compiled.timeline,
        "bank": bank,
        "music": music_of(compiled.timeline, bank),
    }


def gaps_and_speech(timeline: Timeline) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Frame spans inside speech, and spans of the bed clear of speech, its ramps and the
    fades, each at least 300 ms long."""
    bed = timeline.music[0]
    ramp = tones.DUCK_RAMP_MS
    lo, hi = bed.start_ms + bed.fade_in_ms, bed.end_ms - bed.fade_out_ms
    speech = [(s.start_ms, s.end_ms) for s in timeline.speech]
    inside = [(a + ramp, b) for a, b in speech if b - a - ramp >= 300 and a > lo and b < hi]
    gaps, at = [], lo
    for a, b in speech:
        if a - ramp - at >= 300:
            gaps.append((at, a - ramp))
        at = max(at, b + ramp)
    if hi - at >= 300:
        gaps.append((at, hi))
    frames = [(ms_to_frames(a), ms_to_frames(b)) for a, b in inside]
    return [(ms_to_frames(a), ms_to_frames(b)) for a, b in gaps], frames


def test_the_export_with_a_music_bed_measures_minus_16_lufs(tmp_path: Path) -> None:
    tone_file(tmp_path / "bed.ogg", 7.0)
    script = script_with(tmp_path, "bed.ogg")
    out = tmp_path / "out.wav"
    result = pipeline.export(script, out)
    samples, rate = sf.read(str(out), dtype="float32")
    assert rate == SAMPLE_RATE
    assert integrated_loudness(samples, rate) == pytest.approx(-16.0, abs=0.5)
    assert result.lufs == pytest.approx(-16.0, abs=0.5)


def test_the_music_sounds_between_cues_at_its_level_and_ducks_under_speech(
    ogg_bed: dict[str, object],
) -> None:
    timeline, music = ogg_bed["timeline"], ogg_bed["music"]
    assert isinstance(timeline, Timeline) and isinstance(music, np.ndarray)
    gaps, inside = gaps_and_speech(timeline)
    assert gaps and inside
    # Between cues: the music at its plan, 18 LU under the voice's SPEECH_LUFS.
    between = np.concatenate([music[a:b] for a, b in gaps])
    assert integrated_loudness(between, SAMPLE_RATE) == pytest.approx(SPEECH_LUFS - 18, abs=0.5)
    # Under speech: DUCK_DB lower than between cues.
    under = np.concatenate([music[a:b] for a, b in inside])
    assert rms_db(under) - rms_db(between) == pytest.approx(tones.DUCK_DB, abs=0.5)


def test_the_music_fades_in_and_out(ogg_bed: dict[str, object]) -> None:
    """Over the fades the bed's gain follows a raised cosine: -6 dB halfway, from and to
    silence (seen with the speech taken out, so nothing ducks it)."""
    timeline = ogg_bed["timeline"]
    assert isinstance(timeline, Timeline)
    bare = replace(timeline, events=())
    music = np.concatenate(list(render(bare, ogg_bed["bank"])))  # type: ignore[arg-type]
    bed = timeline.music[0]
    assert (bed.start_ms, bed.end_ms) == (0, timeline.duration_ms)
    s, e, fade = ms_to_frames(bed.start_ms), ms_to_frames(bed.end_ms), ms_to_frames(2000)
    window = ms_to_frames(20)
    full = rms_db(music[ms_to_frames(5000) : ms_to_frames(6000)])

    def level(a: int) -> float:
        return rms_db(music[a - window // 2 : a + window // 2]) - full

    rising = [level(s + window + k * (fade - 2 * window) // 9) for k in range(10)]
    falling = [level(e - window - k * (fade - 2 * window) // 9) for k in range(10)]
    for ramp in (rising, falling):
        assert all(b > a for a, b in zip(ramp, ramp[1:], strict=False))
        assert ramp[0] < -25 and ramp[-1] > -0.1
    assert level(s + fade // 2) == pytest.approx(-6.0, abs=0.3)
    assert level(e - fade // 2) == pytest.approx(-6.0, abs=0.3)
    assert abs(music[s]) < 1e-4 and abs(music[e - 1]) < 1e-4


def test_a_short_file_loops_without_a_click(ogg_bed: dict[str, object]) -> None:
    """The 7 s sine loops about five times over the 40 s step: at every seam the signal
    moves no faster than the sine itself does (a hard loop jumps by up to its amplitude)."""
    timeline, music = ogg_bed["timeline"], ogg_bed["music"]
    assert isinstance(timeline, Timeline) and isinstance(music, np.ndarray)
    gaps, _ = gaps_and_speech(timeline)
    bed = timeline.music[0]
    peak = max(float(np.abs(music[a:b]).max()) for a, b in gaps)
    limit = 2 * math.pi * 440.3 / SAMPLE_RATE * peak * 1.05  # the sine's steepest step
    body = ms_to_frames(7000 - LOOP_XFADE_MS)
    seams = [ms_to_frames(bed.start_ms) + k * body for k in range(1, 6)]
    checked = 0
    for seam in seams:
        if any(
            a <= seam - 2400 and seam + ms_to_frames(LOOP_XFADE_MS) + 2400 <= b for a, b in gaps
        ):
            around = music[seam - 2400 : seam + 2400 + ms_to_frames(LOOP_XFADE_MS)]
            assert float(np.abs(np.diff(around)).max()) <= limit
            checked += 1
    assert checked >= 1
    # and the whole bed, seams and all, between the cues
    for a, b in gaps:
        assert float(np.abs(np.diff(music[a:b])).max()) <= limit


def test_a_long_file_is_trimmed_to_its_part(tmp_path: Path) -> None:
    """A 90 s file under the 47 s routine: its first seconds, sample for sample, then cut
    off by the fade out."""
    noise_file(tmp_path / "long.flac", 90.0, seed=3)
    script = script_with(tmp_path, "long.flac")
    _, compiled, bank = pipeline.compile_script(script)
    timeline = compiled.timeline
    music = music_of(timeline, bank)
    source = MusicFile(tmp_path / "long.flac")
    blocks, loudness = measure(source)
    for _ in blocks:
        pass
    gain = 10 ** ((SPEECH_LUFS - 18 - loudness[0]) / 20)
    a, b = ms_to_frames(2500), ms_to_frames(3500)  # after the fade in, before any speech?
    speech = [(ms_to_frames(s.start_ms), ms_to_frames(s.end_ms)) for s in timeline.speech]
    a, b = next(
        (e + ms_to_frames(200), s2 - ms_to_frames(200))
        for (_, e), (s2, _) in zip(speech, speech[1:], strict=False)
        if s2 - e > ms_to_frames(1000) and e > ms_to_frames(2000)
    )
    expected = source.read(a, b) * np.float32(gain)
    assert np.abs(music[a:b] - expected).max() < 1e-4
    assert len(music) == ms_to_frames(timeline.duration_ms) < source.frames


@pytest.mark.parametrize(
    "name",
    [
        "bed.wav",
        "bed.flac",
        "bed.ogg",
        pytest.param(
            "bed.mp3", marks=pytest.mark.skipif(not MP3, reason="MP3 needs libsndfile >= 1.1")
        ),
    ],
)
def test_every_format_is_read_in_pieces_as_one_whole(tmp_path: Path, name: str) -> None:
    """WAV, FLAC, Ogg and MP3 through soundfile, at 44.1, 48 or 24 kHz: read a second at a
    time, resampled and downmixed, as the whole file resampled at once."""
    rate = {"bed.wav": 44_100, "bed.flac": 48_000, "bed.ogg": 24_000, "bed.mp3": 44_100}[name]
    path = tone_file(tmp_path / name, 3.3, rate=rate, freq=330.0)
    data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    whole = resample(data.mean(axis=1), file_rate, SAMPLE_RATE)
    music = MusicFile(path)
    assert music.frames == len(whole)
    assert np.abs(music.read(0, music.frames) - whole).max() < 1e-4
    assert np.abs(music.read(31_000, 53_000) - whole[31_000:53_000]).max() < 1e-4
    blocks, loudness = measure(music)
    energies = np.concatenate([e for _, e in blocks])
    assert len(energies) == music.frames // FRAMES_PER_MS
    assert loudness[0] == pytest.approx(integrated_loudness(whole, SAMPLE_RATE), abs=0.05)


def vg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *args], capture_output=True, text=True
    )


def test_new_music_content_re_exports_and_unchanged_music_is_a_no_op(tmp_path: Path) -> None:
    music = noise_file(tmp_path / "bed.wav", 5.0, seed=1)
    script = script_with(tmp_path, "bed.wav")
    target = tmp_path / "out.mp3"
    assert vg("export", str(script), "-o", str(target)).returncode == 0
    stamp = target.stat().st_mtime_ns
    again = vg("export", str(script), "-o", str(target))
    assert again.returncode == 0 and again.stdout.startswith("up to date"), again.stdout
    assert target.stat().st_mtime_ns == stamp
    noise_file(music, 5.0, seed=2)  # the same name and length, other content
    changed = vg("export", str(script), "-o", str(target))
    assert changed.returncode == 0 and changed.stdout.startswith("wrote"), changed.stdout
    assert target.stat().st_mtime_ns != stamp


def test_a_step_has_its_own_bed_and_the_routine_bed_goes_on_after_it(tmp_path: Path) -> None:
    tone_file(tmp_path / "a.wav", 5.0)
    tone_file(tmp_path / "b.wav", 5.0, freq=300.0)
    script = write(
        tmp_path,
        "title: Two beds\nmusic: a.wav\nsteps:\n"
        "  - {name: One, duration: 10s, say: One.}\n"
        "  - {name: Two, duration: 10s, say: Two., music: {file: b.wav, level_db: -24}}\n"
        "  - {name: Three, duration: 10s, say: Three.}\n",
    )
    _, compiled, _ = pipeline.compile_script(script)
    beds = compiled.timeline.music
    chapters = compiled.timeline.chapters
    assert [Path(b.file).name for b in beds] == ["a.wav", "b.wav", "a.wav"]
    assert (beds[1].start_ms, beds[1].end_ms) == (chapters[1].start_ms, chapters[1].end_ms)
    assert beds[1].level_db == -24 and beds[0].level_db == -18
    assert beds[2].offset_ms == beds[0].end_ms - beds[0].start_ms  # goes on where it stopped
    assert Timeline.from_json(compiled.timeline.to_json()) == compiled.timeline


@pytest.mark.parametrize(
    ("music", "message"),
    [
        ("missing.ogg", "music file 'missing.ogg' not found"),
        ("notaudio.wav", "music file 'notaudio.wav' cannot be decoded as WAV, FLAC, MP3 or Ogg"),
        ("{file: bed.wav, level_db: 5}", "must be between -60.0 and 0.0"),
        ("{file: bed.wav, volume: -3}", "unknown field 'volume'"),
        ("{level_db: -20}", "missing required field 'file'"),
    ],
)
def test_a_bad_music_field_is_a_script_error_at_its_line(
    tmp_path: Path, music: str, message: str
) -> None:
    noise_file(tmp_path / "bed.wav", 1.0, seed=1)
    (tmp_path / "notaudio.wav").write_text("not audio\n", encoding="utf-8")
    script = script_with(tmp_path, music)
    with pytest.raises(ScriptError) as caught:
        load_script(script)
    assert f"{script}:2:" in str(caught.value)
    assert message in str(caught.value)


def test_a_missing_music_file_in_a_step_names_its_line_and_column(tmp_path: Path) -> None:
    script = write(
        tmp_path,
        "title: T\nsteps:\n  - name: One\n    duration: 10s\n    music: gone.flac\n",
    )
    proc = vg("check", str(script))
    assert proc.returncode != 0
    assert f"{script}:5:12: steps[0].music: music file 'gone.flac' not found" in proc.stderr
    assert "Traceback" not in proc.stderr
