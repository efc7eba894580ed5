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
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from voiceguide.errors import ExportError

_TEMP_SUFFIX = ".part"


class AtomicGroup:
    """Temporary files waiting to be moved onto their targets together."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []  # (temporary, target), in add order

    @property
    def targets(self) -> list[Path]:
        return [target for _, target in self._pending]

    def path(self, target: Path | str) -> Path:
        """Create an empty temporary file beside ``target`` and return its path."""
        target = Path(target)
        if target in self.targets:
            raise ValueError(f"{target} is already part of this group")
        # Created with O_EXCL and mode 0o666 so the user's umask applies, as for any new file.
        for _ in range(100):
            temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}")
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            except OSError as error:
                raise _export_error(target, error) from error
            os.close(fd)
            self._pending.append((temp, target))
            return temp
        raise ExportError(f"cannot write {target}: no free temporary file name")

    def commit(self) -> None:
        """fsync every temporary file, then replace the targets in add order."""
        for temp, target in self._pending:
            try:
                _fsync_file(temp)
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
            directories.add(target.parent)
        for directory in directories:
            _fsync_directory(directory)

    def discard(self) -> None:
        """Remove every temporary file not yet moved onto its target."""
        while self._pending:
            temp, _ = self._pending.pop()
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

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


def write_text_atomic(path: Path | str, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically (LF line ends); ExportError on failure."""
    with atomic_path(path) as temp:
        temp.write_text(text, encoding=encoding, newline="\n")


def _export_error(target: Path | None, error: OSError) -> ExportError:
    reason = error.strerror or str(error) or type(error).__name__
    where = str(target) if target is not None else "output"
    return ExportError(f"cannot write {where}: {reason}")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    """Make the renames durable; best effort (some platforms cannot open directories)."""
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
