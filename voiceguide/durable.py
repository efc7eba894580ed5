"""Durable file replacement: what survives a crash or a power cut is the old file or the
new one, never an empty or torn one.

The data goes to a temporary file in the target's directory, is fsynced, renamed onto the
target, and the directory is fsynced so the rename itself is on disk. Used for every file
voiceguide keeps (cache entries, records) and for the renames of exported files.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def replace(path: Path, parts: Iterable[bytes | memoryview], *, prefix: str) -> None:
    """Replace ``path`` with the bytes of ``parts`` in order, durably. The temporary file is
    named ``prefix`` + random (its owner sweeps what a killed writer left). Raises OSError."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            for part in parts:
                f.write(part)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable; best effort (not every platform can open a
    directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
