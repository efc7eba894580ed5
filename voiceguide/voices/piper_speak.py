"""Loading a piper voice and speaking with it.

Imported only when piper speaks: it imports piper, onnxruntime and numpy inside its
functions. A voice is loaded once per process (``load``): an onnxruntime session with the
thread count set (``PiperVoice.load`` offers no such setting). ``speak`` joins piper's
sentence chunks with a pause of its own (the Python API puts none between sentences).
Batches run ``speak`` on threads sharing the voice (``voices.batch``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voiceguide.errors import EngineError
from voiceguide.voices.piper_voices import INSTALL_FIX

if TYPE_CHECKING:
    from voiceguide.voices.base import Samples

QUIET_DB = -40.0
"""A 10 ms frame this far below a clip's loudest frame counts as quiet (sentence pauses)."""

_LOCK = threading.Lock()
_LOADED: dict[tuple[str, str, int], Any] = {}
_PHONEMIZE = threading.Lock()
"""piper phonemizes with the espeak-ng inside its wheel, whose state is global: one text at
a time. The model itself (onnxruntime) may run on several threads at once."""


@dataclass(frozen=True)
class Job:
    """One text to speak, with everything that decides its audio (picklable)."""

    text: str
    model: str
    config: str
    length_scale: float
    noise_scale: float
    noise_w_scale: float
    pause_ms: int
    threads: int = 1


def _import_error(error: ImportError) -> EngineError:
    name = getattr(error, "name", None) or ""
    what = "onnxruntime" if name.startswith("onnxruntime") else "piper-tts"
    if what == "onnxruntime":
        return EngineError(
            f"onnxruntime cannot be imported ({error}); fix: pip install onnxruntime (piper "
            "needs it; it has no wheels for 32-bit systems)"
        )
    return EngineError(f"piper-tts cannot be imported ({error}); fix: {INSTALL_FIX}")


def load(model: str, config: str, threads: int = 1) -> Any:
    """The ``piper.PiperVoice`` for the model, loaded once per process with ``threads``
    onnxruntime threads; EngineError names the fix for a missing piper or a bad model."""
    key = (model, config, threads)
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        try:
            import onnxruntime
            from piper import PiperConfig, PiperVoice
        except ImportError as error:
            raise _import_error(error) from None
        try:
            with open(config, encoding="utf-8") as f:
                piper_config = PiperConfig.from_dict(json.load(f))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise EngineError(
                f"piper voice config {config} cannot be read ({error!r}); fix: download the "
                "voice's .onnx.json again"
            ) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            session = onnxruntime.InferenceSession(
                model, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own types for a bad model
            first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise EngineError(
                f"piper voice model {model} cannot be loaded ({first}); fix: download the "
                "voice's .onnx again"
            ) from None
        voice = PiperVoice(session=session, config=piper_config)
        _LOADED[key] = voice
        return voice


def speak(job: Job) -> tuple[Samples, int]:
    """``job.text`` spoken: mono float32 at the voice's rate, sentences apart by the pause."""
    import numpy as np

    voice = load(job.model, job.config, job.threads)
    from piper import SynthesisConfig

    syn = SynthesisConfig(
        length_scale=job.length_scale,
        noise_scale=job.noise_scale,
        noise_w_scale=job.noise_w_scale,
        normalize_audio=False,
        volume=1.0,
    )
    rate = int(voice.config.sample_rate)
    try:
        with _PHONEMIZE:
            sentences = voice.phonemize(job.text)
        chunks = []
        for phonemes in sentences:  # as PiperVoice.synthesize does, sentence by sentence
            if not phonemes:
                continue
            audio = voice.phoneme_ids_to_audio(voice.phonemes_to_ids(phonemes), syn)
            audio = audio[0] if isinstance(audio, tuple) else audio
            chunks.append(np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0))
    except Exception as error:  # phonemizer or onnxruntime failing on this text
        raise EngineError(
            f"piper failed to speak {job.text[:40]!r} ({error}); fix: reword the text, or "
            "choose another voice (see `voiceguide voices`)"
        ) from None
    return join_sentences(chunks, rate, job.pause_ms), rate


def join_sentences(chunks: list[Samples], rate: int, pause_ms: int) -> Samples:
    """The sentence chunks joined so that each quiet gap between sentences (the end of one
    and the start of the next, quieter than QUIET_DB) lasts at least ``pause_ms``."""
    import numpy as np

    chunks = [c for c in chunks if c.size]
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    frame = max(1, rate // 100)
    loudest = max(_frame_rms(c, frame).max(initial=0.0) for c in chunks)
    quiet = loudest * 10.0 ** (QUIET_DB / 20.0)
    parts = [chunks[0]]
    for before, after in zip(chunks, chunks[1:], strict=False):
        have = _quiet_run(_frame_rms(before, frame)[::-1], quiet) + _quiet_run(
            _frame_rms(after, frame), quiet
        )
        missing = rate * pause_ms // 1000 - have * frame
        if missing > 0:
            parts.append(np.zeros(missing, dtype=np.float32))
        parts.append(after)
    joined: Samples = np.concatenate(parts)
    return joined


def _frame_rms(x: Samples, frame: int) -> Any:
    import numpy as np

    n = x.size // frame
    if n == 0:
        return np.zeros(0)
    return np.sqrt(np.mean(np.square(x[: n * frame].reshape(n, frame), dtype=np.float64), axis=1))


def _quiet_run(rms: Any, quiet: float) -> int:
    """How many frames at the start of ``rms`` are quiet."""
    import numpy as np

    loud = np.nonzero(rms > quiet)[0]
    return int(loud[0]) if loud.size else int(rms.size)
