"""The sources a ``voiceguide play`` listens to: its socket, signals, and keys at a terminal.

The one list to extend when a new way to steer the player (GPIO buttons, a web remote)
comes in; the hub and the other sources stay as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from voiceguide.player.hub import Source
from voiceguide.player.keys import KeySource
from voiceguide.player.server import SocketSource
from voiceguide.player.signals import SignalSource


def player_sources(
    socket_path: Path | str | None = None,
    help_stream: TextIO | None = None,
    extra: Sequence[Source] = (),
) -> list[Source]:
    """The socket at ``socket_path`` (see ``channel.default_socket_path``), the signals and
    the keys (standard input, when it is a terminal; ``h`` writes its help to
    ``help_stream``), then ``extra`` (GPIO buttons: ``player.buttons``), in the order they
    are started: a socket that cannot be made leaves nothing else set up."""
    keys = KeySource(help_stream=help_stream)
    return [SocketSource(socket_path), SignalSource(), keys, *extra]
