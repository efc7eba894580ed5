"""How loud the mix is made: the targets, the ``Level`` that gets it there, the mix version.

``analyse`` (``voiceguide.render.analysis``) finds a ``Level`` for a timeline; ``render``
applies it. ``MIX_VERSION`` names the mix itself: the export's no-op record and the cached
analyses both carry it, so a change to how a script sounds makes them stale. Light on
purpose (no numpy): the no-op export reads ``MIX_VERSION``.
"""

from __future__ import annotations

from dataclasses import dataclass

TARGET_LUFS = -16.0
CEILING_DBTP = -1.5  # 0.5 dB under the promised -1 dBTP
POST_HEADROOM_DB = 1.5  # room for the final gain after the limiter (see ``Level``)

MIX_VERSION = "7"
"""Bump when the same script and options would now sound different (mixing, tones, loudness,
clip preparation): recorded exports then count as stale, and cached analyses are redone."""


@dataclass(frozen=True)
class Level:
    """How to normalise a mix: gain, limiter ceiling, then a final linear gain.

    The final gain is applied after the limiter, so it moves loudness and peak by exactly
    its own amount: ``analyse`` works out the limited mix's loudness and sets it to land
    on the target, with the limiter's ceiling lowered by as much in advance.
    """

    gain_db: float
    limit_dbtp: float
    post_gain_db: float
    output_lufs: float  # integrated loudness of the output
    output_peak_db: float  # a bound on its true peak

    def quieter(self, db: float) -> Level:
        """The same mix ``db`` quieter: only the final gain moves, so the balance of speech
        and tones (what the limiter did) stays exactly as it is."""
        return Level(
            self.gain_db,
            self.limit_dbtp,
            self.post_gain_db - db,
            self.output_lufs - db,
            self.output_peak_db - db,
        )
