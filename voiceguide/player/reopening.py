"""Reopening an audio output that failed while playing (a stall, a lost device), and
waiting for one that is not there yet when the play begins.

The output is opened again on a thread, every REOPEN_EVERY_SECONDS until the device wait
(``--device-wait``, ``limits.DEVICE_WAIT_SECONDS``) has passed, so that the player loop goes
on answering commands meanwhile. Only an AudioDeviceError is worth waiting out; any other
failure of an output ends the play, and so does a missing audio library
(``AudioLibraryMissing``: no wait installs it).

At the start (``open_waiting``) there is no play to go on with yet: the first output is
tried in the same way, for the same wait, in the caller's thread (a stop signal ends it),
saying why on standard error once a RETRY_LINE_EVERY_SECONDS; a service started at boot
before its sound server then plays once the server is up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from voiceguide.errors import AudioDeviceError, AudioLibraryMissing
from voiceguide.player.output import EXPORT_HINT

if TYPE_CHECKING:
    from voiceguide.player.output import Output

REOPEN_EVERY_SECONDS = 0.5
"""How often a lost audio device is tried again."""
RETRY_LINE_EVERY_SECONDS = 15.0
"""How often the wait for a first audio device says on standard error that it goes on."""
_HINTS = ("; check `voiceguide devices`", f"; {EXPORT_HINT}")


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
            except AudioLibraryMissing as exc:
                self.last = exc
                break
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


def brief(error: AudioDeviceError) -> str:
    """Why no output opened, without the general hints (said once, when the wait ends)."""
    text = str(error)
    for hint in _HINTS:
        text = text.split(hint, 1)[0]
    return text


def open_waiting(
    open_output: Callable[[], Output], wait: float, say: Callable[[str], None]
) -> Output:
    """``open_output()``, tried again every REOPEN_EVERY_SECONDS for ``wait`` seconds while
    it raises AudioDeviceError: a device not there yet as the play begins (the sound server
    of a boot still starting). ``say`` gets one line when the wait begins ("no audio device
    yet (why); retrying for 60 s"), one a RETRY_LINE_EVERY_SECONDS after, and one when a
    device came; after the wait, the last AudioDeviceError, with the fix. ``wait`` 0: the
    first error at once."""
    try:
        return open_output()
    except AudioDeviceError as first:
        if wait <= 0 or isinstance(first, AudioLibraryMissing):
            raise
        last = first
    began = time.monotonic()
    deadline = began + wait
    said_at: float | None = None
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        if said_at is None or now - said_at >= RETRY_LINE_EVERY_SECONDS:
            verb = "retrying for" if said_at is None else "still retrying for"
            say(f"no audio device yet ({brief(last)}); {verb} {deadline - now:.0f} s")
            said_at = now
        time.sleep(min(REOPEN_EVERY_SECONDS, deadline - now))
        try:
            output = open_output()
        except AudioLibraryMissing:
            raise
        except AudioDeviceError as exc:
            last = exc
            continue
        say(f"audio device ready after {time.monotonic() - began:.0f} s")
        return output
    raise AudioDeviceError(f"no audio device came within {wait:g} s: {last}")
