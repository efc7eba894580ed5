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
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    """``parec`` capturing the null sink's monitor into a file, for a fixed length."""

    path: Path
    frames: int
    proc: subprocess.Popen[bytes]
    thread: threading.Thread | None = None
    error: BaseException | None = None
    started_at: float = 0.0  # time.monotonic() when the first recorded frame was captured
    _got: int = 0
    _started: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        try:
            assert self.proc.stdout is not None
            want = self.frames * 2
            with self.path.open("wb") as out:
                while self._got < want:
                    chunk = self.proc.stdout.read1(min(65536, want - self._got))
                    if not chunk:
                        break
                    out.write(chunk)
                    if not self._got:
                        self.started_at = time.monotonic() - len(chunk) / 2 / RATE
                    self._got += len(chunk)
                    self._started.set()
        except BaseException as exc:  # handed to wait()
            self.error = exc
        finally:
            self._started.set()
            self.proc.terminate()

    def wait(self, timeout: float | None = None) -> npt.NDArray[np.float32]:
        """The recorded samples (as float in [-1, 1)), once ``frames`` have been captured."""
        assert self.thread is not None
        self.thread.join(timeout if timeout is not None else self.frames / RATE + 10.0)
        if self.thread.is_alive():
            self.proc.kill()
            raise TimeoutError(f"parec delivered {self._got // 2} of {self.frames} frames")
        self.proc.wait(5)
        if self.error is not None:
            raise self.error
        data = np.fromfile(self.path, dtype="<i2")
        if len(data) < self.frames:
            raise RuntimeError(
                f"parec stopped after {len(data)} of {self.frames} frames (exit status "
                f"{self.proc.returncode}): {self._stderr()}"
            )
        return data.astype(np.float32) / 32768.0

    def _stderr(self) -> str:
        if self.proc.stderr is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace").strip()


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

    def record(self, seconds: float, name: str = "recording.raw") -> Recording:
        """Start capturing ``seconds`` of the sink's monitor; returns once capture is running.

        Call ``wait()`` on the result for the samples. parec writes to the file as it reads,
        so a test can start playing as soon as this returns.
        """
        frames = round(seconds * RATE)
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
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        rec = Recording(self.root / name, frames, proc)
        rec.thread = threading.Thread(target=rec._run, name="parec-reader", daemon=True)
        rec.thread.start()
        if not rec._started.wait(5.0) or rec._got == 0:
            proc.kill()
            raise RuntimeError(f"parec recorded nothing: {rec._stderr()}")
        return rec

    def alive(self) -> bool:
        return self.proc.poll() is None

    def listen(self) -> None:
        """Keep a low-latency reader on the monitor, so the null sink acts like a sound card.

        A null sink nobody listens to runs at its maximum latency (2 s): it takes audio in
        two-second gulps and streams stall at their start (``pacat`` of 1 s of audio takes
        2 s). A reader asking for 20 ms sets the sink's latency as a sound card's would.
        """
        listener = subprocess.Popen(
            ["parec", "-d", f"{self.sink}.monitor", "--raw", "--latency-msec=20"],
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.listener = listener
        heard = threading.Event()

        def drain() -> None:
            assert listener.stdout is not None
            while listener.stdout.read1(65536):
                heard.set()
            heard.set()

        threading.Thread(target=drain, name="parec-listener", daemon=True).start()
        # The first data comes once the sink has switched to the low latency: until then
        # (up to 2 s) new streams stall.
        if not heard.wait(5.0) or listener.poll() is not None:
            raise PulseUnavailable(f"parec could not listen to {self.sink}.monitor")

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
    try:
        server = start_pulse(tmp_path_factory.mktemp("pulse"))
    except PulseUnavailable as exc:
        pytest.fail(f"cannot start PulseAudio for the real-audio tests: {exc}", pytrace=False)
    try:
        with server.applied():
            yield server
    finally:
        server.stop()
