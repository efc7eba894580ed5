"""``voiceguide export`` read and run before typer is imported.

Importing typer (with click and rich) and building the command line takes a good part of
the start-up, and an export is the command run most (and timed: see the README's
benchmarks). So ``voiceguide.cli.main`` first hands the arguments to ``fast_export``: it
reads them itself and, when they are plainly an export, runs it (``export_command``, which
the typer command runs too). In every other case, including anything unusual about the
arguments (an option it does not know, a repeated option, an attached short-option value,
a value starting with ``-``, ``--``), it returns False and the full command line parses
them. Errors from the export itself are reported by ``main``, as for any command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from voiceguide.export import DEFAULT_BITRATE

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

COMPLETE_VAR = "_VOICEGUIDE_COMPLETE"  # click's shell completion: the full command line answers
_FLAGS = {"--split": "split", "--subtitles": "subtitles", "--force": "force"}
_VALUES = {
    "-o": "output",
    "--output": "output",
    "-b": "bitrate",
    "--bitrate": "bitrate",
    "--engine": "engine",
}


class ExportArgs(NamedTuple):
    """The arguments of ``voiceguide export``, as its typer command receives them."""

    script: str
    output: Path | None = None
    bitrate: int = DEFAULT_BITRATE
    split: bool = False
    subtitles: bool = False
    force: bool = False
    engine: str | None = None
    debug: bool = False


def parse_export(args: Sequence[str]) -> ExportArgs | None:
    """``args`` (after the program name) if they are a plain ``export`` command, else None.

    Accepts ``[--debug ...] export SCRIPT`` with the export options in any order: the flags
    ``--split``, ``--subtitles``, ``--force``, and ``-o``/``--output``, ``-b``/``--bitrate``
    and ``--engine`` with their value as the next argument or, for the long names, after
    ``=``. Each option at most once; the bitrate in plain digits.
    """
    start = 0
    while start < len(args) and args[start] == "--debug":
        start += 1
    if args[start : start + 1] != ["export"]:
        return None
    found: dict[str, str] = {}
    script = None
    rest = iter(args[start + 1 :])
    for arg in rest:
        if not arg.startswith("-"):
            if script is not None:
                return None
            script = arg
            continue
        name, eq, value = arg.partition("=")
        if name in _FLAGS and not eq:
            key, value = _FLAGS[name], ""
        elif name in _VALUES and (not eq or name.startswith("--")):
            key = _VALUES[name]
            if not eq:
                value = next(rest, "")
            if not value or value.startswith("-"):
                return None
        else:
            return None
        if key in found:
            return None
        found[key] = value
    bitrate = found.get("bitrate", str(DEFAULT_BITRATE))
    if script is None or not (bitrate.isascii() and bitrate.isdigit()) or bitrate[0] == "0":
        return None
    return ExportArgs(
        script=script,
        output=Path(found["output"]) if "output" in found else None,
        bitrate=int(bitrate),
        split="split" in found,
        subtitles="subtitles" in found,
        force="force" in found,
        engine=found.get("engine"),
        debug=start > 0,
    )


def up_to_date_message(outputs: Iterable[Path]) -> str:
    """What ``voiceguide export`` prints when it skips the work."""
    return f"up to date: {', '.join(map(str, outputs))} (use --force to redo)"


def export_command(args: ExportArgs) -> None:
    """What ``voiceguide export`` does: export, with a progress bar on a terminal, and say
    what was written (or that nothing needed doing)."""
    from voiceguide.pipeline import export
    from voiceguide.units import clock

    bar: Progress | None = None
    task: TaskID | None = None

    def progress(done: int, total: int) -> None:
        """The bar (rich) starts with the first frames: a no-op export shows none. It goes
        when every frame is written (a lossy file is then decoded and measured; if it is
        encoded once more, a new bar shows that)."""
        nonlocal bar, task
        if bar is None:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            bar = Progress(
                TextColumn("exporting"), BarColumn(), TimeRemainingColumn(), transient=True
            )
            bar.start()
            task = bar.add_task("export", total=total)
        assert task is not None
        bar.update(task, completed=done, total=total)
        if done >= total:  # all written: the bar goes before the file is measured
            bar.stop()
            bar = None

    try:
        result = export(
            args.script,
            args.output,
            engine=args.engine,
            bitrate=args.bitrate,
            split=args.split,
            subtitles=args.subtitles,
            force=args.force,
            progress=progress if sys.stderr.isatty() else None,
        )
    finally:
        if bar is not None:
            bar.stop()
    if result.skipped:
        _say(up_to_date_message(result.outputs))
        return
    loud = ""
    if result.lufs is not None and result.peak_dbtp is not None:
        loud = f", {result.lufs:.1f} LUFS, true peak {result.peak_dbtp:.1f} dBTP"
    for out in result.outputs:
        _say(f"wrote {out}")
    _say(f"length {clock(result.duration_ms)}{loud}")


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fast_export(args: Sequence[str]) -> bool:
    """Run ``voiceguide export`` without typer; False: leave ``args`` to the full command
    line (they are not plainly an export, or the shell is completing a command)."""
    parsed = parse_export(args)
    if parsed is None or COMPLETE_VAR in os.environ:
        return False
    from voiceguide.cli import state

    state["debug"] = parsed.debug
    export_command(parsed)
    return True
