"""What a person can ask a running player to do: the actions, their words, and ``Command``.

Every source of control (the socket, signals, keys, and any added later) speaks this one
vocabulary, so the player handles an action the same way wherever it came from. The words
are those of the socket protocol (``voiceguide.player.channel``) and of ``voiceguide ctl``.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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


class Origin(Enum):
    """Where a command came from (the player may, say, only announce remote commands)."""

    SOCKET = "socket"
    SIGNAL = "signal"
    KEY = "key"
    BUTTON = "button"  # a GPIO button (``player.buttons``)
    PLAYER = "player"  # put by the player itself


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class Command:
    """One action for the player, with where it came from.

    ``signum`` is the signal that sent it (Origin.SIGNAL). A STATUS command reaches the player
    only when the hub has no status callback; the player then answers it with ``respond``.
    """

    action: Action
    origin: Origin = Origin.PLAYER
    signum: int | None = None
    reply_to: Callable[[str], None] | None = field(default=None, repr=False, compare=False)

    @property
    def interrupted(self) -> bool:
        """A STOP sent by SIGINT, SIGTERM or SIGHUP: exit with ExitCode.INTERRUPTED (130)."""
        return self.action is Action.STOP and self.signum in STOP_SIGNALS

    def respond(self, payload: Mapping[str, object] | str) -> None:
        """Answer whoever sent this command: a mapping is sent as JSON.

        Does nothing for commands that need no answer (anything but a queued STATUS).
        """
        if self.reply_to is None:
            return
        if isinstance(payload, str):
            self.reply_to(payload)
        else:
            self.reply_to(json.dumps(dict(payload), default=str))
