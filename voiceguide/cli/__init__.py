"""The ``voiceguide`` command: thin commands over ``voiceguide.pipeline``.

This is the one place where errors become a one-line message and an exit code (see
``voiceguide.errors.ExitCode``); ``--debug`` shows the traceback instead.

Start-up stays short: typer (with click and rich) is imported only when the command line is
parsed in full (``voiceguide.cli.commands``); a plain ``export`` is read and run before
that (``voiceguide.cli.fast``).

Signals: SIGINT and SIGTERM are caught from ``main``'s first line (this module imports
nothing heavy before it). The first one raises ``Interrupted`` where the program is, so
cleanup code runs; whatever exception that becomes on its way out (an import wraps it in an
ImportError, say), the command ends with "voiceguide: interrupted" and exit code 130. A
further signal during the cleanup only confirms it.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any, NoReturn

state = {"debug": False}  # set by the --debug option
_signals = {"received": 0}  # stop signals received since main() started

INTERRUPTED_EXIT = 130  # voiceguide.errors.ExitCode.INTERRUPTED, known before any import


def __getattr__(name: str) -> Any:
    """``app``, the typer application, is built on first use."""
    if name == "app":
        from voiceguide.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """The first stop signal raises ``Interrupted``; later ones leave the cleanup alone."""
    _signals["received"] += 1
    if _signals["received"] == 1:
        from voiceguide.errors import Interrupted

        raise Interrupted()


def install_signal_handlers() -> None:
    """Route SIGINT and SIGTERM to ``_interrupt`` (what ``main`` does first)."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def main() -> None:
    """Run the command line; exits with a documented code (``voiceguide.errors.ExitCode``)."""
    _signals["received"] = 0
    install_signal_handlers()
    try:
        _run()
    except SystemExit as exc:
        if interrupted(exc):
            _exit_interrupted()
        raise
    except BaseException as exc:
        if state["debug"]:
            raise
        if interrupted(exc):
            _exit_interrupted()
        from voiceguide.errors import VoiceguideError

        if not isinstance(exc, VoiceguideError):
            raise
        sys.stderr.write(f"voiceguide: {exc}\n")
        sys.stderr.flush()
        sys.exit(int(exc.exit_code))
    if _signals["received"]:  # a signal that something swallowed: still an interruption
        _exit_interrupted()


def _run() -> None:
    from voiceguide.cli.fast import fast_export

    if fast_export(sys.argv[1:]):
        return
    from voiceguide.cli.commands import app

    app(prog_name="voiceguide")


def interrupted(exc: BaseException) -> bool:
    """True if ``exc`` comes of Ctrl-C or SIGTERM: a stop signal reached ``main``'s handler,
    or ``exc`` (or an exception it was raised from or during) is ``Interrupted`` or a
    KeyboardInterrupt."""
    if _signals["received"]:
        return True
    from voiceguide.errors import Interrupted

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, Interrupted | KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _exit_interrupted() -> NoReturn:
    """Say "voiceguide: interrupted" and exit 130; no further signal changes that."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    sys.stderr.write("voiceguide: interrupted\n")
    sys.stderr.flush()
    sys.exit(INTERRUPTED_EXIT)
