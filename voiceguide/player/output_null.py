"""The null output: discards the audio, paced in real time or as fast as possible.

For dry runs and tests; with ``keep`` it keeps what was pulled.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from voiceguide.player.output_base import OutputBase, Pull, check_block
from voiceguide.player.priority import raise_priority
from voiceguide.units import SAMPLE_RATE

if TYPE_CHECKING:
    from voiceguide.dsp.samples import Samples


class NullOutput(OutputBase):
    """Discards the audio: paced in real time (monotonic clock) or, with ``fast``, at once.

    ``keep=True`` keeps every pulled block; ``captured()`` returns them joined.
    """

    name = "null"

    def __init__(self, *, fast: bool = False, keep: bool = False, block_frames: int = 1200):
        super().__init__()
        self.fast = fast
        self.keep = keep
        self.block_frames = block_frames
        self._blocks: list[Samples] = []
        self._pulled = 0
        self._t0 = 0.0
        self._final: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pull: Pull) -> None:
        self._check_startable()
        self._pulled = 0
        self._final = None
        self._blocks = []
        self._stop.clear()
        self._t0 = time.monotonic()
        self._running = True
        self._thread = threading.Thread(
            target=self._run, args=(pull,), name="voiceguide-null-output", daemon=True
        )
        self._thread.start()

    def _run(self, pull: Pull) -> None:
        n = self.block_frames
        if not self.fast:
            raise_priority()
        try:
            while not self._stop.is_set():
                if not self.fast:
                    # Pull each block when its first frame is due: played == pulled then.
                    delay = self._t0 + self._pulled / SAMPLE_RATE - time.monotonic()
                    if delay > 0 and self._stop.wait(delay):
                        break
                block = check_block(pull(n), n)
                if self.keep:
                    self._blocks.append(block.copy())
                self._pulled += n
                if self.fast:
                    time.sleep(0)  # let other threads run
        except BaseException as exc:  # pull failed: playback ends
            self._fail(exc)

    def played_frames(self) -> int:
        if self._final is not None:
            return self._final
        if self.fast:
            return self._pulled
        heard = int((time.monotonic() - self._t0) * SAMPLE_RATE)
        return max(0, min(self._pulled, heard))

    def pulled_frames(self) -> int:
        return self._pulled

    def latency_frames(self) -> int:
        return 0

    def stop(self, drain: bool = True) -> None:
        if not self._running:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        if drain and not self.fast:
            while self.played_frames() < self._pulled and self.failed is None:
                time.sleep(0.005)
        self._final = self._pulled if (drain or self.fast) else self.played_frames()
        self._running = False

    def close(self) -> None:
        self.stop(drain=False)
        self._closed = True

    def captured(self) -> Samples:
        """Everything pulled in this run, when opened with ``keep=True``."""
        import numpy as np

        if not self._blocks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._blocks)
