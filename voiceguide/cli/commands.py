"""The typer application: the ``voiceguide`` command line in full.

Importing this module imports typer; ``voiceguide.cli.main`` does so once its signal handler
is in place. The options before the command (``--debug``) fill in the ``Run`` that ``main``
passes as the context's object.
"""

from __future__ import annotations

from typing import Annotated

import typer

from voiceguide import __version__
from voiceguide.cli import check, ctl, export, info, plan, play
from voiceguide.cli.run import Run

app = typer.Typer(
    name="voiceguide",
    help="Turn a routine script into a voice-guided audio routine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"voiceguide {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Turn a routine script into a voice-guided audio routine."""
    ctx.ensure_object(Run).debug = debug


app.command("check")(check.check)
app.command("plan")(plan.plan)
app.command("export")(export.export)
app.command("routines")(info.routines)
app.command("voices")(info.voices)
app.command("play")(play.play)
app.command("devices")(play.devices)
app.command("ctl")(ctl.ctl)
