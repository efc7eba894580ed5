"""A hands-free play from start to stop: the device, the session, the controls, the position.

The front door hands over what is laid out so far (the whole timeline, or on a cold start
its first part) with the level to start at, and the ``Layout`` it comes from. While the
layout goes on, each newer part is handed to the session; once every clip is stored, the
exact level (``render.cached_level``) follows. A stop saves the position for
``--resume``; an end clears it. The play's progress is shown on standard error
(``player.statusline``): a live line on a terminal, else one line per part.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from voiceguide.errors import Interrupted, VoiceguideError

if TYPE_CHECKING:
    from voiceguide.player.buttons import ButtonSource
    from voiceguide.player.session import PlayResult, Session
    from voiceguide.render import Level
    from voiceguide.timeline import Timeline
    from voiceguide.voices.cache import SpeechCache

FIRST_PART_MS = 1000  # a cold start plays once this much of the timeline is laid out


class Layout(Protocol):
    """A routine being laid out on a thread (``voiceguide.compile.job.Compiling``)."""

    def follow(
        self, listener: Callable[[Timeline, bool], None], on_error: Callable[[BaseException], None]
    ) -> None:
        """Call ``listener(timeline, complete)`` with each newer part and then the whole,
        starting with the latest now; ``on_error`` if the layout fails (or does not fit)."""
        ...

    def whole(self) -> Timeline:
        """The whole timeline (waits for it); raises what stopped the layout."""
        ...


def play_routine(
    script: Path,
    timeline: Timeline,
    level: Level,
    bank: SpeechCache,
    layout: Layout,
    *,
    complete: bool,
    start_ms: int | None = None,
    resume: bool = False,
    output: str | None = "auto",
    device: str | None = None,
    fast: bool = False,
    socket: Path | None = None,
    volume_db: float = 0.0,
    device_wait: float | None = None,
    buttons: ButtonSource | None = None,
    wait_start: bool = False,
    latency: float | None = None,
) -> PlayResult:
    """Play ``timeline`` (all of it laid out if ``complete``) from ``start_ms``, else from
    the saved position with ``resume``, else from the start; see ``pipeline.play``.
    ``buttons`` steer it too (their LED shows its state); with ``wait_start`` it waits,
    silent, for start. ``latency`` is the output's buffer in seconds (None: its default,
    or with buttons the shorter one they ask for, so a press is heard at once).

    Raises Interrupted after Ctrl-C or SIGTERM (the device released first).
    """
    from voiceguide.limits import DEVICE_WAIT_SECONDS
    from voiceguide.player import resume as positions
    from voiceguide.player.hub import ControlHub
    from voiceguide.player.library_noise import library_noise_counted
    from voiceguide.player.output import open_output
    from voiceguide.player.reopening import open_waiting
    from voiceguide.player.session import Session
    from voiceguide.player.sources import player_sources
    from voiceguide.player.statusline import StatusLine, terminal_stderr

    if start_ms is None:
        start_ms = (positions.load(script, timeline) or 0) if resume else 0
    if latency is None and buttons is not None:
        latency = buttons.output_latency()
    with contextlib.ExitStack() as stack:
        terminal = terminal_stderr()  # taken before fd 2 becomes the noise filter's pipe
        if terminal is not None:
            stack.callback(terminal.close)
        stack.enter_context(library_noise_counted())
        out = open_waiting(  # a device not there yet (a boot) is waited for too
            lambda: open_output(output, device, fast=fast, latency=latency),
            DEVICE_WAIT_SECONDS if device_wait is None else device_wait,
            lambda line: print(f"voiceguide: {line}", file=sys.stderr, flush=True),
        )
        stack.callback(out.close)  # the device is released however the play ends
        session = Session(
            timeline,
            bank,
            level,
            out,
            start_ms=start_ms,
            volume_db=volume_db,
            complete=complete,
            reopen=lambda: open_output(output, device, fast=fast, latency=latency),
            device_wait=DEVICE_WAIT_SECONDS if device_wait is None else device_wait,
            hold=wait_start,
        )
        stack.callback(lambda: session.output.close())  # a reopened one
        if not complete:
            _follow(layout, session, bank)
        elif bank.busy:
            _exact_level_later(session, bank, timeline)
        if resume and start_ms:
            if wait_start:
                session.start_words = session.recue(start_ms)
            else:
                session.say(session.recue(start_ms))
        if buttons is not None:
            buttons.state = session.state
        shown = StatusLine(session.status, lambda: session.timeline, session.parts, terminal)
        sources = player_sources(socket, terminal, [buttons] if buttons is not None else [])
        with ControlHub(sources, status=session.status) as hub:
            shown.start()
            session.on_command = lambda c, did: shown.control(c.action.value, c.origin.value, did)
            try:
                result = session.run(hub)
            finally:  # before the last words are printed, and after Ctrl-C too
                shown.stop()
        shown.journal_end(result.position_ms)
    if result.finished:
        positions.clear(script)
    else:
        # A routine that failed to compile has no position worth keeping.
        with contextlib.suppress(VoiceguideError):
            positions.save(script, layout.whole(), result.position_ms)
    if result.interrupted:
        raise Interrupted()
    return result


def _follow(layout: Layout, session: Session, bank: SpeechCache) -> None:
    """Hand the session each part of the timeline as it is laid out; then the exact level.

    Cues that do not fit (found only at the end) stop the play, as they would have stopped
    it before it began had the routine been compiled already.
    """

    def extend(timeline: Timeline, complete: bool) -> None:
        session.extend(timeline, complete=complete)
        if complete:
            _exact_level_later(session, bank, timeline)

    def failed(error: BaseException) -> None:
        session.abort(error if isinstance(error, Exception) else RuntimeError(str(error)))

    layout.follow(extend, failed)


def _exact_level_later(session: Session, bank: SpeechCache, timeline: Timeline) -> None:
    """On a thread: wait for the speech cache, then hand the session the exact level.

    A clip that fails to store is reported by the session's render thread, which loads it.
    """
    from voiceguide.render import cached_level

    def work() -> None:
        try:
            bank.wait()
            session.set_level(cached_level(timeline, bank))
        except VoiceguideError:
            pass

    threading.Thread(target=work, name="voiceguide-level", daemon=True).start()
