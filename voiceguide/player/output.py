"""Audio outputs for ``voiceguide play``: a pull-based interface and its backends.

The interface (``Output``) is pull-based, so the real-time side never waits for the mixer:

``start(pull)``
    Begin playing. The backend calls ``pull(n)`` from its own audio thread (a PortAudio
    callback, or a writer thread) for exactly ``n`` float32 mono frames at 24 kHz
    (``units.SAMPLE_RATE``). ``pull`` must never block: it returns silence when it has
    nothing. If ``pull`` raises or returns the wrong length, playback stops and ``failed``
    holds that exception.
``played_frames()``
    Frames of ``pull``'s audio heard so far in this run (never more than were pulled): the
    true play position, for following the routine's clock. sounddevice: the last
    callback's ``outputBufferDacTime`` extrapolated on the stream's clock. Subprocess
    sinks: frames written, minus what is still in the pipe and the sink's buffer (its
    requested latency), as well as that can be known. Against a recording of the sink:
    within 20 ms (sounddevice, aplay) and 70 ms (pacat), erring late.
``pulled_frames()``
    Frames taken from ``pull`` so far in this run (ahead of ``played_frames`` by about the
    latency).
``latency_frames()``
    How far ahead of the listener ``pull`` is called (the output buffer), in frames.
``stop(drain=True)``
    End the run; ``pull`` is not called again. ``drain=True`` returns once everything
    already pulled has been heard (bounded: a dead device never makes it hang, it raises
    AudioDeviceError); ``drain=False`` cuts at once, dropping the buffer (for pause: resume
    from ``played_frames()``). ``start`` may be called again; the counters restart at 0.
``close()``
    Release the device; idempotent. Outputs are context managers.
``failed``
    ``None``, or the exception that ended playback on its own (device lost or stalled:
    ``AudioDeviceError``; or whatever ``pull`` raised). The audio thread notices a lost
    device within about a second and stops pulling; the player polls ``failed``.

Backends (``open_output(name, device)``):

``sounddevice`` (the default)
    A PortAudio callback ``OutputStream``: float32, mono, 24000 Hz, or the device's own
    rate with a streaming resampler when it refuses 24000 (ALSA ``hw:`` devices, HDMI;
    ``default``/``pulse``/PipeWire take any rate). Latency 0.2 s by default, with the block
    size left to PortAudio (50 ms blocks then): room for a callback that only copies a
    block while another thread mixes and every core is busy (at 0.05 s that already
    glitches, on a 2-core x86 machine). sounddevice ships no PortAudio on Linux; it uses
    the system's ``libportaudio2``.
``pacat`` / ``aplay`` (``subprocess`` picks: pacat when PulseAudio or PipeWire answers)
    Raw s16le 24000 Hz mono on the program's stdin, fed by a writer thread. No Python
    audio library at all: the fallback when PortAudio is missing or misbehaves.
``null``
    Discards the audio, paced in real time by the monotonic clock, or as fast as possible
    with ``fast=True``; ``keep=True`` keeps what was pulled (``NullOutput.captured``). For
    dry runs and tests.
``simpleaudio``
    Not available, on purpose: it is unmaintained since 2019 and publishes no wheels for
    Linux, so ``pip install simpleaudio`` compiles it and needs gcc and ``libasound2-dev``
    (on Debian 12 with Python 3.11 it fails with ``alsa/asoundlib.h: No such file``; with
    the headers installed it builds). Even built, it does not fit: it plays one whole buffer
    per call, opening the ALSA device each time, so a stream of blocks has gaps (40 ms
    between two buffers, measured through PulseAudio); it has no play position, and it is
    known to crash with Raspberry Pi audio drivers.

``"auto"`` (or ``None``) tries sounddevice, then pacat, then aplay, and when none works
raises one ``AudioDeviceError`` with each one's reason and the fix.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar, runtime_checkable

from voiceguide.errors import AudioDeviceError
from voiceguide.units import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float32]

T = TypeVar("T")
Pull = Callable[[int], "Samples"]
"""``pull(n)``: exactly ``n`` float32 frames at SAMPLE_RATE; never blocks (silence if idle)."""

NAMES = ("auto", "sounddevice", "subprocess", "pacat", "aplay", "null", "simpleaudio")
DEFAULT_LATENCY = 0.2
"""Seconds of audio buffered between ``pull`` and the listener."""
STALL_SECONDS = 1.0
"""A running output that makes no progress for this long (plus its latency) has failed."""
OPEN_SECONDS = 5.0
"""Opening a device that takes longer has failed (a hung sound server)."""
EXPORT_HINT = "`voiceguide export` makes a file to play elsewhere"


@runtime_checkable
class Output(Protocol):
    """A pull-based audio output (see the module docstring)."""

    name: str
    failed: BaseException | None
    underflows: int | None

    def start(self, pull: Pull) -> None: ...
    def played_frames(self) -> int: ...
    def pulled_frames(self) -> int: ...
    def latency_frames(self) -> int: ...
    def stop(self, drain: bool = True) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...


class OutputBase:
    """Shared bookkeeping: the failure slot, the run flag and the context manager."""

    name = "output"

    def __init__(self) -> None:
        self.failed: BaseException | None = None
        # Underflows the sound system reported (None: this backend cannot tell).
        self.underflows: int | None = None
        self._running = False
        self._closed = False

    def _fail(self, exc: BaseException) -> None:
        """Record the first failure (later ones are consequences of it)."""
        if self.failed is None:
            self.failed = exc

    def close(self) -> None:
        """Release the device (subclasses); idempotent."""
        self._closed = True

    def _check_startable(self) -> None:
        if self._closed:
            raise AudioDeviceError(f"{self.name} output is closed")
        if self._running:
            raise RuntimeError(f"{self.name} output is already playing")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


AUDIO_NICE = -10
"""The audio threads (and pacat or aplay) ask for this nice value: on a busy machine they
get the CPU before the busy programs (at nice 0). Where that is not permitted (no
CAP_SYS_NICE or RLIMIT_NICE), they play at normal priority."""
LOADED_LATENCY = 0.4
"""The output buffer (seconds) when the machine is busy when the play starts (a load
average above one per core): room for the audio thread to be scheduled late."""


def raise_priority(tid: int | None = None, nice: int = AUDIO_NICE) -> bool:
    """Give the thread ``tid`` (a native thread id or process id; None: the calling
    thread) the nice value ``nice``, if permitted; whether it was."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id() if tid is None else tid, nice)
    except OSError:  # not permitted: normal priority will do on a quiet machine
        return False
    return True


def busy_machine() -> bool:
    """Whether the load average (1 minute) is above the number of cores."""
    try:
        return os.getloadavg()[0] > (os.cpu_count() or 1)
    except OSError:
        return False


def check_block(block: Any, n: int) -> Samples:
    """``pull``'s result as a float32 array of exactly ``n`` frames, or a clear ValueError."""
    import numpy as np

    arr = np.asarray(block, dtype=np.float32)
    if arr.shape != (n,):
        raise ValueError(f"pull({n}) returned an array of shape {arr.shape}, expected ({n},)")
    return arr


def to_s16le(block: Samples) -> bytes:
    """Float samples in [-1, 1] as little-endian 16-bit PCM (clipped)."""
    import numpy as np

    return (np.clip(block, -1.0, 32767 / 32768) * 32768.0).astype("<i2").tobytes()


def call_with_timeout(fn: Callable[[], T], timeout: float, what: str) -> T:
    """``fn()``, run in a daemon thread; give up on it after ``timeout`` seconds.

    For the calls into an audio library that can block on a hung sound server (through
    ALSA's pulse plugin, for 30 s and more): a wedged call is left behind in its thread,
    and the caller gets an AudioDeviceError: "``what`` took more than ``timeout`` s".
    """
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(fn())
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=run, name="voiceguide-audio-call", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise AudioDeviceError(f"{what} took more than {timeout:g} s (is the sound server hung?)")
    if errors:
        raise errors[0]
    return results[0]


@contextlib.contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Capture what C libraries (ALSA, PortAudio) print on fd 2 during a short call.

    Their messages (``ALSA lib pulse.c:242:(pulse_connect) PulseAudio: Unable to connect``,
    ``Expression '...' failed in 'src/hostapi/alsa/pa_linux_alsa.c'``) would clutter the
    one-line error; the lines are handed to the caller for the error message, and lines
    that are not such noise are passed on to the real stderr afterwards.
    """
    import tempfile

    lines: list[str] = []
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all
        yield lines
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode(errors="replace")
            lines.extend(line for line in text.splitlines() if line.strip())
            other = [line for line in lines if not _is_library_noise(line)]
            if other:
                os.write(2, ("\n".join(other) + "\n").encode())


_library_lines = [0]  # lines of sound-library noise kept off the terminal (see below)


def library_messages() -> int:
    """How many lines the sound libraries printed while playing (counted, not shown)."""
    return _library_lines[0]


@contextlib.contextmanager
def library_noise_counted() -> Iterator[None]:
    """While playing: what C libraries print on fd 2 at any time (``ALSA lib pcm.c:8545:
    (snd_pcm_recover) underrun occurred``, from PortAudio's audio thread) is counted
    (``library_messages``), not shown; every other line goes on to stderr as it comes.

    fd 2 is a pipe meanwhile, read by a thread that sorts the lines.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    thread = threading.Thread(
        target=_sort_lines, args=(read_end, saved), name="voiceguide-stderr", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last writer closes: the thread sees its end
        thread.join(1.0)
        if not thread.is_alive():  # (else it still writes to ``saved``)
            os.close(saved)


def _sort_lines(read_end: int, out: int) -> None:
    rest = b""
    try:
        while chunk := os.read(read_end, 4096):
            *lines, rest = (rest + chunk).split(b"\n")
            for raw in lines:
                if _is_library_noise(raw.decode(errors="replace")):
                    _library_lines[0] += 1
                else:
                    os.write(out, raw + b"\n")
        if rest:
            os.write(out, rest)
    except OSError:
        pass
    finally:
        os.close(read_end)


def _is_library_noise(line: str) -> bool:
    return line.startswith(
        (
            "ALSA lib ",
            "Expression '",
            "PaAlsaStream",
            "Cannot connect to server",
            "jack server",
            "JackShm",
        )
    )


def library_reason(lines: list[str]) -> str:
    """The most telling line of what ALSA printed, for an error message ('' if none)."""
    for line in reversed(lines):
        if line.startswith("ALSA lib ") and ")" in line:
            return line.split(")", 1)[1].strip()
    return ""


class NullOutput(OutputBase):
    """Discards the audio: paced in real time (monotonic clock) or, with ``fast``, at once.

    ``keep=True`` keeps every pulled block; ``captured()`` returns them joined.
    """

    name = "null"

    def __init__(self, *, fast: bool = False, keep: bool = False, block_frames: int = 1200):
        super().__init__()
        self.fast = fast
        self.keep = keep
        self.block_frames = block_frames
        self._blocks: list[Samples] = []
        self._pulled = 0
        self._t0 = 0.0
        self._final: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pull: Pull) -> None:
        self._check_startable()
        self._pulled = 0
        self._final = None
        self._blocks = []
        self._stop.clear()
        self._t0 = time.monotonic()
        self._running = True
        self._thread = threading.Thread(
            target=self._run, args=(pull,), name="voiceguide-null-output", daemon=True
        )
        self._thread.start()

    def _run(self, pull: Pull) -> None:
        n = self.block_frames
        if not self.fast:
            raise_priority()
        try:
            while not self._stop.is_set():
                if not self.fast:
                    # Pull each block when its first frame is due: played == pulled then.
                    delay = self._t0 + self._pulled / SAMPLE_RATE - time.monotonic()
                    if delay > 0 and self._stop.wait(delay):
                        break
                block = check_block(pull(n), n)
                if self.keep:
                    self._blocks.append(block.copy())
                self._pulled += n
                if self.fast:
                    time.sleep(0)  # let other threads run
        except BaseException as exc:  # pull failed: playback ends
            self._fail(exc)

    def played_frames(self) -> int:
        if self._final is not None:
            return self._final
        if self.fast:
            return self._pulled
        heard = int((time.monotonic() - self._t0) * SAMPLE_RATE)
        return max(0, min(self._pulled, heard))

    def pulled_frames(self) -> int:
        return self._pulled

    def latency_frames(self) -> int:
        return 0

    def stop(self, drain: bool = True) -> None:
        if not self._running:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        if drain and not self.fast:
            while self.played_frames() < self._pulled and self.failed is None:
                time.sleep(0.005)
        self._final = self._pulled if (drain or self.fast) else self.played_frames()
        self._running = False

    def close(self) -> None:
        self.stop(drain=False)
        self._closed = True

    def captured(self) -> Samples:
        """Everything pulled in this run, when opened with ``keep=True``."""
        import numpy as np

        if not self._blocks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._blocks)


def open_output(
    name: str | None = "auto",
    device: str | None = None,
    *,
    latency: float | None = None,
    fast: bool = False,
    keep: bool = False,
) -> Output:
    """Open the output ``name`` (see NAMES) on ``device`` (backend-specific; None: default).

    The device is opened here, so a missing or busy device fails now, as an
    AudioDeviceError whose one-line message names the fix. ``fast`` and ``keep`` are for
    ``null``; ``latency`` is in seconds (None: DEFAULT_LATENCY, or LOADED_LATENCY on a
    busy machine).
    """
    if latency is None:
        latency = LOADED_LATENCY if busy_machine() else DEFAULT_LATENCY
    name = (name or "auto").lower()
    if name == "null":
        return NullOutput(fast=fast, keep=keep)
    if name == "simpleaudio":
        raise AudioDeviceError(
            "the simpleaudio output is not available: simpleaudio is unmaintained, has no "
            "Linux wheels (it must be compiled against libasound2-dev) and cannot play a "
            "stream without gaps; use --output sounddevice or --output subprocess"
        )
    if name == "auto":
        return _open_auto(device, latency)
    if name not in NAMES:
        raise AudioDeviceError(f"unknown audio output {name!r}: choose one of {', '.join(NAMES)}")
    try:
        return _open_backend(name, device, latency)
    except AudioDeviceError as exc:
        raise AudioDeviceError(f"{exc}; {EXPORT_HINT}") from exc


def _open_backend(name: str, device: str | None, latency: float) -> Output:
    """Open a real backend; its AudioDeviceError says why, without the general hints."""
    if name == "sounddevice":
        from voiceguide.player.output_sounddevice import SounddeviceOutput

        return SounddeviceOutput(device, latency=latency)
    if name == "subprocess":
        from voiceguide.player.output_subprocess import open_subprocess

        return open_subprocess(device, latency=latency)
    from voiceguide.player.output_subprocess import SubprocessOutput

    return SubprocessOutput(name, device, latency=latency)


def _open_auto(device: str | None, latency: float) -> Output:
    reasons: list[str] = []
    for candidate in ("sounddevice", "pacat", "aplay"):
        try:
            return _open_backend(candidate, device, latency)
        except AudioDeviceError as exc:
            reasons.append(f"{candidate}: {exc}")
    raise AudioDeviceError(
        "no audio output works ("
        + "; ".join(reasons)
        + "); check `voiceguide devices`, start PulseAudio or PipeWire, or install "
        + f"libportaudio2 and sounddevice; {EXPORT_HINT}"
    )
