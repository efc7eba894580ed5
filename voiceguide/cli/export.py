"""``voiceguide export``: write the routine to audio files."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from voiceguide.cli.options import Engine, Script
from voiceguide.export import DEFAULT_BITRATE


def export(
    script: Script,
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Output file: .mp3, .wav, .flac or .ogg [audio/NAME.mp3]."
    ),
    bitrate: int = typer.Option(DEFAULT_BITRATE, "--bitrate", "-b", help="MP3 bitrate in kbit/s."),
    split: bool = typer.Option(
        False, "--split", help="One file per step in a folder, plus an .m3u playlist."
    ),
    subtitles: bool = typer.Option(
        False, "--subtitles", help="Also write a WebVTT file of the spoken cues."
    ),
    force: bool = typer.Option(False, "--force", help="Export even if nothing changed."),
    engine: Engine = None,
) -> None:
    """Export SCRIPT to audio (format from the output's extension)."""
    from voiceguide.cli.fast import up_to_date, up_to_date_message
    from voiceguide.pipeline import export as run_export
    from voiceguide.units import clock

    # Checked here too (the export checks again) so that an export with nothing to do
    # does not start the progress bar (rich).
    current = None
    if not force:
        current = up_to_date(
            script, output, engine=engine, bitrate=bitrate, split=split, subtitles=subtitles
        )
    if current is not None:
        typer.echo(up_to_date_message(current))
        return
    if sys.stderr.isatty():
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("exporting"), BarColumn(), TimeRemainingColumn(), transient=True
        ) as bar:
            task = bar.add_task("export", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = run_export(
                script,
                output,
                engine=engine,
                bitrate=bitrate,
                split=split,
                subtitles=subtitles,
                force=force,
                progress=progress,
            )
    else:
        result = run_export(
            script,
            output,
            engine=engine,
            bitrate=bitrate,
            split=split,
            subtitles=subtitles,
            force=force,
        )
    if result.skipped:
        typer.echo(up_to_date_message(result.outputs))
        return
    loud = ""
    if result.lufs is not None and result.peak_dbtp is not None:
        loud = f", {result.lufs:.1f} LUFS, true peak {result.peak_dbtp:.1f} dBTP"
    for out in result.outputs:
        typer.echo(f"wrote {out}")
    typer.echo(f"length {clock(result.duration_ms)}{loud}")
