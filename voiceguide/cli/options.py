"""Options that several commands share, each defined once as an ``Annotated`` type.

A command's own options are defined in its signature; these are the ones more than one
command takes, so their names and help are written here only.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from voiceguide.limits import VOLUME_RANGE_DB


def in_range(value: float, bounds: tuple[float, float]) -> float:
    """``value`` if it is a number within ``bounds``, else a usage error (exit 2)."""
    low, high = bounds
    if not math.isfinite(value) or not low <= value <= high:
        raise typer.BadParameter(f"{value:g} is not within {low:g} to {high:g}")
    return value


Script = Annotated[
    str,
    typer.Argument(help="A routine script (.yaml) or a built-in routine's name, e.g. daily."),
]
Engine = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="Speech engine instead of the script's: hibari (the default), piper, pyttsx3.",
    ),
]
Voice = Annotated[
    str | None,
    typer.Option(
        "--voice", help="Voice for every cue instead of the script's (see 'voiceguide voices')."
    ),
]
Output = Annotated[
    str,
    typer.Option(
        "--output", help="Audio output: auto, sounddevice, pacat, aplay, subprocess or null."
    ),
]
Device = Annotated[
    str | None,
    typer.Option(
        "--device",
        help="Output device: headphones, hdmi, hdmi0, hdmi1, usb, bluetooth, or an ID "
        "from 'voiceguide devices'.",
    ),
]
Socket = Annotated[
    Path | None,
    typer.Option("--socket", help="Control socket [$XDG_RUNTIME_DIR/voiceguide.sock]."),
]
Volume = Annotated[
    float,
    typer.Option(
        "--volume",
        callback=lambda value: in_range(value, VOLUME_RANGE_DB),
        help=f"Volume in dB ({VOLUME_RANGE_DB[0]:g} to {VOLUME_RANGE_DB[1]:g}).",
    ),
]
DeviceWait = Annotated[
    float,
    typer.Option(
        "--device-wait",
        callback=lambda value: in_range(value, (0.0, 3600.0)),
        help="Seconds to wait for an audio device missing at the start, or to keep "
        "reopening a lost or stalled one, before giving up (exit 7).",
    ),
]
