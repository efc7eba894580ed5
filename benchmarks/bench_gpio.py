"""A GPIO button press to its audible effect, through a real sound server (target <= 150 ms).

Run from the repository root (about 2 minutes)::

    .venv/bin/python benchmarks/bench_gpio.py --latency 0.1 --latency 0.2

It starts the test suite's private PulseAudio server with a null sink and a 20 ms listener
on its monitor (``tests/pulse.py``; nothing outside a temporary directory is touched), puts
gpiozero's ``MockFactory`` in as the pin factory, and plays in this process
(``voiceguide.pipeline.play`` with ``buttons=``, as ``voiceguide play --buttons`` does)
while ``parec`` records the monitor. A thread presses the mock pins (``drive_low``: the
moment of the press) and the recording says when the sound changed:

1. pause: a press-only pause button, pressed while the routine is speaking (a moment the
   export says has no 300 ms of quiet in the next 500 ms), to the first 5 ms window of a
   300 ms silence; then resumed (its re-cue spoken) for the next press.
2. start: a play waiting for start (``wait_start``), to its first sounding window, less the
   routine's own lead-in (where its export first sounds). One play per repeat.

Both include the output's buffer (``--latency``, seconds, repeatable; by default what a
play with buttons picks: ``player.buttons.BUTTON_LATENCY``, or the longer buffer of a busy
machine) and the recorder's own path (parec at 20 ms): they are upper bounds. Median and
worst of ``--repeat`` presses are printed, with the underruns the sound system reported.
Exits 0 after printing (a missed target is marked, not fatal); 1 if the sound server or
the export fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for the test suite's sound server
from tests.pulse import PulseServer, PulseUnavailable, Recording, start_pulse  # noqa: E402

Samples = npt.NDArray[np.float32]
RATE = 24_000  # the null sink's rate, the player's own
WINDOW = RATE // 200  # 5 ms
SOUND = 1e-3  # RMS of a window above this (-60 dBFS) is sound
QUIET_RUN = 60  # windows (300 ms) of no sound: the pause
TARGET_MS = 150.0
UNDERRUNS: list[int] = []  # the sound system's, reported by each pause play at its end
PAUSE_PIN, START_PIN = 17, 5
BUTTONS = f'[buttons.{PAUSE_PIN}]\npress = "pause"\n[buttons.{START_PIN}]\npress = "start"\n'
ROUTINE = """title: Button Latency
intro: Button latency.
steps:
  - name: Talk
    duration: 90s
    say: Keep breathing slowly and steadily.
    cues:
      - {every: 3s, from: 4s, say: Still here with you.}
"""


def envelope(samples: Samples) -> Samples:
    """RMS per 5 ms window."""
    n = len(samples) // WINDOW
    blocks = samples[: n * WINDOW].reshape(n, WINDOW)
    return np.sqrt(np.mean(blocks**2, axis=1)).astype(np.float32)


def quiet_from(env: Samples, at: int) -> int | None:
    """The first window from ``at`` that begins QUIET_RUN windows of no sound."""
    loud = env >= SOUND
    run = 0
    for i in range(at, len(env)):
        run = 0 if loud[i] else run + 1
        if run == QUIET_RUN:
            return i - QUIET_RUN + 1
    return None


def sound_from(env: Samples, at: int) -> int | None:
    """The first sounding window from ``at``."""
    hits = np.flatnonzero(env[at:] >= SOUND)
    return at + int(hits[0]) if len(hits) else None


def speaking(ref_env: Samples, ms: int) -> bool:
    """Whether the export sounds at ``ms`` with no 300 ms of quiet starting in 500 ms."""
    at = ms // 5
    if at + 160 > len(ref_env) or ref_env[at] < SOUND:
        return False
    found = quiet_from(ref_env[: at + 160], at)
    return found is None


class Player:
    """One play in this process, driven from a thread: its status through the socket."""

    def __init__(self, sock: Path) -> None:
        self.sock = sock
        self.done = threading.Event()

    def status(self) -> dict[str, Any]:
        from voiceguide.player.channel import send_command

        data: dict[str, Any] = json.loads(send_command("status", self.sock))
        return data

    def until(self, ok: Callable[[dict[str, Any]], bool], timeout: float = 60.0) -> dict[str, Any]:
        from voiceguide.player.channel import ControlError, NoPlayer

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.done.is_set():
            with contextlib.suppress(NoPlayer, ControlError):
                status = self.status()
                if ok(status):
                    return status
            time.sleep(0.005)
        raise TimeoutError("the player never got there")


def play_driven(
    script: Path, buttons: Path, sock: Path, drive: Callable[[Player], None], **options: Any
) -> None:
    """Play ``script`` here with the buttons while ``drive`` runs on a thread; then stop."""
    from voiceguide.pipeline import play
    from voiceguide.player.channel import ControlError, NoPlayer, send_command

    player = Player(sock)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            drive(player)
        except BaseException as exc:
            failed.append(exc)
        with contextlib.suppress(NoPlayer, ControlError):
            send_command("stop", sock)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        play(script, socket=sock, buttons=buttons, **options)
    finally:
        player.done.set()
        thread.join(30)
    if failed:
        raise failed[0]


def press(pins: Any, pin: int) -> float:
    """Press and release the mock button on ``pin``; the moment it went down."""
    mock = pins.pin(pin)
    at = time.monotonic()
    mock.drive_low()
    time.sleep(0.05)
    mock.drive_high()
    return at


def frame(rec: Recording, moment: float) -> int:
    return round((moment - rec.started_at) * RATE)


def measure_pause(
    server: PulseServer, pins: Any, tmp: Path, ref_env: Samples, repeat: int, **options: Any
) -> list[float]:
    script, buttons = tmp / "routine.yaml", tmp / "buttons.toml"
    presses: list[float] = []

    def drive(p: Player) -> None:
        for _ in range(repeat):
            p.until(lambda s: s["state"] == "playing" and speaking(ref_env, s["position_file_ms"]))
            presses.append(press(pins, PAUSE_PIN))
            p.until(lambda s: s["state"] == "paused")
            time.sleep(0.6)  # held paused for the quiet run
            press(pins, PAUSE_PIN)
            resumed: int = p.until(lambda s: s["state"] == "playing")["position_file_ms"]
            p.until(lambda s, at=resumed: s["position_file_ms"] > at + 1000)  # re-cue said
        UNDERRUNS.append(p.status()["device_underruns"] or 0)

    rec = server.record(600.0, "pause")
    play_driven(script, buttons, tmp / "pause.sock", drive, **options)
    env = envelope(rec.finish())
    out = []
    for moment in presses:
        at = frame(rec, moment) // WINDOW
        quiet = quiet_from(env, at)
        out.append(float("nan") if quiet is None else (quiet - at) * 5.0)
    return out


def measure_start(
    server: PulseServer, pins: Any, tmp: Path, lead_in_ms: float, repeat: int, **options: Any
) -> list[float]:
    script, buttons = tmp / "routine.yaml", tmp / "buttons.toml"
    out = []
    moments: list[float] = []

    def drive(p: Player) -> None:
        p.until(lambda s: s["state"] == "waiting-start")
        time.sleep(0.3)  # silence before
        moments.append(press(pins, START_PIN))
        p.until(lambda s: s["position_file_ms"] > lead_in_ms + 1000)

    for i in range(repeat):
        moments.clear()

        rec = server.record(600.0, f"start-{i}")
        play_driven(script, buttons, tmp / "start.sock", drive, wait_start=True, **options)
        env = envelope(rec.finish())
        at = frame(rec, moments[0]) // WINDOW
        sound = sound_from(env, at)
        out.append(float("nan") if sound is None else (sound - at) * 5.0 - lead_in_ms)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--output", default="auto", help="the play's --output (auto, pacat...)")
    parser.add_argument(
        "--latency",
        type=float,
        action="append",
        help="the output buffer in seconds (repeatable) [what a play with buttons picks]",
    )
    args = parser.parse_args()
    import soundfile as sf
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    from voiceguide.player.buttons import BUTTON_LATENCY
    from voiceguide.player.priority import LOADED_LATENCY, busy_machine

    latencies: list[float | None] = list(args.latency or [None])
    rows: list[tuple[str, list[float]]] = []
    with tempfile.TemporaryDirectory(prefix="vg-bench-gpio-") as name:
        tmp = Path(name)
        try:
            server = start_pulse(tmp / "pulse", "vgbenchgpio")
        except PulseUnavailable as exc:
            print(f"cannot start PulseAudio: {exc}", file=sys.stderr)
            return 1
        try:
            with server.applied():
                (tmp / "routine.yaml").write_text(ROUTINE, encoding="utf-8")
                (tmp / "buttons.toml").write_text(BUTTONS, encoding="utf-8")
                wav = tmp / "routine.wav"
                done = subprocess.run(
                    [sys.executable, "-m", "voiceguide", "export", str(tmp / "routine.yaml")]
                    + ["-o", str(wav)],
                    capture_output=True,
                    text=True,
                )
                if done.returncode:
                    print(f"export failed: {done.stderr.strip()}", file=sys.stderr)
                    return 1
                ref_env = envelope(sf.read(str(wav), dtype="float32")[0])
                lead_in_ms = (sound_from(ref_env, 0) or 0) * 5.0
                Device.pin_factory = MockFactory()
                pins = Device.pin_factory
                for latency in latencies:
                    if latency is None:
                        busy = busy_machine()
                        shown = f"{LOADED_LATENCY if busy else BUTTON_LATENCY:g} s"
                        shown += " (busy machine)" if busy else ""
                    else:
                        shown = f"{latency:g} s"
                    options = {"output": args.output, "latency": latency}
                    pause = measure_pause(server, pins, tmp, ref_env, args.repeat, **options)
                    start = measure_start(server, pins, tmp, lead_in_ms, args.repeat, **options)
                    shown += f", {UNDERRUNS[-1] if UNDERRUNS else '?'} underruns"
                    rows.append((f"pause, buffer {shown}", pause))
                    rows.append((f"start, buffer {shown.split(',')[0]}", start))
        finally:
            server.stop()
    print(f"GPIO press to audible effect, --output {args.output}, {args.repeat} presses each")
    print(f"{'':<44}{'median':>10}{'worst':>10}   target")
    for label, found in rows:
        values = [v for v in found if v == v]  # NaN: no effect found in the recording
        if not values:
            print(f"{label:<44}no effect found")
            continue
        med, worst = statistics.median(values), max(values)
        missing = len(found) - len(values)
        mark = "" if worst <= TARGET_MS and not missing else "  MISSED"
        mark += f" ({missing} without an effect found)" if missing else ""
        print(f"{label:<44}{med:>8.0f} ms{worst:>7.0f} ms   <= {TARGET_MS:.0f} ms{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
