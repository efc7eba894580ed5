"""The typer application: the ``voiceguide`` command line in full.

Importing this module imports typer (with click, pydantic and rich): ``voiceguide.cli.main``
does so only once it knows the command line needs it.
"""

from __future__ import annotations

import typer

from voiceguide import __version__
from voiceguide.cli import check, ctl, export, info, plan, play, state

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
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Turn a routine script into a voice-guided audio routine."""
    state["debug"] = debug


app.command("check")(check.check)
app.command("plan")(plan.plan)
app.command("export")(export.export)
app.command("routines")(info.routines)
app.command("voices")(info.voices)
app.command("play")(play.play)
app.command("devices")(play.devices)
app.command("ctl")(ctl.ctl)
