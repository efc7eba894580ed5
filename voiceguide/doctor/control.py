"""The control socket: where a player would bind it, and whether one is listening there.

A socket file nobody answers on (a player that crashed) is a warning: the next player
replaces it, but ``voiceguide ctl`` finds no player there. Anything else in its place, or a
directory the player cannot create the socket in, fails. With no socket where a player
started here would bind it, the other places ``voiceguide ctl`` looks are asked too (a
player run as a system service binds the cache directory's, without XDG_RUNTIME_DIR).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import stat
from pathlib import Path

from voiceguide.doctor.check import Check, fail, ok, warn
from voiceguide.player.channel import (
    SOCKET_ENV,
    SUN_PATH_MAX,
    ControlError,
    NoPlayer,
    default_socket_path,
    send_command,
    socket_candidates,
)

NAME = "socket"


def socket_check(given: Path | None, timeout: float = 2.0) -> list[Check]:
    """The socket's directory is usable, and who (if anyone) listens on the socket."""
    path = default_socket_path(given)
    q = shlex.quote(str(path))
    if len(os.fsencode(str(path))) > SUN_PATH_MAX:
        return [
            fail(
                NAME,
                f"{path} is longer than a socket path may be ({SUN_PATH_MAX} bytes)",
                f"export {SOCKET_ENV}=/run/user/{os.getuid()}/voiceguide.sock",
            )
        ]
    problem = _directory_problem(path.parent)
    if problem is not None:
        return [fail(NAME, *problem)]
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        for other in socket_candidates(given)[1:]:  # where ``voiceguide ctl`` looks too
            with contextlib.suppress(ControlError):
                answer = send_command("status", other, timeout=timeout)
                found = f"a player is listening on {other}{_playing(answer)}"
                return [ok(NAME, f"{found}; a player started here would listen on {path}")]
        return [ok(NAME, f"no player is running; a player listens on {path}")]
    if not stat.S_ISSOCK(info.st_mode):
        return [fail(NAME, f"{path} exists and is not a socket", f"mv {q} {q}.bak")]
    try:
        answer = send_command("status", path, timeout=timeout)
    except NoPlayer:
        return [warn(NAME, f"stale socket {path}: no player is listening", f"rm {q}")]
    except ControlError as exc:
        return [warn(NAME, str(exc))]
    return [ok(NAME, f"a player is listening on {path}{_playing(answer)}")]


def _directory_problem(directory: Path) -> tuple[str, str] | None:
    """Why the player could not create its socket in ``directory`` (it makes the directory
    if missing), and the fix."""
    existing = next((p for p in (directory, *directory.parents) if p.exists()), directory)
    q = shlex.quote(str(existing))
    if not existing.is_dir():
        return f"{directory} cannot be a directory: {existing} is a file", f"mv {q} {q}.bak"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable: no socket can be made in it", f"sudo chmod u+rwx {q}"
    return None


def _playing(answer: str) -> str:
    """`` (playing Daily routine at 3:10)`` from a status answer; empty if it is no status."""
    try:
        status = json.loads(answer)
    except ValueError:
        return ""
    if not isinstance(status, dict):
        return ""
    return f" ({status.get('state')} {status.get('title')} at {status.get('position')})"
