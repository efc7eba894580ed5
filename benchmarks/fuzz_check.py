"""Fuzz ``voiceguide check`` with thousands of cases and count how it fared.

Run from the repository root (about 70 s for 5000 cases of each strategy on a quiet
2-core machine)::

    .venv/bin/python benchmarks/fuzz_check.py --examples 5000

The strategies and the check are those of ``tests/test_fuzz.py`` (mutated built-in scripts,
and hostile ones: recursive aliases, alias bombs, huge numbers, control characters,
escaping includes, long texts, many cues), with the same address-space limit. Unlike the
test, this goes on after a failure: it prints, per strategy, the cases run, how many
checked clean, how many were refused with ``file:line:col``, the failures (a traceback, a
malformed message, too long a time, or MemoryError) with the first few, and the slowest
case. Exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def fuzz_one(name: str, strategy: Any, workspace: Any, examples: int, seed: int | None) -> int:
    """Run ``examples`` cases of ``strategy``; print the tally; return the failures.

    Without ``seed`` the cases are the test's (derandomized); a seed draws others."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as seeded

    from tests import test_fuzz as fuzz

    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    slowest = 0.0

    @settings(
        max_examples=examples,
        derandomize=seed is None,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: tuple[Path, str]) -> None:
        nonlocal slowest
        relative, text = case
        path = workspace.write(relative, text)
        start = time.perf_counter()
        with fuzz.memory_limit():
            outcome, failure = fuzz.classify(path)
        slowest = max(slowest, time.perf_counter() - start)
        outcomes[outcome] += 1
        if failure is not None:
            failures.append(failure)

    (seeded(seed)(run) if seed is not None else run)()
    print(
        f"{name}: {sum(outcomes.values())} cases, {outcomes['clean']} checked clean, "
        f"{outcomes['refused']} refused with file:line:col, {outcomes['failed']} failures; "
        f"slowest case {slowest:.3f} s"
    )
    for failure in failures[:5]:
        print(f"  failure: {failure}")
    return outcomes["failed"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--examples", type=int, default=2000, help="cases per strategy")
    parser.add_argument("--seed", type=int, help="draw other cases than the test's")
    args = parser.parse_args()

    from tests import test_fuzz as fuzz

    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="voiceguide-fuzz-") as tmp:
        workspace = fuzz.Workspace(Path(tmp))
        failed = 0
        for name, strategy in (
            ("mutated built-in scripts", fuzz.mutated_builtins()),
            ("hostile scripts", fuzz.hostile_scripts()),
        ):
            failed += fuzz_one(name, strategy, workspace, args.examples, args.seed)
    print(f"total failures: {failed}, in {time.monotonic() - began:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
