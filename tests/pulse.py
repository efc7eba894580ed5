"""A private PulseAudio server with a null sink, for real-audio tests of the output backends.

The machine needs no sound card: PulseAudio's null sink ``vgtest`` (24000 Hz, mono, s16le,
so nothing is resampled) plays into its monitor source, and ``record`` captures that monitor
with ``parec`` while a backend plays. Everything lives in a temporary directory; the real
HOME and any running sound server are never touched.

How the server is started (as root too: PulseAudio only warns that it is "not intended to
be run as root"; ``--system`` is not needed and would want a ``pulse`` user)::

    HOME=$T/home XDG_RUNTIME_DIR=$T/run PULSE_RUNTIME_PATH=$T/run/pulse \
    PULSE_STATE_PATH=$T/state XDG_CONFIG_HOME=$T/config \
    pulseaudio --daemonize=no --use-pid-file=no --exit-idle-time=-1 -n --no-cpu-limit \
        --log-target=stderr \
        --load="module-null-sink sink_name=vgtest rate=24000 channels=1 format=s16le" \
        --load="module-native-protocol-unix auth-anonymous=1 socket=$T/run/native"

It runs as a child process (not ``--daemonize=yes``) so the fixture owns its pid, reads
its log when it fails to start, and kills exactly it at teardown. Clients (this process,
and pacat, parec and aplay started from it) get::

    PULSE_SERVER=unix:$T/run/native   PULSE_COOKIE=$T/cookie (anonymous auth: unused)
    PULSE_CLIENTCONFIG=$T/client.conf (autospawn = no)   PULSE_RUNTIME_PATH=$T/client-run
    ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:$T/asound.conf (pcm.!default is type pulse)

so ALSA's default device, and PortAudio's (sounddevice's) through it, play into the null
sink. If the server cannot start, ``pulse`` raises: every test using it fails with the
reason (it never skips).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

RATE = 24_000
SINK = "vgtest"
ALSA_CONF = Path("/usr/share/alsa/alsa.conf")


class PulseUnavailable(RuntimeError):
    """The private PulseAudio server could not be started (the message says why)."""


@dataclass
class Recording:
    """``parec`` capturing the null sink's monitor straight into a file, for a fixed length.

    No thread of this process reads it: the tests' own threads would compete for the GIL
    with the output under test.
    """

    path: Path
    frames: int
    proc: subprocess.Popen[bytes]
    errors: Path
    started_at: float = 0.0  # time.monotonic() when the first recorded frame was captured

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def wait(self, timeout: float | None = None) -> npt.NDArray[np.float32]:
        """The recorded samples (as float in [-1, 1)), once ``frames`` have been captured."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.frames / RATE + 10)
        while self.size() < 2 * self.frames:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"parec stopped after {self.size() // 2} of {self.frames} frames (exit "
                    f"status {self.proc.returncode}): {self.stderr()}"
                )
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait(5)
                raise TimeoutError(f"parec delivered {self.size() // 2} of {self.frames} frames")
            time.sleep(0.02)
        self.proc.terminate()
        self.proc.wait(5)
        data = np.fromfile(self.path, dtype="<i2", count=self.frames)
        return data.astype(np.float32) / 32768.0

    def finish(self, after: float = 0.5) -> npt.NDArray[np.float32]:
        """The samples recorded so far and ``after`` seconds more (for what is still on its
        way through the monitor), without waiting for the full length: for a test whose
        player has exited, however long it took on a busy machine."""
        target = self.size() // 2 + round(after * RATE)
        deadline = time.monotonic() + after + 10
        while self.size() // 2 < target:
            if self.proc.poll() is not None:
                raise RuntimeError(f"parec stopped: {self.stderr()}")
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        self.proc.terminate()
        self.proc.wait(5)
        data = np.fromfile(self.path, dtype="<i2", count=self.size() // 2)
        return data.astype(np.float32) / 32768.0

    def stderr(self) -> str:
        return self.errors.read_text(errors="replace").strip() if self.errors.exists() else ""


@dataclass
class PulseServer:
    """One running private PulseAudio server; ``env`` is what its clients need."""

    root: Path
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path
    sink: str = SINK
    listener: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.root / "run" / "native"

    @property
    def client_env(self) -> dict[str, str]:
        """A whole environment for a client process: this one's, pointed at the server."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "ALSA_"))}
        return {**clean, **self.env}

    def pactl(self, *args: str) -> str:
        proc = subprocess.run(
            ["pactl", *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=10,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def record(self, seconds: float, name: str = "recording") -> Recording:
        """Start capturing ``seconds`` of the sink's monitor; returns once capture is running.

        Call ``wait()`` on the result for the samples: a test starts playing as soon as
        this returns.
        """
        path = self.root / f"{name}.raw"
        errors = self.root / f"{name}.err"
        with path.open("wb") as out, errors.open("wb") as err:
            proc = subprocess.Popen(
                [
                    "parec",
                    "-d",
                    f"{self.sink}.monitor",
                    "--format=s16le",
                    f"--rate={RATE}",
                    "--channels=1",
                    "--raw",
                    "--latency-msec=20",
                ],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=err,
            )
        rec = Recording(path, round(seconds * RATE), proc, errors)
        deadline = time.monotonic() + 5.0
        while (size := rec.size()) == 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait(5)
                raise RuntimeError(f"parec recorded nothing: {rec.stderr()}")
            time.sleep(0.002)
        rec.started_at = time.monotonic() - size / 2 / RATE
        return rec

    def listen(self) -> None:
        """Keep a low-latency reader on the monitor, so the null sink acts like a sound card.

        A null sink nobody listens to runs at its maximum latency (2 s): it takes audio in
        two-second gulps and streams stall at their start (``pacat`` of 1 s of audio takes
        2 s). A reader asking for 20 ms sets the sink's latency as a sound card's would. The
        first data of a recording arrives once the sink has switched (up to 2 s).
        """
        self.listener = subprocess.Popen(
            ["parec", "-d", f"{self.sink}.monitor", "--raw", "--latency-msec=20"],
            env={**os.environ, **self.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self.record(0.05, "warm-up").wait()
        except (RuntimeError, TimeoutError) as exc:
            raise PulseUnavailable(f"cannot record {self.sink}.monitor: {exc}") from exc

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """Kill the server (SIGKILL: no goodbye to its clients, as in a crash)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        if self.listener is not None:
            self.listener.kill()
            self.listener.wait(5)

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """``os.environ`` pointed at this server (ALSA, libpulse, pacat/aplay), then restored."""
        saved = {key: os.environ.get(key) for key in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def start_pulse(root: Path, sink: str = SINK, timeout: float = 10.0) -> PulseServer:
    """Start a private PulseAudio server in ``root`` with a null sink ``sink`` as default.

    Raises PulseUnavailable, with the reason and the server's log, when it does not come up
    within ``timeout`` seconds.
    """
    for tool in ("pulseaudio", "pactl", "parec", "pacat"):
        if shutil.which(tool) is None:
            raise PulseUnavailable(
                f"{tool} not found: install pulseaudio and pulseaudio-utils (./setup.sh --dev)"
            )
    if not ALSA_CONF.exists():
        raise PulseUnavailable(f"{ALSA_CONF} not found: install libasound2 (alsa-utils)")
    for sub in ("home", "run", "state", "config", "client-run"):
        (root / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    socket = root / "run" / "native"
    (root / "client.conf").write_text("autospawn = no\n")
    (root / "asound.conf").write_text("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
    daemon_env = {
        key: value for key, value in os.environ.items() if not key.startswith(("PULSE_", "ALSA_"))
    }
    daemon_env.update(
        HOME=str(root / "home"),
        XDG_RUNTIME_DIR=str(root / "run"),
        PULSE_RUNTIME_PATH=str(root / "run" / "pulse"),
        PULSE_STATE_PATH=str(root / "state"),
        XDG_CONFIG_HOME=str(root / "config"),
    )
    log = root / "pulseaudio.log"
    cmd = [
        "pulseaudio",
        "--daemonize=no",
        "--use-pid-file=no",
        "--exit-idle-time=-1",
        "-n",
        "--no-cpu-limit",
        "--log-target=stderr",
        "--disable-shm=yes",
        f"--load=module-null-sink sink_name={sink} rate={RATE} channels=1 format=s16le norewinds=1",
        f"--load=module-native-protocol-unix auth-anonymous=1 socket={socket}",
    ]
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            cmd,
            env=daemon_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = PulseServer(
        root,
        proc,
        {
            "PULSE_SERVER": f"unix:{socket}",
            "PULSE_COOKIE": str(root / "cookie"),
            "PULSE_CLIENTCONFIG": str(root / "client.conf"),
            "PULSE_RUNTIME_PATH": str(root / "client-run"),
            "ALSA_CONFIG_PATH": f"{ALSA_CONF}:{root / 'asound.conf'}",
        },
        log,
        sink,
    )
    deadline = time.monotonic() + timeout
    reason = "no socket"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PulseUnavailable(
                f"pulseaudio exited with status {proc.returncode}:\n{_tail(log)}\n"
                f"command: {' '.join(cmd)}"
            )
        if socket.exists():
            try:
                server.pactl("set-default-sink", sink)
                server.listen()
                return server
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                reason = str(exc)
        time.sleep(0.05)
    server.stop()
    raise PulseUnavailable(
        f"pulseaudio did not answer within {timeout} s ({reason}):\n{_tail(log)}"
    )


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """The session's PulseAudio server, with ``os.environ`` pointed at it throughout."""
    reason = ""
    try:
        server = start_pulse(tmp_path_factory.mktemp("pulse"))
    except PulseUnavailable as exc:
        reason = str(exc)
    if reason:
        pytest.fail(f"cannot start PulseAudio for the real-audio tests: {reason}", pytrace=False)
    try:
        with server.applied():
            yield server
    finally:
        server.stop()
