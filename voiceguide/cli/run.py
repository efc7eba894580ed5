"""What one run of the command line learns before its command: ``--debug``, and stop signals.

``main`` makes both before it parses anything and hands them on explicitly: the ``Run`` goes
to the typer application as the click context's object (the callback of the options before
the command fills it in), and ``StopSignals`` is the SIGINT and SIGTERM handler whose count
``main`` reads when the command ends. This module imports nothing heavy, so the handler is in
place from ``main``'s first line.
"""

from __future__ import annotations

import signal
from types import FrameType


class Run:
    """The options that hold for the whole run; ``debug``: show tracebacks, not one line."""

    __slots__ = ("debug",)

    def __init__(self, debug: bool = False) -> None:
        self.debug = debug


class StopSignals:
    """Counts SIGINT and SIGTERM once installed; the first raises ``Interrupted`` where the
    program is, so cleanup code runs, and later ones leave that cleanup alone."""

    def __init__(self) -> None:
        self.received = 0

    def install(self) -> None:
        """Route SIGINT and SIGTERM here."""
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received += 1
        if self.received == 1:
            from voiceguide.errors import Interrupted

            raise Interrupted()
