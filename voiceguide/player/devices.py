"""The audio outputs this machine offers, for ``voiceguide devices``.

One list across backends: PortAudio's output devices (sounddevice, the default backend),
the PulseAudio/PipeWire sinks (for ``--output pacat``) and ALSA's playback PCMs (for
``--output aplay``; only ``default``, ``pulse``, ``pipewire`` and the per-card ones, not
the rate converters and other plugins; bluez-alsa's Bluetooth PCMs too). ``Device.id`` is
what ``--device`` takes with that backend; ``device_names`` finds one by a stable name
(``--device usb``). ``backend_problems`` says why a backend offers nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from voiceguide.errors import AudioDeviceError

_TIMEOUT = 3.0


@dataclass(frozen=True)
class Device:
    """One output device: ``backend`` plays on it when given ``--device ID``."""

    backend: str  # sounddevice, pacat or aplay
    id: str
    description: str
    default: bool = False
    rate: int | None = None  # the device's default sample rate, when known


def _run(*cmd: str) -> str | None:
    """A helper's stdout (in the C.UTF-8 locale: its labels in English), or None when it is
    missing, fails or hangs."""
    if shutil.which(cmd[0]) is None:
        return None
    env = {**os.environ, "LC_ALL": "C.UTF-8"}  # English labels, names kept in UTF-8
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=_TIMEOUT, start_new_session=True, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def sounddevice_devices() -> list[Device]:
    """PortAudio's output devices (raises AudioDeviceError if sounddevice cannot load)."""
    from voiceguide.player.portaudio import import_sounddevice

    sd = import_sounddevice()
    try:
        default = sd.default.device[1]
        devices = sd.query_devices()
        apis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"PortAudio cannot list devices: {exc}") from exc
    found = []
    for info in devices:
        if info["max_output_channels"] < 1:
            continue
        api = apis[info["hostapi"]]["name"]
        found.append(
            Device(
                "sounddevice",
                str(info["name"]),
                f"{info['name']} ({api})",
                info["index"] == default,
                int(info["default_samplerate"]),
            )
        )
    return found


def pulse_sinks() -> list[Device]:
    """The PulseAudio or PipeWire sinks, by ``pactl`` (none when no server answers), each
    described by its own name ("JBL Flip 5", "Built-in Audio Stereo") and format."""
    listing = _run("pactl", "list", "short", "sinks")
    if listing is None:
        return []
    default = (_run("pactl", "get-default-sink") or "").strip()
    names = sink_descriptions(_run("pactl", "list", "sinks") or "")
    found = []
    for line in listing.splitlines():
        fields = line.split("\t")
        if len(fields) < 2:
            continue
        spec = fields[3] if len(fields) > 3 else ""
        said = names.get(fields[1], f"sink {fields[1]}")
        found.append(Device("pacat", fields[1], f"{said} {spec}".strip(), fields[1] == default))
    return found


def sink_descriptions(listing: str) -> dict[str, str]:
    """Sink name -> its description, from ``pactl list sinks`` (the C locale's labels)."""
    found: dict[str, str] = {}
    name = ""
    for line in listing.splitlines():
        key, _, value = line.strip().partition(": ")
        if key == "Name":
            name = value
        elif key == "Description" and name:
            found[name] = value
            name = ""
    return found


def alsa_pcms() -> list[Device]:
    """ALSA's playback PCMs from ``aplay -L`` that are devices, not converter plugins."""
    listing = _run("aplay", "-L")
    if listing is None:
        return []
    found = []
    name = ""
    for line in listing.splitlines():
        if not line.startswith((" ", "\t")):
            name = line.strip()
            if name in ("default", "pulse", "pipewire") or ":CARD=" in name or _bluealsa(name):
                found.append(Device("aplay", name, "", name == "default"))
        elif found and found[-1].id == name and not found[-1].description:
            found[-1] = Device("aplay", name, line.strip(), name == "default")
    return found


BACKENDS = ("sounddevice", "pacat", "aplay")


def _bluealsa(name: str) -> bool:
    """A Bluetooth speaker's PCM by bluez-alsa (``bluealsa:DEV=...``), not its template."""
    return name.startswith("bluealsa") and "DEV=" in name


def list_devices(backends: Iterable[str] = BACKENDS) -> list[Device]:
    """Every output device of ``backends`` (all by default) that work here, defaults marked."""
    found: list[Device] = []
    if "sounddevice" in backends:
        with contextlib.suppress(AudioDeviceError):  # see backend_problems
            found += sounddevice_devices()
    if "pacat" in backends:
        found += pulse_sinks()
    if "aplay" in backends:
        found += alsa_pcms()
    return found


def backend_problems() -> dict[str, str]:
    """Why a backend is unusable here, by backend name (empty when all are usable)."""
    problems: dict[str, str] = {}
    try:
        if not sounddevice_devices():
            problems["sounddevice"] = "PortAudio sees no output device"
    except AudioDeviceError as exc:
        problems["sounddevice"] = str(exc)
    if shutil.which("pacat") is None:
        problems["pacat"] = "pacat not found: install pulseaudio-utils"
    elif _run("pactl", "info") is None:
        problems["pacat"] = "no PulseAudio or PipeWire server answers"
    if shutil.which("aplay") is None:
        problems["aplay"] = "aplay not found: install alsa-utils"
    return problems
