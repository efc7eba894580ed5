"""``voiceguide doctor``: check that this machine can speak and play a routine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from voiceguide.cli.options import Device, Output, Socket
from voiceguide.doctor.run import DEFAULT_TIMEOUT


def doctor(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of the table.")
    ] = False,
    play: Annotated[
        bool, typer.Option("--play", help="Play a short tone on the output (--output, --device).")
    ] = False,
    output: Output = "auto",
    device: Device = None,
    buttons: Annotated[
        Path | None,
        typer.Option("--buttons", help="A buttons file to check (see 'play --buttons')."),
    ] = None,
    socket: Socket = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, max=3600.0, help="Seconds each check may take.")
    ] = DEFAULT_TIMEOUT,
) -> None:
    """Check the speech engines, audio outputs, cache, control socket, buttons and versions.

    Every failed check names the command that fixes it.

    Exit status: 0 when all passed (warnings allowed), 1 when a check failed.
    """
    from voiceguide.doctor.report import write_json, write_table
    from voiceguide.doctor.run import Options, exit_code, run_checks

    options = Options(play, output, device, buttons, socket, timeout)
    checks = run_checks(options)
    if json_output:
        write_json(checks, sys.stdout)
    else:
        write_table(checks, sys.stdout)
    code = exit_code(checks)
    if code:
        raise typer.Exit(int(code))
