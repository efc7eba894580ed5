"""The table both benchmark scripts print: one row a measurement, numbers right-aligned."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

HEAD = ["measurement", "median", "min", "floor", "floor median", "ratio", "target", ""]
RIGHT = {1, 2, 4, 5}  # numeric columns


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
