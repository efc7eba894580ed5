"""The cache directory (speech clips, exports' state, the resume file): writable, with room.

The directory is created if it is missing, as the speech cache would on first use, and a
file is written and removed in it: that is the only sure test (root passes every mode bit).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import tempfile
from pathlib import Path

from voiceguide.doctor.check import Check, fail, ok, warn
from voiceguide.paths import cache_dir

NAME = "cache"
FAIL_BELOW = 50 * 2**20  # bytes free: too little for a routine's speech and its export
WARN_BELOW = 500 * 2**20  # bytes free: a few exports more and it is full


def cache_check() -> list[Check]:
    """The cache directory can be created, written to, and has free space."""
    path = cache_dir()
    q = shlex.quote(str(path))
    blocker = _file_in_the_way(path)
    if blocker is not None:
        b = shlex.quote(str(blocker))
        return [
            fail(
                NAME,
                f"{path} cannot be a directory: {blocker} is a file",
                f"mv {b} {b}.bak && mkdir -p {q}",
            )
        ]
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-") as probe:
            probe.write(b"x")
            probe.flush()
    except OSError as exc:
        return [fail(NAME, f"{path} is not writable: {exc.strerror or exc}", _write_fix(path))]
    free = shutil.disk_usage(path).free
    detail = f"{path} is writable, {_size(free)} free"
    if free < WARN_BELOW:
        low = fail if free < FAIL_BELOW else warn
        used = _used(path)
        fix = f"rm -rf {q}" if used > WARN_BELOW - free else "sudo apt-get clean"
        return [low(NAME, f"{detail}, the cache holds {_size(used)}", fix)]
    return [ok(NAME, detail, data={"path": str(path), "free_bytes": free})]


def _file_in_the_way(path: Path) -> Path | None:
    """``path`` or the nearest of its parents that exists, when that is not a directory."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None


def _write_fix(path: Path) -> str:
    """Make ``path`` (or its nearest existing parent) this user's."""
    existing = next((p for p in (path, *path.parents) if p.exists()), path)
    user = _user()
    q = shlex.quote(str(path))
    if existing == path:
        return f"sudo chown -R {user}: {q} && chmod u+rwx {q}"
    return f"sudo mkdir -p {q} && sudo chown {user}: {q}"


def _user() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _used(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # removed while we walk
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _size(n: int) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.0f} MiB"
