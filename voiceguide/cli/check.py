"""``voiceguide check``: validate a script and report cues that do not fit."""

from __future__ import annotations

import typer

from voiceguide.cli.options import Engine, Script, Voice
from voiceguide.errors import CueFitError


def check(script: Script, engine: Engine = None, voice: Voice = None) -> None:
    """Validate SCRIPT and measure every cue; exit non-zero on errors or cues that don't fit."""
    from voiceguide.pipeline import compile_script
    from voiceguide.units import clock

    routine, compiled, _ = compile_script(script, engine=engine, voice=voice)
    tl = compiled.timeline
    if compiled.issues:
        for issue in compiled.issues:
            typer.echo(str(issue))
        raise CueFitError(f"{len(compiled.issues)} cue(s) do not fit")
    speech = len(tl.speech)
    typer.echo(
        f"{script}: ok: {len(routine.steps)} steps, {speech} spoken cues, "
        f"routine {clock(tl.duration_ms - tl.origin_ms)} from 0:00 "
        f"(file {clock(tl.duration_ms)}, intro {clock(tl.origin_ms)})"
    )
