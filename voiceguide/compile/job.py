"""The compiler on a thread, handing on the timeline's prefixes as they are laid out.

The first time a routine plays, every cue has to be spoken into the speech cache before the
whole timeline is known (each clip's length places what follows it). ``Compiling`` runs
``compile_routine`` on a thread and hands on its prefixes (everything before a point that
nothing later can change), so a player can start on the first one: the intro's first
paragraph, or the first step. A follower gets each newer prefix, then the whole, or the
error that stopped the compiler (cues that do not fit included: ``refuse_misfits``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from voiceguide.compile.layout import Compiled, compile_routine
from voiceguide.errors import CueFitError
from voiceguide.model import Routine
from voiceguide.timeline import Timeline
from voiceguide.voices.cache import SpeechCache

Listener = Callable[[Timeline, bool], None]
ErrorListener = Callable[[BaseException], None]


def refuse_misfits(compiled: Compiled, consequence: str) -> None:
    """Raise CueFitError, listing them, if cues of ``compiled`` do not fit; ``consequence``
    ends its first line ("nothing was exported", "run 'voiceguide check'")."""
    if compiled.issues:
        lines = "\n".join(f"{i}\n  fix: {i.fix}" if i.fix else str(i) for i in compiled.issues)
        n = len(compiled.issues)
        did = "1 cue does" if n == 1 else f"{n} cues do"
        raise CueFitError(f"{did} not fit; {consequence}:\n{lines}", compiled.issues)


class Compiling:
    """``compile_routine`` on a thread; ``first`` waits for something to play.

    A follower's whole timeline must fit: if cues do not, it gets a CueFitError (with
    ``misfits`` as its consequence) instead.
    """

    def __init__(self, routine: Routine, bank: SpeechCache, misfits: str) -> None:
        self.routine = routine
        self.bank = bank
        self.misfits = misfits
        self._cond = threading.Condition()
        self._prefix: Timeline | None = None
        self._compiled: Compiled | None = None
        self._error: BaseException | None = None
        self._listener: Listener | None = None
        self._on_error: ErrorListener | None = None
        threading.Thread(target=self._run, name="voiceguide-compile", daemon=True).start()

    def _run(self) -> None:
        try:
            compiled = compile_routine(self.routine, self.bank, self._on_final)
        except BaseException as exc:  # handed to whoever waits, or to the player
            with self._cond:
                self._error = exc
                on_error = self._on_error
                self._cond.notify_all()
            if on_error is not None:
                on_error(exc)
            return
        with self._cond:
            self._compiled = compiled
            listener, on_error = self._listener, self._on_error
            self._cond.notify_all()
        if listener is not None and on_error is not None:
            self._hand_on(compiled, listener, on_error)

    def _on_final(self, prefix: Timeline) -> None:
        with self._cond:
            self._prefix = prefix
            listener = self._listener
            self._cond.notify_all()
        if listener is not None:
            listener(prefix, False)

    def _hand_on(self, compiled: Compiled, listener: Listener, on_error: ErrorListener) -> None:
        """The whole to a follower, if its cues fit."""
        try:
            refuse_misfits(compiled, self.misfits)
        except CueFitError as exc:
            on_error(exc)
            return
        listener(compiled.timeline, True)

    def first(self, min_ms: int) -> Compiled | Timeline:
        """The whole, once laid out; but if cues have to be spoken into the cache (a cold
        start), a prefix of at least ``min_ms`` as soon as there is one. Raises what
        stopped the compiler."""
        with self._cond:
            while True:
                if self._error is not None:
                    raise self._error
                if self._compiled is not None:
                    return self._compiled
                prefix = self._prefix
                if prefix is not None and prefix.duration_ms >= min_ms and self.bank.misses:
                    return prefix
                self._cond.wait(0.05)

    def result(self) -> Compiled:
        """The whole compiled routine (waits for it)."""
        with self._cond:
            while self._compiled is None and self._error is None:
                self._cond.wait()
            if self._error is not None:
                raise self._error
            assert self._compiled is not None
            return self._compiled

    def whole(self) -> Timeline:
        """The whole timeline (waits for it); raises what stopped the compiler."""
        return self.result().timeline

    def follow(self, listener: Listener, on_error: ErrorListener) -> None:
        """Call ``listener(timeline, complete)`` with each newer prefix and the whole (from
        the compiler's thread), starting with the latest now; ``on_error`` if it fails."""
        with self._cond:
            self._listener, self._on_error = listener, on_error
            error, compiled, prefix = self._error, self._compiled, self._prefix
        if error is not None:
            on_error(error)
        elif compiled is not None:
            self._hand_on(compiled, listener, on_error)
        elif prefix is not None:
            listener(prefix, False)
