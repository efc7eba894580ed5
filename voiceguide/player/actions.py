"""The actions a person can ask a running player for, and their words.

The words are those of the socket protocol (``voiceguide.player.channel``) and of
``voiceguide ctl``. Kept apart from ``player.commands`` and importing nothing but ``enum``,
so that ``voiceguide ctl ACTION`` checks its word in a few milliseconds.
"""

from __future__ import annotations

from enum import Enum


class Action(Enum):
    """What a person asks the player to do; the value is the word of the socket protocol."""

    PAUSE = "pause"
    RESUME = "resume"
    TOGGLE_PAUSE = "toggle"
    NEXT = "next"
    BACK = "back"  # previous step, or restart this one if more than a few seconds in
    REPEAT = "repeat"  # this step again
    VOLUME_UP = "volume-up"
    VOLUME_DOWN = "volume-down"
    WHATS_NEXT = "whats-next"  # speak the time left in this step and the next step's name
    READY = "ready"  # go on from a wait-for-ready step
    STATUS = "status"  # answered with the player's status as JSON
    STOP = "stop"


WORDS: tuple[str, ...] = tuple(a.value for a in Action)
ALIASES: dict[str, Action] = {
    "toggle-pause": Action.TOGGLE_PAUSE,
    "previous": Action.BACK,
    "prev": Action.BACK,
    "skip": Action.NEXT,
    "quit": Action.STOP,
    "start": Action.RESUME,  # starts a play waiting for start (play --wait-start)
}


def parse_action(word: str) -> Action:
    """The action a protocol word names (case-insensitive, ``_`` for ``-``, or an alias).

    Raises ValueError with a message listing the words.
    """
    key = word.strip().lower().replace("_", "-")
    if key in ALIASES:
        return ALIASES[key]
    try:
        return Action(key)
    except ValueError:
        raise ValueError(f"unknown command {word.strip()!r} (one of: {', '.join(WORDS)})") from None
