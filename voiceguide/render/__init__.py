"""Timeline -> a stream of PCM blocks: the one mix that every sink consumes.

- ``mix``: the mixer and its ducking; ``render`` gives the normalised blocks, and
  ``render_speech`` one text mixed the same way (what the player says over a pause).
- ``analysis``: ``analyse``, the mix's loudness from the parts' stats alone, and the
  ``Level`` (``level``) that brings it to TARGET_LUFS under CEILING_DBTP.
- ``level_cache``: ``cached_level``, ``analyse`` remembered under the mix's content.
- ``estimate``: provisional levels for a cold start (``estimate_level``).
- ``tone_stats`` and ``entries``: the tones' stats and the renderer's cache files.
- ``ahead``: ``prefetch``, blocks computed on a thread ahead of their consumer.

The names below are the renderer's public ones. Only ``level`` is imported with the
package (no numpy: the no-op export reads ``MIX_VERSION``); the rest load when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from voiceguide.render.level import CEILING_DBTP, MIX_VERSION, POST_HEADROOM_DB, TARGET_LUFS, Level

if TYPE_CHECKING:
    from voiceguide.render.ahead import prefetch
    from voiceguide.render.analysis import analyse
    from voiceguide.render.estimate import EstimatingBank, estimate_level, starting_level
    from voiceguide.render.level_cache import cached_level
    from voiceguide.render.mix import BLOCK_FRAMES, render, render_speech

_LAZY = {
    "prefetch": "ahead",
    "analyse": "analysis",
    "EstimatingBank": "estimate",
    "estimate_level": "estimate",
    "starting_level": "estimate",
    "cached_level": "level_cache",
    "BLOCK_FRAMES": "mix",
    "render": "mix",
    "render_speech": "mix",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "BLOCK_FRAMES",
    "CEILING_DBTP",
    "MIX_VERSION",
    "POST_HEADROOM_DB",
    "TARGET_LUFS",
    "EstimatingBank",
    "Level",
    "analyse",
    "cached_level",
    "estimate_level",
    "prefetch",
    "render",
    "render_speech",
    "starting_level",
]
