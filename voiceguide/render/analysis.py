"""The mix's loudness, worked out from the parts' stats alone (``analyse``).

Every clip and tone comes with its true peak and K-weighted energy per millisecond
(``dsp.clips.chunk_stats``, kept in the speech cache). ``analyse`` works out the mix's BS.1770
loudness from those, without mixing a sample, and finds the ``Level`` that brings the
whole routine to TARGET_LUFS integrated with its true peak under CEILING_DBTP.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np

from voiceguide.dsp.limiter import PeakLimiter
from voiceguide.dsp.loudness import gated_loudness
from voiceguide.dsp.samples import F64 as _F64
from voiceguide.render.level import CEILING_DBTP, POST_HEADROOM_DB, TARGET_LUFS, Level
from voiceguide.render.mix import Mixer
from voiceguide.timeline import Timeline
from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE
from voiceguide.voices.base import SpeechBank

STATS_BLOCK_FRAMES = 10 * SAMPLE_RATE  # ``analyse`` handles only 1/24 of a value per frame
HOP_MS = 100  # BS.1770's loudness hop


def _loudness(energies: Iterable[_F64]) -> float:
    """Integrated loudness (LUFS) of a stream known by its K-weighted energy per 1 ms."""
    per_hop = HOP_MS
    hops: list[_F64] = []
    rest: _F64 = np.zeros(0)
    for block in energies:
        buf = np.concatenate([rest, block])
        whole = len(buf) // per_hop * per_hop
        hops.append(buf[:whole].reshape(-1, per_hop).sum(axis=1))
        rest = buf[whole:]
    all_hops = np.concatenate(hops) if hops else np.zeros(0)
    hop = per_hop * FRAMES_PER_MS
    return gated_loudness(all_hops, hop, float(rest.sum()), len(rest) * FRAMES_PER_MS)


def analyse(
    timeline: Timeline,
    bank: SpeechBank,
    *,
    ceiling_dbtp: float = CEILING_DBTP,
    target_lufs: float = TARGET_LUFS,
    estimate: bool = False,
) -> Level:
    """Find the gains that bring the mix to ``target_lufs`` with its true peak under the
    ceiling, from the parts' per-millisecond stats alone (no sample is mixed).

    With ``estimate``, clips the speech cache is still preparing count with typical stats
    instead of being waited for: a provisional level, for a player that starts before
    the speech is all ready (see ``voiceguide.player.session.Session.set_level``).

    The raw mix's loudness gives the gain it calls for; if its peaks stay under the ceiling
    at that gain, the limiter will not act and that gain is exact. Otherwise the limiter
    runs (on the stats) POST_HEADROOM_DB under the ceiling, and the gain is raised until
    the limited mix is within that headroom of the target; a final linear gain after the
    limiter makes up the rest, so the peaks stay under the ceiling.

    The level is found with every voice at full volume: a voice's ``volume`` is then heard
    as that much below the routine's loudness (0.5: 6 dB under), not levelled away; the
    peaks of the quieter mix stay under the same bound.

    The loudness found this way matches a meter on the rendered mix to a few hundredths of
    a LU (tests check the built-in routines); the export measures its output again.
    """
    mixer = Mixer(timeline, bank, estimate=estimate, volumes=False)
    raw_peak = 0.0

    def raw_energies() -> Iterator[_F64]:
        nonlocal raw_peak
        for energy, peaks in mixer.stats(block_frames=STATS_BLOCK_FRAMES):
            raw_peak = max(raw_peak, float(peaks.max(initial=0.0)))
            yield energy

    raw_lufs = _loudness(raw_energies())
    if not math.isfinite(raw_lufs):  # silence: nothing to normalise
        return Level(0.0, ceiling_dbtp, 0.0, raw_lufs, -math.inf)
    gain = target_lufs - raw_lufs
    peak = 20 * math.log10(raw_peak) + gain if raw_peak > 0 else -math.inf
    if peak <= ceiling_dbtp:
        return Level(gain, ceiling_dbtp, 0.0, target_lufs, peak)
    limit_at = ceiling_dbtp - POST_HEADROOM_DB
    for _ in range(8):
        limiter = PeakLimiter(limit_at)
        blocks = mixer.stats(10 ** (gain / 20), block_frames=STATS_BLOCK_FRAMES)
        post = target_lufs - _loudness(limiter.energies(blocks))
        if post <= POST_HEADROOM_DB:
            break
        gain += post - POST_HEADROOM_DB / 2
    post = min(post, POST_HEADROOM_DB)
    return Level(gain, limit_at, post, target_lufs, limit_at + post)
