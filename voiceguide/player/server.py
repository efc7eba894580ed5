"""The player's side of the control socket: a server on ``socketserver``, and its source.

``ControlServer`` binds the socket safely (a stale file from a crashed player is replaced,
a live player's is not; mode 0600 before anyone can connect; on closing, the file is removed
only if it is still the one it bound) and answers each line of each connection, every
connection in its own thread. ``SocketSource`` puts the commands it hears to the hub. The
protocol is in ``voiceguide.player.channel``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import socketserver
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.player.channel import (
    SOCKET_ENV,
    SUN_PATH_MAX,
    ControlError,
    PlayerRunning,
    default_socket_path,
    why,
)
from voiceguide.player.commands import Action, Command, Origin, parse_action
from voiceguide.player.hub import NoStatus

if TYPE_CHECKING:
    from voiceguide.player.hub import ControlHub

CLOSE_GRACE_SECONDS = 1.0  # how long closing waits for clients still being answered
MAX_LINE = 1024  # bytes in one command line; longer lines are refused
# The serving thread sleeps in select() until a client connects; ``close`` wakes it by
# shutting the listening socket down, so this is only a fallback (a player that polled
# 20 times a second spent a tenth more CPU while playing than one that sleeps).
POLL_SECONDS = 1.0
ACCEPT_RETRY_SECONDS = 0.05  # after a failed accept (e.g. out of file descriptors)


class ControlServer:
    """A Unix stream socket server: answers each line a client sends with ``handle(line)``.

    Connections are served each in its own daemon thread, so a client that never finishes its
    line (dropped after ``idle_timeout`` seconds) does not hold up the others.
    """

    def __init__(
        self, path: Path | str, handle: Callable[[str], str], *, idle_timeout: float = 30.0
    ) -> None:
        self.path = Path(os.path.abspath(path))
        self.handle = handle
        self.idle_timeout = idle_timeout
        self.identity: tuple[int, int] | None = None  # st_dev, st_ino of our socket file
        self._server: _UnixServer | None = None
        self._thread: threading.Thread | None = None
        self._closing = False

    def start(self) -> None:
        """Bind (replacing a stale socket file), set mode 0600, listen, serve in a thread.

        Raises PlayerRunning if a player answers on the path, ControlError if the socket
        cannot be made.
        """
        path = self.path
        if len(os.fsencode(path)) > SUN_PATH_MAX:
            raise ControlError(
                f"the socket path {path} is longer than {SUN_PATH_MAX} bytes; "
                f"choose a shorter one with --socket or ${SOCKET_ENV}"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise self.cannot(exc) from None
        _remove_stale(path)
        try:
            self._server = _UnixServer(self)
        except BaseException:
            self._unlink()
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(POLL_SECONDS,),
            name="voiceguide-control",
            daemon=True,
        )
        self._thread.start()

    @property
    def closing(self) -> bool:
        """True once ``close`` has begun."""
        return self._closing

    def cannot(self, exc: OSError) -> ControlError:
        """The error for a socket that cannot be made."""
        return ControlError(
            f"cannot create the control socket {self.path}: {why(exc)}; "
            f"choose another with --socket or ${SOCKET_ENV}"
        )

    def close(self) -> None:
        """Stop serving, drop open connections and remove the socket file (if still ours)."""
        if self._closing:
            return
        self._closing = True
        self._unlink()  # first: from now on a client finds no player rather than a refusal
        server = self._server
        if server is None:
            return
        if self._thread is not None:
            stopping = threading.Thread(target=server.shutdown, daemon=True)
            stopping.start()  # sets the flag serve_forever checks after each wake-up
            with contextlib.suppress(OSError):
                server.socket.shutdown(socket.SHUT_RDWR)  # wakes its select() now
            stopping.join(timeout=2.0)
            self._thread.join(timeout=2.0)
        server.server_close()
        # A client may be between its command and our answer (a "stop" that ends the
        # player does exactly this): give open connections a moment to finish.
        deadline = time.monotonic() + CLOSE_GRACE_SECONDS
        while time.monotonic() < deadline:
            with server.lock:
                if not server.connections:
                    break
            time.sleep(0.01)
        with server.lock:
            connections = list(server.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _unlink(self) -> None:
        """Remove the socket file only if it is the one we bound (not a later player's)."""
        if self.identity is None:
            return
        with contextlib.suppress(OSError):
            info = os.lstat(self.path)
            if (info.st_dev, info.st_ino) == self.identity:
                os.unlink(self.path)
        self.identity = None

    def answer(self, line: bytes) -> bytes:
        """``handle``'s answer to one line, as one line."""
        text = line.decode("utf-8", "replace").strip()
        try:
            answer = self.handle(text)
        except Exception as exc:  # a bug must not take the player's socket down
            answer = f"error: {type(exc).__name__}: {exc}"
        return " ".join(answer.splitlines()).encode("utf-8") + b"\n"


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    """``socketserver``'s threading Unix server, binding as ``ControlServer`` must."""

    daemon_threads = True  # a client that never finishes its line holds nothing up
    block_on_close = False  # ControlServer.close gives open connections its own grace
    request_queue_size = 16

    def __init__(self, owner: ControlServer) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        super().__init__(str(owner.path), _LineHandler)

    def server_bind(self) -> None:
        owner = self.owner
        try:
            self.socket.bind(self.server_address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:  # another player bound it just now
                raise PlayerRunning(owner.path) from None
            raise owner.cannot(exc) from None
        info = os.stat(owner.path)
        owner.identity = (info.st_dev, info.st_ino)
        os.chmod(owner.path, 0o600)  # before listen(): nobody can have connected yet

    def get_request(self) -> tuple[socket.socket, object]:
        try:
            return super().get_request()
        except OSError:  # e.g. out of file descriptors: the next try comes shortly
            if not self.owner.closing:  # closing shuts the socket down: accept fails
                time.sleep(ACCEPT_RETRY_SECONDS)
            raise


class _LineHandler(socketserver.StreamRequestHandler):
    """Answers each line of one connection until the client closes it or goes quiet."""

    server: _UnixServer

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.owner.idle_timeout)
        with self.server.lock:
            self.server.connections.add(self.connection)

    def handle(self) -> None:
        answer = self.server.owner.answer
        try:
            while True:
                line = self.rfile.readline(MAX_LINE + 1)
                if line.endswith(b"\n"):
                    self.wfile.write(answer(line))
                elif len(line) > MAX_LINE:
                    self.wfile.write(b"error: line too long\n")
                    _drain(self.connection)
                    return
                else:  # the client closed its end: a last line without a newline
                    if line.strip():
                        self.wfile.write(answer(line))
                    return
        except OSError:  # timed out, reset, or closed by ControlServer.close
            return

    def finish(self) -> None:
        with self.server.lock:
            self.server.connections.discard(self.connection)
        super().finish()


def _drain(conn: socket.socket) -> None:
    """Read what the client still sends, briefly: closing with unread data would reset the
    connection and lose the answer already sent."""
    conn.shutdown(socket.SHUT_WR)
    conn.settimeout(1.0)
    for _ in range(64):
        if not conn.recv(4096):
            return


def _remove_stale(path: Path) -> None:
    """Remove a socket file nobody answers on; raise if a player answers or it is no socket."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ControlError(f"cannot use the socket path {path}: {why(exc)}") from None
    if not stat.S_ISSOCK(info.st_mode):
        raise ControlError(
            f"{path} exists and is not a socket; choose another path with --socket or ${SOCKET_ENV}"
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2.0)
    with probe:
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            pass  # stale: the player that made it is gone
        except TimeoutError:  # a live player too busy to accept
            raise PlayerRunning(path) from None
        except OSError as exc:
            raise ControlError(f"cannot use the socket {path}: {why(exc)}") from None
        else:
            raise PlayerRunning(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class SocketSource:
    """The control socket as a source of commands: each line a client sends, answered.

    ``path`` is the socket to bind (see ``default_socket_path``); once started, ``self.path``
    is the one bound. Starting raises PlayerRunning or ControlError when the socket cannot be
    made.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self._wanted = path
        self.path: Path | None = None
        self._hub: ControlHub | None = None
        self._server: ControlServer | None = None

    def start(self, hub: ControlHub) -> None:
        self._hub = hub
        server = ControlServer(default_socket_path(self._wanted), self.answer)
        server.start()
        self._server = server
        self.path = server.path

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def answer(self, word: str) -> str:
        """The answer line to one protocol line (see ``voiceguide.player.channel``)."""
        assert self._hub is not None
        if not word:
            return "error: empty command"
        try:
            action = parse_action(word)
        except ValueError as exc:
            return f"error: {exc}"
        if action is not Action.STATUS:
            self._hub.put(Command(action, Origin.SOCKET))
            return "ok"
        try:
            return self._hub.status(Origin.SOCKET)
        except NoStatus as exc:
            return f"error: {exc}"
