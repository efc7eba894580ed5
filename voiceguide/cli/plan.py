"""``voiceguide plan``: the timeline as a table, or every event as JSON."""

from __future__ import annotations

import json

import typer

from voiceguide.cli.options import Engine, Script


def plan(
    script: Script,
    engine: Engine = None,
    as_json: bool = typer.Option(False, "--json", help="Every event as JSON."),
    tones: bool = typer.Option(False, "--tones", help="List tones too, not only speech."),
) -> None:
    """Show when each cue is spoken: routine time (0:00 = first step), file time, step, cue."""
    from voiceguide.pipeline import compile_script

    _, compiled, _ = compile_script(script, engine=engine)
    tl = compiled.timeline
    if as_json:
        data = tl.to_json()
        names = {c.step: c.title for c in tl.chapters}
        for event in data["events"]:
            event["step_name"] = names.get(event["step"])
        data["issues"] = [str(i) for i in compiled.issues]
        typer.echo(json.dumps(data, indent=1, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    from voiceguide.timeline import Speech, Tone
    from voiceguide.units import clock_ms

    table = Table(title=tl.title, show_lines=False)
    for col in ("time", "file", "step", "cue", "what"):
        table.add_column(col, no_wrap=col != "what")
    names = {c.step: c.title for c in tl.chapters}
    chapters = iter(tl.chapters)
    chapter = next(chapters, None)
    for event in tl.events:
        while chapter is not None and chapter.start_ms <= event.start_ms:
            table.add_row(
                clock_ms(chapter.start_ms - tl.origin_ms),
                clock_ms(chapter.start_ms),
                f"[bold]{chapter.title}[/bold]",
                "chapter",
                "",
            )
            chapter = next(chapters, None)
        if isinstance(event, Speech):
            cue, what = event.cue, event.text
        elif isinstance(event, Tone) and tones:
            cue, what = "tone", f"{event.tone} {event.duration_ms / 1000:g}s"
        else:
            continue
        step = names.get(event.step, "") if event.step is not None else ""
        table.add_row(
            clock_ms(event.start_ms - tl.origin_ms), clock_ms(event.start_ms), step, cue, what
        )
    table.add_row(clock_ms(tl.duration_ms - tl.origin_ms), clock_ms(tl.duration_ms), "", "end", "")
    Console().print(table)
    for issue in compiled.issues:
        typer.echo(f"does not fit: {issue}", err=True)
