"""``voiceguide service install`` and ``remove``: a routine as a systemd service.

Thin: ``voiceguide.service.install`` checks the routine, makes the units and runs
systemctl; this prints what was done, or the commands to run where systemctl cannot reach
its manager (then it still exits 0: the files are in place).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voiceguide.cli.commands import MARKUP
from voiceguide.cli.options import Device, DeviceWait, Engine, Output, Voice, Volume
from voiceguide.service.units import DEVICE_WAIT_S

service = typer.Typer(
    help="Run a routine as a systemd service: every day at a time, or at a button's press.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=MARKUP,
)

System = Annotated[
    bool,
    typer.Option(
        "--system/--user",
        help="The system's units (/etc/systemd/system, as root; User= is you), or your own "
        "(~/.config/systemd/user; with 'loginctl enable-linger' they run from boot).",
    ),
]
UnitDir = Annotated[
    Path | None,
    typer.Option(
        "--unit-dir",
        help="Write the units into this folder instead (packaging, tests); enables nothing.",
    ),
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print the units and the commands; change nothing.")
]


def _at(value: str | None) -> str | None:
    """``--at`` as HH:MM, or a usage error (exit 2)."""
    from voiceguide.service.units import BadTime, daily_time

    if value is None:
        return None
    try:
        return daily_time(value)
    except BadTime as error:
        raise typer.BadParameter(str(error)) from None


def _known(output: str, engine: str | None) -> None:
    """A usage error (exit 2) for an output or engine the play would refuse at boot."""
    from voiceguide.player.output import NAMES
    from voiceguide.voices import ENGINES

    if output not in NAMES:
        known = ", ".join(NAMES)
        raise typer.BadParameter(f"{output!r} is not one of {known}", param_hint="--output")
    if engine is not None and engine.lower() not in ENGINES:
        known = ", ".join(sorted(ENGINES))
        raise typer.BadParameter(f"{engine!r} is not one of {known}", param_hint="--engine")


def _commands(commands: list[list[str]]) -> None:
    for command in commands:
        typer.echo(f"  {' '.join(command)}")


@service.command("install")
def install(
    routine: Annotated[str, typer.Argument(help="A routine script, or a built-in's name.")],
    at: Annotated[
        str | None,
        typer.Option("--at", callback=_at, help="Play it every day at this time (HH:MM)."),
    ] = None,
    on_button: Annotated[
        bool,
        typer.Option("--on-button", help="Start at boot and wait for the start button, then play."),
    ] = False,
    buttons: Annotated[
        Path | None,
        typer.Option(
            "--buttons",
            help="With --on-button: the buttons file [~/.config/voiceguide/buttons.toml].",
        ),
    ] = None,
    system: System = False,
    unit_dir: UnitDir = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="The units' name, voiceguide-NAME \\[the routine's]."),
    ] = None,
    no_enable: Annotated[
        bool, typer.Option("--no-enable", help="Write the units; do not enable or start them.")
    ] = False,
    dry_run: DryRun = False,
    output: Output = "auto",
    device: Device = None,
    volume_db: Volume = 0.0,
    engine: Engine = None,
    voice: Voice = None,
    device_wait: DeviceWait = DEVICE_WAIT_S,
) -> None:
    """Write a systemd unit (and timer) that plays ROUTINE, and enable it.

    Installing again updates it. Its journal: 'journalctl --user -u voiceguide-NAME'
    (with --system: 'journalctl -u voiceguide-NAME').
    """
    from voiceguide.service import install as units

    _known(output, engine)
    if (at is None) == (not on_button):
        raise typer.BadParameter("choose one: --at HH:MM or --on-button", param_hint="--at")
    if buttons is not None and not on_button:
        raise typer.BadParameter("--buttons goes with --on-button", param_hint="--buttons")
    if on_button and buttons is None:
        buttons = units.default_buttons_file(units.invoking_account())
    play = units.PlayOptions(output, device, volume_db, engine, voice, device_wait)
    plan = units.plan_install(
        routine, at=at, buttons=buttons, system=system, unit_dir=unit_dir, name=name, play=play
    )
    assert plan.spec is not None
    if dry_run:
        for path, text in plan.write.items():
            typer.echo(f"# {path}\n{text}")
        for path in plan.delete:
            typer.echo(f"# delete {path}")
        typer.echo("would run:")
        _commands([*plan.before, *plan.commands])
        return
    why = "--unit-dir" if unit_dir is not None else "--no-enable" if no_enable else None
    why = why or units.systemctl_problem(plan)
    if why is None:
        units.run_systemctl(plan.before, check=False)
    units.write_files(plan)
    for path in plan.write:
        typer.echo(f"{'updated' if plan.updating else 'wrote'} {path}")
    for path in plan.delete:
        typer.echo(f"deleted {path}")
    started = plan.spec.timer if at is not None else plan.spec.service
    if why is None:
        units.run_systemctl(plan.commands)
        when = f"every day at {at}" if at is not None else "at boot, waiting for a button"
        typer.echo(f"enabled {started}: plays {when}")
    else:
        typer.echo(f"not enabled ({why}); to enable it, run:")
        _commands(plan.fallback)
    user = "" if system else "--user "
    typer.echo(f"journal: journalctl {user}-u {plan.spec.name}")
    account = units.invoking_account()
    if system and account.uid == 0:
        typer.echo("it plays as root: install it with sudo from your own account to play as you")
    if not system and not account.lingering:
        typer.echo(f"to play at boot without a login: loginctl enable-linger {account.name}")


@service.command("remove")
def remove(
    routine: Annotated[
        str, typer.Argument(help="The routine as installed (or the unit's name, voiceguide-X).")
    ],
    system: System = False,
    unit_dir: UnitDir = None,
    dry_run: DryRun = False,
) -> None:
    """Disable, stop and delete ROUTINE's unit and timer.

    Exit status 1 when it is not installed there.
    """
    from voiceguide.service import install as units

    plan = units.plan_remove(routine, system=system, unit_dir=unit_dir)
    if dry_run:
        for path in plan.delete:
            typer.echo(f"would delete {path}")
        typer.echo("would run:")
        _commands([*plan.before, *plan.commands])
        return
    why = "--unit-dir" if unit_dir is not None else units.systemctl_problem(plan)
    if why is None:
        units.run_systemctl(plan.before, check=False)
    units.write_files(plan)
    for path in plan.delete:
        typer.echo(f"deleted {path}")
    if why is None:
        units.run_systemctl(plan.commands)
    else:
        typer.echo(f"systemctl not run ({why}); if the units were loaded, run:")
        _commands(plan.fallback)
