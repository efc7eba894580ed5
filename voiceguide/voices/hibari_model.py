"""hibari's model, loaded once per process and voice, and the threads a batch runs on.

Imported only when hibari speaks: it imports hibari, onnxruntime and numpy. The model is
given its file (``hibari_facts.model_path``), so hibari never downloads; a file onnxruntime
cannot load is one EngineError naming the fix. One session per voice, one intra-op
thread: its samples do not depend on how many threads call it (onnxruntime's ``run`` may
be called from several at once). The G2P is pure Python and not known to be thread-safe,
so it runs under a lock; it is ~2% of the work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
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
