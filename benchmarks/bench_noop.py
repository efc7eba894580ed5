"""The no-op export: ``voiceguide export daily -o X.mp3`` when the file is already current.

Run from the repository root (a few seconds after one real export; ``--repeat`` sets the
rounds)::

    .venv/bin/python benchmarks/bench_noop.py

The first export (untimed, into a fresh cache) writes X.mp3 and its record; every timed run
after it finds the record current and only says "up to date". Each round times, one after
the other so that a busy machine slows all three alike:

a. ``python -c pass``: the floor, the interpreter's own start-up;
b. the no-op export, through the installed ``voiceguide`` command (typer parses it);
c. ``python -c "import typer"``: what typer alone adds to the floor.

and the median (and min) over the rounds is reported, the no-op with its difference from and
ratio to the floor. Last, ``python -X importtime -c "import typer"`` gives typer's import as
Python counts it (the median of its cumulative time over the rounds).

Exits 0 after printing the table (a missed target is marked, not fatal); 1 if a command
fails (its stderr is printed).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench_export import NOOP_MAX_S, CommandFailed, Row, run, table
from report import prepare

REPO = Path(__file__).resolve().parent.parent
PYTHON_FLOOR = [sys.executable, "-c", "pass"]
IMPORT_TYPER = [sys.executable, "-c", "import typer"]


def voiceguide_command() -> list[str]:
    """The installed ``voiceguide`` script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("voiceguide")
    return [str(script)] if script.exists() else [sys.executable, "-m", "voiceguide"]


def typer_import_seconds() -> float:
    """typer's cumulative import time as ``python -X importtime`` reports it."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *IMPORT_TYPER[1:]],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in proc.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[2].strip() == "typer":
            return int(fields[1]) / 1e6
    raise CommandFailed(IMPORT_TYPER, proc.returncode, "no 'typer' line in:\n" + proc.stderr)


def measure(tmp: Path, repeat: int) -> list[Row]:
    cache = tmp / "cache"
    cache.mkdir()
    noop_cmd = [*voiceguide_command(), "export", "daily", "-o", str(tmp / "X.mp3")]
    first = run(noop_cmd, cache)
    if not first.stdout.startswith("wrote "):
        raise CommandFailed(noop_cmd, 0, f"expected 'wrote', got:\n{first.stdout}")
    python: list[float] = []
    noop: list[float] = []
    typer: list[float] = []
    importtime: list[float] = []
    for _ in range(repeat):
        python.append(run(PYTHON_FLOOR).seconds)
        again = run(noop_cmd, cache)
        if not again.stdout.startswith("up to date"):
            raise CommandFailed(noop_cmd, 0, f"expected 'up to date', got:\n{again.stdout}")
        noop.append(again.seconds)
        typer.append(run(IMPORT_TYPER).seconds)
        importtime.append(typer_import_seconds())

    m = statistics.median
    py = m(python)
    return [
        Row("a. floor: python -c pass", python),
        Row(
            "b. export daily, nothing changed",
            noop,
            "python -c pass",
            py,
            f"{m(noop) / py:.1f}x, +{m(noop) - py:.3f} s",
            f"<= {NOOP_MAX_S} s",
            m(noop) <= NOOP_MAX_S,
        ),
        Row(
            'c. python -c "import typer"',
            typer,
            "python -c pass",
            py,
            f"+{m(typer) - py:.3f} s",
        ),
        Row("   typer, as -X importtime counts it", importtime),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=21, help="rounds [21]")
    repeat = max(1, parser.parse_args(argv).repeat)
    began = time.perf_counter()
    print(f"voiceguide no-op export benchmark: {repeat} rounds, median and min")
    print(prepare(REPO))
    with tempfile.TemporaryDirectory(prefix="voiceguide-bench-") as tmp:
        try:
            rows = measure(Path(tmp), repeat)
        except (CommandFailed, OSError) as exc:  # OSError: a command that cannot be started
            print(f"bench_noop: {exc}\n{getattr(exc, 'stderr', '')}", file=sys.stderr)
            return 1
    took = time.perf_counter() - began
    print(f"\n{table(rows)}\n\nratio: median / floor median. Whole run {took:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
