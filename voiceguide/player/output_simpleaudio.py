"""The simpleaudio output (experimental): the routine played as whole buffers on ALSA's default.

simpleaudio plays one whole buffer at a time (``play_buffer``) and tells only whether it is
still playing: no play position, no callback, and each buffer opens the device anew, so
buffers played back to back leave gaps. So a writer thread pulls the timeline ``LEAD``
ahead of the listener (the render-ahead holds little more) and plays it in stretches, each
cut in the middle of a quiet moment (a run of at least ``QUIET_FRAMES`` of digital silence)
so that a join falls in silence. Each stretch is handed over when the run's clock (the
monotonic clock since the first stretch's ``play_buffer`` returned) reaches its first frame,
less the time ``play_buffer`` takes: the joins add no drift of their own, but each stream
starts on the sound server's next tick, so a join moves the audio by a few ms (measured
through PulseAudio: up to 17 ms, the end within 20 ms). A stretch with no quiet moment in
reach is cut where the pulled audio ends (``hard_joins`` counts those: they may be heard);
one handed over more than ``LATE`` behind the clock restarts it (``late_joins``).
Experimental: never chosen by ``"auto"``.

``played_frames`` is the run's clock, up to the end of what simpleaudio was given. Pause
cuts the stretch (simpleaudio still plays out its last 100 ms period); resume starts a new
run from there.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

from voiceguide.errors import AudioDeviceError
from voiceguide.player.output_base import (
    OPEN_SECONDS,
    OutputBase,
    Pull,
    call_with_timeout,
    check_block,
    to_s16le,
)
from voiceguide.player.priority import raise_priority
from voiceguide.units import SAMPLE_RATE

if TYPE_CHECKING:
    from voiceguide.dsp.samples import Samples

FIX = "apt-get install gcc libasound2-dev && pip install 'voiceguide[simpleaudio]'"
BLOCK = SAMPLE_RATE // 10  # pulled 100 ms at a time
LEAD = SAMPLE_RATE  # pulled this far ahead of the listener: within the render-ahead's queue
QUIET_FRAMES = SAMPLE_RATE // 10  # a quiet moment: 100 ms of digital silence
MIN_STRETCH = SAMPLE_RATE // 4  # a shorter stretch is not cut at a quiet moment
LATE = 0.03  # seconds: a stretch given to simpleaudio later than this moves the clock


def import_simpleaudio() -> Any:
    """The simpleaudio module, or an AudioDeviceError naming the fix."""
    try:
        import simpleaudio  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as exc:
        raise AudioDeviceError(f"simpleaudio is not installed ({exc}): {FIX}") from exc
    return simpleaudio


def cut_point(audio: Samples, least: int = MIN_STRETCH) -> int | None:
    """Where to end a stretch of ``audio``: the middle of its last quiet moment (a run of
    QUIET_FRAMES or more of zeros) that leaves at least ``least`` frames; None if none."""
    import numpy as np

    zero = np.concatenate(([False], audio == 0, [False]))
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]  # runs of zeros: [start, end)
    for start, end in zip(starts[::-1], ends[::-1], strict=True):
        middle = int(start + end) // 2
        if end - start >= QUIET_FRAMES and middle >= least:
            return middle
    return None


class SimpleaudioOutput(OutputBase):
    """Plays through simpleaudio on ALSA's ``default`` device (experimental)."""

    name = "simpleaudio"

    def __init__(self, device: str | None = None) -> None:
        super().__init__()
        if device not in (None, "", "default"):
            raise AudioDeviceError(
                "simpleaudio plays on ALSA's default device only (no --device); for another "
                "device use --output sounddevice or aplay"
            )
        self._sa = import_simpleaudio()
        # Opening a device is the first play_buffer: a short silence proves it works now.
        try:
            probe = call_with_timeout(
                lambda: self._sa.play_buffer(bytes(2 * BLOCK // 10), 1, 2, SAMPLE_RATE),
                OPEN_SECONDS,
                "opening ALSA's default device",
            )
        except AudioDeviceError:
            raise
        except Exception as exc:  # simpleaudio's SimpleaudioError
            raise AudioDeviceError(f"simpleaudio cannot play on ALSA's default: {exc}") from exc
        with contextlib.suppress(Exception):
            probe.stop()
        self.hard_joins = 0  # joins cut where there was no quiet moment
        self.joins = 0
        self.late_joins = 0  # joins later than LATE: the clock moved on with them
        self._open_s = 0.0  # how long play_buffer takes (a running estimate)
        self._reset()

    def _reset(self) -> None:
        self._pulled = 0
        self._pending: list[Samples] = []  # pulled, not yet given to simpleaudio
        self._pending_at = 0  # the frame the pending audio starts at
        self._playing: list[Any] = []  # PlayObjects that may still sound
        # (a frame, when it is heard: time.monotonic()): the run's clock
        self._anchor: tuple[int, float] | None = None
        self._seen = 0
        self._final: int | None = None
        self._stop = threading.Event()
        self._finish = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the writer thread -----------------------------------------------------------------

    def _clock(self) -> int:
        """Frames heard by the clock (up to the end of what simpleaudio has), unclamped by
        what was pulled."""
        if self._anchor is None:
            return 0
        first, since = self._anchor
        return min(self._pending_at, first + int((time.monotonic() - since) * SAMPLE_RATE))

    def _due_in(self) -> float:
        """Seconds until the next stretch is due at simpleaudio (the time play_buffer takes
        is allowed for, so the next stretch sounds on the run's clock)."""
        if self._anchor is None:
            return 0.0
        first, since = self._anchor
        due = since + (self._pending_at - first) / SAMPLE_RATE
        return due - self._open_s - time.monotonic()

    def _play_next(self, last: bool) -> None:
        """Give simpleaudio the next stretch of the pending audio (all of it when ``last``)."""
        import numpy as np

        audio = np.concatenate(self._pending) if self._pending else np.zeros(0, np.float32)
        if len(audio) == 0:
            return
        cut = None if last else cut_point(audio)
        if cut is None:
            cut = len(audio)
            if not last and self._anchor is not None and audio[0] != 0:
                self.hard_joins += 1
        stretch, rest = audio[:cut], audio[cut:]
        data = to_s16le(stretch)
        called = time.monotonic()
        late = -self._due_in()
        play = self._sa.play_buffer(data, 1, 2, SAMPLE_RATE)
        took = time.monotonic() - called
        self._open_s = took if self._anchor is None else 0.8 * self._open_s + 0.2 * took
        if self._anchor is None or late > LATE:
            # The first stretch, or one too late to keep the run's clock: a new clock.
            if self._anchor is not None:
                self.late_joins += 1
            self._anchor = (self._pending_at, called + took)
        if self._playing:
            self.joins += 1
        self._playing = [p for p in self._playing if p.is_playing()] + [play]
        self._pending = [rest] if len(rest) else []
        self._pending_at += cut

    def _run(self, pull: Pull) -> None:
        raise_priority()
        try:
            while not self._stop.is_set():
                finishing = self._finish.is_set()
                while not finishing and self._pulled < self._clock() + LEAD:
                    self._pending.append(check_block(pull(BLOCK), BLOCK))
                    self._pulled += BLOCK
                left = self._due_in()
                if left <= 0:
                    if self._pending_at >= self._pulled:
                        if finishing:
                            return
                    else:
                        self._play_next(last=finishing)
                        continue
                self._stop.wait(min(0.01, max(0.0, left)) or 0.002)
        except BaseException as exc:  # pull or simpleaudio failed: playback ends
            if not self._stop.is_set():
                self._fail(exc if not isinstance(exc, Exception) else self._as_device(exc))

    @staticmethod
    def _as_device(exc: Exception) -> BaseException:
        if type(exc).__name__ == "SimpleaudioError":
            return AudioDeviceError(f"simpleaudio stopped while playing: {exc}")
        return exc

    # -- the interface ---------------------------------------------------------------------

    def start(self, pull: Pull) -> None:
        self._check_startable()
        self.failed = None
        self._reset()
        self._running = True
        self._thread = threading.Thread(
            target=self._run, args=(pull,), name="voiceguide-simpleaudio", daemon=True
        )
        self._thread.start()

    def played_frames(self) -> int:
        if self._final is not None:
            return self._final
        self._seen = max(self._seen, min(self._pulled, self._clock()))
        return self._seen

    def pulled_frames(self) -> int:
        return self._pulled

    def latency_frames(self) -> int:
        return LEAD

    def stop(self, drain: bool = True) -> None:
        if not self._running:
            return
        thread = self._thread
        assert thread is not None
        try:
            if drain and self.failed is None:
                self._finish.set()
                left = (self._pulled - self.played_frames()) / SAMPLE_RATE
                thread.join(left + OPEN_SECONDS)
                if thread.is_alive():
                    error = AudioDeviceError("simpleaudio did not finish playing in time")
                    self._fail(error)
                    raise error
                deadline = time.monotonic() + 2.0  # simpleaudio's last period and drain
                while any(p.is_playing() for p in self._playing):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.01)
                self._final = self._pulled
        finally:  # also on Ctrl-C: the thread never outlives stop()
            if self._final is None:
                self._final = self.played_frames()
            self._stop.set()
            thread.join(1.0)
            for play in self._playing:
                with contextlib.suppress(Exception):
                    play.stop()
            self._playing = []
            self._running = False

    def close(self) -> None:
        """Stop (cutting); never raises."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(AudioDeviceError):
            self.stop(drain=False)
