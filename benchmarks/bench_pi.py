"""The appliance budget (a Raspberry Pi Zero 2 W has 512 MB): the player's peak memory and
CPU while the daily routine plays warm, and the `voiceguide ctl` round trip, each beside
its target and a floor from the same run.

Run from the repository root (about 90 s)::

    .venv/bin/python benchmarks/bench_pi.py

1. Warm: ``voiceguide export daily`` into a private cache (the speech and the loudness
   analysis cached, as on an appliance that has played its routine before).
2. ``voiceguide play daily`` in real time through the default output (sounddevice, through
   ALSA's pulse plugin) into a private PulseAudio null sink (``tests/pulse.py``, with a
   low-latency listener so it behaves like a sound card); ``--output pacat`` or ``null``
   instead with ``--output``. After ``CPU_SKIP_S`` from its socket appearing:
   - CPU: the player process's utime+stime (``/proc/PID/stat``, its threads, not its
     children) over ``--seconds`` (60), in % of one core. Floor: ``pacat`` playing the
     export's PCM into the same sink over the same length (a C program moving the audio).
   - the ``ctl status`` round trip, ``--rounds`` (20) times one after another: as a
     subprocess, what a user or a button script pays (floor: ``python -c pass``, the
     interpreter's start-up alone), and the socket round trip alone, in this process
     (``voiceguide.player.channel.send_command``).
   - peak RSS: the player's VmHWM (``/proc/PID/status``) just before it is stopped (``ctl
     stop``), after the CPU window and the round trips. Floor: ``python -c pass``'s VmHWM.
   The child ``pacat`` of ``--output pacat`` is shown on rows of its own.

Everything started is stopped at the end (the players first, the server last). Exits 0 after
printing the table (targets missed are marked, not fatal); 1 if a command fails or the sound
server cannot start (the reason is printed).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_play import (
    VOICEGUIDE,
    CommandFailed,
    _comm,
    children,
    cleanup,
    cpu_ticks,
    end,
    run,
    spawn,
    start_server,
)
from report import cells, layout, prepare

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from voiceguide.player.channel import send_command  # noqa: E402

CPU_SKIP_S = 3.0
RATE = 24_000

# Targets.
RSS_MAX_MB = 100.0  # a Pi Zero 2 W (512 MB) keeps room for the system and a sound server
CPU_MAX_PCT = 5.0  # of one core, on this machine
CTL_MAX_MS = 50.0


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory of process ``pid`` (VmHWM), in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise CommandFailed(f"no VmHWM in /proc/{pid}/status")


def python_rss_mb(env: dict[str, str]) -> float:
    """``python``'s peak RSS doing nothing (MB, read at its own exit)."""
    code = "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')))"
    _, out = run([sys.executable, "-c", code], env)
    return int(out.split()[1]) * 1024 / 1e6


def wait_socket(proc: subprocess.Popen[bytes], sock: Path, stderr: Path) -> None:
    deadline = time.monotonic() + 120
    while not sock.exists():  # the socket opens just before the output starts
        if proc.poll() is not None:
            raise CommandFailed(
                f"the player exited with {proc.returncode}", stderr.read_text(errors="replace")
            )
        if time.monotonic() > deadline:
            raise CommandFailed("the player never opened its socket")
        time.sleep(0.01)


def cpu_pct(pids: list[int], seconds: float) -> list[float]:
    """% of one core each of ``pids`` used over the same next ``seconds``."""
    tick = os.sysconf("SC_CLK_TCK")
    w0, c0 = time.monotonic(), [cpu_ticks(p) for p in pids]
    time.sleep(seconds)
    w1, c1 = time.monotonic(), [cpu_ticks(p) for p in pids]
    return [100 * (b - a) / tick / (w1 - w0) for a, b in zip(c0, c1, strict=True)]


def round_trips(
    sock: Path, env: dict[str, str], rounds: int
) -> tuple[list[float], list[float], list[float]]:
    """``voiceguide ctl status`` (the installed command) as a subprocess, ``python -c pass``
    and the socket alone, ``rounds`` times each, interleaved (seconds)."""
    script = Path(sys.executable).parent / "voiceguide"
    ctl = [str(script)] if script.exists() else VOICEGUIDE
    command, python, alone = [], [], []
    for _ in range(rounds):
        seconds, out = run([*ctl, "ctl", "status", "--socket", str(sock)], env, 20)
        if '"state"' not in out:
            raise CommandFailed("ctl status gave no status", out)
        command.append(seconds)
        python.append(run([sys.executable, "-c", "pass"], env)[0])
        t0 = time.perf_counter()
        send_command("status", sock)
        alone.append(time.perf_counter() - t0)
    return command, python, alone


def pacat_floor(server_env: dict[str, str], wav: Path, seconds: float, tmp: Path) -> float:
    """% of one core ``pacat`` takes playing the export's PCM into the sink for ``seconds``."""
    import soundfile as sf

    raw = tmp / "daily.raw"
    pcm, rate = sf.read(str(wav), dtype="int16")
    if rate != RATE:
        raise CommandFailed(f"{wav} is not {RATE} Hz")
    pcm.astype("<i2").tofile(raw)
    cmd = ["pacat", "--raw", "--format=s16le", f"--rate={RATE}", "--channels=1", str(raw)]
    proc = spawn(cmd, server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(CPU_SKIP_S)
        if proc.poll() is not None:
            raise CommandFailed(f"pacat exited with {proc.returncode}")
        return cpu_pct([proc.pid], seconds)[0]
    finally:
        end(proc)


def measure(tmp: Path, args: argparse.Namespace) -> list[list[str]]:
    base_env = {k: v for k, v in os.environ.items() if k != "VOICEGUIDE_CACHE_DIR"}
    env = {**base_env, "VOICEGUIDE_CACHE_DIR": str(tmp / "cache")}
    wav = tmp / "daily.wav"
    warmed, _ = run([*VOICEGUIDE, "export", args.script, "-o", str(wav), "--force"], env, 900)
    print(f"  warm-up: export {args.script} in {warmed:.1f} s", flush=True)
    python_mb = python_rss_mb(env)

    server = start_server(tmp / "pulse")
    try:
        play_env = {**server.client_env, "VOICEGUIDE_CACHE_DIR": str(tmp / "cache")}
        sock = tmp / "ctl.sock"
        stderr = tmp / "play.err"
        cmd = [*VOICEGUIDE, "play", args.script, "--output", args.output, "--socket", str(sock)]
        with stderr.open("wb") as err:
            proc = spawn(cmd, play_env, stdout=err, stderr=err)
        try:
            wait_socket(proc, sock, stderr)
            time.sleep(CPU_SKIP_S)
            kids = [k for k in children(proc.pid) if _comm(k) == "pacat"]
            try:
                player_cpu, *kid_cpu = cpu_pct([proc.pid, *kids], args.seconds)
                command, python, alone = round_trips(sock, play_env, args.rounds)
                player_mb = vm_hwm_mb(proc.pid)
                kid_mb = sum(vm_hwm_mb(k) for k in kids)
            except (OSError, CommandFailed) as exc:  # /proc/PID gone: the play ended
                proc.poll()
                raise CommandFailed(
                    f"the player stopped while measured (status {proc.returncode}; is "
                    f"{args.script} shorter than the {args.seconds:g} s measured?): {exc}",
                    stderr.read_text(errors="replace"),
                ) from None
            run([*VOICEGUIDE, "ctl", "stop", "--socket", str(sock)], play_env, 20)
            proc.wait(30)
        finally:
            end(proc)
        floor_cpu = pacat_floor(server.client_env, wav, min(args.seconds, 20.0), tmp)
    finally:
        server.stop()

    ms = [1000 * s for s in command]
    rows = [
        cells(
            "peak RSS, player (VmHWM)",
            [player_mb],
            lambda v: f"{v:.1f} MB",
            floor_label="python -c pass",
            floor=python_mb,
            ratio=f"{player_mb / python_mb:.1f}x",
            target=f"<= {RSS_MAX_MB:g} MB",
            ok=player_mb <= RSS_MAX_MB,
        ),
        cells(
            f"CPU while playing ({args.output})",
            [player_cpu],
            lambda v: f"{v:.2f} %",
            floor_label="pacat, the same PCM",
            floor=floor_cpu,
            ratio=f"{player_cpu / floor_cpu:.1f}x" if floor_cpu > 0 else "",
            target=f"<= {CPU_MAX_PCT:g} % of a core",
            ok=player_cpu <= CPU_MAX_PCT,
        ),
        cells(
            "ctl status, subprocess",
            ms,
            lambda v: f"{v:.1f} ms",
            floor_label="python -c pass",
            floor=1000 * statistics.median(python),
            ratio=f"{statistics.median(ms) / (1000 * statistics.median(python)):.1f}x",
            target=f"<= {CTL_MAX_MS:g} ms",
            ok=statistics.median(ms) <= CTL_MAX_MS,
        ),
        cells("  worst of them", [max(ms)], lambda v: f"{v:.1f} ms"),
        cells("socket round trip alone", [1000 * s for s in alone], lambda v: f"{v:.2f} ms"),
    ]
    if kids:
        rows.insert(1, cells("  its pacat child (VmHWM)", [kid_mb], lambda v: f"{v:.1f} MB"))
        rows.insert(3, cells("  its pacat child", [sum(kid_cpu)], lambda v: f"{v:.2f} %"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="CPU window [60]")
    parser.add_argument("--rounds", type=int, default=20, help="ctl round trips [20]")
    parser.add_argument(
        "--output", default="auto", help="the player's --output [auto: sounddevice]"
    )
    parser.add_argument("--script", default="daily", help="the routine played [daily]")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    machine = prepare(REPO)
    print(
        f"voiceguide appliance budget: {args.script} played warm, --output {args.output}\n"
        f"{machine}; engine {os.environ.get('VOICEGUIDE_ENGINE')}",
        flush=True,
    )
    signal.signal(signal.SIGTERM, _interrupt)  # kill -TERM: clean up as after Ctrl-C
    try:
        with tempfile.TemporaryDirectory(
            prefix="voiceguide-bench-pi-", ignore_cleanup_errors=True
        ) as tmp:
            try:
                rows = measure(Path(tmp), args)
            finally:
                cleanup()  # before the directory goes: the server lives in it
    except CommandFailed as exc:
        print(f"bench_pi: {exc}\n{exc.detail}".rstrip(), file=sys.stderr)
        return 1
    except OSError as exc:  # a command that cannot be started
        print(f"bench_pi: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_pi: interrupted", file=sys.stderr)
        return 130
    print()
    print(layout(rows))
    print(
        f"\nCPU: % of one core, the player process only, {args.seconds:g} s from"
        f" {CPU_SKIP_S:g} s after its socket opened (the floor over {min(args.seconds, 20):g} s)."
        f"\nctl: median and worst of {args.rounds}, one after another, while it plays; the"
        " socket alone is send_command in this process.\nRSS: VmHWM just before `ctl stop`."
        f"\nWhole run {time.perf_counter() - began:.0f} s."
    )
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
