"""Where a stopped play left off, so ``voiceguide play --resume`` goes on from there.

Positions are kept per script (its resolved path) in the user cache directory, with a hash
of the timeline: if the routine changed since, the saved position no longer means anything
and is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import Any

from voiceguide import storage
from voiceguide.paths import cache_dir
from voiceguide.timeline import Timeline


def _file() -> Path:
    return cache_dir() / "positions.json"


def _load() -> dict[str, Any]:
    return storage.read_json(_file())


def _write(data: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # best effort: losing it costs only the resume
        storage.write_json(_file(), data)


def _digest(timeline: Timeline) -> str:
    return hashlib.sha256(timeline.dumps().encode()).hexdigest()


def save(script: Path, timeline: Timeline, position_ms: int) -> None:
    """Remember ``position_ms`` (file time) for ``script``."""
    data = _load()
    data[str(script.resolve())] = {"position_ms": position_ms, "timeline": _digest(timeline)}
    _write(data)


def load(script: Path, timeline: Timeline) -> int | None:
    """The saved position for ``script``, if there is one for this very timeline."""
    entry = _load().get(str(script.resolve()))
    if not isinstance(entry, dict) or entry.get("timeline") != _digest(timeline):
        return None
    position = entry.get("position_ms")
    return position if isinstance(position, int) and position >= 0 else None


def clear(script: Path) -> None:
    """Forget the position (the routine was played to its end)."""
    data = _load()
    if data.pop(str(script.resolve()), None) is not None:
        _write(data)
