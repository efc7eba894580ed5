"""One play of a compiled routine through an audio output, steered by the control hub.

A session is the play's transport (``player.transport``: the position exact to the frame,
pause, waits, seeks and volume, over ``player.render_ahead``'s queue of rendered blocks)
with what drives it: the loop that hands the commands in, answers ``ctl status`` and
reminds the listener at a wait; the lines it speaks by itself (``player.announce``); and
an output that fails while playing, reopened (``player.reopening``) and played on from
where it was heard.

What it speaks (a re-cue after a pause, "what's next", a reminder while waiting) is mixed
as the routine is (``render_speech``): the same renderer, at the play's level and volume,
so it is as loud as the routine and under the same limiter.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voiceguide.errors import AudioDeviceError
from voiceguide.limits import DEVICE_WAIT_SECONDS
from voiceguide.model import VoiceSettings
from voiceguide.player.announce import chapter_at, next_title, recue, whats_next
from voiceguide.player.commands import Action, Command
from voiceguide.player.hub import ControlHub
from voiceguide.player.library_noise import library_messages
from voiceguide.player.reopening import Reopening, device_error
from voiceguide.player.transport import Transport
from voiceguide.render import render_speech
from voiceguide.timeline import Timeline
from voiceguide.units import FRAMES_PER_MS, clock
from voiceguide.words import phrases

if TYPE_CHECKING:
    from voiceguide.player.output import Output
    from voiceguide.render import Level
    from voiceguide.voices.base import SpeechBank

BACK_RESTARTS_MS = 5000  # "back" within this of a step's start goes to the step before
VOLUME_STEP_DB = 3.0
SAID_PAD_MS = 300  # silence before and after what the player says by itself


@dataclass
class PlayResult:
    """How a play ended: at the end, or stopped at ``position_ms`` (file time)."""

    finished: bool
    position_ms: int
    underruns: int
    interrupted: bool = False


class Session(Transport):
    """One play of one timeline: the transport, the commands, what it says, and the loop."""

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
        device); it is tried for ``device_wait`` seconds, the play going on from where it
        was heard. Without it, a failed output ends the play."""
        super().__init__(
            timeline, bank, level, start_ms=start_ms, volume_db=volume_db, complete=complete
        )
        self.output = output
        self.reopen = reopen
        self.device_wait = device_wait
        self.words = phrases()  # the language the player speaks in
        self.recovering = False  # the output failed: reopening it
        self.stopping = False
        self.interrupted = False  # stopped by Ctrl-C or a signal
        self.device_failures = 0  # audio devices lost or stalled, and reopened
        self.on_progress = on_progress

    def abort(self, error: Exception) -> None:
        """End the play with ``error`` (from the loop, as a failed render would)."""
        with self.lock:
            self.ahead.failed = error

    def set_level(self, level: Level) -> None:
        """Go on at ``level`` without a seam (see ``RenderAhead.set_level``)."""
        self.ahead.set_level(level)

    # -- what it says and shows ----------------------------------------------------
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

    def recue(self, ms: int) -> str:
        """What to say on going on from ``ms`` (see ``announce.recue``)."""
        return recue(self.timeline, ms, self.words)

    def say(self, text: str) -> None:
        """Speak ``text`` while the timeline stands still (re-cues, reminders, what's next),
        mixed as the routine is: in its voice, at the level and volume it plays at."""
        voice = next((e.voice for e in self.timeline.speech), VoiceSettings())
        with self.lock:
            level = self.ahead.playing_level()
        self.speak_over([render_speech(text, voice, self.ahead.bank, level, pad_ms=SAID_PAD_MS)])

    def status(self) -> dict[str, Any]:
        """A snapshot for ``voiceguide ctl status`` (called from the socket's thread)."""
        ms = self.heard_ms()
        index, chapter = chapter_at(self.timeline, ms)
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
            "next": next_title(self.timeline, index),
            "volume_db": self.volume_db,
            "underruns": self.underruns,  # blocks not rendered in time
            "device_underruns": self.output.underflows,  # reported by the sound system
            "device_failures": self.device_failures,  # devices lost or stalled, reopened
            "device_messages": library_messages(),  # sound library lines kept off stderr
        }

    # -- commands ------------------------------------------------------------------
    def handle(self, command: Command) -> None:
        action = command.action
        ms = self.heard_ms()
        index, chapter = chapter_at(self.timeline, ms)
        steps = self.timeline.chapters
        if action is Action.STOP:
            self.stopping = True
            self.interrupted = command.interrupted
        elif action in (Action.PAUSE, Action.TOGGLE_PAUSE) and not self.paused:
            self.pause()
        elif action in (Action.RESUME, Action.TOGGLE_PAUSE) and self.paused:
            self.say(self.recue(ms))
            self.resume()
        elif action is Action.NEXT:
            if index + 1 < len(steps):
                self.seek(steps[index + 1].start_ms)
            elif self.ahead.complete:
                self.seek(self.timeline.duration_ms)
            # else: the next step is still being laid out (a cold start's first moments)
        elif action is Action.BACK:
            if ms - chapter.start_ms < BACK_RESTARTS_MS and index > 0:
                self.seek(steps[index - 1].start_ms)
            else:
                self.seek(chapter.start_ms)
        elif action is Action.REPEAT:
            self.seek(chapter.start_ms)
        elif action in (Action.VOLUME_UP, Action.VOLUME_DOWN):
            step = VOLUME_STEP_DB if action is Action.VOLUME_UP else -VOLUME_STEP_DB
            self.set_volume(self.volume_db + step)
        elif action is Action.WHATS_NEXT:
            self.say(whats_next(self.timeline, ms, self.words))
        elif action is Action.READY:
            self.release()
        elif action is Action.STATUS:
            command.respond(self.status())

    # -- the loop ------------------------------------------------------------------
    def run(self, hub: ControlHub) -> PlayResult:
        """Play to the end or until stopped; the output is stopped (not closed) on return.

        An output that fails while playing is reopened (see ``reopen``); ``self.output`` is
        then the new one (the failed one is closed here).
        """
        self.start_rendering()
        self.output.start(self.pull)
        reopening: Reopening | None = None
        try:
            while True:
                for command in hub.take(timeout=0.05):  # coalesced: a burst is quick
                    self.handle(command)
                if self.stopping:
                    if reopening is None:
                        self.output.stop(drain=False)
                    break
                if self.ahead.failed is not None:
                    self.output.stop(drain=False)
                    raise self.ahead.failed
                if reopening is not None:
                    if reopening.done.is_set():
                        self._reopened(reopening)
                        reopening = None
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

    def _lost(self, failure: BaseException) -> Reopening:
        """The output failed: note where it was heard, release it, start reopening it."""
        error = device_error(failure)
        if self.reopen is None or error is not failure:
            raise error from (None if error is failure else failure)
        ms = self.heard_ms()  # what was buffered in the lost device is played again
        lost = self.output
        with contextlib.suppress(AudioDeviceError):
            lost.stop(drain=False)
        lost.close()
        self.device_failures += 1
        self.seek(ms)
        self.recovering = True
        return Reopening(self.reopen, error, self.device_wait)

    def _reopened(self, reopening: Reopening) -> None:
        """Go on with the reopened output, or give up (AudioDeviceError) after the wait."""
        self.output = reopening.reopened()
        self.recovering = False
        self.output.start(self.pull)
