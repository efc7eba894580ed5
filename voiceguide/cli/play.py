"""``voiceguide play`` and ``voiceguide devices``: the hands-free player.

Each parameter of ``play`` is the keyword of ``voiceguide.pipeline.play`` of the same name,
passed on as typer read it: the signature below is the options' one definition.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from voiceguide.cli.options import Engine, Script, Voice
from voiceguide.limits import DEVICE_WAIT_SECONDS, VOLUME_RANGE_DB


def _in_range(value: float, bounds: tuple[float, float]) -> float:
    """``value`` if it is a number within ``bounds``, else a usage error (exit 2)."""
    low, high = bounds
    if not math.isfinite(value) or not low <= value <= high:
        raise typer.BadParameter(f"{value:g} is not within {low:g} to {high:g}")
    return value


def play(
    script: Script,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            help="Audio output: auto, sounddevice, pacat, aplay, subprocess, null, or "
            "simpleaudio (experimental, never picked by auto; pip install "
            "'voiceguide[simpleaudio]').",
        ),
    ] = "auto",
    device: Annotated[
        str | None,
        typer.Option(
            "--device",
            help="Output device: headphones, hdmi, hdmi0, hdmi1, usb, bluetooth, or an ID "
            "from 'voiceguide devices'.",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Go on from where the last play stopped.")
    ] = False,
    from_step: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Start at a step (its number, or a word of its name) or a time (7:00, 90s).",
        ),
    ] = None,
    volume_db: Annotated[
        float,
        typer.Option(
            "--volume",
            callback=lambda value: _in_range(value, VOLUME_RANGE_DB),
            help=f"Volume in dB ({VOLUME_RANGE_DB[0]:g} to {VOLUME_RANGE_DB[1]:g}).",
        ),
    ] = 0.0,
    socket: Annotated[
        Path | None,
        typer.Option("--socket", help="Control socket [$XDG_RUNTIME_DIR/voiceguide.sock]."),
    ] = None,
    fast: Annotated[
        bool, typer.Option("--fast", help="With --output null: as fast as possible.")
    ] = False,
    device_wait: Annotated[
        float,
        typer.Option(
            "--device-wait",
            callback=lambda value: _in_range(value, (0.0, 3600.0)),
            help="Seconds to wait for an audio device missing at the start, or to keep "
            "reopening a lost or stalled one, before giving up (exit 7).",
        ),
    ] = DEVICE_WAIT_SECONDS,
    engine: Engine = None,
    voice: Voice = None,
    buttons: Annotated[
        Path | None,
        typer.Option(
            "--buttons",
            metavar="FILE",
            help="GPIO buttons and status LED (TOML; needs voiceguide[gpio]).",
        ),
    ] = None,
    wait_start: Annotated[
        bool,
        typer.Option(
            "--wait-start",
            help="Lay it all out, then wait silent for start (button, key, 'ctl start').",
        ),
    ] = False,
) -> None:
    """Play SCRIPT hands-free: keys on a terminal, 'voiceguide ctl', buttons or signals steer it."""
    options = dict(locals())  # the parameters above, as typer read them
    from voiceguide.pipeline import play as run_play

    result = run_play(**options)
    if result.finished:
        typer.echo("finished", err=True)
    else:  # routine time, as 'ctl status' shows it
        typer.echo(f"stopped at {result.position}: 'voiceguide play --resume' goes on", err=True)


def devices() -> None:
    """List the audio outputs ('--output BACKEND --device ID' plays on one), each with the
    stable names that pick it ('--device usb')."""
    from voiceguide.player.device_names import chosen
    from voiceguide.player.devices import backend_problems, list_devices

    found = list_devices()
    names = chosen(found)
    for d in found:
        mark = "*" if d.default else " "
        typer.echo(f"{mark} {d.backend:<12} {d.id:<32} {names.get(d, ''):<10} {d.description}")
    for backend, why in backend_problems().items():
        typer.echo(f"  {backend:<12} unavailable: {why}")
