"""Audio outputs for ``voiceguide play``: the pull-based interface, and opening a backend.

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

Backends (``open_output(name, device)``), each in its own module on ``output_base``:

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
``simpleaudio`` (experimental, never chosen by ``"auto"``; ``voiceguide[simpleaudio]``)
    Long buffers on ALSA's default device, pulled up to 60 s ahead and joined only inside
    quiet runs; the position from one monotonic run clock (``output_simpleaudio``).
``null``
    Discards the audio, paced in real time by the monotonic clock, or as fast as possible
    with ``fast=True``; ``keep=True`` keeps what was pulled (``NullOutput.captured``). For
    dry runs and tests.

``"auto"`` (or ``None``) tries sounddevice, then pacat, then aplay, and when none works
raises one ``AudioDeviceError`` with each one's reason and the fix.

A ``device`` that is a stable name (``headphones``, ``hdmi``, ``hdmi0``, ``hdmi1``, ``usb``,
``bluetooth``: ``device_names``) is looked up in each backend's listing as it is opened.
"""

from __future__ import annotations

from typing import Protocol, Self, runtime_checkable

from voiceguide.errors import AudioDeviceError, AudioLibraryMissing
from voiceguide.player.output_base import DEFAULT_LATENCY, Pull
from voiceguide.player.output_null import NullOutput
from voiceguide.player.priority import LOADED_LATENCY, busy_machine

NAMES = ("auto", "sounddevice", "subprocess", "pacat", "aplay", "simpleaudio", "null")
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
    from voiceguide.player.device_names import is_stable_name

    if is_stable_name(device) and name in NAMES:  # headphones, hdmi, usb, bluetooth...
        return _open_named(name, str(device), latency)
    if name == "auto":
        return _open_auto(device, latency)
    if name not in NAMES:
        raise AudioDeviceError(f"unknown audio output {name!r}: choose one of {', '.join(NAMES)}")
    try:
        return _open_backend(name, device, latency)
    except AudioLibraryMissing:
        raise
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
    if name == "simpleaudio":  # experimental; never chosen by "auto"
        from voiceguide.player.output_simpleaudio import SimpleaudioOutput

        return SimpleaudioOutput(device)
    from voiceguide.player.output_subprocess import SubprocessOutput

    return SubprocessOutput(name, device, latency=latency)


def _open_named(name: str, stable: str, latency: float) -> Output:
    """Open the device the stable name picks (``device_names``), listed afresh each time (a
    USB card's number changes when it is plugged in again); with ``auto`` or
    ``subprocess``, each backend that has one is tried in turn."""
    from voiceguide.player.device_names import resolve
    from voiceguide.player.devices import list_devices

    order = {"auto": ("sounddevice", "pacat", "aplay"), "subprocess": ("pacat", "aplay")}
    backends = order.get(name, (name,))
    reasons = []
    for backend, found in resolve(stable, list_devices(backends), backends):
        try:
            return _open_backend(backend, found, latency)
        except AudioDeviceError as exc:
            reasons.append(f"{backend} {found}: {exc}")
    raise AudioDeviceError(f"{stable} does not open ({'; '.join(reasons)}); {EXPORT_HINT}")


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
