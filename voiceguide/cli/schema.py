"""``voiceguide schema``: print the JSON Schema of routine scripts, for editors."""

from __future__ import annotations

import typer


def schema() -> None:
    """Print the JSON Schema of routine scripts (draft-07), for completion and checks in
    editors that use yaml-language-server (VS Code's YAML extension, Neovim, Helix,
    JetBrains): [bold]voiceguide schema > voiceguide.schema.json[/bold], then begin a script
    with [bold]# yaml-language-server: $schema=voiceguide.schema.json[/bold] (a path
    relative to the script). What a schema cannot see, such as cues that do not fit in
    their step, [bold]voiceguide check[/bold] reports."""
    from voiceguide.script.schema import schema_json

    typer.echo(schema_json(), nl=False)
