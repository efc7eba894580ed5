"""hibari's model, loaded once per process and voice, and the threads a batch runs on.

Imported only when hibari speaks: it imports hibari, onnxruntime and numpy. The model is
given its file (``hibari_facts.model_path``), so hibari never downloads; a file onnxruntime
cannot load is one EngineError naming the fix. One session per voice, one intra-op
thread: its samples do not depend on how many threads call it (onnxruntime's ``run`` may
be called from several at once). The G2P is pure Python and not known to be thread-safe,
so it runs under a lock; it is ~2% of the work.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any

from voiceguide.errors import EngineError

if TYPE_CHECKING:
    from voiceguide.voices.base import Samples


@dataclass
class Loaded:
    """One voice's hibari instance, and the lock its G2P runs under."""

    tts: Any
    g2p_lock: threading.Lock = field(default_factory=threading.Lock)


_LOCK = threading.Lock()
_LOADED: dict[str, Loaded] = {}


def loaded(name: str) -> Loaded:
    """Voice ``name``'s model, loaded on first use (once per process)."""
    with _LOCK:
        if name not in _LOADED:
            _LOADED[name] = _load(name)
        return _LOADED[name]


def _load(name: str) -> Loaded:
    from voiceguide.voices import hibari_facts as facts

    path = facts.model_path(name)
    try:
        import onnxruntime  # noqa: F401  (its absence is reported with the fix)
    except ImportError as error:
        missing = facts.missing_package() or (
            f"onnxruntime cannot be imported ({error}); fix: pip install --force-reinstall "
            "onnxruntime"
        )
        raise EngineError(missing) from None
    from hibari import Hibari

    try:
        tts = Hibari(voice=name, model=path, threads=1, g2p=_G2PLoading(name))
    except Exception as error:
        bundled = facts.registry().get(name, {}).get("bundled", False)
        fix = (
            "reinstall: pip install --force-reinstall hibari-tts"
            if bundled
            else f"delete it, then {facts.fetch_fix(name)}"
        )
        reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else "unreadable"
        raise EngineError(
            f"hibari cannot load the model of voice {name!r} ({path}: {reason}); fix: {fix}"
        ) from None
    return Loaded(tts)


class _G2PLoading:
    """hibari's G2P (its lexicons: ~0.8 s to load, pure Python), loaded on a thread of its
    own while onnxruntime loads the model (C++, ~0.4 s, releasing the GIL), so a cold start
    speaks its first text sooner; called like the G2P, it waits for it."""

    def __init__(self, name: str) -> None:
        from voiceguide.voices import hibari_facts as facts

        british = bool(facts.registry().get(name, {}).get("british", False))
        self._ready: Future[Callable[[str], Any]] = Future()
        threading.Thread(
            target=self._load, args=(british,), name="voiceguide-hibari-g2p", daemon=True
        ).start()

    def _load(self, british: bool) -> None:
        try:
            from hibari.g2p import G2P

            self._ready.set_result(G2P(british=british))
        except BaseException as error:  # raised where the G2P is first called
            self._ready.set_exception(error)

    def __call__(self, text: str) -> Any:
        return self._ready.result()(text)


def speak(name: str, text: str, speed: float, seed: int) -> Samples:
    """``text`` spoken by voice ``name``: as ``Hibari.__call__``, from a generator seeded
    with ``seed`` for this text alone (so the same text always gives the same samples)."""
    import numpy as np

    model = loaded(name)
    with model.g2p_lock:
        phonemes = model.tts.phonemize(text)
    rng = np.random.default_rng(seed)
    parts = [model.tts.from_ids(model.tts.ids(p), speed, rng) for p in phonemes]
    if not parts:
        return np.zeros(0, dtype=np.float32)
    out: Samples = np.concatenate(parts).astype(np.float32, copy=False)
    return out


_Job = tuple[Callable[..., Any], Any, Any]


class _Pool:
    """Daemon worker threads taking jobs in order (daemon: an interrupted run exits at
    once instead of finishing the batch)."""

    def __init__(self, threads: int) -> None:
        self._queue: SimpleQueue[tuple[Future[Any], _Job] | None] = SimpleQueue()
        for i in range(threads):
            name = f"voiceguide-hibari-{i}"
            threading.Thread(target=self._work, name=name, daemon=True).start()

    def submit(self, job: _Job) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((future, job))
        return future

    def _work(self) -> None:
        _yield_to_others()
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, (fn, *args) = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as error:
                future.set_exception(error)


WORKER_NICE = 10
"""How much lower than the rest of the process a batch thread runs (Linux: per thread)."""


def _yield_to_others() -> None:
    """Lower this thread's scheduling priority: speech spoken ahead must not slow what the
    process needs now (a cold player's level estimate took 0.8 s instead of 0.4 s beside
    two full-speed batch threads)."""
    import contextlib
    import os

    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)


@functools.cache
def _pool(threads: int) -> _Pool:
    return _Pool(threads)


def run_batch(jobs: list[_Job], threads: int) -> Iterator[Any]:
    """Start every job now on ``threads`` worker threads; the results, in order, each as
    soon as it is ready. A job that failed raises in its turn, and the next ones follow;
    dropping the iterator cancels the jobs not yet started."""
    pool = _pool(max(1, threads))
    return _Results([pool.submit(job) for job in jobs])


class _Results(Iterator[Any]):
    """The results of a batch's futures, in order."""

    def __init__(self, futures: list[Future[Any]]) -> None:
        self._futures = deque(futures)

    def __next__(self) -> Any:
        if not self._futures:
            raise StopIteration
        return self._futures.popleft().result()

    def __del__(self) -> None:
        for future in self._futures:
            future.cancel()
