"""Keys on a terminal as a source of commands, when standard input is a terminal.

==================== ==============================
key                  action
==================== ==============================
space                pause / resume
n, right arrow       next step
b, p, left arrow     back (previous step, or restart this one)
r                    repeat this step
+, =, up arrow       volume up
-, down arrow        volume down
w, ?                 what's next
enter                ready (a step that waits for you)
q                    stop
h                    this list, on standard error
==================== ==============================

The terminal is put in cbreak mode (no line editing, no echo; Ctrl-C still sends SIGINT) for
as long as the reader runs, and its settings are put back when it closes, at interpreter
exit at the latest. Job control is respected: in the background (``&``, or Ctrl-Z then
``bg``) the reader neither reads nor touches the terminal, and it takes the terminal up
again when brought back to the foreground (the shell resets the settings meanwhile).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import signal
import sys
import termios
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO

from voiceguide.player.commands import Action, Command, Origin

if TYPE_CHECKING:
    from voiceguide.player.hub import ControlHub

KEY_HELP = (
    "keys: space pause/resume  n/right next  b/left back  r repeat  +/up louder  -/down softer\n"
    "      w/? what's next  enter ready  q stop  h help"
)

KEYS: dict[str, Action] = {
    " ": Action.TOGGLE_PAUSE,
    "n": Action.NEXT,
    "right": Action.NEXT,
    "b": Action.BACK,
    "p": Action.BACK,
    "left": Action.BACK,
    "r": Action.REPEAT,
    "+": Action.VOLUME_UP,
    "=": Action.VOLUME_UP,
    "up": Action.VOLUME_UP,
    "-": Action.VOLUME_DOWN,
    "down": Action.VOLUME_DOWN,
    "w": Action.WHATS_NEXT,
    "?": Action.WHATS_NEXT,
    "\n": Action.READY,
    "\r": Action.READY,
    "q": Action.STOP,
}
HELP_KEY = "h"
_ARROWS = {"A": "up", "B": "down", "C": "right", "D": "left"}
_ESC = 0x1B
ESCAPE_WAIT = 0.1  # seconds to wait for the rest of an escape sequence split across reads
_POLL = 0.25  # seconds between checks for closing and for the foreground


def parse_keys(data: bytes, *, final: bool = False) -> tuple[list[str], bytes]:
    """Split terminal input into key names and an unfinished escape sequence to keep.

    Plain keys are their character (letters in lower case); arrows, as ``ESC [ A`` (with or
    without parameters, e.g. Ctrl-arrow) or ``ESC O A``, are ``up``, ``down``, ``right`` and
    ``left``. Other sequences, a lone ESC and non-ASCII bytes are dropped. With ``final``, an
    unfinished sequence at the end is dropped too instead of kept.
    """
    keys: list[str] = []
    i, n = 0, len(data)
    while i < n:
        byte = data[i]
        if byte != _ESC:
            if byte < 0x80:
                keys.append(chr(byte).lower())
            i += 1
            continue
        if i + 1 >= n:
            return (keys, b"") if final else (keys, data[i:])
        kind = data[i + 1]
        if kind == ord("["):  # CSI: parameter and intermediate bytes, then a final byte
            j = i + 2
            while j < n and 0x20 <= data[j] <= 0x3F:
                j += 1
            if j >= n:
                return (keys, b"") if final else (keys, data[i:])
            if chr(data[j]) in _ARROWS:
                keys.append(_ARROWS[chr(data[j])])
            i = j + 1
        elif kind == ord("O"):  # SS3: one byte (arrows in application cursor mode)
            if i + 2 >= n:
                return (keys, b"") if final else (keys, data[i:])
            if chr(data[i + 2]) in _ARROWS:
                keys.append(_ARROWS[chr(data[i + 2])])
            i += 3
        else:  # Alt-key, or ESC pressed before a key: drop the ESC
            i += 1
    return keys, b""


def terminal_fd() -> int | None:
    """Standard input's file descriptor if it is an open terminal, else None."""
    stdin = sys.stdin
    if stdin is None:
        return None
    try:
        fd = stdin.fileno()
        return fd if os.isatty(fd) else None
    except (AttributeError, ValueError, OSError):  # closed, or not a real file
        return None


def _foreground(fd: int) -> bool:
    """Whether this process may use the terminal without being stopped by job control."""
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:  # not our controlling terminal: job control does not apply
        return True


@contextlib.contextmanager
def _no_ttou() -> Iterator[None]:
    """Block SIGTTOU in this thread: a terminal change from the background then fails
    quietly, or goes through, rather than stopping the whole process."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class KeyReader:
    """Reads single keys from the terminal ``fd`` in a thread and emits their actions.

    ``start`` puts the terminal in cbreak mode; ``close`` restores it (as does interpreter
    exit, if ``close`` is never reached). ``h`` writes KEY_HELP to ``help_stream`` (standard
    error by default).
    """

    def __init__(self, fd: int, emit: Callable[[Action], None]) -> None:
        self.fd = fd
        self.emit = emit
        self.help_stream: TextIO | None = None
        self._saved: list[Any] | None = None  # the settings to restore
        self._applied: list[Any] | None = None  # our settings, as the terminal reports them
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake: tuple[int, int] | None = None
        self._closing = False

    def start(self) -> None:
        """Save the terminal settings, switch to cbreak mode and start reading."""
        self._saved = termios.tcgetattr(self.fd)
        atexit.register(self.restore)
        with _no_ttou():
            self._ensure_mode()
        self._wake = os.pipe()
        self._thread = threading.Thread(target=self._run, name="voiceguide-keys", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop reading and restore the terminal settings."""
        self._closing = True
        if self._wake is not None:
            with contextlib.suppress(OSError):
                os.write(self._wake[1], b"x")
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self.restore()
        atexit.unregister(self.restore)
        if self._wake is not None:
            for end in self._wake:
                with contextlib.suppress(OSError):
                    os.close(end)
            self._wake = None

    def restore(self) -> None:
        """Put back the settings saved by ``start`` if we changed them and own the terminal.

        In the background the shell has set its own settings: they are left alone.
        """
        with self._lock, _no_ttou():
            if self._applied is None or self._saved is None:
                return
            self._applied = None
            if _foreground(self.fd):
                with contextlib.suppress(termios.error, OSError):
                    termios.tcsetattr(self.fd, termios.TCSANOW, self._saved)

    def _ensure_mode(self) -> None:
        """Switch to cbreak mode if in the foreground and the settings are not ours (first
        call, or the shell reset them while we were stopped)."""
        with self._lock:
            if self._closing or self._saved is None or not _foreground(self.fd):
                return
            current = termios.tcgetattr(self.fd)
            if current == self._applied:
                return
            mode = list(current)
            mode[3] = current[3] & ~(termios.ICANON | termios.ECHO)  # lflag; ISIG stays
            cc = list(current[6])
            cc[termios.VMIN] = 1
            cc[termios.VTIME] = 0
            mode[6] = cc
            termios.tcsetattr(self.fd, termios.TCSANOW, mode)
            self._applied = termios.tcgetattr(self.fd)

    def _run(self) -> None:
        # In this thread a read or terminal change from the background fails (EIO) instead
        # of stopping the process (SIGTTIN, SIGTTOU).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTIN, signal.SIGTTOU})
        assert self._wake is not None
        wake = self._wake[0]
        pending = b""
        try:
            while not self._closing:
                if not _foreground(self.fd):
                    pending = b""
                    select.select([wake], [], [], _POLL)
                    continue
                self._ensure_mode()
                ready, _, _ = select.select(
                    [self.fd, wake], [], [], ESCAPE_WAIT if pending else _POLL
                )
                if wake in ready:
                    return
                if self.fd not in ready:
                    if pending:  # an escape sequence that never finished
                        pending = self._feed(pending, final=True)
                    continue
                try:
                    data = os.read(self.fd, 256)
                except BlockingIOError:
                    continue
                except OSError:
                    if _foreground(self.fd):
                        return  # hung up
                    continue  # put in the background meanwhile
                if not data:
                    return  # hung up
                pending = self._feed(pending + data, final=False)
        except Exception as exc:  # keep the player going without keys
            self._say(f"voiceguide: keys stopped working: {exc}")

    def _feed(self, data: bytes, *, final: bool) -> bytes:
        keys, rest = parse_keys(data, final=final)
        for key in keys:
            if key == HELP_KEY:
                self._say(KEY_HELP)
            elif key in KEYS:
                self.emit(KEYS[key])
        return rest

    def _say(self, text: str) -> None:
        """Write ``text`` on a line of its own: on a terminal, over the status line (cleared
        first; it is drawn again below)."""
        stream = self.help_stream or sys.stderr
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.write(("\r\x1b[K" if stream.isatty() else "") + text + "\n")
            stream.flush()


class KeySource:
    """The terminal's keys as a source of commands: nothing when there is no terminal.

    Keys are read from the terminal ``fd`` (standard input by default), only if it is one;
    ``active`` says whether they are read. ``help_stream`` gets the help (``h``).
    """

    def __init__(self, fd: int | None = None, help_stream: TextIO | None = None) -> None:
        self._fd = fd
        self._help_stream = help_stream
        self._reader: KeyReader | None = None

    @property
    def active(self) -> bool:
        return self._reader is not None

    def start(self, hub: ControlHub) -> None:
        fd = self._fd if self._fd is not None else terminal_fd()
        if fd is None or not _isatty(fd):
            return
        reader = KeyReader(fd, lambda action: hub.put(Command(action, Origin.KEY)))
        reader.help_stream = self._help_stream
        try:
            reader.start()
        except (termios.error, OSError):  # a terminal we cannot set up: play without keys
            reader.close()
            return
        self._reader = reader

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False
