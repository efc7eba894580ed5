"""Plays a compiled routine through an audio output, steered by the control channel.

The audio is the export's: the same renderer, from any position, rendered ahead in a
thread into a short queue of blocks. The output's audio thread pulls from that queue and
never waits: a late block is an underrun (counted), never a stall. Everything that changes
where the routine is — pause, next, back, repeat, waiting for "ready" — happens in ``pull``'s
bookkeeping under one lock, so the timeline position is exact to the frame:

- ``cursor`` is the timeline frame the next pulled frame comes from;
- pausing stops taking frames from the queue (silence goes out), so resuming goes on from
  the very frame after the last one pulled;
- a spoken overlay (the re-cue after a pause, "what's next", a reminder while waiting)
  plays before the timeline goes on, which stands still meanwhile: it never talks over a
  cue;
- seeking (next, back, repeat, ready) empties the queue and restarts the renderer there.

No transition is a hard step (a click): what was about to play fades out over FADE_MS
while what comes next fades in (pause, resume, seeks, an overlay cutting in). The volume
is part of the renderer's level, before its true-peak limiter, so no volume clips; a
change of volume re-renders from the cursor and crossfades into it.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from voiceguide.errors import AudioDeviceError
from voiceguide.player.control import Action, Command, ControlHub
from voiceguide.player.limits import DEVICE_WAIT_SECONDS, REOPEN_EVERY_SECONDS, VOLUME_RANGE_DB
from voiceguide.player.output import EXPORT_HINT, library_messages, raise_priority
from voiceguide.render import Level, render
from voiceguide.timeline import Chapter, Silence, Timeline
from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE, clock, ms_to_frames, spoken

if TYPE_CHECKING:
    from voiceguide.player.output import Output
    from voiceguide.render import Samples
    from voiceguide.voices.base import SpeechBank

BLOCK_FRAMES = 2400  # 100 ms: small blocks make seeks quick
AHEAD_BLOCKS = 12  # rendered ahead of the output
QUIET_MS = 100  # silence before a change of level (see ``Session.set_level``)
BACK_RESTARTS_MS = 5000  # "back" within this of a step's start goes to the step before
VOLUME_STEP_DB = 3.0
RENDER_NICE = -5  # the render thread's nice value, where permitted
FADE_MS = 20  # every transition fades over this long: no clicks
FADE_FRAMES = ms_to_frames(FADE_MS)
# A raised cosine: FADE_IN + FADE_OUT == 1, so a crossfade of the same audio is seamless.
FADE_IN = (0.5 - 0.5 * np.cos(np.pi * (np.arange(FADE_FRAMES) + 0.5) / FADE_FRAMES)).astype(
    np.float32
)
FADE_OUT = (1.0 - FADE_IN).astype(np.float32)


@dataclass
class PlayResult:
    """How a play ended: at the end, or stopped at ``position_ms`` (file time)."""

    finished: bool
    position_ms: int
    underruns: int
    interrupted: bool = False


class _Wait:
    def __init__(self, event: Silence) -> None:
        self.start = ms_to_frames(event.start_ms)
        self.end = ms_to_frames(event.end_ms)
        self.remind = event.remind or ""
        self.every_ms = event.every_ms


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


class Session:
    """One play of one timeline: owns the render thread, the pull bookkeeping and the loop."""

    def __init__(
        self,
        timeline: Timeline,
        bank: SpeechBank,
        level: Level,
        output: Output,
        *,
        start_ms: int = 0,
        volume_db: float = 0.0,
        on_progress: Callable[[int], None] | None = None,
        complete: bool = True,
        reopen: Callable[[], Output] | None = None,
        device_wait: float = DEVICE_WAIT_SECONDS,
    ) -> None:
        """``reopen`` opens the output again when it fails while playing (a stall, a lost
        device); it is tried every REOPEN_EVERY_SECONDS for ``device_wait`` seconds, the play
        going on from where it was heard. Without it, a failed output ends the play."""
        self.bank = bank
        self.level = level
        self.output = output
        self.reopen = reopen
        self.device_wait = device_wait
        self.recovering = False  # the output failed: reopening it
        self._take(timeline, complete)
        self.version = 0  # counts the timelines taken (see ``extend``)
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.queue: collections.deque[Samples] = collections.deque()
        self.offset = 0  # frames of queue[0] already pulled
        self.generation = 0
        self.render_from = ms_to_frames(start_ms)
        self.cursor = ms_to_frames(start_ms)
        self.overlay: collections.deque[Samples] = collections.deque()
        self.paused = False
        self.waiting: _Wait | None = None
        self.waited: set[int] = set()  # waits already released (by their start frame)
        self.next_remind = 0.0
        self.finished = False
        self.stopping = False
        self.interrupted = False  # stopped by Ctrl-C or a signal
        self.underruns = 0
        self.volume_db = volume_db
        self.on_progress = on_progress
        self.closed = False
        self.pending_level: Level | None = None
        self.render_failed: Exception | None = None
        self.tail: Samples | None = None  # what was cut off, fading out over the next frames
        # Frames of the timeline's fade-in done (FADE_FRAMES: none); from mid-routine, in.
        self.fade = FADE_FRAMES if start_ms == 0 else 0
        self.restarting = False  # a seek's renderer has not delivered its first block yet
        self.device_failures = 0  # audio devices lost or stalled, and reopened
        self.thread = threading.Thread(target=self._produce, name="voiceguide-play", daemon=True)

    def _take(self, timeline: Timeline, complete: bool) -> None:
        self.timeline = timeline
        self.complete = complete
        self.total = ms_to_frames(timeline.duration_ms)
        self.waits = [
            _Wait(e) for e in timeline.events if isinstance(e, Silence) and e.reason == "wait"
        ]
        self.steps = list(timeline.chapters)
        self.sounding = _sounding(timeline)

    def extend(self, timeline: Timeline, complete: bool = True) -> None:
        """Go on with more of the routine: ``timeline`` starts with the one played so far.

        A cold start plays the prefixes the compiler hands on (``compile_routine``'s
        ``on_final``) while it lays out the rest. The render thread renders each prefix up
        to its last quiet moment, and goes on from there when the next one comes, so
        the joins are exact.
        """
        with self.lock:
            self._take(timeline, complete)
            self.version += 1
            self.wake.notify_all()

    def abort(self, error: Exception) -> None:
        """End the play with ``error`` (from the loop, as a failed render would)."""
        with self.lock:
            self.render_failed = error

    # -- the render thread -----------------------------------------------------------
    def _render_from(self, frame: int) -> Iterator[Samples]:
        level = replace(self.level, gain_db=self.level.gain_db + self.volume_db)
        blocks = render(
            self.timeline,
            self.bank,
            level,
            block_frames=BLOCK_FRAMES,
            start_ms=frame // FRAMES_PER_MS,
        )
        skip = frame % FRAMES_PER_MS
        if not skip:
            return blocks
        return _skipped(blocks, skip)

    def _start(self, frame: int) -> tuple[Iterator[Samples] | None, int]:
        """A renderer from ``frame`` (under the lock), and where it must stop.

        Every start is a seam (a seek) or a quiet moment, so a pending level is taken here.
        A partial timeline is rendered up to its last quiet moment only: past it the rest of
        the routine, not yet known, would change what the limiter does.
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
                if generation != self.generation:  # a seek
                    generation, version = self.generation, self.version
                    pos, switch_at = self.render_from, None
                    blocks, end = self._start(pos)
                elif blocks is None:  # the timeline grew: on from where the last part stopped
                    version, switch_at = self.version, None
                    blocks, end = self._start(pos)
                elif self.pending_level is not None and switch_at is None:
                    quiet = self.quiet_from(pos)
                    switch_at = self.total + 1 if quiet is None else quiet  # None: at a seek
            if blocks is None:
                continue
            try:
                block = next(blocks, None)  # rendered outside the lock
            except Exception as exc:  # e.g. a clip the speech cache could not store
                with self.lock:
                    self.render_failed = exc
                return
            with self.lock:
                if generation != self.generation:
                    continue  # a seek happened meanwhile: drop it
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
                    else:  # the end of what is known: wait for more (or for a seek)
                        blocks = None
                pos += len(block)
                if len(block):
                    self.queue.append(block)
                    self.restarting = False

    def set_level(self, level: Level) -> None:
        """Go on at ``level`` without a seam: from the first quiet moment not yet rendered
        (QUIET_MS of silence, more than the limiter looks back, so from there the audio is
        exactly what ``render`` gives at that level), or at the next seek.

        A cold start plays at a provisional level until the exact one is known.
        """
        with self.lock:
            self.pending_level = level
            self.wake.notify_all()

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
                if self.cursor >= self.total and self.complete:
                    self.finished = True
                    break
                wait = self._wait_at(self.cursor)
                if wait is not None:
                    self.waiting = wait
                    self.next_remind = time.monotonic() + wait.every_ms / 1000
                    break
                if not self.queue:
                    if not self.restarting:  # (a seek's first block is not late)
                        self.underruns += 1
                    self.fade = 0  # what comes after the gap fades in
                    break
                block = self.queue[0]
                k = min(n - filled, len(block) - self.offset, self._frames_to_next_wait())
                part = out[filled : filled + k]
                part[:] = block[self.offset : self.offset + k]
                if self.fade < FADE_FRAMES:
                    m = min(k, FADE_FRAMES - self.fade)
                    part[:m] *= FADE_IN[self.fade : self.fade + m]
                    self.fade += m
                filled += k
                self.cursor += k
                self.offset += k
                if self.offset == len(block):
                    self.queue.popleft()
                    self.offset = 0
                    self.wake.notify_all()
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
        filled = 0
        for clip in self.overlay:
            k = min(n - filled, len(clip))
            out[filled : filled + k] = clip[:k]
            filled += k
            if filled == n:
                return out
        if self.overlay or self.paused or self.waiting or self.finished:
            return out
        left = min(n - filled, self._frames_to_next_wait())
        offset = self.offset
        fade = self.fade
        for block in self.queue:
            k = min(left, len(block) - offset)
            part = out[filled : filled + k]
            part[:] = block[offset : offset + k]
            if fade < FADE_FRAMES:
                m = min(k, FADE_FRAMES - fade)
                part[:m] *= FADE_IN[fade : fade + m]
                fade += m
            filled += k
            left -= k
            offset = 0
            if left <= 0:
                break
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

    def _wait_at(self, frame: int) -> _Wait | None:
        for w in self.waits:
            if w.start == frame and w.start not in self.waited:
                return w
        return None

    def _frames_to_next_wait(self) -> int:
        ahead = [w.start - self.cursor for w in self.waits if w.start > self.cursor]
        return min(ahead, default=self.total - self.cursor) or 1

    # -- positions -----------------------------------------------------------------
    def heard_ms(self) -> int:
        """The file time being heard now (the cursor, less what is still buffered)."""
        with self.lock:
            cursor = self.cursor
        buffered = max(0, self.output.pulled_frames() - self.output.played_frames())
        return (
            max(0, cursor - buffered) // FRAMES_PER_MS
            if not (self.paused or self.recovering)
            else (cursor // FRAMES_PER_MS)
        )

    def chapter_at(self, ms: int) -> tuple[int, Chapter]:
        index = 0
        for i, c in enumerate(self.steps):
            if c.start_ms <= ms:
                index = i
        return index, self.steps[index]

    def recue(self, ms: int) -> str:
        """What to say on going on from ``ms``: the step, the side, and the time left.

        "Resuming: Seated Spinal Twist, left side, 20 seconds left." In a sided step the
        time left is the side's: what the listener is holding now.
        """
        _, chapter = self.chapter_at(ms)
        part = self.timeline.side_at(ms)
        end = part.end_ms if part else chapter.end_ms
        where = chapter.title
        if part:
            side = part.side if part.side.casefold().endswith("side") else f"{part.side} side"
            where += f", {side}"
        return f"Resuming: {where}, {spoken(max(0, end - ms))} left."

    def status(self) -> dict[str, Any]:
        """A snapshot for ``voiceguide ctl status`` (called from the socket's thread)."""
        ms = self.heard_ms()
        index, chapter = self.chapter_at(ms)
        nxt = self.steps[index + 1].title if index + 1 < len(self.steps) else None
        return {
            "title": self.timeline.title,
            "state": "finished"
            if self.finished
            else "reconnecting"
            if self.recovering
            else "paused"
            if self.paused
            else "waiting"
            if self.waiting
            else "playing",
            "position": clock(ms - self.timeline.origin_ms),
            "position_ms": ms,
            "step": chapter.title,
            "side": side.side if (side := self.timeline.side_at(ms)) else None,
            "step_remaining_s": round((chapter.end_ms - ms) / 1000),
            "next": nxt,
            "volume_db": self.volume_db,
            "underruns": self.underruns,  # blocks not rendered in time
            "device_underruns": self.output.underflows,  # reported by the sound system
            "device_failures": self.device_failures,  # devices lost or stalled, reopened
            "device_messages": library_messages(),  # sound library lines kept off stderr
        }

    # -- actions -------------------------------------------------------------------
    def seek(self, ms: int) -> None:
        """Go on from file time ``ms`` (clears what was rendered ahead)."""
        frame = max(0, min(ms_to_frames(ms), self.total))
        with self.lock:
            self._restart(frame)
            self.cursor = frame
            self.waiting = None
            self.finished = frame >= self.total and self.complete
            self.waited = {w.start for w in self.waits if w.start < frame}

    def _rerender(self) -> None:
        """Render again from the cursor (a new volume), crossfading into it."""
        with self.lock:
            self._restart(self.cursor)

    def _restart(self, frame: int) -> None:
        """Drop what was rendered ahead (fading it out) and render again from ``frame``;
        called with the lock held."""
        self._cut(overlay=False)
        self.generation += 1
        self.restarting = True
        self.queue.clear()
        self.offset = 0
        self.render_from = frame
        self.wake.notify_all()

    def set_volume(self, volume_db: float) -> None:
        """Play at ``volume_db`` (clamped to VOLUME_RANGE_DB) from now on, without a step."""
        low, high = VOLUME_RANGE_DB
        volume_db = min(high, max(low, volume_db))
        if volume_db == self.volume_db:
            return
        self.volume_db = volume_db
        self._rerender()

    def say(self, text: str) -> None:
        """Speak ``text`` over the pause in the timeline (re-cues, reminders, what's next)."""
        from voiceguide.limiter import limit
        from voiceguide.render import CEILING_DBTP

        voice = next((e.voice for e in self.timeline.speech), None)
        if voice is None:
            from voiceguide.model import VoiceSettings

            voice = VoiceSettings()
        clip = self.bank.clip(text, voice).load()
        gain = 10 ** ((self.level.gain_db + self.level.post_gain_db + self.volume_db) / 20)
        spoken_clip = limit(clip * np.float32(gain), SAMPLE_RATE, CEILING_DBTP, true_peak=True)
        pad = np.zeros(ms_to_frames(300), dtype=np.float32)
        with self.lock:
            if not self.overlay:
                self._cut()  # the timeline (if it was playing) fades out under the pad
            self.overlay.extend([pad, spoken_clip, pad])

    def handle(self, command: Command) -> None:
        action = command.action
        ms = self.heard_ms()
        index, chapter = self.chapter_at(ms)
        if action is Action.STOP:
            self.stopping = True
            self.interrupted = command.interrupted
        elif action in (Action.PAUSE, Action.TOGGLE_PAUSE) and not self.paused:
            with self.lock:
                self._cut()
                self.paused = True
                self.overlay.clear()
        elif action in (Action.RESUME, Action.TOGGLE_PAUSE) and self.paused:
            self.say(self.recue(ms))
            with self.lock:
                self.paused = False
        elif action is Action.NEXT:
            if index + 1 < len(self.steps):
                self.seek(self.steps[index + 1].start_ms)
            elif self.complete:
                self.seek(self.timeline.duration_ms)
            # else: the next step is still being laid out (a cold start's first moments)
        elif action is Action.BACK:
            if ms - chapter.start_ms < BACK_RESTARTS_MS and index > 0:
                self.seek(self.steps[index - 1].start_ms)
            else:
                self.seek(chapter.start_ms)
        elif action is Action.REPEAT:
            self.seek(chapter.start_ms)
        elif action in (Action.VOLUME_UP, Action.VOLUME_DOWN):
            step = VOLUME_STEP_DB if action is Action.VOLUME_UP else -VOLUME_STEP_DB
            self.set_volume(self.volume_db + step)
        elif action is Action.WHATS_NEXT:
            nxt = self.steps[index + 1].title if index + 1 < len(self.steps) else "the end"
            left = spoken(max(0, chapter.end_ms - ms))
            self.say(f"{left} left in {chapter.title}. Next: {nxt}.")
        elif action is Action.READY:
            with self.lock:
                wait = self.waiting
            if wait is not None:
                self.waited.add(wait.start)
                self.seek(wait.end // FRAMES_PER_MS)
        elif action is Action.STATUS:
            command.respond(self.status())

    # -- the loop ------------------------------------------------------------------
    def start_rendering(self, head_start: int = 2) -> None:
        """Start the render thread and give it a head start of ``head_start`` blocks."""
        self.thread.start()
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.queue) >= head_start or self.finished:
                    return
            time.sleep(0.002)

    def wait_rendered(self, blocks: int = AHEAD_BLOCKS, timeout: float = 5.0) -> None:
        """Wait until ``blocks`` are queued (or the end is reached): for tests and seeks."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                left = self.total - self.cursor
                queued = sum(map(len, self.queue)) - self.offset
                if len(self.queue) >= blocks or queued >= left:
                    return
            time.sleep(0.002)

    def close(self) -> None:
        """Stop the render thread."""
        with self.lock:
            self.closed = True
            self.wake.notify_all()

    def run(self, hub: ControlHub) -> PlayResult:
        """Play to the end or until stopped; the output is stopped (not closed) on return.

        An output that fails while playing is reopened (see ``reopen``); ``self.output`` is
        then the new one (the failed one is closed here).
        """
        self.start_rendering()
        self.output.start(self.pull)
        reopening: _Reopening | None = None
        try:
            while True:
                for command in hub.take(timeout=0.05):  # coalesced: a burst is quick
                    self.handle(command)
                if self.stopping:
                    if reopening is None:
                        self.output.stop(drain=False)
                    break
                if self.render_failed is not None:
                    self.output.stop(drain=False)
                    raise self.render_failed
                if reopening is not None:
                    if not reopening.done.is_set():
                        continue
                    reopening = self._reopened(reopening)
                    continue
                if self.output.failed is not None:
                    reopening = self._lost(self.output.failed)
                    continue
                with self.lock:
                    waiting, finished = self.waiting, self.finished
                    overlay_left = bool(self.overlay)
                if waiting and not overlay_left and time.monotonic() >= self.next_remind:
                    if waiting.remind:
                        self.say(waiting.remind)
                    self.next_remind = time.monotonic() + max(5.0, waiting.every_ms / 1000)
                if finished and not overlay_left:
                    self.output.stop(drain=True)
                    break
                if self.on_progress:
                    self.on_progress(self.heard_ms())
        finally:
            if reopening is not None:
                reopening.cancel()
            self.close()
        position = self.timeline.duration_ms if self.finished else self.heard_ms()
        done = self.finished and not self.stopping
        return PlayResult(done, position, self.underruns, self.interrupted)

    def _lost(self, failure: BaseException) -> _Reopening:
        """The output failed: note where it was heard, release it, start reopening it."""
        error = (
            failure
            if isinstance(failure, AudioDeviceError)
            else AudioDeviceError(f"audio output failed: {failure}")
        )
        if self.reopen is None or not isinstance(failure, AudioDeviceError):
            raise error from (None if error is failure else failure)
        ms = self.heard_ms()  # what was buffered in the lost device is played again
        lost = self.output
        with contextlib.suppress(AudioDeviceError):
            lost.stop(drain=False)
        lost.close()
        self.device_failures += 1
        self.seek(ms)
        self.recovering = True
        return _Reopening(self.reopen, error, self.device_wait)

    def _reopened(self, reopening: _Reopening) -> _Reopening | None:
        """Go on with the reopened output, or give up (AudioDeviceError) after the wait."""
        if reopening.output is None:
            raise AudioDeviceError(
                f"{reopening.error}; the audio output could not be reopened within "
                f"{self.device_wait:g} s ({reopening.last}); {EXPORT_HINT}"
            )
        self.output = reopening.output
        self.recovering = False
        self.output.start(self.pull)
        return None


class _Reopening:
    """Reopening a failed output on a thread, every REOPEN_EVERY_SECONDS until ``wait``
    seconds have passed: the player loop goes on answering commands meanwhile."""

    def __init__(self, reopen: Callable[[], Output], error: AudioDeviceError, wait: float):
        self.reopen = reopen
        self.error = error
        self.last: AudioDeviceError = error
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

    def cancel(self) -> None:
        """Stop trying; an output opened meanwhile is closed."""
        with self._lock:
            self._cancelled.set()
            output, self.output = self.output, None
        if output is not None:
            output.close()
