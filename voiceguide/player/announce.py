"""What the player says by itself: where a resumed play goes on, and what comes next.

The words are the words table's (``voiceguide.words``), in the play's language; here is
only which part (``player.parts``: a step, a side, a rest, a wait) and time they name. The
time left is always the part's: what the listener is doing now.
"""

from __future__ import annotations

from voiceguide.player.parts import Part
from voiceguide.words import Phrases


def recue(part: Part | None, ms: int, words: Phrases) -> str:
    """What to say on going on from file time ``ms`` in ``part``: the part and its time
    left. "Resuming: Seated Spinal Twist, left side, 20 seconds left." """
    if part is None:
        return ""
    return words.resuming.format(where=part.name, left=words.duration(part.left_ms(ms)))


def whats_next(part: Part | None, after: Part | None, ms: int, words: Phrases) -> str:
    """The time left in ``part`` at ``ms``, and the part after it: "20 seconds left in
    Twist, right side. Next: Twist, left side." """
    if part is None:
        return ""
    return words.whats_next.format(
        left=words.duration(part.left_ms(ms)),
        step=part.name,
        next=after.name if after is not None else words.the_end,
    )
