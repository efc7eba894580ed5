"""``voiceguide check``: validate a script and report cues that do not fit, and warnings.

Each cue that does not fit, and each warning (a cue that is never spoken, a ``slow_to`` that
speeds the breathing up), is printed at its script line with its fix
(``voiceguide.compile.report``). Exit 0: fine, warnings printed; 3: an invalid script, or
warnings with ``--strict``; 4: cues that do not fit.
"""

from __future__ import annotations

from typing import Annotated

import typer

from voiceguide.cli.options import Engine, Script, Voice

Strict = Annotated[
    bool,
    typer.Option(
        "--strict", help="Warnings are errors: exit 3 (script) or 4 (cues that do not fit)."
    ),
]


def check(
    script: Script, engine: Engine = None, voice: Voice = None, strict: Strict = False
) -> None:
    """Validate SCRIPT and measure every cue; each problem is printed with its fix."""
    from voiceguide.compile.lengths import lengths
    from voiceguide.compile.report import check_report, plural
    from voiceguide.pipeline import compile_script

    routine, compiled, _ = compile_script(script, engine=engine, voice=voice)
    tl = compiled.timeline
    report = check_report(routine, compiled, strict=strict)
    for line in report.lines:
        typer.echo(line)
    if report.error is not None:
        raise report.error
    speech = len(tl.speech)
    typer.echo(
        f"{script}: ok: {plural(len(routine.steps), 'step')}, {plural(speech, 'spoken cue')}, "
        f"{lengths(tl).label()}"
    )
