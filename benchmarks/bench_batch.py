"""The neural engines' batches on one thread against two, side by side in one run.

Run from the repository root (about a minute; ``--repeat`` sets the rounds, ``--skip-piper``
leaves Piper out)::

    .venv/bin/python benchmarks/bench_batch.py

Each round speaks the daily routine's distinct spoken texts (from ``voiceguide plan daily
--json``) through the engine's ``synthesize_many`` in a fresh child process, first on one
thread, then on two (``voices.batch.threads``), the model loaded before the clock starts.
Printed: the seconds of each, the speech's x real time, and the child's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from report import prepare

REPO = Path(__file__).resolve().parent.parent

CHILD = """
import json, resource, sys, time
from voiceguide.model import VoiceSettings
from voiceguide.voices import batch, get_engine
engine_name, threads, texts = sys.argv[1], int(sys.argv[2]), json.loads(sys.stdin.read())
batch.threads = lambda: threads
engine, voice = get_engine(engine_name), VoiceSettings(engine=engine_name)
engine.synthesize("Warm up.", voice)
start = time.perf_counter()
seconds = sum(len(s) / rate for s, rate in engine.synthesize_many([(t, voice) for t in texts]))
took = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps([took, seconds / took, rss]))
"""


def texts() -> list[str]:
    plan = subprocess.run(
        [sys.executable, "-m", "voiceguide", "plan", "daily", "--json", "--engine", "pyttsx3"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    events = json.loads(plan.stdout)["events"]
    return list(dict.fromkeys(e["spoken"] for e in events if e["kind"] == "speech"))


def run(engine: str, threads: int, spoken: list[str]) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, engine, str(threads)],
        input=json.dumps(spoken),
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if done.returncode != 0:
        raise SystemExit(f"bench_batch: {engine} on {threads} thread(s) failed:\n{done.stderr}")
    result: list[float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-piper", action="store_true")
    args = parser.parse_args()
    print(prepare(REPO))
    spoken = texts()
    print(f"{len(spoken)} distinct texts of the daily routine")
    head = ("engine", "threads", "median s", "min s", "x real time", "RSS MB")
    print("{:<8} {:>7} {:>9} {:>7} {:>12} {:>7}".format(*head))
    for engine in ("hibari", *(() if args.skip_piper else ("piper",))):
        rounds: dict[int, list[list[float]]] = {1: [], 2: []}
        for _ in range(args.repeat):
            for threads in (1, 2):  # interleaved: both see the same machine
                rounds[threads].append(run(engine, threads, spoken))
        for threads, got in rounds.items():
            took = [g[0] for g in got]
            speed = statistics.median(g[1] for g in got)
            rss = max(g[2] for g in got)
            print(
                f"{engine:<8} {threads:>7} {statistics.median(took):>9.2f} {min(took):>7.2f} "
                f"{speed:>11.1f}x {rss:>7.0f}"
            )


if __name__ == "__main__":
    main()
