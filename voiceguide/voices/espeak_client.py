"""The voiceguide side of the espeak-ng helper process (``espeak_worker``).

The helper speaks each text from libespeak-ng's freshly initialised state, in a child it
forks per text (see ``espeak_worker`` for why). ``Helper`` starts it on first use (or
early, with ``launch``, so its start-up overlaps the caller's), sends one request at a
time, reads the answer within a time limit, and restarts it once if it died.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

from voiceguide.errors import EngineError
from voiceguide.voices.pyttsx3_driver import install_fix


def excerpt(text: object, limit: int = 60) -> str:
    """A text for a message: quoted, and cut short if long."""
    value = str(text)
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


class Helper:
    """The helper process that speaks each text with libespeak-ng from its initial state
    (``espeak_worker``): started on first use, restarted once if it dies."""

    def __init__(self) -> None:
        self.proc: Any = None
        self.rate = 0  # set once the helper has said it is ready
        self._closing = False

    def launch(self) -> None:
        """Start the helper without waiting for it (its start-up overlaps the caller's)."""
        import subprocess

        from voiceguide.voices import espeak_worker

        if self.proc is not None and self.proc.poll() is None:
            return
        self.close()
        self.proc = subprocess.Popen(
            [sys.executable, espeak_worker.__file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        if not self._closing:  # end it at exit, while modules still exist
            import atexit

            atexit.register(self.close)
            self._closing = True

    def _start(self) -> None:
        from voiceguide.voices import espeak_worker

        self.launch()
        status, rate, _ = self._answer(30.0)
        if status != espeak_worker.OK:
            self.close()
            raise EngineError(f"libespeak-ng could not start; fix: {install_fix()}")
        self.rate = rate

    def close(self) -> None:
        proc, self.proc, self.rate = self.proc, None, 0
        if proc is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
            with contextlib.suppress(Exception):
                proc.wait(timeout=2)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()

    def _read(self, size: int, deadline: float) -> bytes:
        import select
        import time

        fd = self.proc.stdout.fileno()
        parts: list[bytes] = []
        while size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            part = os.read(fd, min(size, 1 << 20))
            if not part:
                raise EOFError
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def _answer(self, timeout: float) -> tuple[int, int, bytes]:
        import time

        from voiceguide.voices.espeak_worker import HEADER

        deadline = time.monotonic() + timeout
        status, rate, length = HEADER.unpack(self._read(HEADER.size, deadline))
        return status, rate, self._read(length, deadline)

    def speak(self, request: dict[str, object], timeout: float) -> tuple[int, int, bytes]:
        """``(status, sample rate, PCM)`` for one request; one restart if the helper died."""
        line = json.dumps(request).encode("utf-8") + b"\n"
        for attempt in range(2):
            if self.proc is None or self.proc.poll() is not None or not self.rate:
                self._start()
            try:
                self.proc.stdin.write(line)
                self.proc.stdin.flush()
                return self._answer(timeout)
            except TimeoutError:
                self.close()
                raise EngineError(
                    f"espeak-ng did not finish speaking {excerpt(request['text'])} within "
                    "its time limit"
                ) from None
            except (OSError, EOFError):
                self.close()
                if attempt:
                    raise EngineError(
                        f"the espeak-ng helper process stopped; fix: {install_fix()}"
                    ) from None
        raise AssertionError("unreachable")
