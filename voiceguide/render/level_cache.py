"""``analyse`` remembered: a mix's level, kept in the cache under the mix's content.

The mix is a pure function of the timeline and the clips (named by their content keys), so
an export or a play of an unchanged timeline skips the analysis pass. The remembered level
is a checked file (``<cache>/levels``, see ``voiceguide.render.entries``) and its numbers
must be ones ``analyse`` can give for this ceiling and target; anything else is worked out
again (with one warning line), so a damaged file never sets the loudness.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math

from voiceguide.render.analysis import analyse
from voiceguide.render.entries import entry_path, load, save
from voiceguide.render.level import CEILING_DBTP, MIX_VERSION, POST_HEADROOM_DB, TARGET_LUFS, Level
from voiceguide.storage import BadEntry
from voiceguide.timeline import Speech, Timeline
from voiceguide.voices.base import SpeechBank


def cached_level(
    timeline: Timeline,
    bank: SpeechBank,
    *,
    ceiling_dbtp: float = CEILING_DBTP,
    target_lufs: float = TARGET_LUFS,
) -> Level:
    """``analyse(timeline, bank, ...)``, from the cache when it has been worked out before."""
    h = hashlib.sha256(timeline.dumps().encode())
    for event in timeline.events:
        if isinstance(event, Speech):
            h.update(bank.clip(event.spoken, event.voice).key.encode())
    h.update(f"{MIX_VERSION} {ceiling_dbtp} {target_lufs}".encode())
    key = h.hexdigest()
    path = entry_path("levels", f"{key}.level")

    def parse(payload: bytes) -> Level:
        try:
            level = Level(**json.loads(payload))
        except (ValueError, TypeError) as error:
            raise BadEntry(f"not a level ({error})") from None
        check_level(level, ceiling_dbtp, target_lufs)
        return level

    level = load(path, key.encode(), parse, "loudness level")
    if level is None:
        level = analyse(timeline, bank, ceiling_dbtp=ceiling_dbtp, target_lufs=target_lufs)
        save(path, key.encode(), json.dumps(dataclasses.asdict(level)).encode())
    return level


def check_level(level: Level, ceiling_dbtp: float, target: float) -> None:
    """Raise BadEntry unless ``level`` is one ``analyse`` can give for this ceiling and
    target: the target loudness (or silence), the ceiling or the limiter's place under it,
    a final gain within its headroom, a peak under the ceiling, finite gains."""
    numbers = dataclasses.astuple(level)
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        raise BadEntry("not a level (its values are not all numbers)")
    if not (math.isfinite(level.gain_db) and abs(level.gain_db) <= 100):
        raise BadEntry(f"implausible (a gain of {level.gain_db} dB)")
    if not 0.0 <= level.post_gain_db <= POST_HEADROOM_DB + 1e-9:
        raise BadEntry(f"implausible (a final gain of {level.post_gain_db} dB)")
    places = (ceiling_dbtp, ceiling_dbtp - POST_HEADROOM_DB)
    if not any(abs(level.limit_dbtp - place) < 1e-9 for place in places):
        raise BadEntry(f"implausible (a limiter at {level.limit_dbtp} dBTP)")
    silent = level.output_lufs == -math.inf and level.gain_db == 0 and not level.post_gain_db
    if not silent and abs(level.output_lufs - target) > 1e-6:
        raise BadEntry(f"implausible (a loudness of {level.output_lufs} LUFS, not {target})")
    if math.isnan(level.output_peak_db) or level.output_peak_db > ceiling_dbtp + 1e-6:
        raise BadEntry(f"implausible (a peak of {level.output_peak_db} dBTP)")
