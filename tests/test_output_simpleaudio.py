"""The experimental simpleaudio output, played into the private PulseAudio null sink.

simpleaudio opens ALSA's default device, which ``tests/pulse.py`` routes to the null sink
through ALSA's pulse plugin. A short routine played with ``--output simpleaudio`` is
recorded from the sink's monitor and compared with its export: the end's drift (the last
sounding quarter second against the first one's alignment) and the gaps (steps of more than
1 ms in that alignment between sounding quarter seconds: joins that inserted silence, or
lost or overlapped audio) are measured, printed, and held to the bounds measured
here. Pause and resume go through ``voiceguide ctl``; a missing simpleaudio names the fix.
The real plays are skipped only where the simpleaudio module is not importable.

    .venv/bin/python -m pytest tests/test_output_simpleaudio.py -s   # prints the figures
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import ctl, wait_for_socket, write
from tests.pulse import PulseServer
from tests.test_output import find, real_time
from tests.test_player_e2e import ROUTINE, _poll, best_match, exported, vg
from voiceguide.errors import ExitCode
from voiceguide.player.output import open_output
from voiceguide.player.output_simpleaudio import QUIET_PEAK, WINDOW, cut_point
from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE

pytestmark = pytest.mark.e2e
needs_simpleaudio = pytest.mark.skipif(
    importlib.util.find_spec("simpleaudio") is None, reason="the simpleaudio module is missing"
)

Samples = npt.NDArray[np.float32]
SEG = SAMPLE_RATE // 4
# Joins fall in quiet runs only; each stream starts on the sink's own tick, so the end
# drifts and a join steps by some ms (sounddevice, pacat, aplay: no step over 1 ms).
END_DRIFT_MAX_MS = 30.0
STEP_MAX_MS = 30.0
REACH = SAMPLE_RATE // 10  # how far a quarter second is looked for around its place


def loud(ref: Samples) -> list[int]:
    return [
        at
        for at in range(0, len(ref) - SEG + 1, SEG)
        if float(np.sqrt(np.mean(ref[at : at + SEG] ** 2))) > 0.01
    ]


def measure(ref: Samples, recording: Samples) -> tuple[float, list[tuple[float, float]]]:
    """(end drift in ms, gaps as (export time in s, ms)): the recording's alignment with the
    export at its first sounding quarter second, the last one's shift from it, and every
    step of more than 1 ms in that shift between sounding quarter seconds (a positive step:
    silence inserted; negative: audio lost or overlapped)."""
    segments = loud(ref)
    first, match = find(ref[segments[0] : segments[0] + SEG], recording)
    assert match > 0.9, f"the start of the export is not in the recording ({match:.3f})"
    start = first - segments[0]
    shifts = []
    for at in segments:
        shift, match = best_match(ref[at : at + SEG], recording, start + at, REACH)
        if match > 0.98:  # (a quarter second with a join inside it matches less)
            shifts.append((at, shift))
    assert len(shifts) > len(segments) // 2, "the export is not in the recording"
    assert shifts[-1][0] == segments[-1], "the end of the export is not in the recording"
    gaps = [
        (at / SAMPLE_RATE, (shift - before) / FRAMES_PER_MS)
        for (_, before), (at, shift) in itertools.pairwise(shifts)
        if abs(shift - before) > FRAMES_PER_MS
    ]
    return shifts[-1][1] / FRAMES_PER_MS, gaps


def test_cut_point_is_the_middle_of_the_last_quiet_run() -> None:
    audio = np.full(SAMPLE_RATE, 0.5, dtype=np.float32)
    assert cut_point(audio) is None
    audio[6000 : 6000 + 6 * WINDOW] = QUIET_PEAK / 2  # 60 ms below -50 dBFS: a quiet run
    audio[12000 : 12000 + 5 * WINDOW] = 0  # 50 ms: too short
    assert cut_point(audio) == 6000 + 3 * WINDOW
    assert cut_point(audio, least=SAMPLE_RATE) is None


def test_auto_never_picks_simpleaudio(pulse: PulseServer) -> None:
    with open_output("auto") as out:
        assert out.name != "simpleaudio"


@needs_simpleaudio
def test_play_with_simpleaudio_matches_the_export(pulse: PulseServer, tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    ref, _ = exported(script)

    def run() -> None:
        rec = pulse.record(len(ref) / SAMPLE_RATE + 120.0)
        proc = vg("play", str(script), "--output", "simpleaudio", "--socket", str(tmp_path / "s"))
        _, err = proc.communicate(timeout=120)
        recording = rec.finish()
        assert proc.returncode == 0, err
        drift_ms, gaps = measure(ref, recording)
        steps = ", ".join(f"{ms:+.1f} ms at {at:.2f} s" for at, ms in gaps) or "none"
        print(f"\nsimpleaudio: end drift {drift_ms:+.1f} ms; steps {steps}")
        assert abs(drift_ms) <= END_DRIFT_MAX_MS, f"the end drifted {drift_ms:+.1f} ms"
        worst = max((abs(ms) for _, ms in gaps), default=0.0)
        assert worst <= STEP_MAX_MS, f"a join moved the audio {worst:.1f} ms: {gaps}"

    real_time(run)


@needs_simpleaudio
def test_pause_and_resume_with_simpleaudio(pulse: PulseServer, tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    ref, _ = exported(script)

    def run() -> None:
        sock = tmp_path / "ctl.sock"
        rec = pulse.record(len(ref) / SAMPLE_RATE + 180.0)
        proc = vg("play", str(script), "--output", "simpleaudio", "--socket", str(sock))
        try:
            wait_for_socket(sock, proc)
            _poll(sock, proc, lambda s: s["position_file_ms"] >= 2000, "playing", 30)
            assert ctl("pause", sock).strip() == "ok"
            status = _poll(sock, proc, lambda s: s["state"] == "paused", "pausing", 10)
            paused_at = status["position_file_ms"]
            held = _poll(sock, proc, lambda s: s["state"] == "paused", "paused", 10)
            assert held["position_file_ms"] == paused_at  # the clock holds while paused
            # Held while the recording shows two seconds of silence: waited on the sink.
            mark = rec.size() // 2
            while rec.size() // 2 < mark + 2 * SAMPLE_RATE:
                assert proc.poll() is None
                _poll(sock, proc, lambda s: s["state"] == "paused", "paused", 10)
            ctl("resume", sock)
            _poll(sock, proc, lambda s: s["position_file_ms"] >= paused_at + 1500, "resuming", 30)
        except BaseException:
            proc.kill()
            proc.communicate()
            rec.proc.kill()
            raise
        _, err = proc.communicate(timeout=120)
        recording = rec.finish()
        assert proc.returncode == 0, err
        start, match = find(ref[:SAMPLE_RATE], recording)
        assert match > 0.98
        level = np.sqrt(np.convolve(recording**2, np.ones(2400) / 2400, mode="valid"))
        quiet = level < 1e-4
        runs = np.split(quiet, np.flatnonzero(np.diff(quiet)) + 1)
        assert max((len(r) for r in runs if r[0]), default=0) > 1.5 * SAMPLE_RATE
        # The last sounding quarter second of the export is heard, after the pause.
        last = loud(ref)[-1]
        at, match = find(ref[last : last + SEG], recording)
        assert match > 0.95
        assert at > start + last + SAMPLE_RATE

    real_time(run)


def test_without_simpleaudio_play_names_the_fix(tmp_path: Path) -> None:
    """A broken or missing simpleaudio: exit 7 (no audio output) and one line with the fix."""
    shadow = tmp_path / "shadow" / "simpleaudio"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named simpleaudio')\n")
    script = write(tmp_path, ROUTINE)
    proc = vg(
        "play", str(script), "--output", "simpleaudio", env={"PYTHONPATH": str(shadow.parent)}
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.AUDIO, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "pip install 'voiceguide[simpleaudio]'" in lines[0]
    assert "gcc" in lines[0] and "libasound2-dev" in lines[0]
