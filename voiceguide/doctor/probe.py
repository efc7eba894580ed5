"""The parts of doctor that run native code, each in a child process of its own.

``python -m voiceguide.doctor.probe WHAT ...`` does one thing and prints one line of JSON
after ``MARK``: ``engine NAME`` lists an engine's voices and speaks WORD with its default
voice, straight from the engine (no speech cache); ``outputs`` lists the audio outputs and
why a backend has none (``outputs bare``: without PortAudio); ``open OUTPUT [DEVICE]``
opens an output and closes it unheard; ``tone OUTPUT [DEVICE]`` plays the step chime on it.
A native library that hangs is killed at the time limit, and one that crashes (PortAudio
aborts on a broken ALSA configuration) is reported: doctor goes on. ``run`` is the
parent's side.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voiceguide.voices.base import Samples

MARK = "voiceguide-probe: "
WORD = "ready"
_LIVE: set[subprocess.Popen[str]] = set()  # probes running: ``stop_all`` ends them


def engine(name: str) -> dict[str, Any]:
    """The engine's voices (how many, how many ready) and WORD spoken: how long speaking
    took (the engine's start included), how long it sounds and its peak."""
    import numpy as np

    from voiceguide.errors import EngineError
    from voiceguide.model import VoiceSettings
    from voiceguide.voices import get_engine

    try:
        chosen = get_engine(name)
        voices = chosen.voices()
        started = time.monotonic()
        samples, rate = chosen.synthesize(WORD, VoiceSettings(engine=name))
        took = time.monotonic() - started
        identity = chosen.identity(VoiceSettings(engine=name))
    except EngineError as exc:
        return {"error": str(exc)}
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return {
        "voices": len(voices),
        "ready": sum(1 for v in voices if not v.note),
        "seconds": took,
        "audio_ms": round(1000 * samples.size / rate) if rate else 0,
        "peak": peak,
        "identity": identity,
    }


def outputs(portaudio: bool = True) -> dict[str, Any]:
    """Every backend's devices and problems (``player.devices``); PortAudio's version."""
    if not portaudio:
        sys.modules["sounddevice"] = None  # type: ignore[assignment]  # cannot be imported
    from voiceguide.player.devices import backend_problems, list_devices

    found = [asdict(d) for d in list_devices()]
    problems = backend_problems()
    version = None
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        version = str(sd.get_portaudio_version()[1]).partition(",")[0]
    return {"devices": found, "problems": problems, "portaudio": version}


def tone(output: str, device: str | None, play: bool = True) -> dict[str, Any]:
    """Open ``output`` (``device``) and, with ``play``, play the step chime on it and return
    once it has been heard; without, close it unheard (opening is what fails on a machine
    that cannot play)."""
    import numpy as np

    from voiceguide.errors import AudioDeviceError
    from voiceguide.player.output import open_output
    from voiceguide.tones import CHIME_MS
    from voiceguide.tones import tone as render
    from voiceguide.units import ms_to_frames

    chime = render("chime", ms_to_frames(CHIME_MS))
    pulled = [0]

    def pull(n: int) -> Samples:
        block = np.zeros(n, dtype=np.float32)
        start = min(pulled[0], chime.size)
        part = chime[start : start + n]
        block[: part.size] = part
        pulled[0] += n
        return block

    try:
        with open_output(output, device) as out:
            if not play:
                return {"output": out.name}
            out.start(pull)
            while out.pulled_frames() < chime.size and out.failed is None:
                time.sleep(0.02)  # the parent's time limit bounds a device that takes nothing
            out.stop(drain=True)
            if out.failed is not None:
                return {"error": str(out.failed)}
            return {"output": out.name, "ms": CHIME_MS}
    except AudioDeviceError as exc:
        return {"error": str(exc)}


def main() -> None:
    what, args = sys.argv[1], sys.argv[2:]
    if what == "engine":
        result = engine(args[0])
    elif what == "outputs":
        result = outputs(portaudio=args != ["bare"])
    elif what in ("tone", "open"):
        result = tone(args[0], args[1] if len(args) > 1 else None, play=what == "tone")
    else:
        raise SystemExit(f"unknown probe {what!r}")
    sys.stdout.write(MARK + json.dumps(result) + "\n")
    sys.stdout.flush()


def run(args: list[str], timeout: float) -> tuple[dict[str, Any] | None, str | None]:
    """The probe's result, or what went wrong: its time limit (with the fix), or a crash
    (the signal or status, and the last line it wrote on stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceguide.doctor.probe", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: a timeout kills an engine's helpers too
    )
    _LIVE.add(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        proc.communicate()
        return None, (
            f"did not finish within {timeout:g} s; fix: voiceguide doctor --timeout {timeout * 4:g}"
        )
    finally:
        _LIVE.discard(proc)
    for line in out.splitlines():
        if line.startswith(MARK):
            result: dict[str, Any] = json.loads(line[len(MARK) :])
            return result, None
    last = (err.strip().splitlines() or [""])[-1]
    if proc.returncode < 0:
        what = f"signal {signal.Signals(-proc.returncode).name}"
    else:
        what = f"status {proc.returncode}"
    return None, f"crashed ({what}) {last}".rstrip()


def _kill(proc: subprocess.Popen[str]) -> None:
    """Kill ``proc``'s process group: the probe and any helper it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def stop_all() -> None:
    """Kill every probe still running (doctor interrupted, or a check past its limit): in
    sessions of their own, they would outlive doctor."""
    for proc in list(_LIVE):
        _kill(proc)


if __name__ == "__main__":
    main()
