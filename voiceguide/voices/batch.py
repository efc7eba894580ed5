"""Batches of speech on background threads: started at once, results in order.

A neural engine speaks a routine's texts ahead of the compiler on a thread per core (two at
most): onnxruntime and numpy release the GIL while they work, so threads share one loaded
model (one copy in memory, no worker processes to start, pickle to or stop). The threads
are daemons, so an interrupted run exits at once instead of finishing the batch, and run at
a lower priority than the rest of the process (Linux, per thread), so speech spoken ahead
does not slow what the process needs now: a cold player's level estimate took 0.8 s
instead of 0.4 s beside two full-speed batch threads.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any

MAX_THREADS = 2
"""At most this many threads speak a batch (measured: see the engines' docstrings)."""
WORKER_NICE = 10
"""How much lower than the rest of the process a batch thread runs."""

Job = tuple[Any, ...]  # a function, then its arguments


def threads() -> int:
    """A thread per core this process may use, at most MAX_THREADS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_THREADS, cores))


class _Pool:
    """Daemon worker threads taking jobs in order."""

    def __init__(self, count: int) -> None:
        self._queue: SimpleQueue[tuple[Future[Any], Job]] = SimpleQueue()
        for i in range(count):
            name = f"voiceguide-speech-{i}"
            threading.Thread(target=self._work, name=name, daemon=True).start()

    def submit(self, job: Job) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((future, job))
        return future

    def _work(self) -> None:
        with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)
        while True:
            future, (fn, *args) = self._queue.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as error:
                future.set_exception(error)


@functools.cache
def _pool(count: int) -> _Pool:
    return _Pool(count)


def run_batch(jobs: list[Job], count: int | None = None) -> Results:
    """Start every job now on ``count`` threads (default ``threads()``); the results, in
    order, each as soon as it is ready. A job that failed raises in its turn, and the next
    ones follow; closing or dropping the iterator cancels the jobs not yet started."""
    pool = _pool(max(1, count or threads()))
    return Results([pool.submit(job) for job in jobs])


class Results(Iterator[Any]):
    """The results of a batch's jobs, in order."""

    def __init__(self, futures: list[Future[Any]]) -> None:
        self.futures = list(futures)
        self._waiting = deque(futures)

    def __next__(self) -> Any:
        if not self._waiting:
            raise StopIteration
        return self._waiting.popleft().result()

    def close(self) -> None:
        """Cancel the jobs not yet started (those running finish)."""
        for future in self._waiting:
            future.cancel()

    def __del__(self) -> None:
        self.close()
