"""What every audio output shares: the pull type, the bookkeeping base, the checks and limits.

The interface itself (``Output``) and how an output is chosen are in
``voiceguide.player.output``; each backend (``output_null``, ``output_sounddevice``,
``output_subprocess``) builds on ``OutputBase`` here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self, TypeVar

from voiceguide.errors import AudioDeviceError

if TYPE_CHECKING:
    from voiceguide.dsp.samples import Samples

T = TypeVar("T")
Pull = Callable[[int], "Samples"]
"""``pull(n)``: exactly ``n`` float32 frames at SAMPLE_RATE; never blocks (silence if idle)."""

DEFAULT_LATENCY = 0.2
"""Seconds of audio buffered between ``pull`` and the listener."""
STALL_SECONDS = 1.0
"""A running output that makes no progress for this long (plus its latency) has failed."""
OPEN_SECONDS = 5.0
"""Opening a device that takes longer has failed (a hung sound server)."""


class OutputBase:
    """Shared bookkeeping: the failure slot, the run flag and the context manager."""

    name = "output"

    def __init__(self) -> None:
        self.failed: BaseException | None = None
        # Underflows the sound system reported (None: this backend cannot tell).
        self.underflows: int | None = None
        self._running = False
        self._closed = False

    def _fail(self, exc: BaseException) -> None:
        """Record the first failure (later ones are consequences of it)."""
        if self.failed is None:
            self.failed = exc

    def close(self) -> None:
        """Release the device (subclasses); idempotent."""
        self._closed = True

    def _check_startable(self) -> None:
        if self._closed:
            raise AudioDeviceError(f"{self.name} output is closed")
        if self._running:
            raise RuntimeError(f"{self.name} output is already playing")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_block(block: Any, n: int) -> Samples:
    """``pull``'s result as a float32 array of exactly ``n`` frames, or a clear ValueError."""
    import numpy as np

    arr = np.asarray(block, dtype=np.float32)
    if arr.shape != (n,):
        raise ValueError(f"pull({n}) returned an array of shape {arr.shape}, expected ({n},)")
    return arr


def to_s16le(block: Samples) -> bytes:
    """Float samples in [-1, 1] as little-endian 16-bit PCM (``samples.to_pcm16``)."""
    from voiceguide.dsp.samples import to_pcm16

    return to_pcm16(block).astype("<i2", copy=False).tobytes()


def call_with_timeout(fn: Callable[[], T], timeout: float, what: str) -> T:
    """``fn()``, run in a daemon thread; give up on it after ``timeout`` seconds.

    For the calls into an audio library that can block on a hung sound server (through
    ALSA's pulse plugin, for 30 s and more): a wedged call is left behind in its thread,
    and the caller gets an AudioDeviceError: "``what`` took more than ``timeout`` s".
    """
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(fn())
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=run, name="voiceguide-audio-call", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise AudioDeviceError(f"{what} took more than {timeout:g} s (is the sound server hung?)")
    if errors:
        raise errors[0]
    return results[0]
