"""``voiceguide routines`` and ``voiceguide voices``: what is available."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from voiceguide.cli.options import Engine

if TYPE_CHECKING:
    from voiceguide.voices.base import VoiceInfo


GUESS_NOTE = "~ the file length is a guess until the routine is spoken (check, export or play it)"


def routines() -> None:
    """List the built-in routine scripts and their lengths (use a name with plan, check or
    export): the routine from 0:00 to the end of its last step, the file intro and closing
    included, as check and plan show them."""
    from voiceguide.compile.lengths import lay_out_lengths
    from voiceguide.paths import scripts_dir
    from voiceguide.pipeline import builtin_scripts, load, open_bank

    root = scripts_dir()
    bank = open_bank()
    paths = builtin_scripts()
    names = [str(path.relative_to(root).with_suffix("")) for path in paths]
    width = max(map(len, names), default=0)
    guessed = False
    for name, path in zip(names, paths, strict=True):
        routine = load(path)
        found = lay_out_lengths(routine, bank)
        guessed = guessed or found.guessed
        typer.echo(f"{name:<{width}}  {found.label():<28} {routine.title}")
    if guessed:
        typer.echo(GUESS_NOTE)


def voices(engine: Engine = None) -> None:
    """List the speech engines usable here and their voices (--engine: one engine's voices)."""
    from voiceguide.voices import engine_name
    from voiceguide.voices.available import default_note, engine_status, listed_engines

    if engine:
        status = engine_status(engine_name(engine))
        if status.problem is not None:
            from voiceguide.errors import EngineError

            raise EngineError(f"{status.name}: {status.problem}")
        for v in status.voices:
            typer.echo(_voice_line(v, ""))
        return
    typer.echo(default_note())
    for name in listed_engines():
        status = engine_status(name, with_voices=name != "pyttsx3")
        mark = " (default)" if status.default else ""
        if status.problem is not None:
            typer.echo(f"{name}{mark}: not usable: {status.problem}")
            continue
        if name == "pyttsx3":
            typer.echo(
                f"{name}{mark}: usable; 'voiceguide voices --engine {name}' lists its voices"
            )
            continue
        typer.echo(f"{name}{mark}: usable")
        for v in status.voices:
            typer.echo(_voice_line(v, "  "))


def _voice_line(v: VoiceInfo, indent: str) -> str:
    line = f"{indent}{v.id:<{24 - len(indent)}} {v.name:<36} {','.join(v.languages):<8}"
    return f"{line} {v.note}".rstrip()
