"""One play of a compiled routine through an audio output, steered by the control hub.

A session is the play's transport (``player.transport``: the position exact to the frame,
pause, waits, seeks and volume, over ``player.render_ahead``'s queue of rendered blocks)
with what drives it: the loop that hands the commands in, answers ``ctl status`` and
reminds the listener at a wait; the lines it speaks by itself (``player.announce``); and
an output that fails while playing, reopened (``player.reopening``) and played on from
where it was heard.

"Next", "back" and "repeat" move by part, and the time left is the part's (``player.parts``:
a step, a side of it, a rest, a wait). What the listener is shown is in routine time (0:00
is the first step); file time only where it is named so (``position_file_ms``).

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
from voiceguide.player.announce import recue, whats_next
from voiceguide.player.commands import Action, Command
from voiceguide.player.hub import ControlHub
from voiceguide.player.library_noise import library_messages
from voiceguide.player.parts import Part, next_part, part_at, parts, routine_clock, routine_ms
from voiceguide.player.reopening import Reopening, device_error
from voiceguide.player.transport import Transport
from voiceguide.render import render_speech
from voiceguide.timeline import Timeline
from voiceguide.units import FRAMES_PER_MS
from voiceguide.words import phrases

if TYPE_CHECKING:
    from voiceguide.dsp.samples import Samples
    from voiceguide.player.output import Output
    from voiceguide.render import Level
    from voiceguide.voices.base import SpeechBank

BACK_RESTARTS_MS = 5000  # "back" within this of a part's start goes to the part before
VOLUME_STEP_DB = 3.0
SAID_PAD_MS = 300  # silence before and after what the player says by itself
FAR_AHEAD_MS = 500  # an output pulling further ahead is restarted at each control


@dataclass
class PlayResult:
    """How a play ended: at the end, or stopped at ``position_ms`` (file time, as a resume
    keeps it); ``position`` is the same place as the listener reads it (routine time)."""

    finished: bool
    position_ms: int
    underruns: int
    interrupted: bool = False
    position: str = "0:00"


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
        hold: bool = False,
    ) -> None:
        """``reopen`` opens the output again when it fails while playing (a stall, a lost
        device); it is tried for ``device_wait`` seconds, the play going on from where it
        was heard. Without it, a failed output ends the play. With ``hold`` the play waits,
        silent, for start (``play --wait-start``): resume, pause/resume or ready begin it."""
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
        self.last: str | None = None  # what the last command did, for ``ctl status``
        # told of each command acted on (not STATUS) and what it did (None: nothing)
        self.on_command: Callable[[Command, str | None], None] | None = None
        self._parts: tuple[Timeline, tuple[Part, ...]] | None = None
        self.held = hold  # waiting for start: paused, and the first resume begins the play
        self.paused = hold
        self.start_words = ""  # said as the held play begins (the re-cue of --resume)
        self._end_pulled: int | None = None  # a far-ahead output's frames at the end

    def parts(self) -> tuple[Part, ...]:
        """The timeline's parts (``player.parts``), worked out again when it grows."""
        timeline = self.timeline
        if self._parts is None or self._parts[0] is not timeline:
            self._parts = (timeline, parts(timeline, self.words))
        return self._parts[1]

    def part_at(self, ms: int) -> tuple[Part | None, Part | None]:
        """The part file time ``ms`` is in, and the part after it."""
        all_parts = self.parts()
        part = part_at(all_parts, ms)
        return part, next_part(all_parts, part)

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
        pulled = self.output.pulled_frames() if self._end_pulled is None else self._end_pulled
        buffered = max(0, pulled - self.output.played_frames())
        return (
            max(0, cursor - buffered) // FRAMES_PER_MS
            if not (self.paused or self.recovering)
            else (cursor // FRAMES_PER_MS)
        )

    def recue(self, ms: int) -> str:
        """What to say on going on from ``ms`` (see ``announce.recue``)."""
        return recue(self.part_at(ms)[0], ms, self.words)

    def say(self, text: str) -> None:
        """Speak ``text`` while the timeline stands still (re-cues, reminders, what's next),
        mixed as the routine is: in its voice, at the level and volume it plays at."""
        if not text:
            return
        voice = next((e.voice for e in self.timeline.speech), VoiceSettings())
        with self.lock:
            level = self.ahead.playing_level()
        self.speak_over([render_speech(text, voice, self.ahead.bank, level, pad_ms=SAID_PAD_MS)])

    def state(self) -> str:
        """What the play is doing, as ``status`` says it ("waiting-start": for start)."""
        if self.finished:
            return "finished"
        if self.recovering:
            return "reconnecting"
        if self.held:
            return "waiting-start"
        return "paused" if self.paused else "waiting" if self.waiting else "playing"

    def status(self) -> dict[str, Any]:
        """A snapshot for ``voiceguide ctl status`` (called from the socket's thread)."""
        ms = self.heard_ms()
        timeline = self.timeline
        part, after = self.part_at(ms)
        return {
            "title": timeline.title,
            "state": self.state(),
            "position": routine_clock(timeline, ms),  # routine time: 0:00 is the first step
            "position_ms": routine_ms(timeline, ms),
            "position_file_ms": ms,  # in the timeline (and the export), the intro included
            "part": None
            if part is None
            else {
                "kind": part.kind,
                "name": part.name,
                "step": part.title,
                "side": part.side,
                "index": part.index,
                "start_ms": routine_ms(timeline, part.start_ms),  # routine time
                "end_ms": routine_ms(timeline, part.end_ms),
            },
            "remaining_s": round(part.left_ms(ms) / 1000) if part else None,  # in the part
            "next": after.name if after else None,
            "step": part.title if part else None,
            "side": part.side if part else None,
            "volume_db": self.volume_db,
            "last": self.last,  # what the last command did
            "underruns": self.underruns,  # blocks not rendered in time
            "device_underruns": self.output.underflows,  # reported by the sound system
            "device_failures": self.device_failures,  # devices lost or stalled, reopened
            "device_messages": library_messages(),  # sound library lines kept off stderr
        }

    # -- commands ------------------------------------------------------------------
    def handle(self, command: Command) -> None:
        """Act on ``command``; moves are by part (``player.parts``): a side, a rest, a wait."""
        action = command.action
        if action is Action.STATUS:
            command.respond(self.status())
            return
        far = action is not Action.STOP and not self.recovering and self._far_ahead()
        if far:  # stopped, and moved back to the place heard, so the control acts there
            self.output.stop(drain=False)
            self.seek(self.heard_ms())
            self.tail = None  # (what was pulled ahead is not heard: nothing to fade out)
            self._end_pulled = None
        try:
            self._act(command)
        finally:
            if far:
                self.output.start(self.pull)

    def _far_ahead(self) -> bool:
        """Whether the output runs far ahead of the listener (simpleaudio's long buffers)."""
        return self.output.latency_frames() > FAR_AHEAD_MS * FRAMES_PER_MS

    def _buffered_far(self) -> bool:
        """Whether such an output still has more than FAR_AHEAD_MS of the routine to play
        (at the end, the loop goes on answering controls until it has not)."""
        if not self._far_ahead():
            return False
        end = self.output.pulled_frames() if self._end_pulled is None else self._end_pulled
        left = end - self.output.played_frames()
        return left > FAR_AHEAD_MS * FRAMES_PER_MS

    def pull(self, n: int) -> Samples:
        """The transport's ``pull``, noting where the end was pulled for a far-ahead output
        (which goes on pulling silence after it)."""
        block = super().pull(n)
        if self.finished and self._end_pulled is None and self._far_ahead():
            self._end_pulled = self.output.pulled_frames() + n
        return block

    def _act(self, command: Command) -> None:
        action = command.action
        ms = self.heard_ms()
        part, after = self.part_at(ms)
        w = self.words
        did: str | None = None
        if action is Action.STOP:
            self.stopping = True
            self.interrupted = command.interrupted
            did = w.did_stop
        elif self.held and action in (Action.RESUME, Action.TOGGLE_PAUSE, Action.READY):
            self.held = False
            self.say(self.start_words)
            self.resume()
            did = w.did_start
        elif self.held and action is Action.PAUSE:
            pass  # it is silent already; only start begins it
        elif action in (Action.PAUSE, Action.TOGGLE_PAUSE) and not self.paused:
            self.pause()
            did = w.did_pause
        elif action in (Action.RESUME, Action.TOGGLE_PAUSE) and self.paused:
            self.say(self.recue(ms))
            self.resume()
            did = w.did_resume
        elif action is Action.NEXT:
            if after is not None:
                self.seek(after.start_ms)
                did = w.did_skip.format(part=after.name)
            elif self.ahead.complete:
                self.seek(self.timeline.duration_ms)
                did = w.did_skip.format(part=w.the_end)
            # else: the next part is still being laid out (a cold start's first moments)
        elif action in (Action.BACK, Action.REPEAT) and part is not None:
            to = part
            if action is Action.BACK and ms - part.start_ms < BACK_RESTARTS_MS and part.index:
                to = self.parts()[part.index - 1]
            self.seek(to.start_ms)
            did = (w.did_back if action is Action.BACK else w.did_repeat).format(part=to.name)
        elif action in (Action.VOLUME_UP, Action.VOLUME_DOWN):
            step = VOLUME_STEP_DB if action is Action.VOLUME_UP else -VOLUME_STEP_DB
            self.set_volume(self.volume_db + step)
            did = w.did_volume.format(db=self.volume_db)
        elif action is Action.WHATS_NEXT:
            self.say(whats_next(part, after, ms, w))
            did = w.did_whats_next
        elif action is Action.READY:
            self.release()
            did = w.did_ready
        if did is not None:
            self.last = did
        if self.on_command is not None:
            self.on_command(command, did)

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
                if finished and not overlay_left and not self._buffered_far():
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
        shown = routine_clock(self.timeline, position)
        return PlayResult(done, position, self.underruns, self.interrupted, shown)

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
