"""The routine rendered ahead of the output: a thread fills a short queue of blocks.

The audio is the export's: the same renderer (``voiceguide.render``) from any frame, at the
play's level with its volume in the gain (before the true-peak limiter, so no volume clips).
The thread keeps AHEAD_BLOCKS blocks of BLOCK_FRAMES queued. ``restart`` (a seek, a new
volume) empties the queue and starts the renderer again at a frame. A partial timeline (a
cold start, see ``take``) is rendered up to its last quiet moment only, and goes on from
there when it grows, so the joins are exact. A new level (``set_level``) takes over at the
first quiet moment not yet rendered, or at the next restart.

The queue is guarded by ``lock``, which the transport shares: it takes frames from the
queue (``head``, ``advance``) under the same lock as its own bookkeeping.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from voiceguide.player.priority import raise_priority
from voiceguide.render import Level, render
from voiceguide.timeline import Silence, Timeline
from voiceguide.units import FRAMES_PER_MS, ms_to_frames

if TYPE_CHECKING:
    from voiceguide.dsp.samples import Samples
    from voiceguide.voices.base import SpeechBank

BLOCK_FRAMES = 2400  # 100 ms: small blocks make seeks quick
AHEAD_BLOCKS = 12  # rendered ahead of the output
QUIET_MS = 100  # silence before a change of level (see ``RenderAhead.set_level``)
RENDER_NICE = -5  # the render thread's nice value, where permitted


def _skipped(blocks: Iterator[Samples], skip: int) -> Iterator[Samples]:
    """``blocks`` without their first ``skip`` frames."""
    for block in blocks:
        if skip >= len(block):
            skip -= len(block)
            continue
        yield block[skip:]
        skip = 0


def _sounding(timeline: Timeline) -> list[tuple[int, int]]:
    """The times (ms) when something sounds: speech and tones, overlaps merged, in order."""
    spans = sorted((e.start_ms, e.end_ms) for e in timeline.events if not isinstance(e, Silence))
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class RenderAhead:
    """The render thread and its queue of blocks, from ``start_frame`` on."""

    def __init__(
        self,
        timeline: Timeline,
        bank: SpeechBank,
        level: Level,
        *,
        complete: bool,
        start_frame: int,
        volume_db: float,
    ) -> None:
        self.bank = bank
        self.level = level
        self.volume_db = volume_db
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self._know(timeline, complete)
        self.version = 0  # counts the timelines taken
        self.queue: collections.deque[Samples] = collections.deque()
        self.offset = 0  # frames of queue[0] already taken
        self.generation = 0  # counts the restarts
        self.render_from = start_frame
        self.restarting = False  # a restart's renderer has not delivered its first block yet
        self.pending_level: Level | None = None
        self.failed: Exception | None = None  # the render failed: the play ends with it
        self.closed = False
        self.thread = threading.Thread(target=self._produce, name="voiceguide-play", daemon=True)

    def _know(self, timeline: Timeline, complete: bool) -> None:
        self.timeline = timeline
        self.complete = complete  # the whole routine, not a cold start's part of it
        self.total = ms_to_frames(timeline.duration_ms)
        self.sounding = _sounding(timeline)

    def take(self, timeline: Timeline, complete: bool) -> None:
        """Go on with more of the routine (under the lock): ``timeline`` starts with the one
        rendered so far, and is rendered on from where that one stopped."""
        self._know(timeline, complete)
        self.version += 1
        self.wake.notify_all()

    def playing_level(self) -> Level:
        """The level the play sounds at: the routine's, with the volume in its gain."""
        return replace(self.level, gain_db=self.level.gain_db + self.volume_db)

    def set_level(self, level: Level) -> None:
        """Go on at ``level`` without a seam: from the first quiet moment not yet rendered
        (QUIET_MS of silence, more than the limiter looks back, so from there the audio is
        exactly what ``render`` gives at that level), or at the next restart.

        A cold start plays at a provisional level until the exact one is known.
        """
        with self.lock:
            self.pending_level = level
            self.wake.notify_all()

    # -- the queue, under the lock -------------------------------------------------
    def restart(self, frame: int) -> None:
        """Drop what was rendered ahead and render again from ``frame``."""
        self.generation += 1
        self.restarting = True
        self.queue.clear()
        self.offset = 0
        self.render_from = frame
        self.wake.notify_all()

    def head(self) -> Samples | None:
        """What is left of the first block queued (None: nothing is)."""
        return self.queue[0][self.offset :] if self.queue else None

    def advance(self, frames: int) -> None:
        """Take ``frames`` (at most what ``head`` holds) from the queue."""
        self.offset += frames
        if self.offset == len(self.queue[0]):
            self.queue.popleft()
            self.offset = 0
            self.wake.notify_all()

    def upcoming(self) -> Iterator[Samples]:
        """The queued audio, in order, without taking it."""
        offset = self.offset
        for block in self.queue:
            yield block[offset:]
            offset = 0

    def queued(self) -> tuple[int, int]:
        """The blocks queued, and the frames they hold."""
        return len(self.queue), sum(map(len, self.queue)) - self.offset

    # -- quiet moments -------------------------------------------------------------
    def quiet_before(self, frame: int) -> int:
        """The last frame at or before ``frame``, on a whole millisecond, that QUIET_MS of
        silence leads up to (0, the start, if none)."""
        ms = frame // FRAMES_PER_MS
        best = 0
        lo = 0  # where the current gap becomes quiet enough
        for start, end in self.sounding:
            if lo <= min(start, ms):
                best = min(start, ms)
            if start >= ms:
                break
            lo = max(lo, end + QUIET_MS)
        else:
            if lo <= ms:
                best = ms
        return ms_to_frames(best)

    def quiet_from(self, frame: int) -> int | None:
        """The first frame at or after ``frame``, on a whole millisecond, that QUIET_MS of
        silence leads up to; None if the routine is never quiet again."""
        ms = -(-frame // FRAMES_PER_MS)
        lo = 0  # where the current gap becomes quiet enough
        for start, end in self.sounding:
            if max(lo, ms) <= start:
                return ms_to_frames(max(lo, ms))
            lo = max(lo, end + QUIET_MS)
        q = max(lo, ms)
        return ms_to_frames(q) if q <= self.timeline.duration_ms else None

    # -- the thread ----------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        """Stop the render thread."""
        with self.lock:
            self.closed = True
            self.wake.notify_all()

    def _render_from(self, frame: int) -> Iterator[Samples]:
        blocks = render(
            self.timeline,
            self.bank,
            self.playing_level(),
            block_frames=BLOCK_FRAMES,
            start_ms=frame // FRAMES_PER_MS,
        )
        skip = frame % FRAMES_PER_MS
        if not skip:
            return blocks
        return _skipped(blocks, skip)

    def _start(self, frame: int) -> tuple[Iterator[Samples] | None, int]:
        """A renderer from ``frame`` (under the lock), and where it must stop.

        Every start is a seam (a restart) or a quiet moment, so a pending level is taken
        here. A partial timeline is rendered up to its last quiet moment only: past it the
        rest of the routine, not yet known, would change what the limiter does.
        """
        if self.pending_level is not None:
            self.level, self.pending_level = self.pending_level, None
        end = self.total if self.complete else self.quiet_before(self.total)
        if end <= frame:
            return None, frame
        return self._render_from(frame), end

    def _produce(self) -> None:
        raise_priority(nice=RENDER_NICE)  # ahead of busy programs, behind the audio thread
        blocks: Iterator[Samples] | None = None
        generation = -1
        pos = 0  # the file frame the next block starts at
        end = 0  # where the current renderer stops
        switch_at: int | None = None  # where a pending level takes over
        version = -1  # the timeline the renderer last started from
        while True:
            with self.lock:
                while (
                    not self.closed
                    and generation == self.generation
                    and (
                        len(self.queue) >= AHEAD_BLOCKS
                        or (blocks is None and version == self.version)  # nothing new
                    )
                    and not (
                        blocks is not None and self.pending_level is not None and switch_at is None
                    )
                ):
                    self.wake.wait(0.5)
                if self.closed:
                    return
                if generation != self.generation:  # a restart
                    generation, version = self.generation, self.version
                    pos, switch_at = self.render_from, None
                    blocks, end = self._start(pos)
                elif blocks is None:  # the timeline grew: on from where the last part stopped
                    version, switch_at = self.version, None
                    blocks, end = self._start(pos)
                elif self.pending_level is not None and switch_at is None:
                    quiet = self.quiet_from(pos)
                    switch_at = self.total + 1 if quiet is None else quiet  # None: at a restart
            if blocks is None:
                continue
            try:
                block = next(blocks, None)  # rendered outside the lock
            except Exception as exc:  # e.g. a clip the speech cache could not store
                with self.lock:
                    self.failed = exc
                return
            with self.lock:
                if generation != self.generation:
                    continue  # a restart happened meanwhile: drop it
                if block is None:
                    blocks = None
                    continue
                switching = self.pending_level is not None and switch_at is not None
                stop = min(end, switch_at) if switching and switch_at is not None else end
                if pos + len(block) >= stop:
                    block = block[: stop - pos]
                    if stop < end:  # the level changes here, a quiet moment
                        switch_at = None
                        blocks, end = self._start(stop)
                    else:  # the end of what is known: wait for more (or for a restart)
                        blocks = None
                pos += len(block)
                if len(block):
                    self.queue.append(block)
                    self.restarting = False
