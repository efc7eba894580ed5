"""How far a lossy encoder's decoded peaks rise over the mix's, remembered per voice.

An MP3 or Ogg file decodes with peaks a little over the mix it was made from, by how much
depends on the voice as much as on the format: 0.2 dB for espeak-ng in MP3 at 128 kbit/s,
0.6 dB for hibari. The first encode of a lossy file is made quieter by the overshoot
expected; a file that still peaks too high is encoded once more (``export.routine``). A
prediction from the mix's loudest moments was tried and does not work: the overshoot
comes from a few places the stats do not single out. So each export remembers the
overshoot it measured, under its voices, format and bitrate, in ``overshoot.json`` in the
cache directory, and the next export with the same voices expects the largest one seen:
a routine is encoded twice the first time at most, then once.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from voiceguide import storage
from voiceguide.paths import cache_dir

if TYPE_CHECKING:
    from pathlib import Path

    from voiceguide.timeline import Timeline

FILE = "overshoot.json"
MAX_DB = 6.0
"""A remembered overshoot above this is not believed (a damaged store)."""


def _store() -> Path:
    return cache_dir() / FILE


def key(timeline: Timeline, suffix: str, bitrate: int) -> str:
    """The format, bitrate and every engine and voice ``timeline`` speaks with."""
    voices = sorted({f"{e.voice.engine}/{e.voice.voice or ''}" for e in timeline.speech})
    return " ".join([suffix, str(bitrate), *voices])


def remembered(name: str) -> float:
    """The largest overshoot measured for ``name`` (dB), 0 if none is known."""
    value = storage.read_json(_store()).get(name)
    if isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= MAX_DB:
        return float(value)
    return 0.0


def remember(name: str, db: float) -> None:
    """Keep ``db`` for ``name`` if it is larger than what is known; a store that cannot be
    written costs a second encode next time, not the export."""
    if not math.isfinite(db) or db <= remembered(name):
        return
    data = storage.read_json(_store())
    data[name] = round(min(db, MAX_DB), 3)
    try:
        _store().parent.mkdir(parents=True, exist_ok=True)
        storage.write_json(_store(), data)
    except OSError:
        pass
