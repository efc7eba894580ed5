"""The renderer's own cache entries: a tone's stats and a mix's level, beside the speech cache.

Both are ``voiceguide.storage`` checked files (``<cache>/tones``, ``<cache>/levels``):
written once, durably, and trusted only if whole, matching their digest and making sense
(the reader's ``parse`` checks the numbers). A bad entry gets one warning line and is made
again; one that cannot be stored only costs the work next time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from voiceguide import storage

T = TypeVar("T")

_WARNED: set[str] = set()  # bad entries already reported (an estimate and the exact stats
# both look)


def entry_path(folder: str, name: str) -> Path:
    """Where the entry ``name`` of ``folder`` (``tones``, ``levels``) is kept."""
    from voiceguide.paths import cache_dir

    return cache_dir() / folder / name


def load(path: Path, context: bytes, parse: Callable[[bytes], T], what: str) -> T | None:
    """The entry at ``path`` as ``parse`` reads its payload (raising ``storage.BadEntry``
    when the numbers make no sense), or None if it is missing or bad. A bad entry is
    reported once: ``voiceguide: <what> <name> was <why>; made again``."""
    try:
        return parse(storage.read(path, context))
    except storage.BadEntry as error:
        if str(error) != "missing" and path.name not in _WARNED:
            _WARNED.add(path.name)
            storage.warn(f"voiceguide: {what} {path.name} was {error}; made again")
        return None


def save(path: Path, context: bytes, payload: bytes) -> None:
    """Store an entry (fsynced, then renamed into place); best effort."""
    with contextlib.suppress(OSError):
        storage.write(path, context, [payload])
