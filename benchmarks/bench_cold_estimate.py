"""How far a cold start's provisional level is from the exact one, per built-in routine.

Run from the repository root (about half a minute)::

    .venv/bin/python benchmarks/bench_cold_estimate.py

For each built-in routine, on a fresh empty cache: compile on a thread as ``voiceguide play``
does, take the first part it hands on, estimate the level as a cold start does
(``render.estimate_level``), then wait for the whole and compare with the exact
level (``render.analyse``) that the player goes over to. Prints estimate minus exact, in dB
of overall gain (negative: the cold start begins quieter than the export).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    from report import prepare

    print(f"cold-start level estimate, one run per routine\n{prepare(REPO)}")
    with tempfile.TemporaryDirectory(prefix="voiceguide-bench-estimate-") as tmp:
        for i, script in enumerate(_builtins()):
            os.environ["VOICEGUIDE_CACHE_DIR"] = str(Path(tmp) / str(i))
            print(f"  {script.stem:28s} {_error_db(script):+.2f} dB", flush=True)
    return 0


def _builtins() -> list[Path]:
    from voiceguide.pipeline import builtin_scripts

    return builtin_scripts()


def _error_db(script: Path) -> float:
    from voiceguide import pipeline
    from voiceguide.compile import compile_routine
    from voiceguide.compile.job import Compiling
    from voiceguide.player.play import FIRST_PART_MS
    from voiceguide.render import analyse, estimate_level
    from voiceguide.timeline import Timeline

    routine = pipeline.load(script)
    bank = pipeline.open_bank()
    job = Compiling(routine, bank, "run 'voiceguide check'")
    first = job.first(FIRST_PART_MS)
    if not isinstance(first, Timeline):  # laid out before any part was handed on
        return 0.0
    estimate = estimate_level(first, bank, lambda guess: compile_routine(routine, guess).timeline)
    whole = job.result().timeline
    bank.wait()
    exact = analyse(whole, bank)
    return (estimate.gain_db + estimate.post_gain_db) - (exact.gain_db + exact.post_gain_db)


if __name__ == "__main__":
    sys.exit(main())
