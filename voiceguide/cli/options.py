"""Options that several commands share, each defined once as an ``Annotated`` type.

A command's own options are defined in its signature; these are the ones more than one
command takes, so their names and help are written here only.
"""

from __future__ import annotations

from typing import Annotated

import typer

Script = Annotated[
    str,
    typer.Argument(help="A routine script (.yaml) or a built-in routine's name, e.g. daily."),
]
Engine = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="Speech engine instead of the script's: hibari (the default), piper, pyttsx3.",
    ),
]
Voice = Annotated[
    str | None,
    typer.Option(
        "--voice", help="Voice for every cue instead of the script's (see 'voiceguide voices')."
    ),
]
