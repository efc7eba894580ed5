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
TYPICAL_DB = {(".mp3", "hibari"): 0.65, (".ogg", "hibari"): 1.35, (".ogg", "piper"): 1.35}
"""What an engine's voice typically overshoots in a format where that is more than the
format's own figure (dB), measured on the daily routine (hibari: 0.56-0.6 in MP3, 1.29 in
Ogg; Piper: 1.26 in Ogg), so that even a first export with it is encoded once."""
MAX_DB = 6.0
"""A remembered overshoot above this is not believed (a damaged store)."""


def _store() -> Path:
    return cache_dir() / FILE


def key(timeline: Timeline, suffix: str, bitrate: int) -> str:
    """The format, bitrate and every engine and voice ``timeline`` speaks with."""
    voices = sorted({f"{e.voice.engine}/{e.voice.voice or ''}" for e in timeline.speech})
    return " ".join([suffix, str(bitrate), *voices])


def expected(timeline: Timeline, suffix: str, bitrate: int) -> float:
    """The overshoot to expect for ``timeline`` in this format (dB): the largest of the
    typical one of each engine it speaks with (TYPICAL_DB) and the one remembered."""
    engines = {e.voice.engine for e in timeline.speech}
    typical = max((TYPICAL_DB.get((suffix, e or ""), 0.0) for e in engines), default=0.0)
    return max(typical, remembered(key(timeline, suffix, bitrate)))


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
