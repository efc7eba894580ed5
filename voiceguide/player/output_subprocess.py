"""The subprocess outputs: raw PCM on the stdin of ``pacat`` (PulseAudio, PipeWire) or ``aplay``.

No Python audio library is involved: the fallback when PortAudio is missing or misbehaves.
A writer thread pulls ``block_frames`` at a time, converts them to s16le and writes them to
the program's stdin; the pipe is shrunk to one page (4 KiB, 85 ms) so that the writer runs
only that far ahead of the program. Writes are non-blocking with a 0.1 s select, so the
writer notices within 0.1 s when the program exits (the sound server died, the device went
away), and declares a program that takes nothing for ``STALL_SECONDS`` plus its latency
stalled and kills it.

The play position is an estimate: frames written, minus the bytes still in the pipe
(FIONREAD), minus the sink's latency. pacat reports that (``-v`` prints the stream's
latency every 50 ms or so); for aplay it is the buffer we ask for (``--buffer-time``),
assumed full as it is while playing, plus the period aplay holds. Measured against a
recording of the sink, both are within about 20 ms.

The program is started when the output is opened, so a missing server or device fails at
once: pacat says ``Stream successfully created`` (with ``-v``) once connected; aplay has
opened and set up its device when it prints its setup (``-v``) after ``Playing raw data``.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import select
import shutil
import struct
import subprocess
import termios
import threading
import time

from voiceguide.errors import AudioDeviceError
from voiceguide.player.output_base import (
    DEFAULT_LATENCY,
    OPEN_SECONDS,
    STALL_SECONDS,
    OutputBase,
    Pull,
    check_block,
    to_s16le,
)
from voiceguide.player.priority import raise_priority
from voiceguide.units import SAMPLE_RATE

_F_SETPIPE_SZ = 1031
_PACKAGES = {"pacat": "pulseaudio-utils", "aplay": "alsa-utils"}


class SubprocessOutput(OutputBase):
    """Plays by writing to ``pacat`` or ``aplay``; ``device`` is a sink or an ALSA PCM name."""

    def __init__(
        self,
        program: str,
        device: str | None = None,
        *,
        latency: float = DEFAULT_LATENCY,
        block_frames: int = 1200,
    ) -> None:
        super().__init__()
        if program not in _PACKAGES:
            raise ValueError(f"unknown program {program!r}")
        self.name = program
        self.device = device
        self.latency = latency
        self.block_frames = block_frames
        self._path = shutil.which(program)
        if self._path is None:
            raise AudioDeviceError(f"{program} not found: install {_PACKAGES[program]}")
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()  # cut: stop writing now
        self._finish = threading.Event()  # drain: write what is pulled, then stop
        self._pulled = 0
        self._written = 0  # bytes
        self._seen = 0
        self._final: int | None = None
        self._reported_latency: int | None = None  # frames, from pacat -v
        self._spawn()

    # -- the program -----------------------------------------------------------------------

    def command(self) -> list[str]:
        """The command line that plays raw s16le mono at SAMPLE_RATE from stdin."""
        assert self._path is not None
        ms = max(20, round(self.latency * 1000))
        if self.name == "pacat":
            cmd = [
                self._path,
                "--playback",
                "-v",
                "--raw",
                "--format=s16le",
                f"--rate={SAMPLE_RATE}",
                "--channels=1",
                f"--latency-msec={ms}",
                "--client-name=voiceguide",
                "--stream-name=voiceguide",
            ]
            return [*cmd, f"--device={self.device}"] if self.device else cmd
        return [
            self._path,
            "-v",
            "-t",
            "raw",
            "-f",
            "S16_LE",
            f"-r{SAMPLE_RATE}",
            "-c1",
            f"--buffer-time={ms * 1000}",
            f"--period-time={ms * 250}",
            f"-D{self.device or 'default'}",
        ]

    def _spawn(self) -> None:
        self._stderr.clear()
        self._ready.clear()
        self._reported_latency = None
        proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches the player, which stops us cleanly
        )
        self._proc = proc
        raise_priority(proc.pid)
        assert proc.stdin is not None
        with contextlib.suppress(OSError):  # a smaller pipe is only nicer
            fcntl.fcntl(proc.stdin.fileno(), _F_SETPIPE_SZ, 4096)
        threading.Thread(
            target=self._read_stderr, args=(proc,), name=f"voiceguide-{self.name}-log", daemon=True
        ).start()
        deadline = time.monotonic() + OPEN_SECONDS
        while not self._ready.wait(0.01):
            if proc.poll() is not None:
                # stderr may still be arriving
                time.sleep(0.05)
                raise AudioDeviceError(f"{self.name} cannot play: {self._reason()}")
            if time.monotonic() > deadline:
                self._kill(proc)
                raise AudioDeviceError(
                    f"{self.name} did not open the audio device within {OPEN_SECONDS:g} s (is "
                    "the sound server hung?)"
                )

    def _read_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        """Keep the program's last lines; spot readiness and pacat's latency reports.

        pacat -v rewrites a status line (ended by CR, not LF) every 50 ms or so:
        ``Time: 1.234 sec; Latency: 152893 usec.``: the stream's real latency.
        """
        assert proc.stderr is not None
        fd = proc.stderr.fileno()
        playing = False
        rest = b""
        with proc.stderr:  # this thread owns it: closed at EOF, when the program has exited
            while chunk := os.read(fd, 4096):
                *lines, rest = (rest + chunk).replace(b"\r", b"\n").split(b"\n")
                for raw in lines:
                    line = raw.decode(errors="replace").strip()
                    if not line:
                        continue
                    if line.startswith("Time: ") and "; Latency: " in line:
                        with contextlib.suppress(ValueError):
                            usec = int(line.split("; Latency: ", 1)[1].split()[0])
                            self._reported_latency = usec * SAMPLE_RATE // 1_000_000
                        continue
                    self._stderr.append(line)
                    if self.name == "pacat" and line.startswith("Stream successfully created"):
                        self._ready.set()
                    elif self.name == "aplay":
                        if playing:  # the setup dump follows a successful set-up
                            self._ready.set()
                        playing = playing or line.startswith("Playing raw data")

    def _reason(self) -> str:
        """The program's last telling line of stderr."""
        lines = [
            line
            for line in self._stderr
            if not line.startswith(("Opening a playback stream", "Playing raw data", "ALSA lib "))
        ]
        if not lines:
            code = self._proc.returncode if self._proc is not None else None
            return f"it exited with status {code}"
        line = lines[-1]
        if line.startswith("aplay: ") and ": " in line[7:]:
            line = line[7:].split(": ", 1)[1]  # drop "aplay: main:831: "
        if line.startswith("audio open error: "):
            line = f"ALSA device {self.device or 'default'!r}: {line[18:]}"
        elif line.startswith(("pa_context_connect() failed: ", "Connection failure: ")):
            line = f"no PulseAudio or PipeWire server answers ({line.split(': ', 1)[1]})"
        return line

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes], close_stdin: bool = True) -> None:
        """End the program; close its stdin unless the writer thread may still use it."""
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(1.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(1.0)
        if close_stdin and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()

    # -- the writer thread -----------------------------------------------------------------

    def _run(self, pull: Pull, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None
        raise_priority()
        fd = proc.stdin.fileno()
        os.set_blocking(fd, False)
        n = self.block_frames
        pending = b""
        limit = STALL_SECONDS + self.latency
        last_progress = time.monotonic()
        try:
            while not self._stop.is_set():
                if not pending:
                    if self._finish.is_set():
                        return
                    pending = to_s16le(check_block(pull(n), n))
                    self._pulled += n
                _, ready, _ = select.select([], [fd], [], 0.1)
                if ready:
                    try:
                        written = os.write(fd, pending)
                    except BlockingIOError:
                        written = 0
                    except OSError:  # EPIPE: the program is gone
                        if not self._stop.is_set():  # (not stop() killing it)
                            with contextlib.suppress(subprocess.TimeoutExpired):
                                proc.wait(1.0)
                            self._fail(self._lost())
                        return
                    if written:
                        pending = pending[written:]
                        self._written += written
                        last_progress = time.monotonic()
                if proc.poll() is not None:
                    if not self._stop.is_set():
                        self._fail(self._lost())
                    return
                idle = time.monotonic() - last_progress
                if idle > limit:
                    self._fail(
                        AudioDeviceError(f"{self.name} stalled: it took no audio for {idle:.1f} s")
                    )
                    self._kill(proc)
                    return
        except BaseException as exc:  # pull failed: playback ends
            if not self._stop.is_set():
                self._fail(exc)
                self._kill(proc)

    def _lost(self) -> AudioDeviceError:
        time.sleep(0.05)  # let the last words of stderr arrive
        return AudioDeviceError(f"{self.name} stopped while playing: {self._reason()}")

    # -- the interface ---------------------------------------------------------------------

    def start(self, pull: Pull) -> None:
        self._check_startable()
        if self._proc is None or self._proc.poll() is not None:
            self._spawn()
        assert self._proc is not None
        self.failed = None
        self._pulled = 0
        self._written = 0
        self._seen = 0
        self._final = None
        self._stop.clear()
        self._finish.clear()
        self._running = True
        self._thread = threading.Thread(
            target=self._run, args=(pull, self._proc), name=f"voiceguide-{self.name}", daemon=True
        )
        self._thread.start()

    def _in_pipe(self) -> int:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.closed:
            return 0
        try:
            raw = fcntl.ioctl(proc.stdin.fileno(), termios.FIONREAD, b"\0\0\0\0")
        except (OSError, ValueError):
            return 0
        return int(struct.unpack("i", raw)[0])

    def played_frames(self) -> int:
        if self._final is not None:
            return self._final
        written = self._written // 2
        buffered = self._reported_latency
        if buffered is None:
            buffered = self.latency_frames()
        estimate = written - self._in_pipe() // 2 - buffered
        self._seen = max(self._seen, min(written, estimate))
        return self._seen

    def pulled_frames(self) -> int:
        return self._pulled

    def latency_frames(self) -> int:
        # aplay also holds the period it read from stdin before writing it to ALSA.
        frames = round(max(0.02, self.latency) * SAMPLE_RATE)
        return frames + frames // 4 if self.name == "aplay" else frames

    def stop(self, drain: bool = True) -> None:
        if not self._running:
            return
        proc, thread = self._proc, self._thread
        assert proc is not None and thread is not None
        try:
            if drain and self.failed is None:
                self._finish.set()
                # The writer ends once the pipe took the last pulled block.
                thread.join(self.latency + STALL_SECONDS + 1.0)
                if self.failed is None and not thread.is_alive():
                    self._drain(proc)
        finally:  # also on Ctrl-C: neither the writer nor the program outlives stop()
            if self._final is None:
                self._final = self.played_frames()
            self._stop.set()
            self._kill(proc, close_stdin=False)  # before the join: the cut is heard at once
            thread.join(1.0)
            if not thread.is_alive() and proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            self._proc = None
            self._running = False

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        """Close stdin and wait for the program to play the rest and exit."""
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            code = proc.wait(self.latency + 2.0)
        except subprocess.TimeoutExpired:
            error = AudioDeviceError(f"{self.name} did not finish playing in time")
            self._fail(error)
            raise error from None
        if code != 0:
            error = AudioDeviceError(f"{self.name} failed at the end: {self._reason()}")
            self._fail(error)
            raise error
        self._final = self._written // 2

    def close(self) -> None:
        """Stop (cutting) and end the program; never raises, never hangs."""
        if self._closed:
            return
        self._closed = True
        if self._running:
            with contextlib.suppress(AudioDeviceError):
                self.stop(drain=False)
        if self._proc is not None:
            self._kill(self._proc)
            self._proc = None


def pulse_reachable(timeout: float = 2.0) -> bool:
    """Whether a PulseAudio (or PipeWire-pulse) server answers ``pactl info``."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return False
    try:
        proc = subprocess.run(
            [pactl, "info"], capture_output=True, timeout=timeout, start_new_session=True
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def open_subprocess(device: str | None, *, latency: float = DEFAULT_LATENCY) -> SubprocessOutput:
    """pacat when a PulseAudio or PipeWire server answers, else aplay."""
    program = "pacat" if shutil.which("pacat") and pulse_reachable() else "aplay"
    return SubprocessOutput(program, device, latency=latency)
