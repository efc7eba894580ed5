"""The ``voiceguide`` command: thin commands over ``voiceguide.pipeline``.

``main`` is the one place where errors become a one-line message and an exit code (see
``voiceguide.errors.ExitCode``); ``--debug`` shows the traceback instead. The commands are
typer's (``voiceguide.cli.commands``), each option defined once, in its command's signature
or, when commands share it, in ``voiceguide.cli.options``.

Signals: SIGINT and SIGTERM are caught from ``main``'s first line (this module imports
nothing heavy before it). The first one raises ``Interrupted`` where the program is, so
cleanup code runs; whatever exception that becomes on its way out (an import wraps it in an
ImportError, say), the command ends with "voiceguide: interrupted" and exit code 130. A
further signal during the cleanup only confirms it.
"""

from __future__ import annotations

import signal
import sys
from typing import Any, NoReturn

from voiceguide.cli.run import Run, StopSignals

INTERRUPTED_EXIT = 130  # voiceguide.errors.ExitCode.INTERRUPTED, known before any import


def __getattr__(name: str) -> Any:
    """``app``, the typer application, is built on first use."""
    if name == "app":
        from voiceguide.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Run the command line; exits with a documented code (``voiceguide.errors.ExitCode``)."""
    signals = StopSignals()
    signals.install()
    run = Run()
    try:
        if sys.argv[1:2] == ["ctl"]:  # the common ``ctl ACTION`` without typer: fast
            from voiceguide.cli.ctl_send import quick

            done = quick(sys.argv[2:])
        else:
            done = False
        if not done:
            from voiceguide.cli.commands import app

            app(prog_name="voiceguide", obj=run)
    except SystemExit as exc:
        if interrupted(exc, signals):
            _exit_interrupted()
        raise
    except BaseException as exc:
        if run.debug:
            raise
        if interrupted(exc, signals):
            _exit_interrupted()
        from voiceguide.errors import VoiceguideError

        if not isinstance(exc, VoiceguideError):
            raise
        sys.stderr.write(f"voiceguide: {exc}\n")
        sys.stderr.flush()
        sys.exit(int(exc.exit_code))
    if signals.received:  # a signal that something swallowed: still an interruption
        _exit_interrupted()


def interrupted(exc: BaseException, signals: StopSignals) -> bool:
    """True if ``exc`` comes of Ctrl-C or SIGTERM: a stop signal reached ``signals``, or
    ``exc`` (or an exception it was raised from or during) is a KeyboardInterrupt (of
    which ``voiceguide.errors.Interrupted`` is one)."""
    if signals.received:
        return True
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
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
