"""The player on a busy machine: how many plays complete, and how many device stalls it
recovers from.

Run from the repository root (about 2 minutes with the defaults)::

    .venv/bin/python benchmarks/bench_play_load.py --plays 6 --load 8

It starts its own private PulseAudio server with a null sink and a low-latency listener on
its monitor (``tests/pulse.py``), and ``--load`` busy loops (``while True: pass``, one
process each) beside the player, for a load average of that many plus what else runs. Then
``--plays`` times, alternating the ``sounddevice`` and ``pacat`` backends, it plays a
12-second routine with ``voiceguide play`` (the real command line) and polls
``voiceguide ctl status`` while it plays. In every second play the sound server is stopped
(SIGSTOP) for 2.5 s in the middle, longer than the player's stall limit: an injected stall
that the player must recover from by reopening the device.

A play completes when it exits 0 having reached the end. The table gives, per backend,
completed plays, stalls injected, devices the player reopened (``device_failures``: the
injected stalls and any the load caused), the player's own underruns and the sound
library lines it kept off the terminal. Everything it started (busy loops, server,
listener, players) is killed at the end. Exits 0 if every play completed, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for the test suite's sound server
from benchmarks.report import prepare  # noqa: E402
from tests.pulse import PulseServer, PulseUnavailable, start_pulse  # noqa: E402

ROUTINE = """title: Load Test
intro: Load test.
steps:
  - name: Breathe
    duration: 6s
    say: Breathe slowly, and let your shoulders drop.
    breathing: {pattern: 3-0-3-0, spoken_cycles: 1}
  - name: Reach
    duration: 6s
    say: Reach up, then let your arms float down.
    cues:
      - {every: 2s, from: 4s, say: Easy.}
"""


@dataclass
class Play:
    backend: str
    stall: bool
    code: int | None = None
    finished: bool = False
    reopened: int = 0
    underruns: int = 0
    messages: int = 0
    error: str = ""


def voiceguide(*args: str, env: dict[str, str], **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "voiceguide", *args],
        cwd=REPO,
        env=env,
        text=True,
        stdin=subprocess.DEVNULL,
        **kw,
    )


def status(sock: Path, env: dict[str, str]) -> dict[str, object] | None:
    done = subprocess.run(
        [sys.executable, "-m", "voiceguide", "ctl", "status", "--socket", str(sock)],
        capture_output=True,
        text=True,
        env=env,
        timeout=20,
    )
    if done.returncode != 0:
        return None
    try:
        data: dict[str, object] = json.loads(done.stdout)
    except ValueError:
        return None
    return data


def play_once(server: PulseServer, script: Path, play: Play, root: Path) -> None:
    env = server.client_env
    sock = root / f"ctl-{time.monotonic_ns()}.sock"
    proc = voiceguide(
        "play",
        str(script),
        "--output",
        play.backend,
        "--socket",
        str(sock),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stalled = False
    try:
        while proc.poll() is None:
            now = status(sock, env) if sock.exists() else None
            if now is not None:
                play.reopened = max(play.reopened, int(str(now.get("device_failures") or 0)))
                play.underruns = int(str(now.get("underruns") or 0))
                play.messages = int(str(now.get("device_messages") or 0))
                if play.stall and not stalled and int(str(now["position_ms"])) > 5000:
                    stalled = True
                    server.proc.send_signal(signal.SIGSTOP)
                    try:
                        time.sleep(2.5)
                    finally:
                        server.proc.send_signal(signal.SIGCONT)
            time.sleep(0.2)
        _, err = proc.communicate(timeout=60)
    finally:
        server.proc.send_signal(signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    play.code = proc.returncode
    play.finished = proc.returncode == 0 and "finished" in err
    play.error = "" if play.finished else err.strip().splitlines()[-1:][0] if err.strip() else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plays", type=int, default=6)
    parser.add_argument("--load", type=int, default=8, help="busy processes beside the player")
    args = parser.parse_args()
    machine = prepare(REPO)
    with tempfile.TemporaryDirectory(prefix="vg-load-") as tmp:
        root = Path(tmp)
        os.environ["VOICEGUIDE_CACHE_DIR"] = str(root / "cache")
        script = root / "load.yaml"
        script.write_text(ROUTINE)
        try:
            server = start_pulse(root / "pulse")
        except PulseUnavailable as exc:
            print(f"cannot start PulseAudio: {exc}", file=sys.stderr)
            return 1
        busy: list[subprocess.Popen[bytes]] = []
        plays = [
            Play("sounddevice" if i % 2 == 0 else "pacat", stall=(i // 2) % 2 == 1)
            for i in range(args.plays)
        ]
        try:
            # Warm the speech cache first, so every play starts at once.
            env = server.client_env
            subprocess.run(
                [sys.executable, "-m", "voiceguide", "check", str(script)],
                cwd=REPO,
                env=env,
                check=True,
                capture_output=True,
            )
            busy = [
                subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(args.load)
            ]
            time.sleep(5.0)  # let the load average rise
            for i, play in enumerate(plays):
                play_once(server, script, play, root)
                load = os.getloadavg()[0]
                print(
                    f"play {i + 1}/{len(plays)} {play.backend:<11} stall injected: "
                    f"{'yes' if play.stall else 'no ':<3}  exit {play.code}  "
                    f"finished: {play.finished}  reopened: {play.reopened}  "
                    f"underruns: {play.underruns}  library lines: {play.messages}  "
                    f"load {load:.1f}  {play.error}",
                    flush=True,
                )
        finally:
            for proc in busy:
                proc.kill()
                proc.wait()
            server.proc.send_signal(signal.SIGCONT)
            server.stop()
    print(f"\n{machine}, {args.load} busy processes beside the player\n")
    print("| backend | plays completed | stalls injected | devices reopened | underruns |")
    print("|---|---|---|---|---|")
    for backend in ("sounddevice", "pacat"):
        mine = [p for p in plays if p.backend == backend]
        print(
            f"| {backend} | {sum(p.finished for p in mine)} of {len(mine)} | "
            f"{sum(p.stall for p in mine)} | {sum(p.reopened for p in mine)} | "
            f"{sum(p.underruns for p in mine)} |"
        )
    return 0 if all(p.finished for p in plays) else 1


if __name__ == "__main__":
    sys.exit(main())
