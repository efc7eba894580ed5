"""What verifying the speech cache costs, and how much damage it catches.

Run from the repository root (about half a minute)::

    .venv/bin/python benchmarks/bench_cache.py

a. CPU time of rendering the daily routine from a warm cache (the mix alone, no encoder),
   with the checks (every clip's CRC-32 and sanity checks when it is loaded, the mix
   limiter's floor from the samples' own peaks) and without them, interleaved, the median
   of ``--repeat`` runs each. The render runs beside the encoder in an export, on a core
   of its own.
b. Seeded random damage to clip entries (flipped bytes anywhere, truncation, extension,
   zeroed ranges, another entry's file under this name): how many reads refuse the entry,
   out of ``--tries``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def render_cpu(checks: bool, compiled: Any, bank: Any, level: Any) -> float:
    """CPU seconds to render the whole mix, with or without the checks."""
    import numpy as np

    from voiceguide import render
    from voiceguide import storage as store
    from voiceguide.dsp import limiter
    from voiceguide.dsp.samples import as_mono
    from voiceguide.voices import entry

    saved = limiter._floored, entry.check_entry, store.digest, store.read
    if not checks:

        def trusting_read(path: Path, context: bytes) -> bytes:
            with open(path, "rb") as f:
                _, length, _ = store.HEADER.unpack(f.read(store.HEADER.size))
                return f.read(length)

        def no_floor(x: Any, p: Any, chunk: int, ceiling: float) -> tuple[Any, Any]:
            return as_mono(x), np.asarray(p, dtype=np.float64)

        limiter._floored = no_floor
        entry.check_entry = lambda samples, stats: None
        store.read = trusting_read
    try:
        start = time.process_time()
        for _ in render.render(compiled.timeline, bank, level):
            pass
        return time.process_time() - start
    finally:
        limiter._floored, entry.check_entry, store.digest, store.read = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--tries", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voiceguide-bench-") as tmp:
        os.environ["VOICEGUIDE_CACHE_DIR"] = str(Path(tmp) / "cache")
        from voiceguide import pipeline
        from voiceguide.render import cached_level

        _, compiled, bank = pipeline.compile_script(REPO / "scripts" / "daily.yaml")
        level = cached_level(compiled.timeline, bank)
        render_cpu(True, compiled, bank, level)  # page cache and imports warm
        with_checks, without = [], []
        for _ in range(args.repeat):
            with_checks.append(render_cpu(True, compiled, bank, level))
            without.append(render_cpu(False, compiled, bank, level))
        on, off = statistics.median(with_checks), statistics.median(without)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load}")
        print(
            f"a. render daily (warm), CPU: with checks {on:.3f} s, without {off:.3f} s: "
            f"{on - off:+.3f} s ({100 * (on / off - 1):+.0f} %), median of {args.repeat}"
        )
        from tests.test_cache_corruption import damages

        caught = sum(damages(args.tries, Path(tmp)))
        print(f"b. random damage to clip entries: {caught} of {args.tries} detected")


if __name__ == "__main__":
    main()
