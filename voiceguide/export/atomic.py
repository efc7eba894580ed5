"""Atomic file output: a target is either left untouched or replaced by a complete file.

Writers never open the target itself. They write to a hidden temporary file in the same
directory (``.name.xxxxxxxx.part``), which is fsynced and then ``os.replace``d onto the
target. On any exception, including KeyboardInterrupt, the temporary files are removed and
the exception propagates; an OSError in writing (missing directory, permission, full disk)
becomes an ExportError naming the target and the reason.

A group (``atomic_group``) holds several files, e.g. the parts and playlist of a split
export: nothing is replaced until every file is complete, then the files are replaced in the
order they were added (so a playlist added last appears last). If a replace itself fails
midway, the files already replaced stay (each of them complete) and the rest are discarded.

A process killed outright (SIGKILL, a power cut) cannot remove its temporary files. So each
one is held under an exclusive ``flock`` by the export writing it, from its creation until
it is replaced or removed; the kernel drops the lock when its owner dies. The first file an
export puts in a folder removes that folder's stale temporary files: those of this naming
whose lock can be taken (no running export owns them), and no other file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from voiceguide.errors import ExportError
from voiceguide.storage import fsync_directory

_TEMP_SUFFIX = ".part"
_TEMP_NAME = re.compile(r"\A\..+\.[0-9a-f]{8}\.part\Z", re.DOTALL)  # .NAME.XXXXXXXX.part


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Remove the temporary files in ``directory`` that no running export owns (their
    writer was killed); returns them. Best effort: anything unexpected is left alone."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    removed = []
    for name in names:
        if not _TEMP_NAME.match(name):
            continue
        path = directory / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError: an export owns it
            now = os.stat(path, follow_symlinks=False)
            if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                os.unlink(path)
                removed.append(path)
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


class AtomicGroup:
    """Temporary files waiting to be moved onto their targets together."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []  # (temporary, target), in add order
        self._locks: dict[Path, int] = {}  # temporary -> the descriptor holding its flock
        self._swept: set[Path] = set()  # folders already rid of stale temporary files

    @property
    def targets(self) -> list[Path]:
        return [target for _, target in self._pending]

    def path(self, target: Path | str) -> Path:
        """Create an empty temporary file beside ``target`` (locked: see the module's doc)
        and return its path."""
        target = Path(target)
        if target in self.targets:
            raise ValueError(f"{target} is already part of this group")
        if target.parent not in self._swept:
            self._swept.add(target.parent)
            remove_stale_temporaries(target.parent)
        # Created with O_EXCL and mode 0o666 so the user's umask applies, as for any new file.
        for _ in range(100):
            temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}")
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            except OSError as error:
                raise _export_error(target, error) from error
            with contextlib.suppress(OSError):  # a file system without locks: unmarked,
                fcntl.flock(fd, fcntl.LOCK_EX)  # and then no sweep can lock it either
            try:
                # Another export's sweep may have taken the new file for a stale one before
                # the lock: then it is gone, and another name is tried.
                ours = os.fstat(fd).st_ino == os.stat(temp, follow_symlinks=False).st_ino
            except OSError:
                ours = False
            if not ours:
                os.close(fd)
                continue
            self._locks[temp] = fd
            self._pending.append((temp, target))
            return temp
        raise ExportError(f"cannot write {target}: no free temporary file name")

    def commit(self) -> None:
        """fsync every temporary file, then replace the targets in add order."""
        for temp, target in self._pending:
            try:
                os.fsync(self._locks[temp])
            except OSError as error:
                raise _export_error(target, error) from error
        directories: set[Path] = set()
        while self._pending:
            temp, target = self._pending[0]
            try:
                os.replace(temp, target)
            except OSError as error:
                raise _export_error(target, error) from error
            self._pending.pop(0)
            self._unlock(temp)
            directories.add(target.parent)
        for directory in directories:
            fsync_directory(directory)

    def discard(self) -> None:
        """Remove every temporary file not yet moved onto its target."""
        while self._pending:
            temp, _ = self._pending.pop()
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            self._unlock(temp)

    def _unlock(self, temp: Path) -> None:
        """Close the descriptor that holds ``temp``'s lock (after its replace or removal)."""
        fd = self._locks.pop(temp, None)
        if fd is not None:
            os.close(fd)

    def target_of(self, path: object) -> Path | None:
        """The target whose temporary file is ``path`` (or which is ``path``), if any."""
        if not isinstance(path, str | os.PathLike):
            return None
        candidate = Path(path)
        for temp, target in self._pending:
            if candidate in (temp, target):
                return target
        return None


@contextlib.contextmanager
def atomic_group() -> Iterator[AtomicGroup]:
    """Collect temporary files; replace their targets only if the block completes."""
    group = AtomicGroup()
    try:
        yield group
        group.commit()
    except BaseException as error:
        wrapped: ExportError | None = None
        if isinstance(error, OSError) and not isinstance(error, ExportError):
            filename = getattr(error, "filename", None)
            target = group.target_of(filename)
            if target is None and filename is None and group.targets:
                target = group.targets[-1]  # our own write that named no file
            if target is not None:
                wrapped = _export_error(target, error)
            # An OSError about some other file (e.g. the renderer reading its cache) is not a
            # failure to write: it propagates unchanged.
        group.discard()
        if wrapped is not None:
            raise wrapped from error
        raise


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``target``, on failure it vanishes."""
    with atomic_group() as group:
        yield group.path(target)


def _export_error(target: Path | None, error: OSError) -> ExportError:
    reason = error.strerror or str(error) or type(error).__name__
    where = str(target) if target is not None else "output"
    return ExportError(f"cannot write {where}: {reason}")
