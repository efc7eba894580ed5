"""What both benchmark scripts share: the set-up line and the table they print (one row a
measurement, numbers right-aligned)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

HEAD = ["measurement", "median", "min", "floor", "floor median", "ratio", "target", ""]
RIGHT = {1, 2, 4, 5}  # numeric columns


def prepare(repo: Path) -> str:
    """Compile the package's bytecode (as installed: setup.sh does this too, so no run pays
    for compiling what an edit made stale where writing bytecode is off), and describe the
    machine for the report. Commands that name no engine speak with espeak-ng (pyttsx3),
    what these benchmarks' floors are made of, unless VOICEGUIDE_ENGINE says otherwise;
    ``bench_voices.py`` names the neural engines it measures."""
    os.environ.setdefault("VOICEGUIDE_ENGINE", "pyttsx3")
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(repo / "voiceguide")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    bytecode = "off (PYTHONDONTWRITEBYTECODE)" if sys.flags.dont_write_bytecode else "on"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {load}, "
        f"bytecode writing {bytecode}"
    )


def verdict(ok: bool | None) -> str:
    """The last column: ok, MISSED, or nothing for a figure without a target."""
    return {None: "", True: "ok", False: "MISSED"}[ok]


def cells(
    label: str,
    values: Sequence[float],
    fmt: Callable[[float], str],
    *,
    floor_label: str = "",
    floor: float | None = None,
    ratio: str = "",
    target: str = "",
    ok: bool | None = None,
    best: Callable[[Sequence[float]], float] = min,
) -> list[str]:
    """One row of the table: the median and the best of ``values``, and the floor."""
    return [
        label,
        fmt(statistics.median(values)),
        fmt(best(values)),
        floor_label,
        "" if floor is None else fmt(floor),
        ratio,
        target,
        verdict(ok),
    ]


def layout(body: list[list[str]]) -> str:
    """``body`` under ``HEAD``, columns padded, a rule under the head."""
    widths = [max(len(r[i]) for r in [HEAD, *body]) for i in range(len(HEAD))]
    lines = []
    for r in [HEAD, *body]:
        cells = [
            c.rjust(w) if i in RIGHT else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "-" * len(max(lines, key=len)))
    return "\n".join(lines)
