"""``voiceguide ctl``: steer a running player through its socket (``voiceguide.player.channel``)."""

from __future__ import annotations

from pathlib import Path

import typer

from voiceguide.cli.ctl_send import send
from voiceguide.player.commands import WORDS, parse_action


def ctl(
    action: str = typer.Argument(
        ...,
        help=f"One of: {', '.join(WORDS)}.",
    ),
    socket: Path | None = typer.Option(
        None,
        "--socket",
        help="The player's socket [$VOICEGUIDE_SOCKET, else $XDG_RUNTIME_DIR/voiceguide.sock].",
    ),
) -> None:
    """Send ACTION to the running player: pause, next, status (one line of JSON), stop, ...

    Exits 0 when the player took it, 8 if no player is running, 1 if it answered with an error.
    """
    try:
        word = parse_action(action).value
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="ACTION") from None
    typer.echo(send(word, socket))
