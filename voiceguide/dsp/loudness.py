"""ITU-R BS.1770-4 integrated loudness (gated), streamed, in numpy only.

Why not scipy: importing it costs about a second, and the export path must start fast. The
K-weighting filter is ``voiceguide.dsp.kweighting``; true peak, which the meter also reports, is
``voiceguide.dsp.truepeak``.

Only per-100 ms energies of the K-weighted signal are kept, never audio, so a meter's memory
grows by 80 bytes per second of programme.

Silence: ``integrated()`` returns ``-inf`` when no gating block passes the absolute gate
(-70 LUFS), and ``true_peak_db()`` returns ``-inf`` for an all-zero stream.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from voiceguide.dsp.kweighting import BLOCK, PASS, k_filter
from voiceguide.dsp.samples import F64 as _F64
from voiceguide.dsp.samples import as_mono
from voiceguide.dsp.truepeak import TruePeak

_F32 = npt.NDArray[np.float32]

ABSOLUTE_GATE_LUFS = -70.0
"""Gating blocks quieter than this never count (BS.1770-4)."""
RELATIVE_GATE_LU = -10.0
"""Gating blocks this far below the absolute-gated loudness do not count (BS.1770-4)."""
_OFFSET = -0.691  # BS.1770 loudness offset (the K-filter's gain at 1 kHz)
_HOPS_PERBLOCK = 4  # 400 ms gating blocks, 75 % overlap: 4 hops of 100 ms


class LoudnessMeter:
    """Streaming BS.1770-4 integrated loudness and true peak of a mono signal.

    ``add`` blocks of any size (each call costs some tens of microseconds, so blocks of
    0.1 s or more are efficient); ``integrated()`` and ``true_peak_db()`` may be asked at
    any time and describe everything added so far. The meter keeps one energy per 100 ms
    hop (``round(rate / 10)`` samples), never audio. Set ``true_peak=False`` to skip the
    oversampling when only loudness is needed (it is up to half the work).
    """

    def __init__(self, rate: int, *, true_peak: bool = True, hop: int | None = None) -> None:
        self.rate = int(rate)
        self._filter = k_filter(self.rate)
        self._hop = hop if hop is not None else max(1, round(self.rate / 10))
        if self._hop < 1:
            raise ValueError(f"a hop is at least one sample, got {hop}")
        self._state: _F64 = np.zeros(4)
        self._pending: _F32 = np.zeros(0, dtype=np.float32)
        self._energies: list[_F64] = []  # K-weighted energy of each complete 100 ms hop
        self._partial = 0.0  # energy of the current incomplete hop
        self._partial_count = 0
        self._true_peak = TruePeak() if true_peak else None
        self._work: _F32 = np.empty((PASS // BLOCK, BLOCK + 4), dtype=np.float32)

    def add(self, block: npt.ArrayLike) -> None:
        """Feed the next samples (mono, any length, float in [-1, 1])."""
        x = as_mono(block)
        if x.size == 0:
            return
        if self._true_peak is not None:
            self._true_peak.add(x)
        buf = np.concatenate([self._pending, x]) if self._pending.size else x
        usable = len(buf) // BLOCK * BLOCK
        for start in range(0, usable, PASS):
            self._filter_chunk(buf[start : min(start + PASS, usable)])
        self._pending = buf[usable:].copy()

    def _filter_chunk(self, x: _F32) -> None:
        """K-weight ``x`` (a whole number of blocks) and accumulate its hop energies."""
        y, self._state = self._filter.weight(x.reshape(-1, BLOCK), self._state, self._work)
        self._accumulate(y)

    def _accumulate(self, y: _F32) -> None:
        """Add the energy of ``y`` (K-weighted samples, one row per block) to the hops.

        Hop boundaries need not fall on block boundaries: the energy before a point is the
        cumulative energy of the whole rows before it plus part of its row.
        """
        n = y.size
        row_energy = np.einsum("ij,ij->i", y, y).astype(np.float64)
        if self._hop % BLOCK == 0:  # hops hold whole rows (24, 48, 16 and 8 kHz)
            self._accumulate_rows(row_energy)
            return
        row_cum = np.concatenate([[0.0], np.cumsum(row_energy)])
        bounds = np.arange(self._hop - self._partial_count, n + 1, self._hop)
        points = np.append(bounds, n)
        row, offset = np.divmod(points, BLOCK)
        cum = row_cum[row]
        cut = offset > 0
        if cut.any():
            part = np.square(y[row[cut]], dtype=np.float64) * (np.arange(BLOCK) < offset[cut, None])
            cum[cut] += part.sum(axis=1)
        if bounds.size:
            hops = np.diff(cum[: bounds.size], prepend=0.0)
            hops[0] += self._partial
            self._keep(hops)
            self._partial = float(cum[-1] - cum[bounds.size - 1])
            self._partial_count = n - int(bounds[-1])
        else:
            self._partial += float(cum[-1])
            self._partial_count += n

    def _accumulate_rows(self, row_energy: _F64) -> None:
        """``_accumulate`` when hops are whole rows: sum rows, no partial rows."""
        per = self._hop // BLOCK
        first = per - self._partial_count // BLOCK  # rows that complete the current hop
        if len(row_energy) < first:
            self._partial += float(row_energy.sum())
            self._partial_count += len(row_energy) * BLOCK
            return
        whole = (len(row_energy) - first) // per
        end = first + whole * per
        hops = np.empty(whole + 1)
        hops[0] = self._partial + float(row_energy[:first].sum())
        hops[1:] = row_energy[first:end].reshape(whole, per).sum(axis=1)
        self._keep(hops)
        self._partial = float(row_energy[end:].sum())
        self._partial_count = (len(row_energy) - end) * BLOCK

    def _keep(self, hops: _F64) -> None:
        """Store complete hops' energies, merging the small arrays now and then."""
        self._energies.append(hops)
        if len(self._energies) >= 64:
            self._energies = [np.concatenate(self._energies)]

    def _hop_energies(self) -> _F64:
        if len(self._energies) > 1:
            self._energies = [np.concatenate(self._energies)]
        return self._energies[0] if self._energies else np.zeros(0)

    def _tail_energy(self) -> tuple[float, int]:
        """Energy and length of the K-weighted samples after the last complete hop."""
        energy, count = self._partial, self._partial_count
        if self._pending.size:
            y = self._filter.weight_tail(self._pending, self._state)
            energy += float(np.square(y, dtype=np.float64).sum())
            count += y.size
        return energy, count

    def hop_energies(self) -> _F64:
        """The K-weighted energy (sum of squares) of each complete hop so far.

        Hops are 100 ms unless the meter was made with another ``hop`` (in samples): the
        speech cache keeps each clip's energy per millisecond, from which the mix's
        loudness is worked out without mixing (see ``voiceguide.render.analyse``).
        """
        return self._hop_energies().copy()

    def take_hop_energies(self) -> _F64:
        """``hop_energies`` of the hops completed since the last take, forgotten here: a
        long stream (a music file) read hop by hop without the meter growing."""
        hops = self._hop_energies()
        self._energies = []
        return hops

    def integrated(self) -> float:
        """Gated integrated loudness in LUFS of everything added; ``-inf`` for silence.

        BS.1770 does not say what happens at the end of a signal that is not a whole number
        of 100 ms hops. Here, as in pyloudnorm, a final incomplete hop of at least 50 ms
        counts, completed with silence; a shorter one is left out. Over minutes this changes
        nothing; on a 2 s clip it makes the clip's end count, as a listener hears it.

        A stream shorter than one 400 ms gating block (BS.1770 leaves it undefined) is measured
        as a single block over its whole length, so short clips still get a loudness.
        """
        if self._hop != round(self.rate / 10):
            raise ValueError("integrated loudness needs 100 ms hops")
        energy, count = self._tail_energy()
        return gated_loudness(self._hop_energies(), self._hop, energy, count)

    def true_peak_db(self) -> float:
        """True peak in dBTP (dB re full scale) of everything added; ``-inf`` for silence."""
        if self._true_peak is None:
            raise ValueError("this meter was made with true_peak=False")
        return self._true_peak.peak_db()


def gated_loudness(
    hops: npt.ArrayLike, hop: int, tail_energy: float = 0.0, tail_count: int = 0
) -> float:
    """BS.1770 gated loudness (LUFS) from the K-weighted energies of consecutive 100 ms hops
    of ``hop`` samples each, and of the ``tail_count`` samples after them.

    See ``LoudnessMeter.integrated`` for the treatment of the tail and of short signals.
    """
    hops = np.asarray(hops, dtype=np.float64)
    if len(hops) < _HOPS_PERBLOCK:
        total = float(hops.sum()) + tail_energy
        length = len(hops) * hop + tail_count
        if length == 0 or total <= 0.0:
            return -math.inf
        level = _OFFSET + 10.0 * math.log10(total / length)
        return level if level > ABSOLUTE_GATE_LUFS else -math.inf
    if 2 * tail_count >= hop:
        hops = np.append(hops, tail_energy)
    blocks = np.lib.stride_tricks.sliding_window_view(hops, _HOPS_PERBLOCK)
    power = blocks.sum(axis=1) / (_HOPS_PERBLOCK * hop)
    with np.errstate(divide="ignore"):
        block_lufs = _OFFSET + 10.0 * np.log10(np.maximum(power, 0.0))
    gated = power[block_lufs > ABSOLUTE_GATE_LUFS]
    if gated.size == 0:
        return -math.inf
    relative = _OFFSET + 10.0 * math.log10(float(gated.mean())) + RELATIVE_GATE_LU
    kept = power[(block_lufs > ABSOLUTE_GATE_LUFS) & (block_lufs > relative)]
    return _OFFSET + 10.0 * math.log10(float(kept.mean()))


def integrated_loudness(samples: npt.ArrayLike, rate: int) -> float:
    """BS.1770-4 integrated loudness of a mono signal in LUFS (``-inf`` for silence).

    See ``LoudnessMeter.integrated`` for signals shorter than 400 ms.
    """
    meter = LoudnessMeter(rate, true_peak=False)
    meter.add(samples)
    return meter.integrated()
