"""Reopening an audio output that failed while playing: a stall, a lost device.

The output is opened again on a thread, every REOPEN_EVERY_SECONDS until the device wait
(``--device-wait``, ``limits.DEVICE_WAIT_SECONDS``) has passed, so that the player loop goes
on answering commands meanwhile. Only an AudioDeviceError is worth waiting out; any other
failure of an output ends the play.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from voiceguide.errors import AudioDeviceError
from voiceguide.player.output import EXPORT_HINT

if TYPE_CHECKING:
    from voiceguide.player.output import Output

REOPEN_EVERY_SECONDS = 0.5
"""How often a lost audio device is tried again."""


def device_error(failure: BaseException) -> AudioDeviceError:
    """``failure`` of an output as the AudioDeviceError the play ends with."""
    if isinstance(failure, AudioDeviceError):
        return failure
    return AudioDeviceError(f"audio output failed: {failure}")


class Reopening:
    """Reopening a failed output (``reopen``) on a thread, for ``wait`` seconds at most."""

    def __init__(self, reopen: Callable[[], Output], error: AudioDeviceError, wait: float):
        self.reopen = reopen
        self.error = error  # what the output failed with
        self.wait = wait
        self.last: AudioDeviceError = error  # why the last try failed
        self.output: Output | None = None
        self.done = threading.Event()
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._deadline = time.monotonic() + wait
        threading.Thread(target=self._run, name="voiceguide-reopen", daemon=True).start()

    def _run(self) -> None:
        while not self._cancelled.is_set():
            try:
                output = self.reopen()
            except AudioDeviceError as exc:
                self.last = exc
            else:
                with self._lock:
                    if self._cancelled.is_set():
                        output.close()
                    else:
                        self.output = output
                break
            if time.monotonic() >= self._deadline:
                break
            self._cancelled.wait(REOPEN_EVERY_SECONDS)
        self.done.set()

    def reopened(self) -> Output:
        """The output opened again (once ``done``); AudioDeviceError if none could be."""
        if self.output is None:
            raise AudioDeviceError(
                f"{self.error}; the audio output could not be reopened within "
                f"{self.wait:g} s ({self.last}); {EXPORT_HINT}"
            )
        return self.output

    def cancel(self) -> None:
        """Stop trying; an output opened meanwhile is closed."""
        with self._lock:
            self._cancelled.set()
            output, self.output = self.output, None
        if output is not None:
            output.close()
