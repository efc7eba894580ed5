"""The buttons file (``play --buttons``): that it parses, and that its pins are on this board."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

from voiceguide.doctor.check import Check, fail, ok, warn
from voiceguide.errors import VoiceguideError

NAME = "buttons"
GPIO_FIX = "pip install 'voiceguide[gpio]'"


def buttons_check(path: Path) -> list[Check]:
    """``path`` read as a buttons file: its error at its place, or its pins' problems."""
    try:
        from voiceguide.player.buttons_config import load_buttons
    except ImportError:
        return [
            fail(NAME, "this voiceguide cannot read a buttons file", "pip install -U voiceguide")
        ]
    q = shlex.quote(str(path))
    try:
        config = load_buttons(path)
    except VoiceguideError as exc:
        return [fail(NAME, str(exc), _edit(str(exc), q))]
    problems = config.pin_problems()
    pins = ", ".join(f"GPIO{p}" for p in config.pins())
    if problems:
        return [fail(NAME, f"{path}: " + "; ".join(problems), f"nano {q}", items=tuple(problems))]
    count = len(config.buttons)
    detail = f"{path}: {count} button{'s' if count != 1 else ''}, pins {pins}"
    if importlib.util.find_spec("gpiozero") is None:
        return [warn(NAME, f"{detail}; gpiozero is not installed", GPIO_FIX)]
    return [ok(NAME, detail)]


def _edit(message: str, quoted: str) -> str:
    """The editor opened at the error's line and column (``file:line:col: ...``)."""
    found = re.search(r":(\d+):(\d+): ", message)
    return f"nano +{found[1]},{found[2]} {quoted}" if found else f"nano {quoted}"
