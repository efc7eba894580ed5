"""The typer application: the ``voiceguide`` command line in full.

Importing this module imports typer; ``voiceguide.cli.main`` does so once its signal
handler is in place. The options before the command (``--debug``) fill in the ``Run`` that
``main`` passes as the context's object.

Each command is built from its function, and its module imported, only when it is used:
``voiceguide export`` reads ``export`` alone (not ``ctl`` with the player's socket client,
say), which keeps a no-op export short; ``--help`` lists them all.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any, Final

import typer
import typer.core
import typer.main

from voiceguide import __version__
from voiceguide.cli.run import Run

# name -> "module:function" of its command, in the order --help lists them
COMMANDS = {
    "check": "voiceguide.cli.check:check",
    "plan": "voiceguide.cli.plan:plan",
    "export": "voiceguide.cli.export:export",
    "routines": "voiceguide.cli.info:routines",
    "voices": "voiceguide.cli.info:voices",
    "play": "voiceguide.cli.play:play",
    "devices": "voiceguide.cli.play:devices",
    "ctl": "voiceguide.cli.ctl:ctl",
    "doctor": "voiceguide.cli.doctor:doctor",
    "service": "voiceguide.cli.service:service",
    "schema": "voiceguide.cli.schema:schema",
}
MARKUP: Final = "rich"  # help texts are rich markup: a literal "[" is written "\\["


class _Built(MutableMapping[str, Any]):
    """The group's commands by name: each one built by typer the first time it is asked for."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            module, _, function = COMMANDS[name].partition(":")
            # __import__, as the import statement does (-X importtime reports it; import_module
            # is not timed there)
            found = getattr(__import__(module, fromlist=[function]), function)
            if isinstance(found, typer.Typer):  # a group of subcommands (``service``)
                group = typer.main.get_group(found)
                group.name = name
                self._built[name] = group
            else:
                one = typer.Typer(add_completion=False, rich_markup_mode=MARKUP)
                one.command(name)(found)
                self._built[name] = typer.main.get_command(one)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        raise TypeError("the commands of voiceguide are those of COMMANDS")

    def __delitem__(self, name: str) -> None:
        raise TypeError("the commands of voiceguide are those of COMMANDS")

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class _Commands(typer.core.TyperGroup):
    """The ``voiceguide`` group, whose commands are those of ``COMMANDS``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _Built()


app = typer.Typer(
    name="voiceguide",
    cls=_Commands,
    help="Turn a routine script into a voice-guided audio routine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=MARKUP,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"voiceguide {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Turn a routine script into a voice-guided audio routine."""
    ctx.ensure_object(Run).debug = debug
