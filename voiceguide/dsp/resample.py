"""Band-limited resampling by an exact ratio: Kaiser-windowed sinc polyphase filters.

``kaiser_sinc_table`` designs the filter, for the export-grade ``resample`` here and for the
player's lighter streaming resampler (``voiceguide.player.output_resample``). Why not scipy:
importing it costs about a second, and the export path must start fast.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from voiceguide.dsp.samples import Samples, as_mono

# The export filter: its cutoff sits at _ROLLOFF of the lower Nyquist frequency, its
# half-length spans _ZERO_CROSSINGS zero crossings of the sinc: passband flat to about 0.9
# of that Nyquist, stopband (about -85 dB) from it onwards.
_ROLLOFF = 0.94
_ZERO_CROSSINGS = 48
_KAISER_BETA = 8.6


@lru_cache(maxsize=16)
def kaiser_sinc_table(
    up: int, down: int, zero_crossings: int, rolloff: float, beta: float
) -> tuple[Samples, int]:
    """Polyphase filter for resampling by ``up / down``: ``(table[up, taps], taps // 2)``.

    The sinc's cutoff is ``rolloff`` of the lower Nyquist frequency; its Kaiser window
    (``beta``) spans ``zero_crossings`` zero crossings each side. Row ``p`` interpolates at
    ``p / up`` of an input sample past the window's centre, from the inputs at offsets
    ``-half + 1 .. half`` of it; each row is normalised to unity gain at DC.
    """
    cutoff = 0.5 * min(1.0, up / down) * rolloff  # cycles per input sample
    half_width = zero_crossings / (2.0 * cutoff)  # input samples each side of the centre
    half = math.ceil(half_width)
    k = np.arange(-half + 1, half + 1)  # input offsets from floor(t)
    frac = np.arange(up)[:, None] / up
    tau = frac - k[None, :]  # time from each input sample to the output instant
    window = np.i0(beta * np.sqrt(np.clip(1.0 - (tau / half_width) ** 2, 0.0, 1.0)))
    window[np.abs(tau) > half_width] = 0.0
    table = 2.0 * cutoff * np.sinc(2.0 * cutoff * tau) * window
    table /= table.sum(axis=1, keepdims=True)
    shared = table.astype(np.float32)
    shared.flags.writeable = False  # cached: every caller reads the same table
    return shared, half


def reach(from_rate: int, to_rate: int) -> int:
    """How many input samples ``resample``'s filter reaches on each side of an output's
    instant: a stream resampled piece by piece needs that much of its neighbours."""
    g = math.gcd(int(from_rate), int(to_rate))
    up, down = int(to_rate) // g, int(from_rate) // g
    return kaiser_sinc_table(up, down, _ZERO_CROSSINGS, _ROLLOFF, _KAISER_BETA)[1]


def resample(samples: npt.ArrayLike, from_rate: int, to_rate: int) -> Samples:
    """Resample mono ``samples`` by the exact ratio ``to_rate / from_rate``.

    Windowed-sinc polyphase filtering, band-limited to the lower rate's Nyquist frequency
    (anti-aliasing when going down, anti-imaging when going up). The output has
    ``round(len * to_rate / from_rate)`` samples and starts at the same instant as the input.
    Equal rates return a float32 copy.
    """
    x = as_mono(samples)
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} and {to_rate}")
    if from_rate == to_rate:
        return x.copy()
    g = math.gcd(int(from_rate), int(to_rate))
    up, down = int(to_rate) // g, int(from_rate) // g
    n_out = (2 * len(x) * up + down) // (2 * down)  # rounded half up
    out = np.zeros(n_out, dtype=np.float32)
    if n_out == 0:
        return out
    table, half = kaiser_sinc_table(up, down, _ZERO_CROSSINGS, _ROLLOFF, _KAISER_BETA)
    taps = table.shape[1]
    # Output n sits at input time n * down / up: its window starts at floor of that.
    padded = np.zeros(len(x) + taps + 2, dtype=np.float32)
    padded[half - 1 : half - 1 + len(x)] = x
    windows = np.lib.stride_tricks.sliding_window_view(padded, taps)
    for r in range(min(up, n_out)):  # outputs r, r + up, ... share one filter phase
        count = len(range(r, n_out, up))
        first, phase = divmod(r * down, up)
        rows = windows[first : first + (count - 1) * down + 1 : down]
        out[r::up] = rows @ table[phase]
    return out
