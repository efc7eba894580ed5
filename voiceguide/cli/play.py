"""``voiceguide play`` and ``voiceguide devices``: the hands-free player."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from voiceguide.cli.options import Engine, Script
from voiceguide.limits import DEVICE_WAIT_SECONDS, VOLUME_RANGE_DB


def play(
    script: Script,
    output: str = typer.Option(
        "auto",
        "--output",
        help="Audio output: auto, sounddevice, pacat, aplay, subprocess or null.",
    ),
    device: str | None = typer.Option(
        None, "--device", help="Output device (see 'voiceguide devices')."
    ),
    resume: bool = typer.Option(False, "--resume", help="Go on from where the last play stopped."),
    from_step: str | None = typer.Option(
        None, "--from", help="Start at this step (its name, or the start of it)."
    ),
    volume: float = typer.Option(
        0.0,
        "--volume",
        callback=lambda value: _in_range(value, VOLUME_RANGE_DB),
        help=f"Volume in dB ({VOLUME_RANGE_DB[0]:g} to {VOLUME_RANGE_DB[1]:g}).",
    ),
    socket: Path | None = typer.Option(
        None, "--socket", help="Control socket [$XDG_RUNTIME_DIR/voiceguide.sock]."
    ),
    fast: bool = typer.Option(False, "--fast", help="With --output null: as fast as possible."),
    device_wait: float = typer.Option(
        DEVICE_WAIT_SECONDS,
        "--device-wait",
        callback=lambda value: _in_range(value, (0.0, 3600.0)),
        help="Seconds to keep reopening a lost or stalled audio device before giving up.",
    ),
    engine: Engine = None,
) -> None:
    """Play SCRIPT hands-free: keys on a terminal, 'voiceguide ctl', or signals steer it."""
    from voiceguide.pipeline import play as run_play
    from voiceguide.units import clock

    result = run_play(
        script,
        engine=engine,
        output=output,
        device=device,
        fast=fast,
        resume=resume,
        from_step=from_step,
        socket=socket,
        volume_db=volume,
        device_wait=device_wait,
    )

    if result.finished:
        typer.echo("finished", err=True)
    else:
        typer.echo(
            f"stopped at {clock(result.position_ms)}: 'voiceguide play --resume' goes on", err=True
        )


def _in_range(value: float, bounds: tuple[float, float]) -> float:
    """``value`` if it is a number within ``bounds``, else a usage error (exit 2)."""
    low, high = bounds
    if not math.isfinite(value) or not low <= value <= high:
        raise typer.BadParameter(f"{value:g} is not within {low:g} to {high:g}")
    return value


def devices() -> None:
    """List the audio outputs ('--output BACKEND --device ID' plays on one)."""
    from voiceguide.player.devices import backend_problems, list_devices

    for d in list_devices():
        mark = "*" if d.default else " "
        typer.echo(f"{mark} {d.backend:<12} {d.id:<32} {d.description}")
    for backend, why in backend_problems().items():
        typer.echo(f"  {backend:<12} unavailable: {why}")
