"""The ``voiceguide`` command: thin commands over ``voiceguide.pipeline``.

This is the one place where errors become a one-line message and an exit code (see
``voiceguide.errors.ExitCode``); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import typer

from voiceguide import __version__
from voiceguide.errors import Interrupted, VoiceguideError

app = typer.Typer(
    name="voiceguide",
    help="Turn a routine script into a voice-guided audio routine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
_state = {"debug": False}


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
    _state["debug"] = debug


def _register() -> None:
    from voiceguide.cli import check, export, info, plan

    app.command("check")(check.check)
    app.command("plan")(plan.plan)
    app.command("export")(export.export)
    app.command("routines")(info.routines)
    app.command("voices")(info.voices)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted()


def main() -> None:
    """Run the command line; exits with a documented code (``voiceguide.errors.ExitCode``)."""
    _register()
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app(prog_name="voiceguide")
    except VoiceguideError as exc:
        if _state["debug"]:
            raise
        typer.echo(f"voiceguide: {exc}", err=True)
        sys.exit(int(exc.exit_code))
