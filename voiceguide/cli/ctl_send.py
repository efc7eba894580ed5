"""What ``voiceguide ctl`` does, without typer: a button script or a cron job calls ``ctl``
many times, so a plain ``ctl ACTION [--socket PATH]`` is parsed here and answered at about
the interpreter's own start-up time; anything else (``--help``, a bad word) goes on to the
typer command, which says what is wrong."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from voiceguide.player.actions import parse_action
from voiceguide.player.channel import ControlError, send_command


def send(word: str, socket: Path | str | None) -> str:
    """Send the action ``word`` names to the player and return its answer, a status as one
    line of JSON; ControlError when the player answers with an error."""
    answer = send_command(word, socket)
    if answer.startswith("error:"):
        raise ControlError(f"the player says: {answer.removeprefix('error:').strip()}")
    if word == "status":
        with contextlib.suppress(ValueError):  # not JSON: shown as it came
            answer = json.dumps(json.loads(answer), separators=(", ", ": "), ensure_ascii=False)
    return answer


def quick(args: list[str]) -> bool:
    """Answer ``ctl ACTION [--socket PATH]`` (``args`` after ``ctl``) and return True; False,
    having done nothing, for any other form."""
    socket: str | None = None
    words: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--socket" and rest:
            socket = rest.pop(0)
        elif arg.startswith("--socket="):
            socket = arg.removeprefix("--socket=")
        elif arg.startswith("-"):
            return False
        else:
            words.append(arg)
    if len(words) != 1 or socket == "":
        return False
    try:
        word = parse_action(words[0]).value
    except ValueError:
        return False
    sys.stdout.write(send(word, socket) + "\n")
    sys.stdout.flush()
    return True
