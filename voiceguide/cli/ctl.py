"""``voiceguide ctl``: steer a running player through its socket (``voiceguide.player.channel``)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import typer

from voiceguide.player.channel import ControlError, send_command
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
    answer = send_command(word, socket)
    if answer.startswith("error:"):
        raise ControlError(f"the player says: {answer.removeprefix('error:').strip()}")
    if word == "status":
        with contextlib.suppress(ValueError):  # not JSON: shown as it came
            answer = json.dumps(json.loads(answer), separators=(", ", ": "), ensure_ascii=False)
    typer.echo(answer)
