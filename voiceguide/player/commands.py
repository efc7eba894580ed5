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

from voiceguide.player.actions import ALIASES, WORDS, Action, parse_action

__all__ = ["ALIASES", "WORDS", "Action", "Command", "Origin", "parse_action"]


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
