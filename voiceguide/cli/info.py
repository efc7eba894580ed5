"""``voiceguide routines`` and ``voiceguide voices``: what is available."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from voiceguide.cli.options import Engine

if TYPE_CHECKING:
    from voiceguide.voices.base import VoiceInfo


def routines() -> None:
    """List the built-in routine scripts (use a name with plan, check or export)."""
    from voiceguide.paths import scripts_dir
    from voiceguide.pipeline import builtin_scripts
    from voiceguide.script import load_script
    from voiceguide.units import clock

    root = scripts_dir()
    for path in builtin_scripts():
        routine = load_script(path)
        total = sum(s.duration_ms for s in routine.steps)
        total += routine.rest_ms * max(0, len(routine.steps) - 1)
        name = str(path.relative_to(root).with_suffix(""))
        typer.echo(f"{name:<40} {clock(total):>6}  {routine.title}")


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
