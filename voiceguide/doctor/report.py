"""doctor's results for people (a table, then the fixes) and for programs (one JSON object).

The fixes come after the table, one command to a line, never wrapped: they are meant to be
copied into a shell.
"""

from __future__ import annotations

import io
import json
from typing import IO, Any

from voiceguide.doctor.check import Check, Status
from voiceguide.doctor.run import exit_code

STYLES = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "bold red"}


def as_json(checks: list[Check]) -> dict[str, Any]:
    """The machine-readable report: ``ok``, ``exit_code``, counts and every check."""
    code = exit_code(checks)
    return {
        "ok": code == 0,
        "exit_code": int(code),
        "counts": {str(s): sum(1 for c in checks if c.status is s) for s in Status},
        "checks": [c.as_json() for c in checks],
    }


def write_json(checks: list[Check], out: IO[str]) -> None:
    out.write(json.dumps(as_json(checks), indent=2) + "\n")


def write_table(checks: list[Check], out: IO[str]) -> None:
    """The table (check, status, detail, with each check's items under it), the fix of each
    check that has one, and a last line saying whether all passed."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # drawn into a buffer as wide as ``out``, so that the padding rich adds can be cut
    buffer = io.StringIO()
    color = Console(file=out).is_terminal
    console = Console(
        file=buffer,
        width=Console(file=out).width,
        highlight=False,
        force_terminal=color,
        no_color=not color,
    )
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in checks:
        table.add_row(
            check.name, Text(str(check.status), style=STYLES[check.status]), Text(check.detail)
        )
        for item in check.items:
            table.add_row("", "", Text(item, style="dim"))
    console.print(table)
    fixes = [c for c in checks if c.fix and c.status is not Status.OK]
    if fixes:
        console.print()
        for check in fixes:
            console.print(Text(f"fix {check.name}: ", style=STYLES[check.status]), end="")
            console.print(Text(check.fix or ""), soft_wrap=True)
    console.print()
    console.print(summary(checks))
    out.write("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n")


def summary(checks: list[Check]) -> str:
    """``all 9 checks passed (2 warnings)`` or ``2 of 9 checks failed (1 warning)``."""
    failed = sum(1 for c in checks if c.status is Status.FAIL)
    warned = sum(1 for c in checks if c.status is Status.WARN)
    warnings = f" ({warned} warning{'s' if warned != 1 else ''})" if warned else ""
    if failed:
        return f"{failed} of {len(checks)} checks failed{warnings}"
    return f"all {len(checks)} checks passed{warnings}"
