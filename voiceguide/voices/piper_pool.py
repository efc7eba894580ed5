"""The workers of a piper batch: a process per core, and the results in request order.

Worker processes start by forkserver where there is one, else spawn: never a fork of a
process with onnxruntime threads. Each loads the voice once (``piper_speak.load``) and
leaves Ctrl-C to this process. A batch abandoned before its end (an error elsewhere in
the compile, Ctrl-C, exit) stops its workers at once rather than letting the interpreter
wait, at exit, for every text still queued.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from voiceguide.errors import EngineError

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future
    from multiprocessing.process import BaseProcess

    from voiceguide.voices.base import Samples
    from voiceguide.voices.piper_speak import Job

MAX_WORKERS = 2
"""Worker processes for a batch: one per core, at most this many (each holds ~330-490 MB)."""

_LIVE: weakref.WeakSet[Executor] = weakref.WeakSet()
_HOOKED = threading.Lock()
_hooked = False


def cores() -> int:
    """The cores this process may run on, at most MAX_WORKERS."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, count))


class Results:
    """``speak`` of each job, run by ``workers`` workers from now on, in job order."""

    def __init__(self, jobs: Sequence[Job], workers: int) -> None:
        from voiceguide.voices.piper_speak import speak, speak_in_worker

        self._pool = _pool(workers)
        run: Callable[[Job], tuple[Samples, int]] = speak if workers <= 1 else speak_in_worker
        self._futures: list[Future[tuple[Samples, int]]] = [self._pool.submit(run, j) for j in jobs]
        self._next = 0

    def __iter__(self) -> Results:
        return self

    def __next__(self) -> tuple[Samples, int]:
        from concurrent.futures.process import BrokenProcessPool

        if self._next >= len(self._futures):
            raise StopIteration
        future = self._futures[self._next]
        self._next += 1
        if self._next == len(self._futures):
            self._pool.shutdown(wait=False)  # the workers end when the last text is done
        try:
            return future.result()
        except BrokenProcessPool:
            self.close()
            raise EngineError(
                "a piper worker process died; fix: run the command again (if it keeps "
                "happening, check free memory: each worker holds a voice)"
            ) from None

    @property
    def futures(self) -> list[Future[tuple[Samples, int]]]:
        """Each job's future, in job order."""
        return list(self._futures)

    def processes(self) -> list[BaseProcess]:
        """The worker processes started so far (none for a single worker, a thread)."""
        return list((getattr(self._pool, "_processes", None) or {}).values())

    def close(self) -> None:
        """Stop: queued texts are dropped and the workers ended."""
        _stop(self._pool)

    def __del__(self) -> None:
        if self._next < len(self._futures):
            _stop(self._pool)


def _pool(workers: int) -> Executor:
    """Worker processes, or one thread in this process for a single worker."""
    if workers <= 1:
        from concurrent.futures import ThreadPoolExecutor

        pool: Executor = ThreadPoolExecutor(1, thread_name_prefix="voiceguide-piper")
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from voiceguide.voices.piper_speak import worker_start

        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=worker_start)
    _LIVE.add(pool)
    _hook()
    return pool


def _stop(pool: Executor) -> None:
    """Drop the pool's queued work and end its worker processes."""
    pool.shutdown(wait=False, cancel_futures=True)
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        process.terminate()


def _stop_all() -> None:
    for pool in list(_LIVE):
        _stop(pool)


def _hook() -> None:
    """Stop every live pool when the interpreter exits, before concurrent.futures waits
    for their queued work (its exit hook runs among threading's, in reverse order)."""
    global _hooked
    with _HOOKED:
        if _hooked:
            return
        _hooked = True
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            with contextlib.suppress(RuntimeError):  # already shutting down
                register(_stop_all)
        else:  # pragma: no cover - other interpreters
            import atexit

            atexit.register(_stop_all)
