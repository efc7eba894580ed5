"""``voiceguide export``: write the routine to audio files, and say what was written.

Each parameter is the keyword of ``voiceguide.pipeline.export`` of the same name, passed on
as typer read it: the signature below is the options' one definition.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voiceguide.cli.options import Engine, Script, Voice
from voiceguide.export import DEFAULT_BITRATE
from voiceguide.export.bitrate import BITRATES

if TYPE_CHECKING:
    from rich.progress import Progress as Bar
    from rich.progress import TaskID

    from voiceguide.export.routine import Progress


def export(
    script: Script,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Output file: .mp3, .wav, .flac or .ogg \\[audio/NAME.mp3]."
        ),
    ] = None,
    bitrate: Annotated[
        int,
        typer.Option(
            "--bitrate", "-b", help=f"MP3 bitrate in kbit/s: {', '.join(map(str, BITRATES))}."
        ),
    ] = DEFAULT_BITRATE,
    split: Annotated[
        bool, typer.Option("--split", help="One file per step in a folder, plus an .m3u playlist.")
    ] = False,
    subtitles: Annotated[
        bool, typer.Option("--subtitles", help="Also write a WebVTT file of the spoken cues.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Export even if nothing changed.")] = False,
    engine: Engine = None,
    voice: Voice = None,
) -> None:
    """Export SCRIPT to audio (format from the output's extension). An output format or
    bitrate it cannot write is a bad argument: exit code 2, before any work."""
    options = dict(locals())  # the parameters above, as typer read them
    from voiceguide.pipeline import export as run_export
    from voiceguide.units import clock

    with progress_bar() as progress:
        result = run_export(**options, progress=progress)
    if result.skipped:
        typer.echo(up_to_date_message(result.outputs))
        return
    loud = ""
    if result.lufs is not None and result.peak_dbtp is not None:
        loud = f", {result.lufs:.1f} LUFS, true peak {result.peak_dbtp:.1f} dBTP"
    for out in result.outputs:
        typer.echo(f"wrote {out}")
    typer.echo(f"length {clock(result.duration_ms)}{loud}")


def up_to_date_message(outputs: Iterable[Path]) -> str:
    """What ``voiceguide export`` prints when it skips the work."""
    return f"up to date: {', '.join(map(str, outputs))} (use --force to redo)"


@contextmanager
def progress_bar() -> Iterator[Progress | None]:
    """A progress callback that draws a bar on a terminal's stderr (None elsewhere).

    The bar is drawn on stderr alone, so ``export ... > list.txt`` still shows it and the
    list holds only what was written.

    The bar (rich) starts with the first frames: a no-op export shows none. It goes when
    every frame is written (a lossy file is then decoded and measured; if it is encoded once
    more, a new bar shows that), and at the latest when the export ends.
    """
    if not sys.stderr.isatty():
        yield None
        return
    bar: Bar | None = None
    task: TaskID | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar, task
        if bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            bar = Progress(
                TextColumn("exporting"),
                BarColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),  # rich's default is stdout, the file list's
                transient=True,
            )
            bar.start()
            task = bar.add_task("export", total=total)
        assert task is not None
        bar.update(task, completed=done, total=total)
        if done >= total:  # all written: the bar goes before the file is measured
            bar.stop()
            bar = None

    try:
        yield progress
    finally:
        if bar is not None:
            bar.stop()
