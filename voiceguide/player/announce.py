"""What the player says by itself: where a resumed play goes on, and what comes next.

The words are the words table's (``voiceguide.words``), in the play's language; here is
only which step, side and time they name.
"""

from __future__ import annotations

from voiceguide.timeline import Chapter, Timeline
from voiceguide.words import Phrases


def chapter_at(timeline: Timeline, ms: int) -> tuple[int, Chapter]:
    """The chapter file time ``ms`` is in (the first, before it), and its index."""
    index = 0
    for i, c in enumerate(timeline.chapters):
        if c.start_ms <= ms:
            index = i
    return index, timeline.chapters[index]


def next_title(timeline: Timeline, index: int) -> str | None:
    """The title of the chapter after chapter ``index``; None after the last."""
    chapters = timeline.chapters
    return chapters[index + 1].title if index + 1 < len(chapters) else None


def recue(timeline: Timeline, ms: int, words: Phrases) -> str:
    """What to say on going on from ``ms``: the step, the side, and the time left.

    "Resuming: Seated Spinal Twist, left side, 20 seconds left." In a sided step the
    time left is the side's: what the listener is holding now.
    """
    _, chapter = chapter_at(timeline, ms)
    part = timeline.side_at(ms)
    end = part.end_ms if part else chapter.end_ms
    where = chapter.title
    if part:
        where += f", {words.side_name(part.side)}"
    return words.resuming.format(where=where, left=words.duration(max(0, end - ms)))


def whats_next(timeline: Timeline, ms: int, words: Phrases) -> str:
    """The time left in the step at ``ms``, and the step after it: "20 seconds left in
    Twist. Next: Rest." """
    index, chapter = chapter_at(timeline, ms)
    return words.whats_next.format(
        left=words.duration(max(0, chapter.end_ms - ms)),
        step=chapter.title,
        next=next_title(timeline, index) or words.the_end,
    )
