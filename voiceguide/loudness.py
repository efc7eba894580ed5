"""ITU-R BS.1770-4 loudness (integrated, gated) and true peak, in numpy only.

Why not scipy: importing it costs about a second, and the export path must start fast.

K-weighting is the two biquads of BS.1770-4 run exactly (no truncated impulse response),
vectorised by blocking: the cascade is written as a 4-state linear system; each block of
``_BLOCK`` samples is one matrix product (zero-state response plus the block's end-state
contribution), and the states at block starts are solved for a whole pass at once (groups
of blocks, then groups of groups), so no Python code runs per sample or per block. The
filters are designed from the analog prototype behind the
published 48 kHz coefficients (as libebur128 does) and reproduce those coefficients exactly
at 48 kHz; at other rates the high-pass keeps the 48 kHz passband gain (+0.043 dB), so a
given tone reads the same at every rate. pyloudnorm's default filters (RBJ cookbook, unity
passband) read about 0.04 LU lower.

Only per-100 ms energies of the K-weighted signal are kept, never audio, so a meter's memory
grows by 80 bytes per second of programme.

True peak follows BS.1770-4 Annex 2: 4x oversampling with the published 48-tap, 4-phase
interpolating FIR, streamed with its history across blocks. It is reported as the larger of
that and the sample peak: the Annex filter's phases sit at 1/8, 3/8, 5/8 and 7/8 of a
sample, never on the samples themselves, and a true peak below the sample peak would be
nonsense. The Annex filter was designed for 48 kHz; its passband ends near 0.83 of Nyquist,
so at 24 kHz it under-reads peaks made by content above about 10 kHz (by up to about
0.3 dB on heavily limited sibilants; BS.1770 allows 4x meters to under-read).

Silence: ``integrated()`` returns ``-inf`` when no gating block passes the absolute gate
(-70 LUFS), and ``true_peak_db()`` returns ``-inf`` for an all-zero stream.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]
_F32 = npt.NDArray[np.float32]

ABSOLUTE_GATE_LUFS = -70.0
"""Gating blocks quieter than this never count (BS.1770-4)."""
RELATIVE_GATE_LU = -10.0
"""Gating blocks this far below the absolute-gated loudness do not count (BS.1770-4)."""
_OFFSET = -0.691  # BS.1770 loudness offset (the K-filter's gain at 1 kHz)
_HOPS_PER_BLOCK = 4  # 400 ms gating blocks, 75 % overlap: 4 hops of 100 ms

_BLOCK = 32  # samples per block of the K-filter's blocked recursion
_CHUNK = _BLOCK * 1024  # samples per pass: big enough for BLAS, small enough for cache
_GROUP = 16  # blocks per group when solving for the blocks' start states
_GROUPS = _CHUNK // _BLOCK // _GROUP + 1  # groups per pass, with room for one padding block

# BS.1770-4 Annex 2: the 48-tap interpolating FIR for 4x oversampling, as 4 phases of 12.
_TRUE_PEAK_PHASES = np.array(
    [
        [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000,
         -0.0594482421875, 0.1373291015625, 0.9721679687500, -0.1022949218750,
         0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500],
        [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250,
         -0.1665039062500, 0.4650878906250, 0.7797851562500, -0.2003173828125,
         0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375],
        [-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000,
         -0.2003173828125, 0.7797851562500, 0.4650878906250, -0.1665039062500,
         0.0891113281250, -0.0517578125000, 0.0292968750000, -0.0291748046875],
        [-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750,
         -0.1022949218750, 0.9721679687500, 0.1373291015625, -0.0594482421875,
         0.0332031250000, -0.0196533203125, 0.0109863281250, 0.0017089843750],
    ]
)  # fmt: skip
_TP_TAPS = _TRUE_PEAK_PHASES.shape[1]
_TP_HISTORY = _TP_TAPS - 1
_TP_BLOCK = 12  # output positions per row of the true-peak matrix product (>= _TP_HISTORY)
_TP_CHUNK = _TP_BLOCK * 2048  # samples per true-peak pass
_TP_SUPER = 16  # rows per super-row, the unit in which rows that cannot raise the peak are skipped
_TP_GAIN = float(np.abs(_TRUE_PEAK_PHASES).sum(axis=1).max())  # largest gain of any phase


def _matmul(a: npt.NDArray[Any], b: npt.NDArray[Any], out: npt.NDArray[Any]) -> None:
    """``out[...] = a @ b`` as a stack of small products.

    OpenBLAS runs a product of more than about 2**18 multiply-adds on all cores; on a busy
    machine its spinning threads make that many times slower than one core. Products kept
    below that size run on the calling thread, and numpy loops over the stack in C.
    """
    rows = max(1, 200_000 // (a.shape[1] * b.shape[1]))
    n = a.shape[0]
    main = n // rows * rows
    if main:
        stack = (main // rows, rows)
        np.matmul(
            a[:main].reshape(*stack, a.shape[1]), b, out=out[:main].reshape(*stack, b.shape[1])
        )
    if main < n:
        np.matmul(a[main:], b, out=out[main:])


def k_weighting_coefficients(rate: int) -> tuple[_F64, _F64, _F64, _F64]:
    """``(b_shelf, a_shelf, b_highpass, a_highpass)`` of the BS.1770-4 K-filter at ``rate``.

    At 48 kHz these are the published coefficients.
    """
    if rate < 8000:
        raise ValueError(f"loudness needs a sample rate of at least 8000 Hz, got {rate}")
    # Stage 1, the head's acoustic effect: a high shelf (+4 dB above about 1.7 kHz).
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    b_shelf = np.array([(vh + vb * k / q + k * k), 2.0 * (k * k - vh), (vh - vb * k / q + k * k)])
    a_shelf = np.array([a0, 2.0 * (k * k - 1.0), 1.0 - k / q + k * k])

    # Stage 2, the RLB weighting: a 38 Hz high-pass. The published 48 kHz filter has numerator
    # [1, -2, 1], a passband gain of 1 + K/Q + K^2 at 48 kHz; keep that gain at every rate.
    def highpass(fs: float) -> tuple[_F64, float]:
        f0, q = 38.13547087602444, 0.5003270373238773
        k = math.tan(math.pi * f0 / fs)
        a0 = 1.0 + k / q + k * k
        return np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]), a0

    a_hp, gain_here = highpass(rate)
    _, gain_48k = highpass(48000)
    b_hp = np.array([1.0, -2.0, 1.0]) * (gain_48k / gain_here)
    return b_shelf / a0, a_shelf / a0, b_hp, a_hp


def _state_space(rate: int) -> tuple[_F64, _F64, _F64, float]:
    """``(A, B, C, D)`` of the K-filter cascade (two transposed direct-form II biquads)."""
    b1, a1, b2, a2 = k_weighting_coefficients(rate)

    def biquad(b: _F64, a: _F64) -> tuple[_F64, _F64, _F64, float]:
        mat = np.array([[-a[1], 1.0], [-a[2], 0.0]])
        vec = np.array([b[1] - a[1] * b[0], b[2] - a[2] * b[0]])
        return mat, vec, np.array([1.0, 0.0]), float(b[0])

    m1, v1, c1, d1 = biquad(b1, a1)
    m2, v2, c2, d2 = biquad(b2, a2)
    mat = np.zeros((4, 4))
    mat[:2, :2] = m1
    mat[2:, :2] = np.outer(v2, c1)
    mat[2:, 2:] = m2
    vec = np.concatenate([v1, v2 * d1])
    out = np.concatenate([d2 * c1, c2])
    return mat, vec, out, d2 * d1


class _ScanLevel:
    """Matrices that advance ``size`` items of the recursion ``s[j+1] = P s[j] + z[j]``.

    Items' states and inputs are rows (``s @ P.T``), flattened ``size`` to a row.
    """

    def __init__(self, p: _F64, size: int) -> None:
        d = p.shape[0]
        powers = [np.eye(d)]
        for _ in range(size):
            powers.append(powers[-1] @ p)
        # within[k, g]: item k's input reaches the start state of item g > k as P^(g-1-k).
        self.within = np.zeros((size * d, size * d))
        for g in range(1, size):
            for k in range(g):
                self.within[k * d : (k + 1) * d, g * d : (g + 1) * d] = powers[g - 1 - k].T
        # to_end: every item's input reaches the state after the last item.
        to_end = np.concatenate([powers[size - 1 - k].T for k in range(size)], axis=0)
        self.inputs = np.concatenate([self.within, to_end], axis=1)  # (size*d, size*d + d)
        self.from_start = np.concatenate([powers[g].T for g in range(size)], axis=1)
        self.p_all = powers[size]


class _KFilter:
    """The K-filter at one rate as block matrices; see the module docstring."""

    def __init__(self, rate: int) -> None:
        a, b, c, d = _state_space(rate)
        n = _BLOCK
        powers = [np.eye(4)]
        for _ in range(n):
            powers.append(powers[-1] @ a)
        impulse = np.array([d] + [float(c @ powers[k] @ b) for k in range(n - 1)])
        toeplitz = np.zeros((n, n))
        for k in range(n):
            toeplitz[k, k:] = impulse[: n - k]
        to_end = np.stack([powers[n - 1 - k] @ b for k in range(n)])  # (n, 4)
        # One product gives a block's zero-state output and its end-state contribution.
        self.inputs: _F32 = np.concatenate([toeplitz, to_end], axis=1).astype(np.float32)
        self.from_start: _F32 = np.stack([c @ powers[i] for i in range(n)], axis=1).astype(
            np.float32
        )  # (4, n): a block's output due to its start state
        self.blocks = _ScanLevel(powers[n], _GROUP)  # blocks within a group
        self.groups = _ScanLevel(self.blocks.p_all, _GROUPS)  # groups within a pass

    def scan(self, z: npt.NDArray[np.floating[Any]], s0: _F64) -> tuple[_F64, _F64]:
        """Start states of the blocks of a pass, and the state after them.

        The block states follow ``s[j+1] = P s[j] + z[j]`` (``P = A ** _BLOCK``, ``z[j]`` the
        block's input reaching its end): solved exactly for groups of ``_GROUP`` blocks at
        once, then for the (at most ``_GROUPS``) groups at once. Zero inputs pad the last
        group, with at least one padding block, whose start state is the end state.
        """
        n = len(z)
        g = n // _GROUP + 1
        if g > _GROUPS:
            raise ValueError(f"a pass has at most {_CHUNK} samples")
        padded = np.zeros((g * _GROUP, 4))
        padded[:n] = z
        flat = np.empty((g, 4 * _GROUP + 4))
        _matmul(padded.reshape(g, 4 * _GROUP), self.blocks.inputs, flat)
        ends = flat[:, 4 * _GROUP :].reshape(1, 4 * g)
        starts = ends @ self.groups.within[: 4 * g, : 4 * g]
        starts += s0 @ self.groups.from_start[:, : 4 * g]
        states = flat[:, : 4 * _GROUP] + starts.reshape(g, 4) @ self.blocks.from_start
        states = states.reshape(-1, 4)
        return states[:n], states[n]


@lru_cache(maxsize=8)
def _k_filter(rate: int) -> _KFilter:
    return _KFilter(rate)


@lru_cache(maxsize=1)
def _true_peak_matrices() -> tuple[_F32, _F32]:
    """A row of samples to its 4x interpolation: the row's part, then the look-ahead's part.

    Output ``4 * i + p`` (position ``i``, phase ``p``) reads the window of ``_TP_TAPS``
    samples ending ``_TP_HISTORY`` after position ``i``, the oldest sample first.
    """
    mat = np.zeros((_TP_BLOCK + _TP_HISTORY, 4 * _TP_BLOCK))
    for i in range(_TP_BLOCK):
        for p in range(4):
            mat[i : i + _TP_TAPS, 4 * i + p] = _TRUE_PEAK_PHASES[p][::-1]
    mat32 = mat.astype(np.float32)
    return np.ascontiguousarray(mat32[:_TP_BLOCK]), np.ascontiguousarray(mat32[_TP_BLOCK:])


class _TruePeak:
    """Streaming 4x-oversampled peak (BS.1770-4 Annex 2)."""

    def __init__(self) -> None:
        self._history: _F32 = np.zeros(_TP_HISTORY, dtype=np.float32)
        self._pending: _F32 = np.zeros(0, dtype=np.float32)
        self._peak = 0.0
        self._out: _F32 = np.empty((_TP_CHUNK // _TP_BLOCK, 4 * _TP_BLOCK), dtype=np.float32)
        self._more: _F32 = np.empty_like(self._out)

    def add(self, x: _F32) -> None:
        # Zeros after the real samples let the last row's look-ahead view be a plain reshape.
        pad = np.zeros(_TP_BLOCK, dtype=np.float32)
        buf = np.concatenate([self._history, self._pending, x, pad])
        real = len(buf) - _TP_BLOCK
        usable = (real - _TP_HISTORY) // _TP_BLOCK * _TP_BLOCK
        for start in range(0, usable, _TP_CHUNK):
            rows = min(_TP_CHUNK, usable - start) // _TP_BLOCK
            self._pass(buf[start : start + (rows + 1) * _TP_BLOCK], rows)
        self._history = buf[usable : usable + _TP_HISTORY].copy()
        self._pending = buf[usable + _TP_HISTORY : real].copy()

    def _pass(self, seg: _F32, rows: int) -> None:
        """Interpolate ``rows`` rows of ``_TP_BLOCK`` positions; ``seg`` has one more row.

        Row ``j`` reads its own samples (``now``) and the ``_TP_HISTORY`` after them
        (``later``). Rows that cannot beat the peak so far are skipped: an interpolated
        value is at most ``_TP_GAIN`` times the largest sample it reads. This is exact, and
        saves most of the work on speech and quiet passages; steady tones cost in full.
        """
        mag = np.abs(seg)
        full = rows // _TP_SUPER
        # Largest |sample| of each super-row, then of the rest (the remaining rows and the
        # look-ahead): super-row k's windows reach into super-row k + 1.
        edges = np.arange(0, (full + 1) * _TP_SUPER * _TP_BLOCK, _TP_SUPER * _TP_BLOCK)
        mags = np.maximum.reduceat(mag, edges)
        self._peak = max(self._peak, float(mags.max()))
        if _TP_GAIN * float(mags.max()) <= self._peak:
            return
        now = seg[: rows * _TP_BLOCK].reshape(rows, _TP_BLOCK)
        later = seg[_TP_BLOCK:].reshape(rows, _TP_BLOCK)[:, :_TP_HISTORY]
        keep = _TP_GAIN * np.maximum(mags[:-1], mags[1:]) > self._peak
        kept = int(keep.sum())
        if kept * 2 > full:  # mostly loud: gathering rows would cost more than it saves
            sel_now, sel_later = now, later
        else:
            mask = np.ones(rows, dtype=bool)
            mask[: full * _TP_SUPER] = np.repeat(keep, _TP_SUPER)
            sel_now, sel_later = now[mask], later[mask]
        n = len(sel_now)
        if n == 0:
            return
        out, more = self._out[:n], self._more[:n]  # preallocated: no page faults
        head, tail = _true_peak_matrices()
        _matmul(sel_now, head, out)
        _matmul(sel_later, tail, more)
        out += more
        self._peak = max(self._peak, float(out.max()), -float(out.min()))

    def peak(self) -> float:
        """Linear true peak so far, as if the stream ended now (zeros after it)."""
        tail = np.concatenate([self._history, self._pending, np.zeros(_TP_HISTORY, np.float32)])
        peak = max(self._peak, float(np.abs(tail).max()))
        for p in range(4):
            out = np.convolve(tail.astype(np.float64), _TRUE_PEAK_PHASES[p], mode="valid")
            peak = max(peak, float(np.abs(out).max()))
        return peak


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
        self._filter = _k_filter(self.rate)
        self._hop = hop if hop is not None else max(1, round(self.rate / 10))
        if self._hop < 1:
            raise ValueError(f"a hop is at least one sample, got {hop}")
        self._state: _F64 = np.zeros(4)
        self._pending: _F32 = np.zeros(0, dtype=np.float32)
        self._energies: list[_F64] = []  # K-weighted energy of each complete 100 ms hop
        self._partial = 0.0  # energy of the current incomplete hop
        self._partial_count = 0
        self._true_peak = _TruePeak() if true_peak else None
        self._work: _F32 = np.empty((_CHUNK // _BLOCK, _BLOCK + 4), dtype=np.float32)

    def add(self, block: npt.ArrayLike) -> None:
        """Feed the next samples (mono, any length, float in [-1, 1])."""
        x = np.asarray(block, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"expected mono samples (a 1-D array), got shape {x.shape}")
        if x.size == 0:
            return
        if self._true_peak is not None:
            self._true_peak.add(x)
        buf = np.concatenate([self._pending, x]) if self._pending.size else x
        usable = len(buf) // _BLOCK * _BLOCK
        for start in range(0, usable, _CHUNK):
            self._filter_chunk(buf[start : min(start + _CHUNK, usable)])
        self._pending = buf[usable:].copy()

    def _filter_chunk(self, x: _F32) -> None:
        """K-weight ``x`` (a whole number of blocks) and accumulate its hop energies."""
        kf = self._filter
        rows = x.reshape(-1, _BLOCK)
        prod = self._work[: len(rows)]  # preallocated: no page faults
        _matmul(rows, kf.inputs, prod)
        starts, self._state = kf.scan(prod[:, _BLOCK:], self._state)
        y = prod[:, :_BLOCK]
        y += starts.astype(np.float32) @ kf.from_start
        self._accumulate(y)

    def _accumulate(self, y: _F32) -> None:
        """Add the energy of ``y`` (K-weighted samples, one row per block) to the hops.

        Hop boundaries need not fall on block boundaries: the energy before a point is the
        cumulative energy of the whole rows before it plus part of its row.
        """
        n = y.size
        row_energy = np.einsum("ij,ij->i", y, y).astype(np.float64)
        if self._hop % _BLOCK == 0:  # hops hold whole rows (24, 48, 16 and 8 kHz)
            self._accumulate_rows(row_energy)
            return
        row_cum = np.concatenate([[0.0], np.cumsum(row_energy)])
        bounds = np.arange(self._hop - self._partial_count, n + 1, self._hop)
        points = np.append(bounds, n)
        row, offset = np.divmod(points, _BLOCK)
        cum = row_cum[row]
        cut = offset > 0
        if cut.any():
            part = np.square(y[row[cut]], dtype=np.float64) * (
                np.arange(_BLOCK) < offset[cut, None]
            )
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
        per = self._hop // _BLOCK
        first = per - self._partial_count // _BLOCK  # rows that complete the current hop
        if len(row_energy) < first:
            self._partial += float(row_energy.sum())
            self._partial_count += len(row_energy) * _BLOCK
            return
        whole = (len(row_energy) - first) // per
        end = first + whole * per
        hops = np.empty(whole + 1)
        hops[0] = self._partial + float(row_energy[:first].sum())
        hops[1:] = row_energy[first:end].reshape(whole, per).sum(axis=1)
        self._keep(hops)
        self._partial = float(row_energy[end:].sum())
        self._partial_count = (len(row_energy) - end) * _BLOCK

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
            n = self._pending.size
            padded = np.zeros(_BLOCK, dtype=np.float32)
            padded[:n] = self._pending
            kf = self._filter
            prod = padded[None, :] @ kf.inputs
            y = prod[0, :n] + (self._state.astype(np.float32) @ kf.from_start)[:n]
            energy += float(np.square(y, dtype=np.float64).sum())
            count += n
        return energy, count

    def hop_energies(self) -> _F64:
        """The K-weighted energy (sum of squares) of each complete hop so far.

        Hops are 100 ms unless the meter was made with another ``hop`` (in samples): the
        speech cache keeps each clip's energy per millisecond, from which the mix's
        loudness is worked out without mixing (see ``voiceguide.render.analyse``).
        """
        return self._hop_energies().copy()

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
        peak = self._true_peak.peak()
        return 20.0 * math.log10(peak) if peak > 0.0 else -math.inf


def gated_loudness(
    hops: npt.ArrayLike, hop: int, tail_energy: float = 0.0, tail_count: int = 0
) -> float:
    """BS.1770 gated loudness (LUFS) from the K-weighted energies of consecutive 100 ms hops
    of ``hop`` samples each, and of the ``tail_count`` samples after them.

    See ``LoudnessMeter.integrated`` for the treatment of the tail and of short signals.
    """
    hops = np.asarray(hops, dtype=np.float64)
    if len(hops) < _HOPS_PER_BLOCK:
        total = float(hops.sum()) + tail_energy
        length = len(hops) * hop + tail_count
        if length == 0 or total <= 0.0:
            return -math.inf
        level = _OFFSET + 10.0 * math.log10(total / length)
        return level if level > ABSOLUTE_GATE_LUFS else -math.inf
    if 2 * tail_count >= hop:
        hops = np.append(hops, tail_energy)
    blocks = np.lib.stride_tricks.sliding_window_view(hops, _HOPS_PER_BLOCK)
    power = blocks.sum(axis=1) / (_HOPS_PER_BLOCK * hop)
    with np.errstate(divide="ignore"):
        block_lufs = _OFFSET + 10.0 * np.log10(np.maximum(power, 0.0))
    gated = power[block_lufs > ABSOLUTE_GATE_LUFS]
    if gated.size == 0:
        return -math.inf
    relative = _OFFSET + 10.0 * math.log10(float(gated.mean())) + RELATIVE_GATE_LU
    kept = power[(block_lufs > ABSOLUTE_GATE_LUFS) & (block_lufs > relative)]
    return _OFFSET + 10.0 * math.log10(float(kept.mean()))


def true_peak_envelope(samples: npt.ArrayLike) -> Samples:
    """Per sample ``n``: the largest magnitude of the sample and of the 4x-oversampled signal
    (Annex 2 filter) between it and the next sample.

    What a true-peak limiter needs: its maximum is ``true_peak_db`` (as a linear value).
    Computed in float32 (nearly three times faster than float64, and exact to about 1e-7
    of full scale). Meant for clips and blocks (it holds the signal in memory); the meter
    streams instead.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples (a 1-D array), got shape {x.shape}")
    env = np.abs(x)
    delay = _TP_TAPS // 2  # phase p at output m sits at position m - delay + (2p + 1) / 8
    for phase in _TRUE_PEAK_PHASES.astype(np.float32):
        out = np.convolve(x, phase)[delay : delay + len(x)]
        np.maximum(env, np.abs(out), out=env)
    return env


def integrated_loudness(samples: npt.ArrayLike, rate: int) -> float:
    """BS.1770-4 integrated loudness of a mono signal in LUFS (``-inf`` for silence).

    See ``LoudnessMeter.integrated`` for signals shorter than 400 ms.
    """
    meter = LoudnessMeter(rate, true_peak=False)
    meter.add(samples)
    return meter.integrated()


def true_peak_db(samples: npt.ArrayLike, rate: int) -> float:
    """BS.1770-4 true peak of a mono signal in dBTP (``-inf`` for silence).

    ``rate`` does not change the result (the oversampling is relative to it); it is taken
    for symmetry with ``integrated_loudness``.
    """
    if rate <= 0:
        raise ValueError(f"the sample rate must be positive, got {rate}")
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples (a 1-D array), got shape {x.shape}")
    tp = _TruePeak()
    tp.add(x)
    peak = tp.peak()
    return 20.0 * math.log10(peak) if peak > 0.0 else -math.inf
