"""The audio outputs: each backend's devices (or why it has none), and a test tone.

A backend that offers nothing is a warning (``--output auto`` falls back to the others).
The output ``play`` would use (``--output``, ``--device``) is opened and closed unheard: one
that does not open fails. ``--play`` plays the step chime on it instead, and waits until it
has been heard.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from voiceguide.doctor.check import Check, fail, ok, split_fix, warn
from voiceguide.doctor.probe import run
from voiceguide.player.devices import Device
from voiceguide.player.output import EXPORT_HINT

BACKENDS = ("sounddevice", "pacat", "aplay")
GENERAL = "voiceguide devices"  # what to run when no one command fixes it: see the outputs


def sound_server_fix() -> str:
    """The command that starts this machine's sound server (PipeWire's, else PulseAudio)."""
    if shutil.which("pipewire-pulse") or shutil.which("pipewire"):
        return "systemctl --user start pipewire-pulse"
    if shutil.which("pulseaudio"):
        return "systemctl --user start pulseaudio"
    return "sudo apt-get install pulseaudio pulseaudio-utils"


def audio_fix(problem: str) -> str:
    """The command that fixes an audio problem, from its words."""
    text = problem.lower()
    if "no audio output works" in text:  # every backend's reason follows: start a server
        return sound_server_fix()
    if "portaudio is missing" in text:
        return "sudo apt-get install libportaudio2"
    if "sounddevice package" in text:
        return "pip install sounddevice"
    if "pacat not found" in text:
        return "sudo apt-get install pulseaudio-utils"
    if "aplay not found" in text:
        return "sudo apt-get install alsa-utils"
    if "no pulseaudio or pipewire server" in text:
        return sound_server_fix()
    return GENERAL


def output_checks(timeout: float) -> list[Check]:
    """One check per backend, listing its devices (default marked ``*``), and a failure
    when no backend offers any. Listed in a child process (``probe``): when PortAudio
    crashes there, the others are listed without it."""
    listing, trouble = run(["outputs"], timeout)
    crashed = None
    if listing is None:
        crashed = f"PortAudio, listing the devices, {trouble or 'crashed'}"
        listing, trouble = run(["outputs", "bare"], timeout)
    if listing is None:
        return [fail("audio output", f"listing the outputs {trouble}", sound_server_fix())]
    devices = [Device(**d) for d in listing["devices"]]
    problems: dict[str, str] = dict(listing["problems"])
    if crashed is not None:
        problems["sounddevice"] = crashed
    checks: list[Check] = []
    for backend in BACKENDS:
        mine = [d for d in devices if d.backend == backend]
        name = f"audio {backend}"
        if mine:
            detail = _summary(mine)
            if backend == "sounddevice" and listing.get("portaudio"):
                detail += f", {listing['portaudio']}"
            width = max(len(d.id) for d in mine)
            checks.append(ok(name, detail, items=tuple(_line(d, width) for d in mine)))
        elif backend in problems:
            fix = (
                alsa_fix() if crashed and backend == "sounddevice" else audio_fix(problems[backend])
            )
            checks.append(warn(name, problems[backend], None if fix == GENERAL else fix))
        else:
            checks.append(warn(name, "no outputs"))
    return checks


def alsa_fix() -> str:
    """What to do when ALSA's configuration makes PortAudio abort."""
    if os.environ.get("ALSA_CONFIG_PATH"):
        return "unset ALSA_CONFIG_PATH"
    if (Path.home() / ".asoundrc").exists():
        return "mv ~/.asoundrc ~/.asoundrc.bak"
    return "sudo apt-get install --reinstall libasound2-data"


def _summary(devices: list[Device]) -> str:
    default = next((d.id for d in devices if d.default), None)
    count = f"{len(devices)} output{'s' if len(devices) != 1 else ''}"
    return f"{count} (default: {default})" if default else count


def _line(device: Device, width: int) -> str:
    mark = "*" if device.default else " "
    return f"{mark} {device.id:<{width}}  {device.description}".rstrip()


def _short(problem: str) -> str:
    """An output's error without its general advice (the fix says what to run)."""
    problem = problem.replace(f"; {EXPORT_HINT}", "")
    return problem.split("; check `voiceguide devices`")[0]


def tone_check(output: str, device: str | None, timeout: float, play: bool) -> list[Check]:
    """Open ``output`` (``device``) as ``play`` would, in a child process (``probe``); with
    ``play``, play the step chime on it."""
    name = "tone" if play else "audio output"
    where = f"{output}" + (f" --device {device}" if device else "")
    args = ["tone" if play else "open", output, *([device] if device else [])]
    done, trouble = run(args, timeout)
    if done is None or "error" in done:
        problem = str(done["error"]) if done else f"opening it {trouble}"
        detail, fix = split_fix(_short(problem))
        if fix is None:
            fix = alsa_fix() if done is None and "crashed" in problem else audio_fix(problem)
        return [fail(name, f"{where}: {detail}", fix)]
    on = f"{done['output']}" + (f" device {device}" if device else " (its default device)")
    if play:
        return [ok(name, f"played the step chime ({done['ms'] / 1000:g} s) on {on}")]
    return [ok(name, f"{where} opens {on}; --play sounds a tone on it")]
