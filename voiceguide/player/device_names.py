"""Stable output names: ``--device headphones|hdmi|hdmi0|hdmi1|usb|bluetooth``.

A device ID changes from machine to machine and, for a USB speaker, from boot to boot (its
ALSA card number); what it is does not. A stable name is matched against what a backend
lists (``devices.Device``) by what Raspberry Pi OS and other Linux systems call the device:

``headphones``
    The Pi's 3.5 mm jack: ALSA card ``Headphones`` ("bcm2835 Headphones"), the sink
    ``alsa_output.platform-bcm2835_audio.*``.
``hdmi0``, ``hdmi1``
    The Pi's HDMI ports by their board labels: ALSA cards ``vc4hdmi0``/``vc4hdmi1``
    ("vc4-hdmi-0"), the older ``bcm2835 HDMI 1``/``2``, the sinks of the ports' addresses
    on a Pi 4 (``platform-fef00700``, ``fef05700``) and a Pi 5 (``107c701400``,
    ``107c706400``).
``hdmi``
    Any HDMI output: HDMI0 first, then HDMI1, then others (a PC's ``HDMI 0``).
``usb``
    A USB card: ALSA's PCM ``USB Audio``, the sinks ``alsa_output.usb-*``.
``bluetooth``
    A Bluetooth speaker through PipeWire or PulseAudio: the sinks ``bluez_output.*`` and
    ``bluez_sink.*``; bluez-alsa's ``bluealsa`` PCMs.

When two devices answer to one name (two USB speakers), the first the backend lists is used
(the lowest ALSA card number, the oldest sink): deterministic, and a headless player plays
rather than stops; a device's own ID chooses another. Of one ALSA card's PCMs, ``aplay``
gets the one that converts what it sends (``default``/``sysdefault``, then ``hdmi``, then
``plughw``), never the raw ``hw``. A name that nothing answers to raises AudioDeviceError
(exit 7) with one line of what is there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from voiceguide.errors import AudioDeviceError
from voiceguide.player.devices import Device

NAMES = ("headphones", "hdmi", "hdmi0", "hdmi1", "usb", "bluetooth")

_HDMI_PORTS = {  # the HDMI audio devices' addresses in a Pi's device tree -> port
    "fef00700": 0,  # Pi 4
    "fef05700": 1,
    "107c701400": 0,  # Pi 5
    "107c706400": 1,
}
_ALSA_HDMI = re.compile(r"vc4-?hdmi-?(\d)|bcm2835 hdmi (\d)|card=b(\d)", re.IGNORECASE)
# aplay's PCMs of one card, best first: those that convert rate and format (and IEC958 for
# the Pi's HDMI) before the raw ones
_PCM_RANK = ("default:", "sysdefault:", "hdmi:", "plughw:", "bluealsa")


def is_stable_name(device: str | None) -> bool:
    """Whether ``--device`` names a kind of output rather than one device's ID."""
    return device is not None and device.lower() in NAMES


def _hdmi_port(device: Device) -> int | None:
    """0 or 1 for a Pi's HDMI port; -1 for another HDMI output; None if not HDMI."""
    if device.backend == "pacat":
        sink = device.id.lower()
        if ".hdmi" not in sink and "bcm2835_audio.digital" not in sink:
            return None
        platform = re.search(r"platform-([0-9a-f]+)\.", sink)
        return _HDMI_PORTS.get(platform.group(1), -1) if platform else -1
    text = f"{device.id} {device.description}"
    found = _ALSA_HDMI.search(text)
    if found:
        kms, legacy, card = found.groups()  # vc4hdmi0/1; "bcm2835 HDMI 1"/2 and card b1/b2
        return int(kms) if kms is not None else int(legacy or card) - 1
    card = "(hw:" in text or "card=" in text.lower()  # not ALSA's "hdmi" alias of no card
    return -1 if card and "hdmi" in text.lower() else None


def kinds(device: Device) -> tuple[str, ...]:
    """The stable names ``device`` answers to (an HDMI port both ``hdmiN`` and ``hdmi``)."""
    sink = device.id.lower()
    text = f"{device.id} {device.description}".lower()
    if device.backend == "pacat":
        if sink.startswith(("bluez_output.", "bluez_sink.")):
            return ("bluetooth",)
        if sink.startswith("alsa_output.usb-"):
            return ("usb",)
        if "bcm2835_audio" in sink and _hdmi_port(device) is None:
            return ("headphones",)
    else:
        if sink.startswith("bluealsa"):
            return ("bluetooth",)
        if "usb audio" in text:
            return ("usb",)
        if "card=headphones" in text or "bcm2835 headphones" in text:
            return ("headphones",)
    port = _hdmi_port(device)
    if port is None:
        return ()
    return ("hdmi", f"hdmi{port}") if port in (0, 1) else ("hdmi",)


def _rank(device: Device, name: str) -> tuple[int, int]:
    """Sort key among one backend's matches (stable: ties keep the backend's order)."""
    port = _hdmi_port(device) if name == "hdmi" else 0
    hdmi = port if port is not None and port >= 0 else 9
    lowered = device.id.lower()
    pcm = next((i for i, p in enumerate(_PCM_RANK) if lowered.startswith(p)), len(_PCM_RANK))
    return hdmi, pcm if device.backend == "aplay" else 0


def matches(name: str, devices: Iterable[Device], backend: str) -> list[Device]:
    """``backend``'s devices that answer to the stable ``name``, the one to use first."""
    name = name.lower()
    found = [d for d in devices if d.backend == backend and name in kinds(d)]
    if backend == "aplay":  # the raw hw: PCMs take only the card's own formats
        found = [d for d in found if not d.id.lower().startswith(("hw:", "dmix:", "front:"))]
    return sorted(found, key=lambda d: _rank(d, name))


def chosen(devices: list[Device]) -> dict[Device, str]:
    """Each device a stable name picks, with the names that pick it ("hdmi hdmi0"): for
    ``voiceguide devices``."""
    picked: dict[Device, list[str]] = {}
    for backend in dict.fromkeys(d.backend for d in devices):
        for name in NAMES:
            first = matches(name, devices, backend)
            if first:
                picked.setdefault(first[0], []).append(name)
    return {device: " ".join(names) for device, names in picked.items()}


def resolve(name: str, devices: list[Device], backends: Iterable[str]) -> list[tuple[str, str]]:
    """(backend, device ID) for the stable ``name``, one per backend in ``backends`` order
    that has a match: the outputs to try, in turn. Raises AudioDeviceError (one line
    saying what is there) when none has."""
    found = []
    for backend in backends:
        first = matches(name, devices, backend)
        if first:
            found.append((backend, first[0].id))
    if found:
        return found
    here = sorted({kind for d in devices for kind in kinds(d)}, key=NAMES.index)
    others = list(dict.fromkeys(d.id for d in devices if not kinds(d)))
    listing = f"here: {', '.join(here)}" if here else "no headphone, HDMI, USB or Bluetooth output"
    if others:
        more = f" and {len(others) - 6} more" if len(others) > 6 else ""
        listing += f"; other devices: {', '.join(others[:6])}{more}"
    raise AudioDeviceError(
        f"no audio output answers to {name.lower()!r} ({listing}); plug it in or pair it, "
        "or see `voiceguide devices`"
    )
