"""``voiceguide routines`` and ``voiceguide voices``: what is available."""

from __future__ import annotations

import typer

from voiceguide.cli.options import Engine


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
    """List the voices of a speech engine (default: pyttsx3, the system voices)."""
    from voiceguide.voices import get_engine

    for v in get_engine(engine or "pyttsx3").voices():
        langs = ",".join(v.languages)
        typer.echo(f"{v.id:<24} {v.name:<32} {langs}")
