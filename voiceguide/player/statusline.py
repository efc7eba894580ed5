"""What a play shows while it runs: a live status line on a terminal, else a journal.

On a terminal (standard error) one line is redrawn in place, at most ``REDRAW_HZ`` times a
second and only when it changes: the routine, the part being done (the step and its side),
the time left in it as a bar and as m:ss, the next part, the volume, the state, and what
the last key did. It is drawn with rich, imported only then. Without a terminal nothing is
drawn: one line per part goes to standard error as it begins ("0:00 Cat-Cow Stretch"),
for a journal, and one per control action, with where it came from and what it did
("voiceguide: next (socket) -> skipped to Child's Pose").

Everything comes from ``Session.status()``, read on a thread of its own (a terminal that
blocks, as after Ctrl-S, holds up only that thread) and from the timeline, for the parts'
lengths when the status does not give them.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from voiceguide.player.parts import Part, part_at
from voiceguide.timeline import Timeline
from voiceguide.units import clock

REDRAW_HZ = 4
BAR_WIDTH = 12
JOURNAL_LINE = re.compile(r"^-?(\d+:)?\d+:\d\d \S")  # "0:00 Cat-Cow Stretch"

STATES = {
    "playing": "playing",
    "paused": "paused",
    "waiting": "waiting for ready (Enter)",
    "waiting-start": "waiting for start",
    "reconnecting": "reconnecting",
    "resuming": "resuming",
    "finished": "finished",
}


def label(step: str, side: str | None) -> str:
    """A part's name: the step, with its side when it has one."""
    return f"{step} · {side}" if side and not step.endswith(side) else step


def file_ms(status: dict[str, Any]) -> int:
    """The file time a status was taken at."""
    return int(status.get("position_file_ms", 0))


def part_span(status: dict[str, Any], all_parts: tuple[Part, ...]) -> tuple[int, int] | None:
    """Where the current part (``player.parts``) starts and ends, in file time: the one the
    status names, else the one at its position."""
    index = (status.get("part") or {}).get("index")
    if isinstance(index, int) and 0 <= index < len(all_parts):
        part: Part | None = all_parts[index]
    else:
        part = part_at(all_parts, file_ms(status))
    return None if part is None else (part.start_ms, part.end_ms)


def current_label(status: dict[str, Any]) -> str:
    part = status.get("part") or {}
    step = part.get("step") or part.get("name") or status.get("step") or ""
    return label(str(step), part.get("side", status.get("side")))


def bar(done: float, width: int = BAR_WIDTH) -> str:
    """A bar ``width`` characters wide, ``done`` (0 to 1) of it filled."""
    filled = round(max(0.0, min(1.0, done)) * width)
    return "━" * filled + "─" * (width - filled)


def fields(status: dict[str, Any], span: tuple[int, int] | None) -> list[str]:
    """The status line's pieces, in order: title, part, bar and time left, next, volume,
    state, and the last key's effect (the status's ``last``, else ``last``)."""
    ms = file_ms(status)
    if span is not None:
        start, end = span
        left_s = max(0, end - ms) / 1000
        done = (ms - start) / (end - start) if end > start else 1.0
    else:
        left_s, done = float(status.get("remaining_s") or 0), 0.0
    left = f"{bar(done)} {clock(round(left_s) * 1000)} left"
    pieces = [str(status.get("title", "")), current_label(status), left]
    pieces.append(f"next: {status['next']}" if status.get("next") else "last part")
    pieces.append(f"{float(status.get('volume_db', 0.0)):+g} dB")
    state = str(status.get("state", ""))
    pieces.append(STATES.get(state, state))
    if status.get("last"):
        pieces.append(str(status["last"]))
    return pieces


def line_text(status: dict[str, Any], span: tuple[int, int] | None) -> str:
    """The status line as plain text."""
    return " │ ".join(fields(status, span))


class Journal:
    """One line per part as it begins, for a stream that is not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last_ms: int | None = None
        self.held = False  # "waiting for start" was written (play --wait-start)

    def tick(self, status: dict[str, Any], timeline: Timeline, every: tuple[Part, ...]) -> None:
        """Write the parts begun since the last tick (all passed going forward; the one
        landed in after a step back), and when the play waits for start and starts."""
        ms = file_ms(status)
        held = status.get("state") == "waiting-start"
        if held != self.held:
            self.held = held
            what = "waiting for start" if held else "started"
            at = ms if held or self.last_ms is None else self.last_ms  # where it waited
            self.stream.write(f"{clock(at - timeline.origin_ms)} {what}\n")
        if self.last_ms is None or ms < self.last_ms:
            landed = [p for p in every if p.start_ms <= ms < p.end_ms][:1]
            # Back within the part it was in is no new part: the place heard a moment
            # earlier (a re-cue spoken as a pause ends), or a repeat (its control line).
            was = None if self.last_ms is None else part_at(every, self.last_ms)
            begun = [p for p in landed if was is None or p.index != was.index]
        else:
            begun = [p for p in every if self.last_ms < p.start_ms <= ms]
        self.last_ms = ms
        for part in begun:
            self.stream.write(f"{clock(part.start_ms - timeline.origin_ms)} {part.name}\n")
        if begun:
            self.stream.flush()


CONTROL_LINE = re.compile(r"^voiceguide: [a-z-]+ \([a-z]+\) -> \S")  # a control action


def control_text(action: str, origin: str, did: str | None) -> str:
    """The journal's line for a control action: its word, where it came from, its effect."""
    return f"voiceguide: {action} ({origin}) -> {did or 'no effect'}"


def terminal_stderr() -> TextIO | None:
    """Standard error's terminal as a stream of its own (a duplicate of fd 2), or None when
    standard error is not a terminal.

    While playing, fd 2 is a pipe that passes on whole lines only (``library_noise``): a
    line redrawn in place must go to the terminal itself.
    """
    with contextlib.suppress(OSError, ValueError):
        if os.isatty(2):
            return open(os.dup(2), "w", encoding="utf-8", errors="replace")  # noqa: SIM115
    return None


class StatusLine:
    """Shows a play's progress on ``stream`` (standard error by default): a live line if
    it is a terminal, else a journal. ``start`` it with the play; ``stop`` it before the last words
    (it leaves the terminal tidy: the line cleared, the cursor shown)."""

    def __init__(
        self,
        status: Callable[[], dict[str, Any]],
        timeline: Callable[[], Timeline],
        parts: Callable[[], tuple[Part, ...]],
        stream: TextIO | None = None,
    ) -> None:
        self.status = status
        self.timeline = timeline
        self.parts = parts  # the timeline's parts (``player.parts``), as the play knows them
        self.stream = stream or sys.stderr
        self.live = _isatty(self.stream)
        self.journal = None if self.live else Journal(self.stream)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._console: Any = None
        self._shown = ""
        # journal lines to write, each with the status just after its action: the part it
        # leads to is journaled after it even when the next tick comes after a stop
        self._actions: collections.deque[tuple[str, dict[str, Any]]] = collections.deque()

    def start(self) -> None:
        if self.live:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False, soft_wrap=False)
            self._console.show_cursor(False)
        self.tick()  # the part it starts in, before the play moves on
        self._thread = threading.Thread(target=self._run, name="voiceguide-status", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop drawing, and clear the line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        with contextlib.suppress(OSError, ValueError):
            self._write_actions()  # those of the last moments (a stop)
        with contextlib.suppress(OSError, ValueError):
            if self._console is not None:
                self.stream.write("\r\x1b[2K")
                self._console.show_cursor(True)
                self.stream.flush()
                self._console = None

    def control(self, action: str, origin: str, did: str | None) -> None:
        """Journal a control action (``control_text``), from the player's thread: written
        by the status thread, before the part it leads to. Nothing on a terminal, whose
        line shows the last one's effect."""
        if self.journal is not None:
            self._actions.append((control_text(action, origin, did), self.status()))

    def _write_actions(self) -> None:
        if self.journal is None or not self._actions:
            return
        while self._actions:
            line, after = self._actions.popleft()
            self.stream.write(line + "\n")
            self.journal.tick(after, self.timeline(), self.parts())
        self.stream.flush()

    def journal_end(self, position_ms: int) -> None:
        """Journal the parts begun up to where the play ended (file time ``position_ms``):
        a fast play can pass several between two ticks."""
        if self.journal is not None:
            with contextlib.suppress(OSError, ValueError):
                self.journal.tick({"position_file_ms": position_ms}, self.timeline(), self.parts())

    def _run(self) -> None:
        try:
            while True:
                self.tick()
                if self._stop.wait(1 / REDRAW_HZ):
                    return
        except (OSError, ValueError):  # the stream went away: play on without it
            return

    def tick(self) -> None:
        """Read the status once and show it."""
        if self.journal is not None:
            self._write_actions()  # before the status is read: it is the newer
            self.journal.tick(self.status(), self.timeline(), self.parts())
            return
        status = self.status()
        self._draw(status, part_span(status, self.parts()))

    def _draw(self, status: dict[str, Any], span: tuple[int, int] | None) -> None:
        from rich.text import Text

        text = line_text(status, span)
        if text == self._shown:
            return
        self._shown = text
        width = max(10, self._console.width - 1)
        styles = ["bold", "bold cyan", "green", "", "magenta", "yellow", "bold"]
        pieces = list(zip(fields(status, span), styles, strict=False))
        for drop in (3, 0):  # too wide: without the next part, then without the title
            if len(" │ ".join(p for p, _ in pieces)) > width:
                del pieces[drop]
        line = Text(no_wrap=True, overflow="ellipsis")
        for i, (piece, style) in enumerate(pieces):
            if i:
                line.append(" │ ", style="dim")
            line.append(piece, style=style)
        line.truncate(width, overflow="ellipsis")
        self.stream.write("\r")
        self._console.print(line, end="")
        self.stream.write("\x1b[K")
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
