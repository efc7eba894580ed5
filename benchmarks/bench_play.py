"""Player benchmarks through a real sound server, each figure beside a floor from the same run.

Run from the repository root (about 5 minutes; ``--repeat 1`` for a quick look)::

    .venv/bin/python benchmarks/bench_play.py

It starts its own private PulseAudio server with a null sink (24000 Hz mono s16le, as in
``tests/pulse.py``: root is fine, nothing outside a temporary directory is touched) and a
low-latency listener on its monitor, so the null sink behaves like a sound card. Everything
it started is killed at the end. ``voiceguide play`` runs as a subprocess of the real
command line, for the ``sounddevice`` (default) and ``pacat`` backends, and the sink's
monitor is recorded with ``parec``:

1. Time to first sound: from launching ``voiceguide play SCRIPT`` to the routine's first
   sound arriving at the monitor, less the routine's own lead-in silence (where its export
   first sounds) and less the monitor path's latency, measured as the floor below. WARM (the
   speech and the loudness analysis cached by an export of the same script) for a short
   built-in routine (``techniques/towel-lower-back-release``) and for ``daily``; COLD (a
   fresh empty cache each run) for both. The player is stopped (SIGTERM) once it
   sounds. Floors: ``pacat`` launched on a 50 ms click, to the click arriving through the
   same recorder (this is what is subtracted), and ``python -c pass``.
2. CPU while playing: the player process's own utime+stime (``/proc/PID/stat``) over 30 s of
   steady playback (from 3 s after its socket appears) of a 2-minute routine (the built-in
   Cat-Cow step: speech, breath tones), in % of one core. Floor: the ``pacat`` child of the
   pacat backend over the same window (a C program moving the same PCM to the server).
3. End alignment over that 2-minute routine: the export's first sounding quarter second is
   found in the recording, and its last one within 1 s of where the first one's alignment
   puts it (normalised cross-correlation, as ``best_match`` in ``tests/test_player_e2e.py``);
   the error is how far (in frames at 24000 Hz) the end sits from that place.
4. Underruns the player reports (``voiceguide ctl status``) 3 s before the end of that play.

The 2-minute plays (``--repeat`` x 2 backends) run ``--jobs`` at a time (default 3: two
rounds with three repeats, so the run stays near 5 minutes; one at a time would take 13),
each on its own private PulseAudio server with its own listener and recorder, so they
neither hear nor wait for each other (a player takes about 1 % of a core). The
time-to-first-sound runs are one at a time. Shared machines are noisy, so figures are
medians (and min) of ``--repeat`` runs, interleaved with their floors. When an end is
misaligned, the notes say where in the routine the audio moved (a gap: silence inserted).

Exits 0 after printing the table (targets missed are marked, not fatal); 1 if a command
fails or the sound server cannot start (the reason is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from report import cells, layout, prepare

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for the test suite's sound server
from tests.pulse import PulseServer, PulseUnavailable, start_pulse  # noqa: E402

VOICEGUIDE = [sys.executable, "-m", "voiceguide"]
PYTHON_FLOOR = [sys.executable, "-c", "pass"]
SHORT = "techniques/towel-lower-back-release"
DAILY = "daily"
CAT_COW = REPO / "scripts" / "techniques" / "cat-cow.yaml"
BACKENDS = ("sounddevice", "pacat")

RATE = 24_000  # the null sink's rate: the player's own, so nothing is resampled
SINK = "vgbench"
THRESHOLD = 100  # int16: a sample above this (-50 dBFS) is sound; the null sink is exact zero
CPU_SKIP_S = 3.0
CPU_WINDOW_S = 30.0
STATUS_BEFORE_END_S = 3.0
SEGMENT = RATE // 4  # a quarter second
REACH = RATE  # frames either side of the expected place searched for the end (1 s)

# Targets.
FIRST_SOUND_WARM_MAX_S = 0.4
CPU_MAX_PCT = 5.0
END_ERROR_MAX_FRAMES = 24  # 1 ms

Samples = npt.NDArray[np.float32]


class CommandFailed(Exception):
    """A command failed or did not do what it was run for (``detail`` says what it printed)."""

    def __init__(self, what: str, detail: str = "") -> None:
        super().__init__(what)
        self.detail = detail


# -- processes -------------------------------------------------------------------------------

_started: list[subprocess.Popen[bytes]] = []  # every process started here, killed at the end
_started_lock = threading.Lock()


def spawn(cmd: Sequence[str], env: dict[str, str], **kw: Any) -> subprocess.Popen[bytes]:
    """Start ``cmd`` (in the repository, stdin from /dev/null), remembered for the cleanup."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    proc: subprocess.Popen[bytes] = subprocess.Popen(list(cmd), cwd=REPO, env=env, **kw)
    with _started_lock:
        _started.append(proc)
    return proc


def end(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Send ``sig`` to ``proc`` (by its pid) if it runs, wait; SIGKILL if it does not exit."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


_abort = threading.Event()  # set by cleanup(): waiting threads give up


def cleanup() -> None:
    """Stop every process started here (the players first, the servers last)."""
    _abort.set()
    with _started_lock:
        procs = list(_started)
    for proc in procs:
        with contextlib.suppress(Exception):
            end(proc, signal.SIGKILL if proc.args[0] == "pulseaudio" else signal.SIGTERM, 5.0)


def run(cmd: Sequence[str], env: dict[str, str], timeout: float = 60.0) -> tuple[float, str]:
    """Run ``cmd`` to the end; its wall time and stdout. Raise on failure."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = spawn(cmd, env, stdout=out, stderr=err)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            end(proc)
            raise CommandFailed(f"{' '.join(cmd)} took over {timeout:g} s") from None
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise CommandFailed(
                f"{' '.join(cmd)} exited with {proc.returncode}",
                err.read().decode(errors="replace"),
            )
        return seconds, out.read().decode(errors="replace")


def play_cmd(script: Path | str, backend: str, sock: Path, *extra: str) -> list[str]:
    return [*VOICEGUIDE, "play", str(script), "--output", backend, "--socket", str(sock), *extra]


def cpu_ticks(pid: int) -> int:
    """utime + stime of process ``pid`` (its own threads, not its children), in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(x) for x in task.read_text().split()]
    return found


# -- the sound server ------------------------------------------------------------------------


def start_server(root: Path) -> PulseServer:
    """The test suite's private PulseAudio server (``tests/pulse.py``), with the null sink
    SINK as the default output and a 20 ms reader on its monitor."""
    try:
        return start_pulse(root, SINK)
    except PulseUnavailable as exc:
        raise CommandFailed("cannot start PulseAudio", str(exc)) from None


class Recorder:
    """``parec`` on the monitor, kept in memory, with when each chunk arrived.

    ``time_of(frame)`` maps a recorded frame to ``time.monotonic()``: the lower envelope of
    (arrival - frames before the chunk's end), i.e. as if each chunk arrived the moment its
    last frame was recorded. What remains is the monitor path's latency, which the pacat
    click floor (through the same kind of recorder) contains too.
    """

    def __init__(self, server: PulseServer) -> None:
        self.proc = spawn(
            [
                "parec",
                "-d",
                f"{SINK}.monitor",
                "--format=s16le",
                f"--rate={RATE}",
                "--channels=1",
                "--raw",
                "--latency-msec=20",
            ],
            server.client_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.data = bytearray()
        self.offset = float("inf")
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, name="parec-recorder", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := self.proc.stdout.read1(65536):
            now = time.monotonic()
            with self.lock:
                self.data += chunk
                self.offset = min(self.offset, now - len(self.data) // 2 / RATE)

    def wait_running(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.frames() < RATE // 10:  # 0.1 s recorded: the stream is running
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise CommandFailed("parec recorded nothing from the null sink's monitor")
            time.sleep(0.005)

    def frames(self) -> int:
        with self.lock:
            return len(self.data) // 2

    def int16(self, start: int = 0, stop: int | None = None) -> npt.NDArray[np.int16]:
        with self.lock:
            stop = len(self.data) // 2 if stop is None else stop
            return np.frombuffer(bytes(self.data[2 * start : 2 * stop]), dtype="<i2")

    def time_of(self, frame: int) -> float:
        with self.lock:
            return self.offset + frame / RATE

    def stop(self) -> Samples:
        """End the recording; everything recorded, as float in [-1, 1)."""
        end(self.proc, signal.SIGTERM, 5.0)
        self.thread.join(5.0)
        return self.int16().astype(np.float32) / 32768.0


def first_sound(
    rec: Recorder,
    proc: subprocess.Popen[bytes],
    timeout: float,
    grace: float = 1.0,
    what: Callable[[], str] = str,
) -> int:
    """The first recorded frame above THRESHOLD, waiting for it while ``proc`` lives.

    A process that exits gets ``grace`` seconds more (its last audio is still on its way).
    """
    scanned = 0
    deadline = time.monotonic() + timeout
    exited_at: float | None = None
    while True:
        n = rec.frames()
        if n > scanned:
            hits = np.flatnonzero(np.abs(rec.int16(scanned, n).astype(np.int32)) > THRESHOLD)
            if hits.size:
                return scanned + int(hits[0])
            scanned = n
        now = time.monotonic()
        if exited_at is None and proc.poll() is not None:
            exited_at = now
        if exited_at is not None and now - exited_at > grace:
            raise CommandFailed(f"exited with {proc.returncode} without a sound", what())
        if now > deadline:
            raise CommandFailed(f"no sound within {timeout:g} s", what())
        time.sleep(0.002)


def lead_in(wav: Path) -> int:
    """Frames of silence before an export first sounds (the same threshold)."""
    import soundfile as sf

    pcm, rate = sf.read(str(wav), dtype="int16")
    if rate != RATE or pcm.ndim != 1:
        raise CommandFailed(f"{wav} is not mono {RATE} Hz")
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > THRESHOLD)
    if not loud.size:
        raise CommandFailed(f"{wav} is silent")
    return int(loud[0])


# -- 1. time to first sound ------------------------------------------------------------------


def click_floor(server: PulseServer, click: Path) -> float:
    """Seconds from launching ``pacat`` on a click to the click arriving at the recorder."""
    rec = Recorder(server)
    try:
        rec.wait_running()
        cmd = [
            "pacat",
            "--raw",
            "--format=s16le",
            f"--rate={RATE}",
            "--channels=1",
            "--latency-msec=20",
            str(click),
        ]
        with tempfile.TemporaryFile() as err:
            t0 = time.monotonic()
            proc = spawn(cmd, server.client_env, stdout=subprocess.DEVNULL, stderr=err)
            try:
                frame = first_sound(rec, proc, 10.0, what=lambda: _read(err))
            finally:
                end(proc)
        return rec.time_of(frame) - t0
    finally:
        rec.stop()


def _read(file: object) -> str:
    assert hasattr(file, "seek") and hasattr(file, "read")
    file.seek(0)
    data: bytes = file.read()
    return data.decode(errors="replace").strip()


def time_to_sound(
    server: PulseServer,
    script: str,
    backend: str,
    cache: Path,
    lead: int,
    sock: Path,
    extra: Sequence[str] = (),
) -> tuple[float, str]:
    """Seconds from launching the player to the routine's frame 0 arriving at the recorder
    (its first sound, less its lead-in); and what the player printed to stderr."""
    rec = Recorder(server)
    try:
        rec.wait_running()
        env = {**server.client_env, "VOICEGUIDE_CACHE_DIR": str(cache)}
        with tempfile.TemporaryFile() as err:
            t0 = time.monotonic()
            proc = spawn(play_cmd(script, backend, sock, *extra), env, stdout=err, stderr=err)
            try:
                frame = first_sound(rec, proc, 60.0, grace=0.5, what=lambda: _read(err))
            finally:
                end(proc)
            stderr = _read(err)
        return rec.time_of(frame) - lead / RATE - t0, stderr
    finally:
        rec.stop()


# -- 2-4. the 2-minute plays -----------------------------------------------------------------


@dataclass
class LongPlay:
    backend: str
    cpu_pct: float = 0.0
    child_cpu_pct: float | None = None  # the pacat backend's pacat
    underruns: int | None = None
    device_underruns: int | None = None  # reported by the sound system (sounddevice only)
    position_ms: int | None = None  # at the status query
    end_error: int = 0  # frames
    start_match: float = 0.0
    end_match: float = 0.0
    stderr: str = ""
    error: str = ""
    recording: Samples = field(default_factory=lambda: np.zeros(0, dtype=np.float32))


def sleep_until(t: float) -> None:
    """Sleep until ``time.monotonic()`` is ``t``; raise if the run is being torn down."""
    delay = t - time.monotonic()
    if delay > 0 and _abort.wait(delay) or _abort.is_set():
        raise CommandFailed("aborted")


def long_play(root: Path, backend: str, script: Path, duration_s: float, cache: Path) -> LongPlay:
    """Play ``script`` through ``backend`` on a server of its own, recording; CPU and status."""
    result = LongPlay(backend)
    server = start_server(root)
    try:
        rec = Recorder(server)
        try:
            rec.wait_running()
            sock = root / "ctl.sock"
            env = {**server.client_env, "VOICEGUIDE_CACHE_DIR": str(cache)}
            with tempfile.TemporaryFile() as err:
                proc = spawn(play_cmd(script, backend, sock), env, stdout=err, stderr=err)
                try:
                    _measure_play(result, proc, sock, env, duration_s, lambda: _read(err))
                    proc.wait(duration_s + 30)
                except subprocess.TimeoutExpired:
                    result.error = f"the play did not end within {duration_s + 30:.0f} s"
                finally:
                    end(proc)
                result.stderr = _read(err)
                if proc.returncode != 0 and not result.error:
                    result.error = f"the player exited with {proc.returncode}"
            time.sleep(0.5)  # the last audio on its way through the monitor
        finally:
            result.recording = rec.stop()
    finally:
        server.stop()
    return result


def _measure_play(
    result: LongPlay,
    proc: subprocess.Popen[bytes],
    sock: Path,
    env: dict[str, str],
    duration_s: float,
    stderr: Callable[[], str],
) -> None:
    deadline = time.monotonic() + 60
    while not sock.exists():  # the socket opens just before the output starts
        if proc.poll() is not None:
            raise CommandFailed(
                f"{result.backend}: the player exited with {proc.returncode}", stderr()
            )
        if time.monotonic() > deadline:
            raise CommandFailed(f"{result.backend}: the player never opened its socket", stderr())
        time.sleep(0.01)
    ready = time.monotonic()
    tick = os.sysconf("SC_CLK_TCK")
    sleep_until(ready + CPU_SKIP_S)
    try:
        kids = [k for k in children(proc.pid) if _comm(k) == "pacat"]
        w0, c0 = time.monotonic(), cpu_ticks(proc.pid)
        k0 = sum(cpu_ticks(k) for k in kids)
        sleep_until(ready + CPU_SKIP_S + CPU_WINDOW_S)
        w1, c1 = time.monotonic(), cpu_ticks(proc.pid)
        k1 = sum(cpu_ticks(k) for k in kids)
    except OSError:  # /proc/PID is gone
        proc.poll()
        raise CommandFailed(
            f"{result.backend}: the player (or its pacat) exited while playing"
            f" (status {proc.returncode})",
            stderr(),
        ) from None
    result.cpu_pct = 100 * (c1 - c0) / tick / (w1 - w0)
    if kids:
        result.child_cpu_pct = 100 * (k1 - k0) / tick / (w1 - w0)
    sleep_until(ready + duration_s - STATUS_BEFORE_END_S)
    _, out = run([*VOICEGUIDE, "ctl", "status", "--socket", str(sock)], env, timeout=20)
    status = json.loads(out)
    result.underruns = status.get("underruns")
    result.device_underruns = status.get("device_underruns")
    result.position_ms = status.get("position_ms")


def match_near(segment: Samples, recording: Samples, lo: int, hi: int) -> tuple[int, float]:
    """Where in ``recording`` between ``lo`` and ``hi`` ``segment`` matches best, and how well.

    Normalised cross-correlation (each position's correlation over the recording's energy
    there), as ``best_match`` in tests/test_player_e2e.py does shift by shift, here for every
    position at once by FFT: a plain correlation peak can pick a louder neighbour (a
    decaying chime's start, the next breath tone) over the segment itself.
    """
    m = len(segment)
    lo, hi = max(0, lo), min(hi, len(recording) - m)
    if hi < lo:
        return lo, 0.0
    part = recording[lo : hi + m].astype(np.float64)
    seg = segment.astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(part) + m)))
    corr = np.fft.irfft(np.fft.rfft(part, size) * np.conj(np.fft.rfft(seg, size)), size)
    corr = corr[: hi - lo + 1]
    energy = np.concatenate(([0.0], np.cumsum(part * part)))
    window = np.sqrt(np.maximum(energy[m:] - energy[:-m], 0.0))[: hi - lo + 1]
    norm = float(np.linalg.norm(seg))
    ncc = corr / (window * norm + 1e-9)
    ncc[window < 1e-3 * norm] = 0.0  # (near) silence: cumsum's rounding would rule there
    best = int(np.argmax(ncc))
    return lo + best, float(ncc[best])


def loud_segments(ref: Samples) -> list[int]:
    """Where the export's sounding quarter seconds start (RMS above -40 dBFS)."""
    return [
        at
        for at in range(0, len(ref) - SEGMENT + 1, SEGMENT)
        if float(np.sqrt(np.mean(ref[at : at + SEGMENT] ** 2))) > 0.01
    ]


def align_ends(ref: Samples, recording: Samples) -> tuple[int, int, float, float]:
    """Where the export's frame 0 is in the recording, the end's misalignment against that
    (frames), and how well the first and last sounding quarter seconds matched."""
    loud = loud_segments(ref)
    first, last = loud[0], loud[-1]
    at, start_match = match_near(ref[first : first + SEGMENT], recording, 0, len(recording))
    start = at - first
    expected = start + last
    at, end_match = match_near(
        ref[last : last + SEGMENT], recording, expected - REACH, expected + REACH
    )
    return start, at - expected, start_match, end_match


def slips(ref: Samples, recording: Samples, start: int) -> list[tuple[float, int]]:
    """(export time in s, frames off) wherever a sounding quarter second moves off the start's
    alignment by more than the target: where a misaligned end came from."""
    found: list[tuple[float, int]] = []
    shift = 0
    for at in loud_segments(ref):
        expected = start + at + shift
        pos, match = match_near(
            ref[at : at + SEGMENT], recording, expected - REACH, expected + REACH
        )
        if match > 0.999 and abs(pos - expected) > END_ERROR_MAX_FRAMES:
            found.append((at / RATE, pos - expected))
            shift = pos - start - at
    return found


# -- the table -------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    values: list[float]
    floor_label: str = ""
    floor: float | None = None
    ratio: str = ""
    target: str = ""
    ok: bool | None = None  # None: no target
    unit: str = "s"


def fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "frames":
        return f"{value:+.0f} fr"
    if unit == "":
        return f"{value:.0f}"
    return f"{value:.3f} s" if abs(value) < 1 else f"{value:.2f} s"


def table(rows: list[Row]) -> str:
    return layout(
        [
            cells(
                row.label,
                row.values,
                lambda v, unit=row.unit: fmt(v, unit),
                floor_label=row.floor_label,
                floor=row.floor,
                ratio=row.ratio,
                target=row.target,
                ok=row.ok,
                best=(lambda vs: min(vs, key=abs)) if row.unit == "frames" else min,
            )
            for row in rows
        ]
    )


# -- the run ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement [3]")
    parser.add_argument(
        "--jobs", type=int, default=3, help="2-minute plays at once [3; 0: all of them]"
    )
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)
    jobs = args.jobs if args.jobs > 0 else repeat * len(BACKENDS)
    began = time.perf_counter()
    machine = prepare(REPO)
    print(
        f"voiceguide play benchmark: {repeat} runs each, median and min; backends "
        f"{', '.join(BACKENDS)}\n{machine}; 2-minute plays {jobs} at a time",
        flush=True,
    )
    notes: list[str] = []
    signal.signal(signal.SIGTERM, _interrupt)  # kill -TERM: clean up as after Ctrl-C
    try:
        with tempfile.TemporaryDirectory(
            prefix="voiceguide-bench-play-", ignore_cleanup_errors=True
        ) as tmp:
            try:
                rows = measure(Path(tmp), repeat, jobs, notes)
            finally:
                cleanup()  # before the directory goes: the servers live in it
    except CommandFailed as exc:
        print(f"bench_play: {exc}\n{exc.detail}".rstrip(), file=sys.stderr)
        return 1
    except OSError as exc:  # a command that cannot be started
        print(f"bench_play: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_play: interrupted", file=sys.stderr)
        return 130
    print()
    print(table(rows))
    print(
        "\n1: launch to the routine's first sound at the sink's monitor, less its lead-in"
        "\n   silence and less the pacat click floor (the monitor path's latency); the ratio"
        "\n   column holds the raw median instead (launch to the routine's frame 0 as recorded,"
        "\n   before the click floor is subtracted). 2: % of one core, the player process only"
        " (utime+stime),"
        f"\n   {CPU_WINDOW_S:.0f} s from {CPU_SKIP_S:.0f} s after its socket opened. 3: end"
        " alignment minus start alignment, in"
        f"\n   frames at {RATE} Hz (min: the smallest error). 4: `ctl status` underruns"
        f" {STATUS_BEFORE_END_S:.0f} s before the end:"
        "\n   the player's own (blocks not rendered in time) and, where the backend can"
        " tell, the sound system's."
        f"\nWhole run {time.perf_counter() - began:.0f} s."
    )
    if notes:
        print("\nNotes:\n" + "\n".join(f"- {n}" for n in notes))
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def measure(tmp: Path, repeat: int, jobs: int, notes: list[str]) -> list[Row]:
    m = statistics.median
    warm = tmp / "cache-warm"
    base_env = {k: v for k, v in os.environ.items() if k != "VOICEGUIDE_CACHE_DIR"}
    env = {**base_env, "VOICEGUIDE_CACHE_DIR": str(warm)}

    # The 2-minute routine, the exports (they fill the warm cache) and the click.
    two = tmp / "two-minutes.yaml"
    two.write_text(
        "title: Two Minute Bench\nsteps:\n"
        f"  - include: {json.dumps(str(CAT_COW))}\n    step: Cat-Cow Stretch\n",
        encoding="utf-8",
    )
    wavs: dict[str, Path] = {}
    for name, script in (("short", SHORT), ("daily", DAILY), ("two", str(two))):
        wavs[name] = tmp / f"{name}.wav"
        run([*VOICEGUIDE, "export", script, "-o", str(wavs[name]), "--force"], env, 300)
    leads = {name: lead_in(wavs[name]) for name in ("short", "daily")}
    print(
        f"  lead-in silence (where the export first sounds): towel {leads['short'] / RATE:.3f} s,"
        f" daily {leads['daily'] / RATE:.3f} s",
        flush=True,
    )
    click = tmp / "click.raw"
    t = np.arange(RATE // 20) / RATE
    (0.5 * np.cos(2 * np.pi * 1000 * t) * 32767).astype("<i2").tofile(click)

    # 1. Time to first sound, one at a time, interleaved with the floors.
    server = start_server(tmp / "pulse")
    python: list[float] = []
    clicks: list[float] = []
    raw: dict[tuple[str, str], list[float]] = {}
    try:
        for i in range(repeat):
            python.append(run(PYTHON_FLOOR, env)[0])
            clicks.append(click_floor(server, click))
            line = [f"python {python[-1]:.3f} s, pacat click {clicks[-1]:.3f} s"]
            for backend in BACKENDS:
                cases = (
                    ("warm short", SHORT, warm, "short"),
                    ("warm daily", DAILY, warm, "daily"),
                    ("cold short", SHORT, tmp / f"cache-cold-{backend}-{i}", "short"),
                    ("cold daily", DAILY, tmp / f"cache-cold-daily-{backend}-{i}", "daily"),
                )
                for case, script, cache, lead in cases:
                    sock = tmp / f"ttfs-{backend}-{i}.sock"
                    seconds, stderr = time_to_sound(
                        server, script, backend, cache, leads[lead], sock
                    )
                    raw.setdefault((case, backend), []).append(seconds)
                    _note_stderr(notes, f"{backend}, {case}", stderr)
                line.append(
                    f"{backend} "
                    + "/".join(f"{raw[(c, backend)][-1]:.3f}" for c, *_ in cases)
                    + " s"
                )
            print(
                f"  first sound {i + 1}/{repeat} (raw; warm short/daily, cold short/daily): "
                + "; ".join(line),
                flush=True,
            )
    finally:
        server.stop()
    # 2-4. The 2-minute plays, each on a server of its own, ``jobs`` at a time.
    import soundfile as sf

    ref = sf.read(str(wavs["two"]), dtype="float32")[0]
    duration_s = len(ref) / RATE
    plays: list[tuple[int, str]] = [(i, b) for i in range(repeat) for b in BACKENDS]
    print(
        f"  2-minute plays ({duration_s:.0f} s each, {len(plays)} of them, {jobs} at a time)...",
        flush=True,
    )
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [
            pool.submit(long_play, tmp / f"pulse-{b}-{i}", b, two, duration_s, warm)
            for i, b in plays
        ]
        results = [f.result() for f in futures]
    finally:
        if not all(f.done() for f in futures):  # failed or interrupted: end the others now
            cleanup()
        pool.shutdown(wait=True, cancel_futures=True)
    for (i, backend), res in zip(plays, results, strict=True):
        if res.error:
            raise CommandFailed(f"{backend} 2-minute play {i + 1}: {res.error}", res.stderr)
        start, res.end_error, res.start_match, res.end_match = align_ends(ref, res.recording)
        if abs(res.end_error) > END_ERROR_MAX_FRAMES:
            where = ", ".join(
                f"{frames:+d} frames at {t:.2f} s" for t, frames in slips(ref, res.recording, start)
            )
            notes.append(
                f"{backend}, 2-minute play {i + 1}: the end is {res.end_error:+d} frames off;"
                f" the export's audio moved {where or '(no single place found)'}"
                " (positive: a gap, silence inserted)"
            )
        res.recording = np.zeros(0, dtype=np.float32)
        _note_stderr(notes, f"{backend}, 2-minute play", res.stderr)
        if min(res.start_match, res.end_match) < 0.9:
            notes.append(
                f"{backend}, 2-minute play {i + 1}: poor match (start {res.start_match:.3f}, "
                f"end {res.end_match:.3f}): the alignment is not to be trusted"
            )
        child = "" if res.child_cpu_pct is None else f", its pacat {res.child_cpu_pct:.1f} %"
        print(
            f"  2-minute play {i + 1}/{repeat} {backend}: CPU {res.cpu_pct:.1f} %{child}; "
            f"end error {res.end_error:+d} frames (match {res.start_match:.3f}/"
            f"{res.end_match:.3f}); underruns {res.underruns} at {res.position_ms} ms",
            flush=True,
        )

    # The table.
    click_m, py = m(clicks), m(python)
    rows: list[Row] = []
    for case, title in (
        ("warm short", "warm, towel (1:09)"),
        ("warm daily", "warm, daily (11:10)"),
        ("cold short", "COLD, towel (1:09)"),
        ("cold daily", "COLD, daily (11:10)"),
    ):
        for backend in BACKENDS:
            values = [x - click_m for x in raw[(case, backend)]]
            warm_case = case.startswith("warm")
            rows.append(
                Row(
                    f"1. first sound, {title}, {backend}",
                    values,
                    "python -c pass",
                    py,
                    f"raw {m(raw[(case, backend)]):.3f} s",
                    f"<= {FIRST_SOUND_WARM_MAX_S} s" if warm_case else "",
                    m(values) <= FIRST_SOUND_WARM_MAX_S if warm_case else None,
                )
            )
    rows.append(Row("   floor: pacat click, launch to sound", clicks))
    rows.append(Row("   floor: python -c pass", python))
    kids = [r.child_cpu_pct for r in results if r.child_cpu_pct is not None]
    kid = m(kids) if kids else None
    for backend in BACKENDS:
        mine = [r for r in results if r.backend == backend]
        cpu = [r.cpu_pct for r in mine]
        rows.append(
            Row(
                f"2. CPU playing, 2-min routine, {backend}",
                cpu,
                "pacat child (pacat backend)" if kid is not None else "",
                kid,
                "" if not kid else f"{m(cpu) / kid:.1f}x",
                f"<= {CPU_MAX_PCT:g} %",
                m(cpu) <= CPU_MAX_PCT,
                unit="%",
            )
        )
    for backend in BACKENDS:
        errors = [float(r.end_error) for r in results if r.backend == backend]
        rows.append(
            Row(
                f"3. end alignment error, 2-min, {backend}",
                errors,
                ratio=f"{m(errors) / (RATE / 1000):+.2f} ms",
                target=f"|x| <= {END_ERROR_MAX_FRAMES} fr (1 ms)",
                ok=m(abs(e) for e in errors) <= END_ERROR_MAX_FRAMES,
                unit="frames",
            )
        )
    for backend in BACKENDS:
        counts = [float(r.underruns or 0) for r in results if r.backend == backend]
        if any(r.underruns is None for r in results if r.backend == backend):
            notes.append(f"{backend}: `ctl status` gave no 'underruns'")
        rows.append(Row(f"4. underruns, 2-min, {backend}", counts, unit=""))
        device = [r.device_underruns for r in results if r.backend == backend]
        if all(d is not None for d in device):
            rows.append(
                Row(
                    f"   reported by the sound system, {backend}",
                    [float(d or 0) for d in device],
                    unit="",
                )
            )
    return rows


def _note_stderr(notes: list[str], where: str, stderr: str) -> None:
    """Anything the player printed besides its usual last line."""
    for line in stderr.splitlines():
        line = line.strip()
        if line and not line.startswith(("finished", "stopped at", "voiceguide: interrupted")):
            note = f"{where}: {line}"
            if note not in notes:
                notes.append(note)


if __name__ == "__main__":
    sys.exit(main())
