"""``benchmarks/bench_pi.py`` runs end to end: a short routine, a one-second window, two
round trips, and prints its table. Nothing here is timed; the figures are the script's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e


def test_the_budget_benchmark_runs_and_prints_its_table() -> None:
    done = subprocess.run(
        [
            *(sys.executable, str(REPO / "benchmarks" / "bench_pi.py")),
            *("--script", "techniques/towel-lower-back-release"),
            *("--seconds", "1", "--rounds", "2"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    for row in ("peak RSS, player (VmHWM)", "CPU while playing", "ctl status, subprocess"):
        assert row in done.stdout, done.stdout
    assert "<= 100 MB" in done.stdout and "<= 50 ms" in done.stdout
