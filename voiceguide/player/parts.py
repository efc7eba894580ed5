"""The player's parts: those of ``voiceguide.timeline.parts``, where they are worked out
from the timeline alone (``plan`` draws the same ones), named here for the player's modules."""

from __future__ import annotations

from voiceguide.timeline.parts import (
    Part,
    PartKind,
    next_part,
    part_at,
    parts,
    routine_clock,
    routine_ms,
)

__all__ = ["Part", "PartKind", "next_part", "part_at", "parts", "routine_clock", "routine_ms"]
