"""An engine's output made into a cache clip: its silence trimmed, then levelled.

Trimming (``dsp.clips.trim_clip``, resampled to SAMPLE_RATE) gives the clip's length, which is
all the compiler needs; levelling (``dsp.clips.level_clip``) and the stats of the mix
(``dsp.clips.chunk_stats``) can follow on another thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voiceguide.errors import EngineError

if TYPE_CHECKING:
    from voiceguide.voices.base import Samples


def trimmed(engine: str, text: str, samples: Samples, rate: int) -> Samples:
    """``samples`` at ``rate`` resampled to SAMPLE_RATE, the engine's silence trimmed."""
    import numpy as np

    from voiceguide.dsp.clips import trim_clip

    try:
        clip: Samples = trim_clip(np.asarray(samples, dtype=np.float32), rate)
    except ValueError as error:
        raise _no_audio(engine, text, error) from error
    return clip


def levelled(engine: str, text: str, trimmed: Samples) -> tuple[Samples, Samples]:
    """A trimmed clip levelled (loudness normalised, peaks limited), and its stats."""
    import numpy as np

    from voiceguide.dsp.clips import chunk_stats, level_clip

    try:
        clip = np.ascontiguousarray(level_clip(trimmed), dtype=np.float32).reshape(-1)
    except ValueError as error:
        raise _no_audio(engine, text, error) from error
    return clip, chunk_stats(clip)


def _no_audio(engine: str, text: str, error: ValueError) -> EngineError:
    return EngineError(
        f"the {engine} engine produced no audio for {text!r} ({error}); "
        "fix: reword the text with speakable words, or choose another voice "
        "(see `voiceguide voices`)"
    )
