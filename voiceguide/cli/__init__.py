"""The ``voiceguide`` command: thin commands over ``voiceguide.pipeline``.

This is the one place where errors become a one-line message and an exit code (see
``voiceguide.errors.ExitCode``); ``--debug`` shows the traceback instead.

Start-up stays short: typer (with click and rich) is imported only when the command line is
parsed in full (``voiceguide.cli.commands``); a plain ``export`` is read and run before
that (``voiceguide.cli.fast``).
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

from voiceguide.errors import Interrupted, VoiceguideError

state = {"debug": False}  # set by the --debug option


def __getattr__(name: str) -> Any:
    """``app``, the typer application, is built on first use."""
    if name == "app":
        from voiceguide.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted()


def main() -> None:
    """Run the command line; exits with a documented code (``voiceguide.errors.ExitCode``)."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        from voiceguide.cli.fast import fast_export

        if fast_export(sys.argv[1:]):
            return
        from voiceguide.cli.commands import app

        app(prog_name="voiceguide")
    except VoiceguideError as exc:
        if state["debug"]:
            raise
        import typer

        typer.echo(f"voiceguide: {exc}", err=True)
        sys.exit(int(exc.exit_code))
