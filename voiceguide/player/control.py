"""The player's control channel: every way to steer a running player without a screen.

A running ``voiceguide play`` is steered through

- its **Unix socket**, with ``voiceguide ctl ACTION`` or any client (``socat``);
- **signals**: ``kill -USR1 PID`` pauses or resumes; SIGTERM (``systemctl stop``), SIGINT
  (Ctrl-C) and SIGHUP (the ssh session closed) stop it cleanly, and a second one while it is
  stopping interrupts it at once;
- **keys**, when its standard input is a terminal (``voiceguide.player.keys``; ``h`` lists
  them).

Every one of them becomes a ``Command`` in one queue, ``ControlHub``, which the player loop
polls; the player alone decides what each action does.

Socket protocol
---------------
The socket is ``--socket PATH``, else ``$VOICEGUIDE_SOCKET``, else
``$XDG_RUNTIME_DIR/voiceguide.sock``, else ``voiceguide.sock`` in the user cache directory
(``~/.cache/voiceguide``, or ``$VOICEGUIDE_CACHE_DIR``). It is created with mode 0600, so only
its user can connect, and removed when the player stops. A socket file left by a player that
crashed is replaced; a socket a player still answers on makes a second player refuse to start.

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

``ok`` means the command is queued for the player, not that it is done. The player takes
every command waiting at once and acts on them in order, but what cancels out is dropped
(``coalesce``): a burst of pause and resume becomes the state it ends in, and a ``stop``
takes effect at once, ahead of anything queued before it. Words are
case-insensitive, ``_`` may stand for ``-``, and ``toggle-pause``, ``previous``, ``prev``,
``skip`` and ``quit`` are accepted too. For example::

    voiceguide ctl next
    echo status | socat - UNIX-CONNECT:$XDG_RUNTIME_DIR/voiceguide.sock
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import queue
import selectors
import signal
import socket
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, TextIO

from voiceguide.errors import ExitCode, Interrupted, VoiceguideError

if TYPE_CHECKING:
    from voiceguide.player.keys import KeyReader

SOCKET_ENV = "VOICEGUIDE_SOCKET"
SOCKET_NAME = "voiceguide.sock"
CLOSE_GRACE_SECONDS = 1.0  # how long closing waits for clients still being answered
MAX_LINE = 1024  # bytes in one command line; longer lines are refused
_SUN_PATH_MAX = 107  # bytes in a Unix socket path (sun_path holds 108 with the NUL)


class Action(Enum):
    """What a person asks the player to do; the value is the word of the socket protocol."""

    PAUSE = "pause"
    RESUME = "resume"
    TOGGLE_PAUSE = "toggle"
    NEXT = "next"
    BACK = "back"  # previous step, or restart this one if more than a few seconds in
    REPEAT = "repeat"  # this step again
    VOLUME_UP = "volume-up"
    VOLUME_DOWN = "volume-down"
    WHATS_NEXT = "whats-next"  # speak the time left in this step and the next step's name
    READY = "ready"  # go on from a wait-for-ready step
    STATUS = "status"  # answered with the player's status as JSON
    STOP = "stop"


WORDS: tuple[str, ...] = tuple(a.value for a in Action)
ALIASES: dict[str, Action] = {
    "toggle-pause": Action.TOGGLE_PAUSE,
    "previous": Action.BACK,
    "prev": Action.BACK,
    "skip": Action.NEXT,
    "quit": Action.STOP,
}


def parse_action(word: str) -> Action:
    """The action a protocol word names (case-insensitive, ``_`` for ``-``, or an alias).

    Raises ValueError with a message listing the words.
    """
    key = word.strip().lower().replace("_", "-")
    if key in ALIASES:
        return ALIASES[key]
    try:
        return Action(key)
    except ValueError:
        raise ValueError(f"unknown command {word.strip()!r} (one of: {', '.join(WORDS)})") from None


class Source(Enum):
    """Where a command came from (the player may, say, only announce remote commands)."""

    SOCKET = "socket"
    SIGNAL = "signal"
    KEY = "key"
    PLAYER = "player"  # put by the player itself (ControlHub.put)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class Command:
    """One action for the player, with where it came from.

    ``signum`` is the signal that sent it (Source.SIGNAL). A STATUS command reaches the player
    only when the hub has no status callback; the player then answers it with ``respond``.
    """

    action: Action
    source: Source = Source.PLAYER
    signum: int | None = None
    reply_to: Callable[[str], None] | None = field(default=None, repr=False, compare=False)

    @property
    def interrupted(self) -> bool:
        """A STOP sent by SIGINT, SIGTERM or SIGHUP: exit with ExitCode.INTERRUPTED (130)."""
        return self.action is Action.STOP and self.signum in STOP_SIGNALS

    def respond(self, payload: Mapping[str, object] | str) -> None:
        """Answer the socket client that sent this command: a mapping is sent as JSON.

        Does nothing for commands that need no answer (anything but a queued STATUS).
        """
        if self.reply_to is None:
            return
        if isinstance(payload, str):
            self.reply_to(payload)
        else:
            self.reply_to(json.dumps(dict(payload), default=str))


class ControlError(VoiceguideError):
    """The control channel could not be set up, or the player could not be reached."""


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


def _check_length(path: Path) -> None:
    if len(os.fsencode(path)) > _SUN_PATH_MAX:
        raise ControlError(
            f"the socket path {path} is longer than {_SUN_PATH_MAX} bytes; "
            f"choose a shorter one with --socket or ${SOCKET_ENV}"
        )


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
                    f"cannot reach the player (socket {candidate}): {_why(exc)}"
                ) from None
            try:
                sock.sendall(word.strip().encode("utf-8") + b"\n")
                sock.shutdown(socket.SHUT_WR)
                answer = _read_line(sock)
            except TimeoutError:
                raise ControlError(f"the player did not answer (socket {candidate})") from None
            except OSError as exc:
                raise ControlError(f"lost the player (socket {candidate}): {_why(exc)}") from None
            if answer is None:
                raise ControlError(f"the player closed the connection (socket {candidate})")
            return answer
    raise NoPlayer(candidates[0])


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


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


# ---------------------------------------------------------------------------- server


class ControlServer:
    """A Unix stream socket server: answers each line a client sends with ``handle(line)``.

    Connections are served each in its own daemon thread, so a client that never finishes its
    line (dropped after ``idle_timeout`` seconds) does not hold up the others.
    """

    def __init__(
        self, path: Path | str, handle: Callable[[str], str], *, idle_timeout: float = 30.0
    ) -> None:
        self.path = Path(os.path.abspath(path))
        self.idle_timeout = idle_timeout
        self._handle = handle
        self._listener: socket.socket | None = None
        self._identity: tuple[int, int] | None = None  # st_dev, st_ino of our socket file
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closing = False

    def start(self) -> None:
        """Bind (replacing a stale socket file), set mode 0600, listen, serve in a thread.

        Raises PlayerRunning if a player answers on the path, ControlError if the socket
        cannot be made.
        """
        path = self.path
        _check_length(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise self._cannot(exc) from None
        _remove_stale(path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                listener.bind(str(path))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:  # another player bound it just now
                    raise PlayerRunning(path) from None
                raise self._cannot(exc) from None
            info = os.stat(path)
            self._identity = (info.st_dev, info.st_ino)
            os.chmod(path, 0o600)  # before listen(): nobody can have connected yet
            listener.listen(16)
        except BaseException:
            listener.close()
            self._unlink()
            raise
        self._listener = listener
        self._wake = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name="voiceguide-control", daemon=True)
        self._thread.start()

    def _cannot(self, exc: OSError) -> ControlError:
        return ControlError(
            f"cannot create the control socket {self.path}: {_why(exc)}; "
            f"choose another with --socket or ${SOCKET_ENV}"
        )

    def close(self) -> None:
        """Stop serving, drop open connections and remove the socket file (if still ours)."""
        if self._closing:
            return
        self._closing = True
        self._unlink()  # first: from now on a client finds no player rather than a refusal
        if self._wake is not None:
            with contextlib.suppress(OSError):
                self._wake[1].send(b"x")
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._listener is not None:
            self._listener.close()
        # A client may be between its command and our answer (a "stop" that ends the
        # player does exactly this): give open connections a moment to finish.
        deadline = time.monotonic() + CLOSE_GRACE_SECONDS
        while time.monotonic() < deadline:
            with self._lock:
                if not self._connections:
                    break
            time.sleep(0.01)
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._wake is not None:
            for end in self._wake:
                end.close()

    def _unlink(self) -> None:
        """Remove the socket file only if it is the one we bound (not a later player's)."""
        if self._identity is None:
            return
        with contextlib.suppress(OSError):
            info = os.lstat(self.path)
            if (info.st_dev, info.st_ino) == self._identity:
                os.unlink(self.path)
        self._identity = None

    def _serve(self) -> None:
        assert self._listener is not None and self._wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake[0], selectors.EVENT_READ)
            while not self._closing:
                for key, _ in selector.select():
                    if key.fileobj is self._wake[0] or self._closing:
                        return
                    try:
                        conn, _ = self._listener.accept()
                    except OSError:  # e.g. out of file descriptors: try again shortly
                        time.sleep(0.05)
                        continue
                    with self._lock:
                        self._connections.add(conn)
                    threading.Thread(
                        target=self._talk, args=(conn,), name="voiceguide-control-conn", daemon=True
                    ).start()

    def _talk(self, conn: socket.socket) -> None:
        """Answer each line of one connection until the client closes it or goes quiet."""
        try:
            conn.settimeout(self.idle_timeout)
            data = b""
            while True:
                chunk = conn.recv(4096)
                data += chunk
                while b"\n" in data:
                    line, _, data = data.partition(b"\n")
                    conn.sendall(self._answer(line))
                if not chunk:  # the client closed its end: a last line without a newline
                    if data.strip():
                        conn.sendall(self._answer(data))
                    return
                if len(data) > MAX_LINE:
                    conn.sendall(b"error: line too long\n")
                    _drain(conn)
                    return
        except OSError:  # timed out, reset, or closed by close()
            return
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _answer(self, line: bytes) -> bytes:
        text = line.decode("utf-8", "replace").strip()
        try:
            answer = self._handle(text)
        except Exception as exc:  # a bug must not take the player's socket down
            answer = f"error: {type(exc).__name__}: {exc}"
        return " ".join(answer.splitlines()).encode("utf-8") + b"\n"


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
        raise ControlError(f"cannot use the socket path {path}: {_why(exc)}") from None
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
            raise ControlError(f"cannot use the socket {path}: {_why(exc)}") from None
        else:
            raise PlayerRunning(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# ---------------------------------------------------------------------------- signals


def install_signal_handlers(hub: ControlHub) -> Callable[[], None]:
    """Route signals to ``hub``; returns a function that puts the previous handlers back.

    SIGUSR1 queues TOGGLE_PAUSE. SIGTERM, SIGINT and SIGHUP queue STOP (``signum`` says which;
    ``Command.interrupted`` is true); SIGHUP is left alone when it is ignored (``nohup``). A
    stop signal arriving when a STOP is already queued raises ``Interrupted`` in the main
    thread, wherever it is: the escape hatch when the player hangs while stopping, so the
    player's cleanup belongs in ``finally`` blocks.

    The handlers only set a flag and put on a ``queue.SimpleQueue``, whose ``put`` is
    reentrant: safe whatever the main thread is doing, including waiting in ``hub.get``.
    Must be called from the main thread (Python runs signal handlers there).
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("signal handlers can only be installed from the main thread")

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGUSR1:
            hub._put(Command(Action.TOGGLE_PAUSE, Source.SIGNAL, signum))
            return
        if hub.stop_requested:
            raise Interrupted()
        hub._put(Command(Action.STOP, Source.SIGNAL, signum))

    previous: dict[int, signal._HANDLER] = {}
    for signum in (signal.SIGUSR1, *STOP_SIGNALS):
        old = signal.getsignal(signum)
        if signum == signal.SIGHUP and old == signal.SIG_IGN:
            continue
        previous[signum] = old
        signal.signal(signum, on_signal)

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)
        previous.clear()

    return restore


# ---------------------------------------------------------------------------- the hub

_PAUSING = (Action.PAUSE, Action.RESUME, Action.TOGGLE_PAUSE)


def coalesce(commands: list[Command]) -> list[Command]:
    """``commands`` as the player should act on them: in order, less what cancels out.

    - A STOP wins: the first one is all that is left (with the STATUS requests, which are
      answered): nothing queued before it is worth doing first.
    - A run of PAUSE, RESUME and TOGGLE becomes its last PAUSE or RESUME, followed by one
      TOGGLE if an odd number of them came after it (a run of toggles alone: one or none).
    - Repeated WHATS_NEXT in a row are said once.

    Everything else is kept, in order (the volume steps are cheap and clamped one by one).
    """
    stop = next((c for c in commands if c.action is Action.STOP), None)
    if stop is not None:
        return [c for c in commands if c.action is Action.STATUS] + [stop]
    out: list[Command] = []
    run: list[Command] = []

    def flush() -> None:
        explicit = [i for i, c in enumerate(run) if c.action is not Action.TOGGLE_PAUSE]
        if explicit:
            last = explicit[-1]
            out.append(run[last])
            toggles = run[last + 1 :]
        else:
            toggles = run
        if len(toggles) % 2:
            out.append(toggles[-1])
        run.clear()

    for command in commands:
        if command.action in _PAUSING:
            run.append(command)
            continue
        if run:
            flush()
        if command.action is Action.WHATS_NEXT and out and out[-1].action is Action.WHATS_NEXT:
            continue
        out.append(command)
    if run:
        flush()
    return out


StatusFn = Callable[[], Mapping[str, object]]


class _Answer:
    """A reply slot: the socket thread waits on it for the player's answer to STATUS."""

    def __init__(self) -> None:
        self.text = ""
        self._done = threading.Event()

    def set(self, text: str) -> None:
        if not self._done.is_set():
            self.text = text
            self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)


class ControlHub:
    """The one queue of commands the player loop polls, fed by the socket, signals and keys.

    ::

        with ControlHub(status=player.status) as hub:    # socket, signals, keys: started
            while playing:
                command = hub.get(timeout=0.05)          # or hub.poll()
                if command is not None:
                    ...                                  # the player acts on command.action
        # closed: terminal restored, signal handlers restored, socket file removed

    ``status`` is called from the socket's thread for each ``status`` request and must
    return a JSON-serialisable mapping quickly, without locking anything the player holds
    for long (a snapshot the player replaces as a whole is ideal). Without it, STATUS is
    queued like any command and the player answers it with ``Command.respond`` within
    ``status_timeout`` seconds.

    ``socket``, ``signals`` and ``keys`` switch each source off; ``key_fd`` reads keys from
    that terminal instead of standard input (keys are read only from a terminal).
    ``start`` (or ``with``) must run in the main thread when ``signals`` is on.
    """

    def __init__(
        self,
        *,
        socket_path: Path | str | None = None,
        status: StatusFn | None = None,
        socket: bool = True,
        signals: bool = True,
        keys: bool = True,
        key_fd: int | None = None,
        key_help: TextIO | None = None,
        status_timeout: float = 2.0,
    ) -> None:
        self._queue: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._status = status
        self._want_socket = socket
        self._want_signals = signals
        self._want_keys = keys
        self._key_fd = key_fd
        self._key_help = key_help
        self._socket_path = socket_path
        self.status_timeout = status_timeout
        self.stop_requested = False  # a STOP was queued (from any source)
        self.socket_path: Path | None = None  # the bound socket, once started
        self.keys_active = False  # a key reader is running (stdin is a terminal)
        self._server: ControlServer | None = None
        self._restore_signals: Callable[[], None] | None = None
        self._keys: KeyReader | None = None
        self._started = False

    # -- the player's side

    def get(self, timeout: float | None = None) -> Command | None:
        """The next command, waiting up to ``timeout`` seconds (None: until one comes)."""
        try:
            if timeout is None:
                return self._queue.get()
            return self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def poll(self) -> Command | None:
        """The next command if one is waiting, else None (never blocks)."""
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def take(self, timeout: float | None = None) -> list[Command]:
        """Every command waiting (after waiting up to ``timeout`` seconds for the first),
        coalesced (``coalesce``): what the player acts on, in order."""
        first = self.get(timeout)
        if first is None:
            return []
        batch = [first]
        while (more := self.poll()) is not None:
            batch.append(more)
        return coalesce(batch)

    def put(self, action: Action) -> None:
        """Queue an action from the player itself (Source.PLAYER)."""
        self._put(Command(action, Source.PLAYER))

    def _put(self, command: Command) -> None:
        # Called from signal handlers too: a plain assignment and SimpleQueue.put only.
        if command.action is Action.STOP:
            self.stop_requested = True
        self._queue.put(command)

    # -- life cycle

    def start(self) -> ControlHub:
        """Start the socket server, the signal handlers and the key reader (each if wanted).

        Raises PlayerRunning or ControlError when the socket cannot be made; nothing is left
        started then.
        """
        if self._started:
            return self
        self._started = True
        try:
            if self._want_socket:
                server = ControlServer(default_socket_path(self._socket_path), self._answer)
                server.start()
                self._server = server
                self.socket_path = server.path
            if self._want_signals:
                self._restore_signals = install_signal_handlers(self)
            if self._want_keys:
                self._start_keys()
        except BaseException:
            self.close()
            raise
        return self

    def _start_keys(self) -> None:
        import termios

        from voiceguide.player.keys import KeyReader, terminal_fd

        fd = self._key_fd if self._key_fd is not None else terminal_fd()
        if fd is None or not _isatty(fd):
            return
        reader = KeyReader(fd, lambda action: self._put(Command(action, Source.KEY)))
        reader.help_stream = self._key_help
        try:
            reader.start()
        except (termios.error, OSError):  # a terminal we cannot set up: play without keys
            reader.close()
            return
        self._keys = reader
        self.keys_active = True

    def close(self) -> None:
        """Stop every source: restore the terminal, the signal handlers, remove the socket.

        Safe to call more than once, and after a failed ``start``.
        """
        keys, self._keys = self._keys, None
        if keys is not None:
            keys.close()
        self.keys_active = False
        restore, self._restore_signals = self._restore_signals, None
        if restore is not None:
            restore()
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def __enter__(self) -> ControlHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the socket's side

    def _answer(self, word: str) -> str:
        """The answer line to one protocol line (see the module docstring)."""
        if not word:
            return "error: empty command"
        try:
            action = parse_action(word)
        except ValueError as exc:
            return f"error: {exc}"
        if action is not Action.STATUS:
            self._put(Command(action, Source.SOCKET))
            return "ok"
        if self._status is not None:
            try:
                return json.dumps(dict(self._status()), default=str)
            except Exception as exc:
                return f"error: status failed: {type(exc).__name__}: {exc}"
        answer = _Answer()
        self._put(Command(Action.STATUS, Source.SOCKET, reply_to=answer.set))
        if answer.wait(self.status_timeout):
            return answer.text
        return "error: the player did not answer"


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False
