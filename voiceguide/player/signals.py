"""Signals as a source of commands: ``kill -USR1`` pauses, SIGTERM, SIGINT and SIGHUP stop.

``kill -USR1 PID`` pauses or resumes; SIGTERM (``systemctl stop``), SIGINT (Ctrl-C) and
SIGHUP (the ssh session closed) stop the player cleanly, and a second one while it is
stopping interrupts it at once.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

from voiceguide.errors import Interrupted
from voiceguide.player.commands import STOP_SIGNALS, Action, Command, Origin

if TYPE_CHECKING:
    from voiceguide.player.hub import ControlHub


class SignalSource:
    """Routes signals to the hub while started; ``close`` puts the previous handlers back.

    SIGUSR1 queues TOGGLE_PAUSE. SIGTERM, SIGINT and SIGHUP queue STOP (``signum`` says which;
    ``Command.interrupted`` is true); SIGHUP is left alone when it is ignored (``nohup``). A
    stop signal arriving when a STOP is already queued raises ``Interrupted`` in the main
    thread, wherever it is: the escape hatch when the player hangs while stopping, so the
    player's cleanup belongs in ``finally`` blocks.

    The handlers only put on the hub (``ControlHub.put`` is safe in a signal handler),
    whatever the main thread is doing, including waiting in ``hub.get``. ``start`` must be
    called from the main thread (Python runs signal handlers there).
    """

    def __init__(self) -> None:
        self._previous: dict[int, signal._HANDLER] = {}

    def start(self, hub: ControlHub) -> None:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("signal handlers can only be installed from the main thread")

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if signum == signal.SIGUSR1:
                hub.put(Command(Action.TOGGLE_PAUSE, Origin.SIGNAL, signum))
                return
            if hub.stop_requested:
                raise Interrupted()
            hub.put(Command(Action.STOP, Origin.SIGNAL, signum))

        for signum in (signal.SIGUSR1, *STOP_SIGNALS):
            old = signal.getsignal(signum)
            if signum == signal.SIGHUP and old == signal.SIG_IGN:
                continue
            self._previous[signum] = old
            signal.signal(signum, on_signal)

    def close(self) -> None:
        for signum, old in self._previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)
        self._previous.clear()
