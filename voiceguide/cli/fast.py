"""``voiceguide export`` when nothing changed, answered before typer is imported.

Importing typer (with click, pydantic and rich) and building the command line takes most of
the time of an export that has nothing to do. So ``voiceguide.cli.main`` first hands the
arguments to ``noop_export``: it reads them itself, and only when they are plainly an export
(without ``--force``) whose outputs are current (``voiceguide.manifest.is_current``) does it
print what the ``export`` command prints and finish. In every other case, including anything
unusual about the arguments (an option it does not know, a repeated option, an attached
short-option value, a value starting with ``-``, ``--``) or any error, it returns False and
the full command line parses them, does the work or reports the error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from voiceguide.errors import Interrupted
from voiceguide.export import DEFAULT_BITRATE

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


def up_to_date(
    script: str,
    output: Path | None,
    *,
    engine: str | None,
    bitrate: int,
    split: bool,
    subtitles: bool,
) -> list[Path] | None:
    """The outputs if exporting ``script`` with these options would change nothing, else None.

    The same check as ``voiceguide.pipeline.export`` makes before any work (and raises its
    ScriptError for an unknown script); reads the manifest and the small input files only.
    """
    from voiceguide import manifest
    from voiceguide.pipeline import default_output, resolve_script

    path = resolve_script(script)
    target = output or default_output(path)
    planned = manifest.planned_outputs(target, split=split, subtitles=subtitles)
    options = manifest.export_options(
        target, engine=engine, bitrate=bitrate, split=split, subtitles=subtitles
    )
    return planned if manifest.is_current(planned, options) else None


def up_to_date_message(outputs: Iterable[Path]) -> str:
    """What ``voiceguide export`` prints when it skips the work."""
    return f"up to date: {', '.join(map(str, outputs))} (use --force to redo)"


def noop_export(args: Sequence[str]) -> bool:
    """Answer ``voiceguide export`` when nothing changed; False: parse ``args`` in full."""
    parsed = parse_export(args)
    if parsed is None or parsed.force or COMPLETE_VAR in os.environ:
        return False
    from voiceguide.cli import state

    state["debug"] = parsed.debug
    try:
        outputs = up_to_date(
            parsed.script,
            parsed.output,
            engine=parsed.engine,
            bitrate=parsed.bitrate,
            split=parsed.split,
            subtitles=parsed.subtitles,
        )
    except Interrupted:
        raise
    except Exception:  # the full command line reports it (or finds that it is not one)
        return False
    if outputs is None:
        return False
    sys.stdout.write(up_to_date_message(outputs) + "\n")
    sys.stdout.flush()
    return True
