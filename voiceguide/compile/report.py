"""What ``voiceguide check`` says of a compiled routine: the cues that do not fit, each with
its fix, the warnings, each with its fix, and the error it ends with, if any.

Cues that do not fit end it with CueFitError (exit 4). Warnings alone end it well (exit 0),
unless ``strict``: then with the exit code of the error they resemble (the highest one,
if they differ: 4 for a fit, 3 for a script error).
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceguide.compile.layout import Compiled
from voiceguide.compile.warnings import ScriptWarning, script_warnings
from voiceguide.errors import CueFitError, StrictWarnings, VoiceguideError
from voiceguide.model import Routine


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 step``, ``2 steps`` (``many``: the plural, if not ``noun`` + s)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


@dataclass(frozen=True)
class Report:
    """The lines check prints, the warnings among them, and the error it ends with."""

    lines: tuple[str, ...]
    warnings: tuple[ScriptWarning, ...]
    error: VoiceguideError | None


def check_report(routine: Routine, compiled: Compiled, *, strict: bool = False) -> Report:
    """The report of ``routine`` as ``compiled``: fit issues first (in time order), then
    warnings (in script order), each followed by its fix."""
    warnings = tuple(script_warnings(routine, compiled))
    lines: list[str] = []
    for issue in compiled.issues:
        lines.append(str(issue))
        if issue.fix:
            lines.append(f"  fix: {issue.fix}")
    for warning in warnings:
        lines.append(str(warning))
        lines.append(f"  fix: {warning.fix}")
    error: VoiceguideError | None = None
    noted = f", {plural(len(warnings), 'warning')}" if warnings else ""
    if compiled.issues:
        n = len(compiled.issues)
        error = CueFitError(f"{plural(n, 'cue does', 'cues do')} not fit{noted}", compiled.issues)
    elif warnings and strict:
        code = max(w.exit_code for w in warnings)
        error = StrictWarnings(f"{plural(len(warnings), 'warning')}, errors with --strict", code)
    return Report(tuple(lines), warnings, error)
