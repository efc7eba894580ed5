"""``voiceguide export``: write the routine to audio files."""

from __future__ import annotations

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
    from voiceguide.cli.fast import ExportArgs, export_command

    export_command(
        ExportArgs(
            script=script,
            output=output,
            bitrate=bitrate,
            split=split,
            subtitles=subtitles,
            force=force,
            engine=engine,
        )
    )
