"""The control socket's protocol, where the socket is, and its client (``voiceguide ctl``).

The socket is ``--socket PATH``, else ``$VOICEGUIDE_SOCKET``, else
``$XDG_RUNTIME_DIR/voiceguide.sock``, else ``voiceguide.sock`` in the user cache directory
(``~/.cache/voiceguide``, or ``$VOICEGUIDE_CACHE_DIR``). It is created with mode 0600, so only
its user can connect, and removed when the player stops. A socket file left by a player that
crashed is replaced; a socket a player still answers on makes a second player refuse to start
(the server is ``voiceguide.player.server``).

A client connects and sends one command per line (``\\n``-terminated; a last line without the
newline counts when the client closes its end). The server answers every line with one line:

============= ============================================================= ===============
command       what the player does                                          answer
============= ============================================================= ===============
pause         pause (nothing if paused)                                     ok
resume        resume (nothing if playing)                                   ok
toggle        pause or resume                                               ok
next          skip to the next step                                         ok
back          the previous step, or this one again if a few seconds in      ok
repeat        this step again from its start                                ok
volume-up     louder                                                        ok
volume-down   softer                                                        ok
whats-next    speak the time left in this step and the next step's name     ok
ready         go on from a step that waits for you                          ok
stop          stop and exit                                                 ok
status        nothing                                                       one line of JSON
anything else nothing                                                       error: ...
============= ============================================================= ===============

``ok`` means the command is queued for the player, not that it is done (see
``voiceguide.player.hub`` for how a burst of commands is taken). Words are case-insensitive,
``_`` may stand for ``-``, and ``toggle-pause``, ``previous``, ``prev``, ``skip`` and ``quit``
are accepted too. For example::

    voiceguide ctl next
    echo status | socat - UNIX-CONNECT:$XDG_RUNTIME_DIR/voiceguide.sock
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from voiceguide.errors import ExitCode, VoiceguideError

SOCKET_ENV = "VOICEGUIDE_SOCKET"
SOCKET_NAME = "voiceguide.sock"
SUN_PATH_MAX = 107  # bytes in a Unix socket path (sun_path holds 108 with the NUL)


class ControlError(VoiceguideError):
    """The control socket could not be set up, or the player could not be reached."""


class PlayerRunning(ControlError):
    """Another player answers on the socket: two players would fight over one socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"another voiceguide player is running (socket {path}); stop it with "
            f"'voiceguide ctl stop', or choose another socket with --socket"
        )


class NoPlayer(ControlError):
    """``voiceguide ctl``: no player answers on the socket (no socket file, or refused)."""

    exit_code = ExitCode.NO_PLAYER

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"no voiceguide player is running (socket {path})")


def why(exc: OSError) -> str:
    """What went wrong, in the words of the system."""
    return exc.strerror or str(exc) or type(exc).__name__


# ---------------------------------------------------------------------------- socket paths


def socket_candidates(path: Path | str | None = None) -> list[Path]:
    """Where the socket is, most specific first: the one given, else $VOICEGUIDE_SOCKET, else
    $XDG_RUNTIME_DIR/voiceguide.sock (when that is an existing absolute directory) and then
    the cache directory's.

    The player binds the first; ``voiceguide ctl`` tries each, so a player started without
    XDG_RUNTIME_DIR (a systemd system service) is found from an ssh login that has it.
    """
    if path is not None and str(path):
        return [Path(path)]
    if os.environ.get(SOCKET_ENV):
        return [Path(os.environ[SOCKET_ENV])]
    found = []
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime) and os.path.isdir(runtime):
        found.append(Path(runtime) / SOCKET_NAME)
    from voiceguide.paths import cache_dir

    found.append(cache_dir() / SOCKET_NAME)
    return found


def default_socket_path(path: Path | str | None = None) -> Path:
    """The socket a player binds: ``path``, else the first of ``socket_candidates``."""
    return socket_candidates(path)[0]


# ---------------------------------------------------------------------------- client


def send_command(word: str, path: Path | str | None = None, *, timeout: float = 5.0) -> str:
    """Send one command line to the running player and return its one-line answer.

    Tries each of ``socket_candidates(path)``. Raises NoPlayer when no player answers (no
    socket file, or a stale one), ControlError when one does not answer in time or cannot be
    reached (e.g. someone else's socket).
    """
    candidates = socket_candidates(path)
    for candidate in candidates:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        with sock:
            try:
                sock.connect(str(candidate))
            except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
                continue
            except OSError as exc:
                raise ControlError(
                    f"cannot reach the player (socket {candidate}): {why(exc)}"
                ) from None
            try:
                sock.sendall(word.strip().encode("utf-8") + b"\n")
                sock.shutdown(socket.SHUT_WR)
                answer = _read_line(sock)
            except TimeoutError:
                raise ControlError(f"the player did not answer (socket {candidate})") from None
            except OSError as exc:
                raise ControlError(f"lost the player (socket {candidate}): {why(exc)}") from None
            if answer is None:
                raise ControlError(f"the player closed the connection (socket {candidate})")
            return answer
    raise NoPlayer(candidates[0])


def _read_line(sock: socket.socket) -> str | None:
    """One line from ``sock`` without its newline; None if it closed without a word."""
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    line = data.partition(b"\n")[0].decode("utf-8", "replace").rstrip("\r")
    return line if data else None
