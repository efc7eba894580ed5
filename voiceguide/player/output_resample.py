"""A streaming resampler between ``pull`` at 24 kHz and a device that refuses 24 kHz.

``ResampledPull(pull, 24000, 48000)`` is itself a ``pull`` at the device's rate: each call
takes from the source only the frames that its output needs (plus the filter's lookahead),
so it never blocks when the source does not. Output frame ``k`` sits exactly at source time
``k * from_rate / to_rate``: the play position converts by that ratio alone.

The filter is ``voiceguide.dsp.resample``'s Kaiser-windowed sinc with lighter settings (16 zero
crossings, cut-off at 0.9 of the lower Nyquist frequency, about 60 dB of stopband) than its
export-grade ``resample``, because it runs in the audio callback, on a Raspberry Pi too.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voiceguide.dsp.samples import Samples
    from voiceguide.player.output_base import Pull

_ZERO_CROSSINGS = 16
_ROLLOFF = 0.9
_KAISER_BETA = 6.0


class ResampledPull:
    """Wraps ``pull`` at ``from_rate`` into a pull at ``to_rate`` (any rational ratio)."""

    def __init__(self, pull: Pull, from_rate: int, to_rate: int) -> None:
        import numpy as np

        from voiceguide.dsp.resample import kaiser_sinc_table

        g = math.gcd(from_rate, to_rate)
        self.up, self.down = to_rate // g, from_rate // g
        self.pull = pull
        self.table, half = kaiser_sinc_table(
            self.up, self.down, _ZERO_CROSSINGS, _ROLLOFF, _KAISER_BETA
        )
        self.offsets = np.arange(-half + 1, half + 1)  # source frames around each output's
        self.half = half
        self.buf = np.zeros(half - 1, dtype=np.float32)  # the silence before the start
        self.buf_start = -(half - 1)  # source index of buf[0]
        self.k = 0  # output frames produced
        self.pulled = 0  # source frames taken from pull

    def __call__(self, n: int) -> Samples:
        import numpy as np

        from voiceguide.player.output_base import check_block

        k = np.arange(self.k, self.k + n, dtype=np.int64) * self.down
        bases, phases = np.divmod(k, self.up)
        need_end = int(bases[-1]) + self.half + 1 if n else self.buf_start + len(self.buf)
        have_end = self.buf_start + len(self.buf)
        if need_end > have_end:
            more = need_end - have_end
            self.buf = np.concatenate([self.buf, check_block(self.pull(more), more)])
            self.pulled += more
        idx = (bases - self.buf_start)[:, None] + self.offsets[None, :]
        out: Samples = np.einsum("ij,ij->i", self.buf[idx], self.table[phases]).astype(np.float32)
        self.k += n
        keep_from = (self.k * self.down) // self.up - self.half + 1
        if keep_from > self.buf_start:
            self.buf = self.buf[keep_from - self.buf_start :]
            self.buf_start = keep_from
        return out
