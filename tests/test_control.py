"""The player's control channel: the socket and ``voiceguide ctl``, signals, and keys.

Signals and keys are tested in child processes: the keys through a pseudo-terminal, as a
person at a terminal would press them, with the terminal settings checked afterwards.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from voiceguide.errors import ExitCode
from voiceguide.player.channel import (
    ControlError,
    NoPlayer,
    PlayerRunning,
    send_command,
    socket_candidates,
)
from voiceguide.player.commands import ALIASES, WORDS, Action, Command, Origin, parse_action
from voiceguide.player.hub import ControlHub, coalesce
from voiceguide.player.keys import KEY_HELP, parse_keys
from voiceguide.player.server import ControlServer, SocketSource
from voiceguide.player.signals import SignalSource
from voiceguide.player.sources import player_sources

TIMEOUT = 10.0  # seconds to wait for a child process before failing


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: a Unix socket path is limited to 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="vgc"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def sock(short_dir: Path) -> Path:
    return short_dir / "p.sock"


def talk(path: Path, data: bytes) -> bytes:
    """Send ``data`` on a connection to ``path``, close our end, return everything answered."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        client.connect(str(path))
        client.sendall(data)
        client.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := client.recv(4096):
            answer += chunk
        return answer


def stale_socket(path: Path) -> None:
    """Leave a socket file nobody listens on, as a crashed player does."""
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()


# ---------------------------------------------------------------------------- words


def test_every_action_has_its_word() -> None:
    assert WORDS == (
        "pause",
        "resume",
        "toggle",
        "next",
        "back",
        "repeat",
        "volume-up",
        "volume-down",
        "whats-next",
        "ready",
        "status",
        "stop",
    )
    for action in Action:
        assert parse_action(action.value) is action


def test_words_are_read_leniently() -> None:
    assert parse_action(" Volume_Up\r\n") is Action.VOLUME_UP
    assert parse_action("WHATS-NEXT") is Action.WHATS_NEXT
    assert parse_action("toggle-pause") is Action.TOGGLE_PAUSE
    assert parse_action("previous") is parse_action("prev") is Action.BACK
    assert parse_action("skip") is Action.NEXT
    assert parse_action("quit") is Action.STOP
    with pytest.raises(ValueError, match=r"unknown command 'jump' \(one of: pause, resume,"):
        parse_action("jump")


def test_interrupted_means_a_stop_signal() -> None:
    assert Command(Action.STOP, Origin.SIGNAL, signal.SIGINT).interrupted
    assert Command(Action.STOP, Origin.SIGNAL, signal.SIGTERM).interrupted
    assert not Command(Action.STOP, Origin.SOCKET).interrupted
    assert not Command(Action.STOP, Origin.KEY).interrupted
    assert not Command(Action.TOGGLE_PAUSE, Origin.SIGNAL, signal.SIGUSR1).interrupted


def _coalesced(*actions: Action) -> list[Action]:
    return [c.action for c in coalesce([Command(a, Origin.SOCKET) for a in actions])]


def test_coalesce_drops_what_cancels_out_and_lets_stop_through() -> None:
    P, R, T = Action.PAUSE, Action.RESUME, Action.TOGGLE_PAUSE
    assert _coalesced(*[P, R] * 250) == [R]
    assert _coalesced(*[R, P] * 250) == [P]
    assert _coalesced(T, T, T) == [T]
    assert _coalesced(T, T) == []
    assert _coalesced(P, T, T, T) == [P, T]  # whatever the state: paused, then toggled
    # In order around other actions; each run reduced on its own.
    assert _coalesced(P, R, Action.NEXT, P, Action.VOLUME_UP, Action.VOLUME_UP) == [
        R,
        Action.NEXT,
        P,
        Action.VOLUME_UP,
        Action.VOLUME_UP,
    ]
    assert _coalesced(Action.WHATS_NEXT, Action.WHATS_NEXT) == [Action.WHATS_NEXT]
    # A stop wins over everything queued, before or after it; status requests are answered.
    assert _coalesced(*[P, R] * 250, Action.STATUS, Action.STOP, Action.NEXT) == [
        Action.STATUS,
        Action.STOP,
    ]


def test_take_returns_everything_waiting_coalesced() -> None:
    hub = ControlHub()
    assert hub.take(timeout=0) == []
    for _ in range(100):
        hub.put(Command(Action.PAUSE))
        hub.put(Command(Action.RESUME))
    hub.put(Command(Action.STOP))
    assert [c.action for c in hub.take(timeout=0)] == [Action.STOP]
    assert hub.poll() is None


# ---------------------------------------------------------------------------- sources


class Buttons:
    """A source of our own, as GPIO buttons would be: presses put from its own thread."""

    def __init__(self, presses: list[Action], log: list[str], *, fail: bool = False) -> None:
        self.presses, self.log, self.fail = presses, log, fail

    def start(self, hub: ControlHub) -> None:
        self.log.append(f"start {len(self.presses)}")
        if self.fail:
            raise RuntimeError("no GPIO here")
        for action in self.presses:
            threading.Thread(target=hub.put, args=(Command(action, Origin.KEY),)).start()

    def close(self) -> None:
        self.log.append(f"close {len(self.presses)}")


def test_any_source_plugs_in() -> None:
    log: list[str] = []
    with ControlHub([Buttons([Action.NEXT], log)]) as hub:
        assert hub.get(timeout=1) == Command(Action.NEXT, Origin.KEY)
        hub.add(Buttons([Action.STOP, Action.STOP], log))  # started at once: the hub runs
        assert [hub.get(timeout=1), hub.get(timeout=1)] == [Command(Action.STOP, Origin.KEY)] * 2
        assert hub.stop_requested
    assert log == ["start 1", "start 2", "close 2", "close 1"]  # the last started closes first


def test_a_source_that_cannot_start_leaves_nothing_started(sock: Path) -> None:
    log: list[str] = []
    hub = ControlHub([Buttons([], log), SocketSource(sock), Buttons([Action.NEXT], log, fail=True)])
    with pytest.raises(RuntimeError, match="no GPIO here"):
        hub.start()
    assert log == ["start 0", "start 1", "close 1", "close 0"]
    assert not sock.exists()  # the socket, started between them, is closed too


# ---------------------------------------------------------------------------- socket paths


def test_socket_path_order(short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(short_dir / "cache"))
    monkeypatch.delenv("VOICEGUIDE_SOCKET", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_dir))
    cached = short_dir / "cache" / "voiceguide.sock"
    assert socket_candidates() == [short_dir / "voiceguide.sock", cached]
    for unusable in ["", "relative/dir", str(short_dir / "missing")]:
        monkeypatch.setenv("XDG_RUNTIME_DIR", unusable)
        assert socket_candidates() == [cached]
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert socket_candidates() == [cached]
    monkeypatch.setenv("VOICEGUIDE_SOCKET", "/x/env.sock")
    assert socket_candidates() == [Path("/x/env.sock")]
    assert socket_candidates("/x/given.sock") == [Path("/x/given.sock")]


# ---------------------------------------------------------------------------- the socket


@pytest.fixture
def hub(sock: Path) -> Iterator[ControlHub]:
    """A started hub with only the socket, answering status from a fixed snapshot."""
    with ControlHub(
        [SocketSource(sock)], status=lambda: {"state": "playing", "step": "Cat-Cow"}
    ) as started:
        yield started


@pytest.mark.parametrize("word", [w for w in WORDS if w != "status"] + sorted(ALIASES))
def test_every_word_round_trips(hub: ControlHub, sock: Path, word: str) -> None:
    assert send_command(word, sock) == "ok"
    command = hub.get(timeout=1)
    assert command == Command(parse_action(word), Origin.SOCKET)
    assert hub.poll() is None
    assert hub.stop_requested == (command.action is Action.STOP)


def test_status_answers_with_the_players_json(hub: ControlHub, sock: Path) -> None:
    answer = send_command("status", sock)
    assert json.loads(answer) == {"state": "playing", "step": "Cat-Cow"}
    assert "\n" not in answer
    assert hub.poll() is None  # answered by the callback: the player sees nothing


def test_status_errors(sock: Path) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("no step yet")

    with ControlHub([SocketSource(sock)], status=broken):
        assert send_command("status", sock) == "error: status failed: RuntimeError: no step yet"


def test_status_answered_by_the_player_loop(sock: Path) -> None:
    """Without a status callback, STATUS is queued and the player answers it."""
    with ControlHub([SocketSource(sock)], status_timeout=5) as hub:

        def player() -> None:
            command = hub.get(timeout=5)
            assert command is not None and command.action is Action.STATUS
            command.respond({"state": "paused", "left": 42})

        thread = threading.Thread(target=player)
        thread.start()
        assert json.loads(send_command("status", sock)) == {"state": "paused", "left": 42}
        thread.join()

    with ControlHub([SocketSource(sock)], status_timeout=0.2) as hub:
        assert send_command("status", sock) == "error: the player did not answer"
        queued = hub.get(timeout=1)
        assert queued is not None and queued.action is Action.STATUS
        queued.respond("too late")  # harmless


def test_unknown_and_empty_lines_get_errors(hub: ControlHub, sock: Path) -> None:
    assert send_command("jump", sock) == (
        "error: unknown command 'jump' (one of: pause, resume, toggle, next, back, repeat, "
        "volume-up, volume-down, whats-next, ready, status, stop)"
    )
    assert talk(sock, b"\n") == b"error: empty command\n"
    assert talk(sock, b"x" * 5000) == b"error: line too long\n"
    assert hub.poll() is None


def test_one_connection_many_lines(hub: ControlHub, sock: Path) -> None:
    answers = talk(sock, b"pause\r\nnext\nfly\nstatus\nresume")  # last line without newline
    lines = answers.decode().splitlines()
    assert lines[:3] == ["ok", "ok", lines[2]]
    assert lines[2].startswith("error: unknown command 'fly'")
    assert json.loads(lines[3])["state"] == "playing"
    assert lines[4:] == ["ok"]
    got = [hub.get(1) for _ in range(3)]
    assert [c.action if c else None for c in got] == [Action.PAUSE, Action.NEXT, Action.RESUME]


def test_a_silent_client_holds_nobody_up(hub: ControlHub, sock: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as idle:
        idle.connect(str(sock))
        idle.sendall(b"pau")  # and never finishes the line
        start = time.monotonic()
        assert send_command("next", sock) == "ok"
        assert time.monotonic() - start < 1


def test_socket_mode_and_removal(sock: Path) -> None:
    source = SocketSource(sock)
    hub = ControlHub([source]).start()
    assert source.path == sock
    info = os.stat(sock)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600
    hub.close()
    assert not sock.exists()
    hub.close()  # twice is fine
    with pytest.raises(NoPlayer):
        send_command("next", sock)


def test_stale_socket_is_replaced(sock: Path) -> None:
    stale_socket(sock)
    assert sock.exists()
    with pytest.raises(NoPlayer):  # refused: no player
        send_command("next", sock)
    with ControlHub([SocketSource(sock)]) as hub:
        assert send_command("next", sock) == "ok"
        assert hub.get(1) == Command(Action.NEXT, Origin.SOCKET)
    assert not sock.exists()


def test_a_second_player_on_a_live_socket_refuses(sock: Path) -> None:
    usr1 = signal.getsignal(signal.SIGUSR1)
    with ControlHub([SocketSource(sock)]) as first:
        second = ControlHub(player_sources(sock))  # signals: none must be left installed
        with pytest.raises(PlayerRunning, match="another voiceguide player is running") as err:
            second.start()
        assert str(sock) in str(err.value)
        assert err.value.exit_code == ExitCode.ERROR
        assert signal.getsignal(signal.SIGUSR1) == usr1
        assert send_command("next", sock) == "ok"  # the first is untouched
        assert first.get(1) == Command(Action.NEXT, Origin.SOCKET)
    assert not sock.exists()


def test_closing_wakes_the_serving_thread(sock: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The serving thread sleeps until a client comes (a player that polled 20 times a
    second cost a tenth more CPU while playing); closing wakes it at once rather than at
    its next fallback poll."""
    from voiceguide.player import server

    monkeypatch.setattr(server, "POLL_SECONDS", 60.0)
    control = ControlServer(sock, lambda line: "ok")
    control.start()
    assert send_command("next", sock) == "ok"
    thread = control._thread
    assert thread is not None
    began = time.monotonic()
    control.close()  # gives the serving thread 2 s to end: the 60 s poll would not
    assert not thread.is_alive()
    assert time.monotonic() - began < 30.0  # nor did it wait for that poll
    assert not sock.exists()


def test_only_our_own_socket_file_is_removed(sock: Path) -> None:
    first = ControlServer(sock, lambda line: "first")
    first.start()
    os.unlink(sock)  # someone removed it, and another player started since
    second = ControlServer(sock, lambda line: "second")
    second.start()
    first.close()
    assert send_command("next", sock) == "second"
    second.close()
    assert not sock.exists()


def test_no_socket_over_other_files(short_dir: Path) -> None:
    other = short_dir / "notes.txt"
    other.write_text("keep me")
    with pytest.raises(ControlError, match="exists and is not a socket"):
        ControlHub([SocketSource(other)]).start()
    assert other.read_text() == "keep me"
    long = short_dir / ("x" * 120 + ".sock")
    with pytest.raises(ControlError, match="longer than 107 bytes"):
        ControlHub([SocketSource(long)]).start()


def test_default_socket_directory_is_made(short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOICEGUIDE_SOCKET", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(short_dir / "c"))
    source = SocketSource()
    with ControlHub([source]):
        assert source.path == short_dir / "c" / "voiceguide.sock"
        assert send_command("pause") == "ok"


# ---------------------------------------------------------------------------- voiceguide ctl


def ctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "voiceguide", "ctl", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=30,
    )


def errors(proc: subprocess.CompletedProcess[str]) -> str:
    """Standard error without ``-X importtime``'s lines."""
    return "".join(
        line for line in proc.stderr.splitlines(True) if not line.startswith("import time:")
    )


def test_ctl_round_trips(hub: ControlHub, sock: Path) -> None:
    proc = ctl("next", "--socket", str(sock))
    assert (proc.returncode, proc.stdout, errors(proc)) == (0, "ok\n", "")
    assert hub.get(1) == Command(Action.NEXT, Origin.SOCKET)
    imported = {line.rpartition("|")[2].strip().split(".")[0] for line in proc.stderr.splitlines()}
    assert "socket" in imported
    assert not imported & {"numpy", "yaml", "soundfile", "lameenc", "pyttsx3", "mutagen"}
    assert "typer" not in imported  # ``ctl ACTION`` is answered before typer is imported

    proc = ctl("Volume_Up", "--socket", str(sock))
    assert (proc.returncode, proc.stdout) == (0, "ok\n")
    assert hub.get(1) == Command(Action.VOLUME_UP, Origin.SOCKET)

    proc = ctl("status", env={**os.environ, "VOICEGUIDE_SOCKET": str(sock)})
    assert proc.returncode == 0, errors(proc)
    assert proc.stdout == '{"state": "playing", "step": "Cat-Cow"}\n'  # one line


def test_ctl_reports_the_players_error(sock: Path) -> None:
    with ControlHub([SocketSource(sock)], status_timeout=0.1):
        proc = ctl("status", "--socket", str(sock))
    assert (proc.returncode, proc.stdout) == (ExitCode.ERROR, "")
    assert errors(proc) == "voiceguide: the player says: the player did not answer\n"


def test_ctl_without_a_player(sock: Path) -> None:
    message = f"voiceguide: no voiceguide player is running (socket {sock})\n"
    proc = ctl("pause", "--socket", str(sock))
    assert (proc.returncode, proc.stdout, errors(proc)) == (ExitCode.NO_PLAYER, "", message)
    assert int(ExitCode.NO_PLAYER) == 8 and ExitCode.NO_PLAYER.name == "NO_PLAYER"  # no alias
    stale_socket(sock)
    proc = ctl("pause", "--socket", str(sock))
    assert (proc.returncode, proc.stdout, errors(proc)) == (ExitCode.NO_PLAYER, "", message)


def test_ctl_finds_a_player_without_xdg_runtime_dir(short_dir: Path) -> None:
    """A player under a systemd system service has no XDG_RUNTIME_DIR; an ssh login does."""
    runtime = short_dir / "run"
    runtime.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VOICEGUIDE_SOCKET", "XDG_RUNTIME_DIR")}
    env["VOICEGUIDE_CACHE_DIR"] = str(short_dir / "cache")
    cached = short_dir / "cache" / "voiceguide.sock"
    with ControlHub([SocketSource(cached)]) as hub:
        proc = ctl("repeat", env={**env, "XDG_RUNTIME_DIR": str(runtime)})
        assert (proc.returncode, proc.stdout) == (0, "ok\n"), errors(proc)
        assert hub.get(1) == Command(Action.REPEAT, Origin.SOCKET)
    proc = ctl("repeat", env={**env, "XDG_RUNTIME_DIR": str(runtime)})
    assert proc.returncode == ExitCode.NO_PLAYER
    assert f"(socket {runtime / 'voiceguide.sock'})" in errors(proc)


def test_ctl_in_other_forms_goes_through_the_command_line(hub: ControlHub, sock: Path) -> None:
    """``--socket=PATH`` is the quick form too; ``--help`` and extra words are typer's."""
    proc = ctl(f"--socket={sock}", "back")
    assert (proc.returncode, proc.stdout, errors(proc)) == (0, "ok\n", "")
    assert hub.get(1) == Command(Action.BACK, Origin.SOCKET)
    proc = ctl("--help")
    assert proc.returncode == 0 and "ACTION" in proc.stdout
    proc = ctl("next", "now", "--socket", str(sock))
    assert proc.returncode == ExitCode.USAGE and "unexpected extra argument" in errors(proc)


def test_ctl_refuses_unknown_actions() -> None:
    proc = ctl("jump")
    assert proc.returncode == ExitCode.USAGE
    assert "unknown command 'jump'" in errors(proc)


# ---------------------------------------------------------------------------- child processes


class Child:
    """A child process running ``script``, printing lines we wait for."""

    def __init__(self, script: str, *args: str, **popen: object) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
            **popen,  # type: ignore[call-overload]
        )
        self._buffer = b""

    def line(self, timeout: float = TIMEOUT) -> str:
        """The next line the child prints (fails after ``timeout`` seconds)."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"no line from the child; so far {self._buffer!r}")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(f"the child ended: {self.finish()}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def finish(self) -> tuple[int, str, str]:
        """Wait for the child: its exit code, the rest of its output and its errors."""
        out, err = self.proc.communicate(timeout=TIMEOUT)
        return self.proc.returncode, (self._buffer + out).decode(), err.decode()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


# A player loop printing each command as "ACTION source signum" until a STOP.
PLAYER = """
import sys
from voiceguide.player.commands import Action
from voiceguide.player.hub import ControlHub
from voiceguide.player.keys import KeySource
from voiceguide.player.signals import SignalSource

def run(hub, keys_active=False):
    print("ready", keys_active, flush=True)
    while True:
        command = hub.get(timeout=30)
        if command is None:
            sys.exit("no command")
        print(command.action.name, command.origin.value, command.signum, flush=True)
        if command.action is Action.STOP:
            return
"""


# ---------------------------------------------------------------------------- signals


def test_signals_in_process() -> None:
    old = {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT)}
    with ControlHub([SignalSource()]) as hub:
        os.kill(os.getpid(), signal.SIGUSR1)
        assert hub.get(1) == Command(Action.TOGGLE_PAUSE, Origin.SIGNAL, signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGTERM)
        command = hub.get(1)
        assert command == Command(Action.STOP, Origin.SIGNAL, signal.SIGTERM)
        assert command.interrupted and hub.stop_requested
    assert {s: signal.getsignal(s) for s in old} == old


def test_signals_only_from_the_main_thread() -> None:
    failed: list[BaseException] = []

    def start() -> None:
        try:
            ControlHub([SignalSource()]).start()
        except RuntimeError as exc:
            failed.append(exc)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    assert len(failed) == 1 and "main thread" in str(failed[0])


SIGNAL_PLAYER = (
    PLAYER
    + """
import time
from voiceguide.errors import Interrupted

try:
    with ControlHub([SignalSource()]) as hub:
        run(hub)
        if sys.argv[1] == "stuck":  # releasing the audio device hangs
            time.sleep(30)
    print("closed", flush=True)
except Interrupted:
    print("interrupted", flush=True)
    sys.exit(130)
"""
)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=str)
def test_signals_steer_a_player(stop: signal.Signals) -> None:
    child = Child(SIGNAL_PLAYER, "calm")
    try:
        assert child.line() == "ready False"
        usr1 = int(signal.SIGUSR1)
        child.proc.send_signal(signal.SIGUSR1)
        assert child.line() == f"TOGGLE_PAUSE signal {usr1}"
        child.proc.send_signal(signal.SIGUSR1)
        assert child.line() == f"TOGGLE_PAUSE signal {usr1}"
        child.proc.send_signal(stop)
        assert child.finish() == (0, f"STOP signal {int(stop)}\nclosed\n", "")
    finally:
        child.kill()


def test_a_second_stop_signal_interrupts_a_stuck_player() -> None:
    child = Child(SIGNAL_PLAYER, "stuck")
    try:
        assert child.line() == "ready False"
        child.proc.send_signal(signal.SIGINT)
        assert child.line() == f"STOP signal {int(signal.SIGINT)}"
        time.sleep(0.2)
        child.proc.send_signal(signal.SIGTERM)
        assert child.finish() == (130, "interrupted\n", "")
    finally:
        child.kill()


def test_sighup_left_ignored_under_nohup() -> None:
    script = """
import signal
from voiceguide.player.hub import ControlHub
from voiceguide.player.signals import SignalSource
signal.signal(signal.SIGHUP, signal.SIG_IGN)
with ControlHub([SignalSource()]):
    print(signal.getsignal(signal.SIGHUP) == signal.SIG_IGN, flush=True)
"""
    assert Child(script).finish() == (0, "True\n", "")


# ---------------------------------------------------------------------------- keys


def test_parse_keys() -> None:
    assert parse_keys(b" nN?\n\r+=-") == ([" ", "n", "n", "?", "\n", "\r", "+", "=", "-"], b"")
    arrows = b"\x1b[A\x1b[B\x1b[C\x1b[D\x1bOA\x1bOD\x1b[1;5C"
    assert parse_keys(arrows) == (["up", "down", "right", "left", "up", "left", "right"], b"")
    assert parse_keys(b"n\x1b[") == (["n"], b"\x1b[")  # the rest comes in the next read
    assert parse_keys(b"\x1b[1;") == ([], b"\x1b[1;")
    assert parse_keys(b"\x1b") == ([], b"\x1b")
    assert parse_keys(b"\x1bO") == ([], b"\x1bO")
    assert parse_keys(b"\x1b", final=True) == ([], b"")
    assert parse_keys(b"r\x1b[1", final=True) == (["r"], b"")
    assert parse_keys(b"\x1bq\x1b[2~r\xc3\xa9") == (["q", "r"], b"")  # Alt-q, Insert, é


KEY_PLAYER = (
    PLAYER
    + """
import fcntl, termios

if sys.argv[1] != "background":
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty becomes our controlling terminal
keys = KeySource()
with ControlHub([SignalSource(), keys]) as hub:
    run(hub, keys.active)
    if sys.argv[1] == "crash":
        raise RuntimeError("the player crashed")
"""
)

KEY_SEQUENCE = [
    (b" ", "TOGGLE_PAUSE"),
    (b"n", "NEXT"),
    (b"\x1b[C", "NEXT"),  # right arrow
    (b"b", "BACK"),
    (b"p", "BACK"),
    (b"\x1b[D", "BACK"),  # left arrow
    (b"r", "REPEAT"),
    (b"+", "VOLUME_UP"),
    (b"=", "VOLUME_UP"),
    (b"\x1b[A", "VOLUME_UP"),  # up arrow
    (b"-", "VOLUME_DOWN"),
    (b"\x1b[B", "VOLUME_DOWN"),  # down arrow
    (b"w", "WHATS_NEXT"),
    (b"?", "WHATS_NEXT"),
    (b"\r", "READY"),  # Enter
    (b"xyz", ""),  # no keys of ours
    (b"h", ""),  # the help, on standard error
    (b"N", "NEXT"),
]


class Pty:
    """A pseudo-terminal: we write keys to the master, the child reads the slave as stdin."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.original = termios.tcgetattr(self.slave)

    def lflag(self) -> int:
        return int(termios.tcgetattr(self.slave)[3])

    def cbreak(self) -> bool:
        return not self.lflag() & (termios.ICANON | termios.ECHO)

    def restored(self) -> bool:
        return termios.tcgetattr(self.slave) == self.original

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def pty() -> Iterator[Pty]:
    terminal = Pty()
    yield terminal
    terminal.close()


def key_player(pty: Pty, mode: str = "foreground") -> Child:
    """A player with the pty as its controlling terminal and stdin, in cbreak mode."""
    child = Child(KEY_PLAYER, mode, stdin=pty.slave, start_new_session=True)
    assert child.line() == "ready True"
    assert pty.cbreak()
    assert pty.lflag() & termios.ISIG  # Ctrl-C still sends SIGINT
    return child


def test_keys_through_a_terminal(pty: Pty) -> None:
    child = key_player(pty)
    try:
        for key, action in KEY_SEQUENCE:
            os.write(pty.master, key)
            if action:
                assert child.line() == f"{action} key None", key
        # An arrow split across two reads is still one arrow.
        os.write(pty.master, b"\x1b[")
        time.sleep(0.02)
        os.write(pty.master, b"D")
        assert child.line() == "BACK key None"
        assert pty.cbreak()
        os.write(pty.master, b"q")
        assert child.finish() == (0, "STOP key None\n", KEY_HELP + "\n")
        assert pty.restored()
    finally:
        child.kill()


def test_keys_come_back_after_the_shell_took_the_terminal(pty: Pty) -> None:
    """After Ctrl-Z and fg the shell has put back its own settings: cbreak mode returns."""
    child = key_player(pty)
    try:
        termios.tcsetattr(pty.slave, termios.TCSANOW, pty.original)
        deadline = time.monotonic() + TIMEOUT
        while not pty.cbreak() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pty.cbreak()
        os.write(pty.master, b"nq")
        assert child.finish() == (0, "NEXT key None\nSTOP key None\n", "")
        assert pty.restored()
    finally:
        child.kill()


def test_ctrl_c_at_the_terminal_stops(pty: Pty) -> None:
    child = key_player(pty)
    try:
        os.write(pty.master, b"\x03")
        assert child.finish() == (0, f"STOP signal {int(signal.SIGINT)}\n", "")
        assert pty.restored()
    finally:
        child.kill()


def test_terminal_restored_after_sigterm(pty: Pty) -> None:
    child = key_player(pty)
    try:
        child.proc.send_signal(signal.SIGTERM)
        assert child.finish() == (0, f"STOP signal {int(signal.SIGTERM)}\n", "")
        assert pty.restored()
    finally:
        child.kill()


def test_terminal_restored_after_a_crash(pty: Pty) -> None:
    child = key_player(pty, "crash")
    try:
        os.write(pty.master, b"q")
        code, out, err = child.finish()
        assert (code, out) == (1, "STOP key None\n")
        assert "RuntimeError: the player crashed" in err
        assert pty.restored()
    finally:
        child.kill()


def test_no_keys_without_a_terminal() -> None:
    script = """
import os, sys
from voiceguide.player.hub import ControlHub
from voiceguide.player.keys import KeySource
if sys.argv[1] == "closed":
    os.close(0)
    sys.stdin = None
keys = KeySource()
with ControlHub([keys]):
    print(keys.active, flush=True)
"""
    for how in ("devnull", "closed"):
        child = Child(script, how, stdin=subprocess.DEVNULL)
        assert child.finish() == (0, "False\n", "")


JOB_CONTROL = """
import fcntl, os, signal, subprocess, sys, termios, time

# A shell's part: own the terminal, start the player in the background (&), then bring it to
# the foreground (fg).
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
player = subprocess.Popen(
    [sys.executable, "-c", sys.argv[1], "background"],
    process_group=0,
    stdout=subprocess.PIPE,
    text=True,
)
print(player.stdout.readline().strip(), flush=True)  # ready
time.sleep(0.6)  # a few rounds of the key reader's loop
print("background", termios.tcgetattr(0)[3] & termios.ICANON != 0, flush=True)
os.tcsetpgrp(0, player.pid)
for line in player.stdout:
    print(line.strip(), flush=True)
os.tcsetpgrp(0, os.getpgrp())
sys.exit(player.wait())
"""


def test_keys_wait_for_the_foreground(pty: Pty) -> None:
    """Started in the background, the player neither stops nor touches the terminal;
    brought to the foreground, it takes the keys."""
    shell = Child(JOB_CONTROL, KEY_PLAYER, stdin=pty.slave, start_new_session=True)
    try:
        assert shell.line() == "ready True"
        assert shell.line() == "background True"
        deadline = time.monotonic() + TIMEOUT
        while not pty.cbreak() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pty.cbreak()
        os.write(pty.master, b"n")
        assert shell.line() == "NEXT key None"
        os.write(pty.master, b"q")
        assert shell.finish() == (0, "STOP key None\n", "")
        assert pty.restored()
    finally:
        shell.kill()


def test_a_signal_another_thread_receives_reaches_a_waiting_player() -> None:
    """The kernel may hand a signal to any thread; the main thread waiting for a command
    must still act on it at once, not when its wait times out (30 s here)."""
    script = """
import signal, threading, time
from voiceguide.player.hub import ControlHub
from voiceguide.player.signals import SignalSource

threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # only the other thread gets it
with ControlHub([SignalSource()]) as hub:
    print("ready", flush=True)
    command = hub.get(timeout=30)
    print(command.action.name if command else "nothing", flush=True)
"""
    child = Child(script)
    try:
        assert child.line() == "ready"
        started = time.monotonic()
        child.proc.send_signal(signal.SIGTERM)
        assert child.line(timeout=8.0) == "STOP"
        assert time.monotonic() - started < 8.0
        assert child.finish()[0] == 0
    finally:
        child.kill()
