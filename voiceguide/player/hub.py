"""The control hub: one queue of commands, fed by any number of sources, read by the player.

A running ``voiceguide play`` is steered without a screen, by its socket (``voiceguide
ctl``), by signals and by keys at a terminal, and as much by anything else that can yield a
``Command`` (GPIO buttons, a web remote). Each of those is a ``Source``: the hub starts
them, they put commands, the player loop takes them, and the player alone decides what each
action does. A new source is a new class; no other source and no hub code changes::

    with ControlHub(player_sources(socket), status=player.status) as hub:
        while playing:
            for command in hub.take(timeout=0.05):      # coalesced: what to act on
                ...                                     # the player acts on command.action
    # closed: each source stopped, in reverse order

The player takes every command waiting at once and acts on them in order, but what cancels
out is dropped (``coalesce``): a burst of pause and resume becomes the state it ends in, and
a ``stop`` takes effect at once, ahead of anything queued before it.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from voiceguide.player.commands import Action, Command, Origin


class Source(Protocol):
    """Anything that yields commands: started with the hub it puts them to, then closed.

    ``start`` may raise (the hub then closes what it started and lets the error through);
    ``close`` must be safe to call more than once, and when ``start`` failed or never ran.
    """

    def start(self, hub: ControlHub) -> None: ...

    def close(self) -> None: ...


class NoStatus(Exception):
    """The player's status could not be had (the callback failed, or no answer in time)."""


StatusFn = Callable[[], Mapping[str, object]]

_PAUSING = (Action.PAUSE, Action.RESUME, Action.TOGGLE_PAUSE)
WAIT_SLICE_S = 0.1
"""The longest a wait for a command goes without running Python code (see ``get``)."""


def coalesce(commands: list[Command]) -> list[Command]:
    """``commands`` as the player should act on them: in order, less what cancels out.

    - A STOP wins: the first one is all that is left (with the STATUS requests, which are
      answered): nothing queued before it is worth doing first.
    - A run of PAUSE, RESUME and TOGGLE becomes its last PAUSE or RESUME, followed by one
      TOGGLE if an odd number of them came after it (a run of toggles alone: one or none).
    - Repeated WHATS_NEXT in a row are said once.

    Everything else is kept, in order (the volume steps are cheap and clamped one by one).
    """
    stop = next((c for c in commands if c.action is Action.STOP), None)
    if stop is not None:
        return [c for c in commands if c.action is Action.STATUS] + [stop]
    out: list[Command] = []
    run: list[Command] = []

    def flush() -> None:
        explicit = [i for i, c in enumerate(run) if c.action is not Action.TOGGLE_PAUSE]
        if explicit:
            last = explicit[-1]
            out.append(run[last])
            toggles = run[last + 1 :]
        else:
            toggles = run
        if len(toggles) % 2:
            out.append(toggles[-1])
        run.clear()

    for command in commands:
        if command.action in _PAUSING:
            run.append(command)
            continue
        if run:
            flush()
        if command.action is Action.WHATS_NEXT and out and out[-1].action is Action.WHATS_NEXT:
            continue
        out.append(command)
    if run:
        flush()
    return out


class _Answer:
    """A reply slot: a source's thread waits on it for the player's answer to STATUS."""

    def __init__(self) -> None:
        self.text = ""
        self._done = threading.Event()

    def set(self, text: str) -> None:
        if not self._done.is_set():
            self.text = text
            self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)


class ControlHub:
    """The one queue of commands the player loop polls, fed by its sources.

    ``status`` is called from a source's thread for each ``status`` request and must return
    a JSON-serialisable mapping quickly, without locking anything the player holds for long
    (a snapshot the player replaces as a whole is ideal). Without it, STATUS is queued like
    any command and the player answers it with ``Command.respond`` within ``status_timeout``
    seconds. ``start`` (or ``with``) runs in the main thread when a source needs it to
    (signals).
    """

    def __init__(
        self,
        sources: Iterable[Source] = (),
        *,
        status: StatusFn | None = None,
        status_timeout: float = 2.0,
    ) -> None:
        self._queue: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._sources: list[Source] = list(sources)
        self._running: list[Source] = []
        self._status = status
        self.status_timeout = status_timeout
        self.stop_requested = False  # a STOP was queued (from any source)
        self._started = False

    # -- the sources' side

    def put(self, command: Command) -> None:
        """Queue ``command``: from any thread, and from a signal handler (a plain assignment
        and ``SimpleQueue.put``, which is reentrant, only)."""
        if command.action is Action.STOP:
            self.stop_requested = True
        self._queue.put(command)

    def status(self, origin: Origin) -> str:
        """The player's status as one line of JSON, for a request from ``origin``; raises
        NoStatus when there is none."""
        if self._status is not None:
            try:
                return json.dumps(dict(self._status()), default=str)
            except Exception as exc:
                raise NoStatus(f"status failed: {type(exc).__name__}: {exc}") from None
        answer = _Answer()
        self.put(Command(Action.STATUS, origin, reply_to=answer.set))
        if answer.wait(self.status_timeout):
            return answer.text
        raise NoStatus("the player did not answer")

    # -- the player's side

    def get(self, timeout: float | None = None) -> Command | None:
        """The next command, waiting up to ``timeout`` seconds (None: until one comes).

        It waits in slices of at most WAIT_SLICE_S: a signal the kernel hands to another
        thread does not interrupt the main thread's wait, and Python runs the handler (which
        queues the command) only when the main thread next runs Python code; without the
        slices a stop signal could wait for the whole timeout (a test caught one)."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            left = WAIT_SLICE_S if deadline is None else deadline - time.monotonic()
            try:
                return self._queue.get(timeout=min(WAIT_SLICE_S, max(0.0, left)))
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    return None

    def poll(self) -> Command | None:
        """The next command if one is waiting, else None (never blocks)."""
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def take(self, timeout: float | None = None) -> list[Command]:
        """Every command waiting (after waiting up to ``timeout`` seconds for the first),
        coalesced (``coalesce``): what the player acts on, in order."""
        first = self.get(timeout)
        if first is None:
            return []
        batch = [first]
        while (more := self.poll()) is not None:
            batch.append(more)
        return coalesce(batch)

    # -- life cycle

    def add(self, source: Source) -> None:
        """Register ``source``; it is started at once if the hub is running."""
        self._sources.append(source)
        if self._started:
            self._start(source)

    def start(self) -> ControlHub:
        """Start every source, in order. When one fails to start, those already started are
        closed and its error is raised (PlayerRunning, say): nothing is left started."""
        if self._started:
            return self
        self._started = True
        try:
            for source in self._sources:
                self._start(source)
        except BaseException:
            self.close()
            raise
        return self

    def _start(self, source: Source) -> None:
        self._running.append(source)  # closed even if its start fails half-way
        source.start(self)

    def close(self) -> None:
        """Close every source started, the last first. Safe to call more than once."""
        while self._running:
            source = self._running.pop()
            try:
                source.close()
            except BaseException:
                self.close()  # the others still, then the first error
                raise

    def __enter__(self) -> ControlHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
