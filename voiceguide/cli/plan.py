"""``voiceguide plan``: the timeline as a plain-text table, or every event as JSON.

The table numbers the steps from 1 (``voiceguide play --from 2`` starts at the second). An
event of no step (``step`` null) is named by the chapter it is in: the intro's events are
"Introduction", the outro's "Closing", as the chapters are. Both forms give the routine's
two lengths (``voiceguide.compile.lengths``): the table as ``routine 10:00 · file 11:10``
under its title, the JSON as ``routine_ms`` and ``file_ms``. Step names are never cut: the
step column is as wide as the longest.

``--svg FILE`` draws the same timeline instead (``voiceguide.export.picture``, imported only
then), and the JSON lists its parts too (``voiceguide.timeline.parts``), in file time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voiceguide.cli.options import Engine, Script

if TYPE_CHECKING:
    from voiceguide.timeline import Timeline


def plan(
    script: Script,
    engine: Engine = None,
    as_json: Annotated[bool, typer.Option("--json", help="Every event as JSON.")] = False,
    tones: Annotated[
        bool, typer.Option("--tones", help="List tones too, not only speech.")
    ] = False,
    svg: Annotated[
        Path | None,
        typer.Option(
            "--svg",
            dir_okay=False,
            help="Draw the routine into this SVG file instead of the table: parts, breath, cues.",
        ),
    ] = None,
) -> None:
    """Show when each cue is spoken: routine time (0:00 = first step), file time, step, cue."""
    from voiceguide.compile.lengths import lengths
    from voiceguide.pipeline import compile_script

    _, compiled, _ = compile_script(script, engine=engine)
    tl = compiled.timeline
    length = lengths(tl)
    if svg is not None:
        from voiceguide.export.picture import write_picture
        from voiceguide.words import phrases

        write_picture(tl, phrases(), svg, subtitle=length.label())
        if not as_json:
            typer.echo(f"{svg}: {tl.title}, {length.label()}")
            for issue in compiled.issues:
                typer.echo(f"does not fit: {issue}", err=True)
            return
    if as_json:
        data = tl.to_json()
        data["routine_ms"], data["file_ms"] = length.routine_ms, length.file_ms
        data["parts"] = json_parts(tl)
        for event in data["events"]:
            event["step_name"] = step_name(tl, event["step"], event["start_ms"])
        data["issues"] = [str(i) for i in compiled.issues]
        typer.echo(json.dumps(data, indent=1, ensure_ascii=False))
        return
    from voiceguide.timeline import Speech, Tone
    from voiceguide.units import clock_ms

    rows: list[tuple[str, str, str, str, str]] = []
    chapters = iter(tl.chapters)
    chapter = next(chapters, None)
    for event in tl.events:
        while chapter is not None and chapter.start_ms <= event.start_ms:
            rows.append(
                (
                    clock_ms(chapter.start_ms - tl.origin_ms),
                    clock_ms(chapter.start_ms),
                    f"== {chapter_title(chapter.title, chapter.step)} ==",
                    "chapter",
                    "",
                )
            )
            chapter = next(chapters, None)
        if isinstance(event, Speech):
            cue, what = event.cue, event.text
        elif isinstance(event, Tone) and tones:
            cue, what = "tone", f"{event.tone} {event.duration_ms / 1000:g}s"
        else:
            continue
        step = step_name(tl, event.step, event.start_ms) or ""
        rows.append(
            (clock_ms(event.start_ms - tl.origin_ms), clock_ms(event.start_ms), step, cue, what)
        )
    rows.append(
        (clock_ms(tl.duration_ms - tl.origin_ms), clock_ms(tl.duration_ms), "", "end of file", "")
    )
    typer.echo(
        f"{tl.title}: time is the routine clock (0:00 = first step), file the time in the file"
    )
    typer.echo(length.label())
    header = ("time", "file", "step", "cue", "text")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        typer.echo(f"{cells[0]}  {cells[1]}  {cells[2]}  {cells[3]}  {row[4]}".rstrip())
    for issue in compiled.issues:
        typer.echo(f"does not fit: {issue}", err=True)


def json_parts(tl: Timeline) -> list[dict[str, object]]:
    """The parts (``voiceguide.timeline.parts``) as plan --json lists them, in file time."""
    from dataclasses import asdict

    from voiceguide.timeline.parts import parts
    from voiceguide.words import phrases

    return [asdict(p) for p in parts(tl, phrases())]


def chapter_title(title: str, step: int | None) -> str:
    """``2. Cool Down`` for a step (numbered from 1, as ``play --from`` counts), else the title."""
    return title if step is None else f"{step + 1}. {title}"


def step_name(tl: Timeline, step: int | None, start_ms: int) -> str | None:
    """The name of the chapter an event belongs to: its step's, or for an event of no step
    (the intro, the outro), the step-less chapter it starts in."""
    if step is not None:
        return next((c.title for c in tl.chapters if c.step == step), None)
    inside = [c for c in tl.chapters if c.step is None and c.start_ms <= start_ms < c.end_ms]
    return inside[0].title if inside else None
