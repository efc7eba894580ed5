"""The versions doctor reports: voiceguide's, Python's, the board's and the parts' it uses."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from voiceguide import __version__
from voiceguide.doctor.check import Check, ok

PACKAGES = (
    "numpy",
    "sounddevice",
    "pyttsx3",
    "hibari-tts",
    "onnxruntime",
    "piper-tts",
    "gpiozero",
    "typer",
    "rich",
)
MODEL = Path("/proc/device-tree/model")  # "Raspberry Pi 4 Model B Rev 1.4" on a Pi


def versions_check() -> list[Check]:
    """One ok check: voiceguide and Python in its detail, the rest as its items."""
    from voiceguide.voices.installed import dist_version

    found = {name: dist_version(name) for name in PACKAGES}
    python = platform.python_version()
    machine = f"{platform.system()} {platform.release()} {platform.machine()}"
    items = [f"python: {sys.executable}"]
    parts = [f"{name} {version or '(not installed)'}" for name, version in found.items()]
    items.append(", ".join(parts))
    data = {"voiceguide": __version__, "python": python, "machine": machine, **found}
    detail = f"voiceguide {__version__}, Python {python}, {_board() or machine}"
    return [ok("versions", detail, items=tuple(items), data=data)]


def _board() -> str | None:
    try:
        return MODEL.read_text(errors="replace").strip("\x00\n ") or None
    except OSError:
        return None
