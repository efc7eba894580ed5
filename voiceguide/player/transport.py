"""Where a play is, exact to the frame: the output's audio thread pulls its frames here.

``pull`` never waits: a block the render-ahead (``player.render_ahead``) has not delivered
yet is an underrun (counted) and silence goes out, never a stall. Everything that changes where the
routine is (pause, a seek, waiting for "ready") is bookkeeping under the render-ahead's
lock:

- ``cursor`` is the timeline frame the next pulled frame comes from;
- pausing stops taking frames from the queue (silence goes out), so resuming goes on from
  the very frame after the last one pulled;
- a spoken overlay (``speak_over``) plays before the timeline goes on, which stands still
  meanwhile: it never talks over a cue;
- a seek empties the queue and restarts the renderer there;
- at a wait the timeline holds until ``release`` (the listener is ready).

No transition is a hard step (a click): what was about to play fades out over FADE_MS
while what comes next fades in (pause, resume, seeks, an overlay cutting in). A change of
volume re-renders from the cursor and crossfades into it.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from voiceguide.limits import VOLUME_RANGE_DB
from voiceguide.player.render_ahead import AHEAD_BLOCKS, RenderAhead
from voiceguide.timeline import Silence, Timeline
from voiceguide.units import FRAMES_PER_MS, ms_to_frames

if TYPE_CHECKING:
    from voiceguide.dsp.samples import Samples
    from voiceguide.render import Level
    from voiceguide.voices.base import SpeechBank

FADE_MS = 20  # every transition fades over this long: no clicks
FADE_FRAMES = ms_to_frames(FADE_MS)
# A raised cosine: FADE_IN + FADE_OUT == 1, so a crossfade of the same audio is seamless.
FADE_IN = (0.5 - 0.5 * np.cos(np.pi * (np.arange(FADE_FRAMES) + 0.5) / FADE_FRAMES)).astype(
    np.float32
)
FADE_OUT = (1.0 - FADE_IN).astype(np.float32)


class Wait:
    """A wait for the listener in the timeline (frames), and what to remind them of."""

    def __init__(self, event: Silence) -> None:
        self.start = ms_to_frames(event.start_ms)
        self.end = ms_to_frames(event.end_ms)
        self.remind = event.remind or ""
        self.every_ms = event.every_ms


def _fade_in(part: Samples, done: int) -> int:
    """Fade ``part`` in, ``done`` frames of the fade being behind it; the frames done after."""
    if done < FADE_FRAMES:
        m = min(len(part), FADE_FRAMES - done)
        part[:m] *= FADE_IN[done : done + m]
        done += m
    return done


def _copy(out: Samples, filled: int, clips: Iterable[Samples]) -> int:
    """Copy ``clips`` one after another into ``out`` from ``filled`` on, as far as it goes;
    how far ``out`` is filled then."""
    for clip in clips:
        k = min(len(out) - filled, len(clip))
        out[filled : filled + k] = clip[:k]
        filled += k
        if filled == len(out):
            break
    return filled


class Transport:
    """The position, pause, waits, seeks, volume and overlays of one play of ``timeline``."""

    def __init__(
        self,
        timeline: Timeline,
        bank: SpeechBank,
        level: Level,
        *,
        start_ms: int = 0,
        volume_db: float = 0.0,
        complete: bool = True,
    ) -> None:
        start = ms_to_frames(start_ms)
        self.ahead = RenderAhead(
            timeline, bank, level, complete=complete, start_frame=start, volume_db=volume_db
        )
        self.lock = self.ahead.lock
        self.cursor = start
        self.overlay: collections.deque[Samples] = collections.deque()
        self.paused = False
        self.waits = self._waits(timeline)
        self.waiting: Wait | None = None
        self.waited: set[int] = set()  # waits already released (by their start frame)
        self.next_remind = 0.0
        self.finished = False
        self.underruns = 0
        self.tail: Samples | None = None  # what was cut off, fading out over the next frames
        # Frames of the timeline's fade-in done (FADE_FRAMES: none); from mid-routine, in.
        self.fade = FADE_FRAMES if start_ms == 0 else 0

    @staticmethod
    def _waits(timeline: Timeline) -> list[Wait]:
        return [Wait(e) for e in timeline.events if isinstance(e, Silence) and e.reason == "wait"]

    @property
    def timeline(self) -> Timeline:
        """The routine as far as it is known (all of it, unless ``ahead.complete`` is not)."""
        return self.ahead.timeline

    @property
    def volume_db(self) -> float:
        return self.ahead.volume_db

    def extend(self, timeline: Timeline, complete: bool = True) -> None:
        """Go on with more of the routine: ``timeline`` starts with the one played so far.

        A cold start plays the prefixes the compiler hands on (``compile_routine``'s
        ``on_final``) while it lays out the rest: each is rendered up to its last quiet
        moment, and on from there when the next one comes, so the joins are exact.
        """
        with self.lock:
            self.ahead.take(timeline, complete)
            self.waits = self._waits(timeline)

    # -- the audio thread ----------------------------------------------------------
    def pull(self, n: int) -> Samples:
        """``n`` frames for the output; never waits (see the module docstring)."""
        out = np.zeros(n, dtype=np.float32)
        with self.lock:
            filled = 0
            while filled < n:
                if self.overlay:
                    clip = self.overlay[0]
                    k = min(n - filled, len(clip))
                    out[filled : filled + k] = clip[:k]
                    filled += k
                    if k == len(clip):
                        self.overlay.popleft()
                    else:
                        self.overlay[0] = clip[k:]
                    continue
                if self.paused or self.waiting or self.finished:
                    break
                if self.cursor >= self.ahead.total and self.ahead.complete:
                    self.finished = True
                    break
                wait = self._wait_at(self.cursor)
                if wait is not None:
                    self.waiting = wait
                    self.next_remind = time.monotonic() + wait.every_ms / 1000
                    break
                block = self.ahead.head()
                if block is None:
                    if not self.ahead.restarting:  # (a seek's first block is not late)
                        self.underruns += 1
                    self.fade = 0  # what comes after the gap fades in
                    break
                k = min(n - filled, len(block), self._frames_to_next_wait())
                part = out[filled : filled + k]
                part[:] = block[:k]
                self.fade = _fade_in(part, self.fade)
                filled += k
                self.cursor += k
                self.ahead.advance(k)
            tail = self.tail
            if tail is not None:
                m = min(n, len(tail))
                out[:m] += tail[:m]
                self.tail = tail[m:] if m < len(tail) else None
        return out

    def _upcoming(self, n: int, overlay: bool = True) -> Samples:
        """The next ``n`` frames ``pull`` would give, without taking them (under the lock);
        without ``overlay``, only the timeline's (nothing while an overlay plays)."""
        out = np.zeros(n, dtype=np.float32)
        if self.overlay and not overlay:
            return out
        filled = _copy(out, 0, self.overlay)
        if self.overlay or self.paused or self.waiting or self.finished:
            return out
        stop = filled + min(n - filled, self._frames_to_next_wait())
        _copy(out[:stop], filled, self.ahead.upcoming())
        _fade_in(out[filled:stop], self.fade)
        return out

    def _cut(self, overlay: bool = True) -> None:
        """Fade out what was about to play (under the lock): the next FADE_MS of it go on,
        fading, under whatever plays instead; the timeline fades in when it goes on.
        Without ``overlay``, a spoken overlay playing now goes on (only the timeline is cut).
        """
        upcoming = self._upcoming(FADE_FRAMES, overlay) * FADE_OUT
        if self.tail is not None:  # a cut during a cut: both fade out
            m = min(len(self.tail), FADE_FRAMES)
            upcoming[:m] += self.tail[:m]
        self.tail = upcoming if upcoming.any() else None
        self.fade = 0

    def _wait_at(self, frame: int) -> Wait | None:
        for w in self.waits:
            if w.start == frame and w.start not in self.waited:
                return w
        return None

    def _frames_to_next_wait(self) -> int:
        ahead = [w.start - self.cursor for w in self.waits if w.start > self.cursor]
        return min(ahead, default=self.ahead.total - self.cursor) or 1

    # -- moves ---------------------------------------------------------------------
    def seek(self, ms: int) -> None:
        """Go on from file time ``ms`` (clears what was rendered ahead)."""
        frame = max(0, min(ms_to_frames(ms), self.ahead.total))
        with self.lock:
            self._restart(frame)
            self.cursor = frame
            self.waiting = None
            self.finished = frame >= self.ahead.total and self.ahead.complete
            self.waited = {w.start for w in self.waits if w.start < frame}

    def _restart(self, frame: int) -> None:
        """Fade out what was rendered ahead and render again from ``frame`` (under the lock)."""
        self._cut(overlay=False)
        self.ahead.restart(frame)

    def set_volume(self, volume_db: float) -> None:
        """Play at ``volume_db`` (clamped to VOLUME_RANGE_DB) from now on, without a step:
        rendered again from the cursor, crossfading into it."""
        low, high = VOLUME_RANGE_DB
        volume_db = min(high, max(low, volume_db))
        with self.lock:
            if volume_db == self.ahead.volume_db:
                return
            self.ahead.volume_db = volume_db
            self._restart(self.cursor)

    def pause(self) -> None:
        """Stop taking frames from the timeline (an overlay playing is dropped)."""
        with self.lock:
            self._cut()
            self.paused = True
            self.overlay.clear()

    def resume(self) -> None:
        with self.lock:
            self.paused = False

    def release(self) -> None:
        """Go on past the wait the timeline holds at (if it holds at one)."""
        with self.lock:
            wait = self.waiting
        if wait is not None:
            self.waited.add(wait.start)
            self.seek(wait.end // FRAMES_PER_MS)

    def speak_over(self, clips: Iterable[Samples]) -> None:
        """Play ``clips`` before the timeline goes on (after any overlay already playing)."""
        with self.lock:
            if not self.overlay:
                self._cut()  # the timeline (if it was playing) fades out under them
            self.overlay.extend(clips)

    # -- the render thread ---------------------------------------------------------
    def start_rendering(self, head_start: int = 2) -> None:
        """Start the render thread and give it a head start of ``head_start`` blocks."""
        self.ahead.start()
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            with self.lock:
                if self.ahead.queued()[0] >= head_start or self.finished:
                    return
            time.sleep(0.002)

    def wait_rendered(self, blocks: int = AHEAD_BLOCKS, timeout: float = 5.0) -> None:
        """Wait until ``blocks`` are queued (or the end is reached): for tests and seeks."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                count, queued = self.ahead.queued()
                if count >= blocks or queued >= self.ahead.total - self.cursor:
                    return
            time.sleep(0.002)

    def close(self) -> None:
        """Stop the render thread."""
        self.ahead.close()
