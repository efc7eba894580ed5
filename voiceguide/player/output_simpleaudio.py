"""The simpleaudio output (experimental): the routine played as long buffers on ALSA's default.

simpleaudio plays one whole buffer at a time (``play_buffer``) and tells only whether it is
still playing: no play position, no callback, and each buffer opens the device anew. So a
writer thread pulls the timeline up to ``LEAD`` (60 s) ahead of the listener, at most
``PACE`` times real time (so the render-ahead keeps up), and plays it in stretches joined
only inside quiet runs (``QUIET_MS`` or more below ``QUIET_DBFS``): no join falls in speech
or a tone. Each stretch is handed over when the run's clock (one monotonic clock, from the
first stretch's ``play_buffer``) reaches its first frame, less the time ``play_buffer``
takes; one handed over late starts with that much of its leading quiet trimmed, so the
audio after it stays on the clock. A stretch with no quiet run in 60 s is cut where the
pulled audio ends (``hard_joins``: it may be heard).

The position is the run's clock, up to what simpleaudio was given. simpleaudio plays on
for about ``TAIL`` after ``stop()``: a cut counts it as heard, and the next run starts once
it has played out. Being far ahead (``latency_frames``), the session stops it at each
control and restarts it from the place heard. Never chosen by ``"auto"``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

from voiceguide.errors import AudioDeviceError, AudioLibraryMissing
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

BLOCK = SAMPLE_RATE // 10  # pulled 100 ms at a time
LEAD = 60 * SAMPLE_RATE  # pulled this far ahead of the listener at most
START = 2 * SAMPLE_RATE  # the first stretch is looked for in this much
PACE = 20.0  # pulled at most this many times faster than real time
WINDOW = SAMPLE_RATE // 100  # quiet is judged 10 ms at a time
QUIET_MS = 60
QUIET_WINDOWS = QUIET_MS // 10
QUIET_DBFS = -50.0
QUIET_PEAK = 10 ** (QUIET_DBFS / 20)
MIN_STRETCH = SAMPLE_RATE // 4  # a shorter stretch is not cut
TAIL = 0.3  # seconds simpleaudio goes on playing after stop()


def import_simpleaudio() -> Any:
    """The simpleaudio module, or AudioLibraryMissing naming the fix."""
    try:
        import simpleaudio  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as exc:
        raise AudioLibraryMissing("simpleaudio", str(exc)) from exc
    return simpleaudio


def quiet_runs(audio: Samples) -> list[tuple[int, int]]:
    """The quiet runs of ``audio``: [start, end) in frames, each QUIET_MS or more of 10 ms
    windows whose peak is below QUIET_DBFS."""
    import numpy as np

    n = len(audio) // WINDOW
    if n == 0:
        return []
    peak = np.abs(audio[: n * WINDOW]).reshape(n, WINDOW).max(axis=1)
    quiet = np.concatenate(([False], peak < QUIET_PEAK, [False]))
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    return [
        (int(s) * WINDOW, int(e) * WINDOW)
        for s, e in zip(edges[0::2], edges[1::2], strict=True)
        if e - s >= QUIET_WINDOWS
    ]


def cut_point(audio: Samples, least: int = MIN_STRETCH) -> int | None:
    """Where to end a stretch of ``audio``: the middle of its last quiet run that leaves at
    least ``least`` frames before it; None if there is none."""
    for start, end in reversed(quiet_runs(audio)):
        if (start + end) // 2 >= least:
            return (start + end) // 2
    return None


def leading_quiet(audio: Samples) -> int:
    """How many frames ``audio`` starts with below QUIET_DBFS."""
    import numpy as np

    loud = np.flatnonzero(np.abs(audio) >= QUIET_PEAK)
    return int(loud[0]) if len(loud) else len(audio)


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
        try:  # opening the device is the first play_buffer: a short silence proves it
            probe = call_with_timeout(
                lambda: self._sa.play_buffer(bytes(2 * WINDOW), 1, 2, SAMPLE_RATE),
                OPEN_SECONDS,
                "opening ALSA's default device",
            )
        except AudioDeviceError:
            raise
        except Exception as exc:  # simpleaudio's SimpleaudioError
            raise AudioDeviceError(f"simpleaudio cannot play on ALSA's default: {exc}") from exc
        self._playing: list[Any] = [probe]  # PlayObjects that may still sound
        self.joins = 0
        self.hard_joins = 0  # joins where there was no quiet run
        self.late_joins = 0  # joins too late for their leading quiet: the clock moved
        self._open_s = 0.0  # how long play_buffer takes (a running estimate)
        self._quiet_at = 0.0  # time.monotonic() when the last run's tail has played out
        self._reset()

    def _reset(self) -> None:
        self._pulled = 0
        self._pending: list[Samples] = []  # pulled, not yet given to simpleaudio
        self._pending_at = 0  # the frame the pending audio starts at
        self._anchor: tuple[int, float] | None = None  # (a frame, when it is heard)
        self._seen = 0
        self._final: int | None = None
        self._stop = threading.Event()
        self._finish = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the writer thread -----------------------------------------------------------------
    def _clock(self, now: float | None = None) -> int:
        """Frames heard by the run's clock, up to the end of what simpleaudio was given."""
        if self._anchor is None:
            return 0
        first, since = self._anchor
        now = time.monotonic() if now is None else now
        return max(0, min(self._pending_at, first + int((now - since) * SAMPLE_RATE)))

    def _due_in(self) -> float:
        """Seconds until the next stretch is to be handed over."""
        if self._anchor is None:
            return max(0.0, self._quiet_at - time.monotonic())
        first, since = self._anchor
        return since + (self._pending_at - first) / SAMPLE_RATE - self._open_s - time.monotonic()

    def _play_next(self, last: bool) -> bool:
        """Give simpleaudio the next stretch of the pending audio (all of it when ``last``);
        False if the first stretch has no quiet run to end at yet (more is pulled first)."""
        import numpy as np

        audio = np.concatenate(self._pending)
        cut = None if last else cut_point(audio)
        if cut is None and self._anchor is None and not last and len(audio) < LEAD:
            return False
        if cut is None:
            cut = len(audio)
            if not last and self._anchor is not None:
                self.hard_joins += 1
        stretch = audio[:cut]
        late = 0
        if self._anchor is not None:  # late: trim its leading quiet, so the rest is on time
            late = max(0, -round((self._due_in() + self._open_s) * SAMPLE_RATE))
            if late > leading_quiet(stretch):
                self.late_joins += 1
                late = 0
        called = time.monotonic()
        play = self._sa.play_buffer(to_s16le(stretch[late:]), 1, 2, SAMPLE_RATE)
        took = time.monotonic() - called
        self._open_s = took if self._anchor is None else 0.8 * self._open_s + 0.2 * took
        if self._anchor is None or (late == 0 and -self._due_in() > self._open_s + 0.03):
            self._anchor = (self._pending_at + late, called + took)  # a new clock
        self.joins += bool(self._playing)
        self._playing = [p for p in self._playing if p.is_playing()] + [play]
        self._pending = [audio[cut:]] if cut < len(audio) else []
        self._pending_at += cut
        return True

    def _run(self, pull: Pull) -> None:
        raise_priority()
        began = time.monotonic()
        try:
            while not self._stop.is_set():
                finishing = self._finish.is_set()
                now = time.monotonic()
                paced = began + self._pulled / SAMPLE_RATE / PACE
                if not finishing and self._pulled < self._clock(now) + LEAD and now >= paced:
                    self._pending.append(check_block(pull(BLOCK), BLOCK))
                    self._pulled += BLOCK
                    if self._anchor is not None or self._pulled < START:
                        continue
                ready = self._pulled > self._pending_at
                if ready and self._due_in() <= 0 and self._play_next(last=finishing):
                    continue
                if finishing and not ready:
                    return
                self._stop.wait(0.002)
        except BaseException as exc:  # pull or simpleaudio failed: playback ends
            if not self._stop.is_set():
                self._fail(exc if type(exc).__name__ != "SimpleaudioError" else self._lost(exc))

    @staticmethod
    def _lost(exc: BaseException) -> AudioDeviceError:
        return AudioDeviceError(f"simpleaudio stopped while playing: {exc}")

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
                thread.join((self._pulled - self.played_frames()) / SAMPLE_RATE + OPEN_SECONDS)
                if thread.is_alive():
                    error = AudioDeviceError("simpleaudio did not finish playing in time")
                    self._fail(error)
                    raise error
                left = (self._pulled - self.played_frames()) / SAMPLE_RATE
                deadline = time.monotonic() + left + 2.0  # the last stretch, and its drain
                while any(p.is_playing() for p in self._playing) and time.monotonic() < deadline:
                    time.sleep(0.01)
                self._final = self._pulled
        finally:  # also on Ctrl-C: the thread never outlives stop()
            self._stop.set()
            thread.join(1.0)
            if self._final is None:  # cut: what plays on after stop() is heard too
                now = time.monotonic()
                self._final = max(self._seen, min(self._pulled, self._clock(now + TAIL)))
                self._quiet_at = now + TAIL
            for play in self._playing:
                with contextlib.suppress(Exception):
                    play.stop()
            self._running = False

    def close(self) -> None:
        """Stop (cutting); never raises."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(AudioDeviceError):
            self.stop(drain=False)
