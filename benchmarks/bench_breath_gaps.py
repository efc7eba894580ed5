"""How long each breathing part of the built-in routines ends without breathing guidance.

Run from the repository root (a few seconds; speaks with espeak-ng unless
VOICEGUIDE_ENGINE says otherwise)::

    .venv/bin/python benchmarks/bench_breath_gaps.py

For every step or side with a breathing pattern, the time from the end of its last breath
tone to the end of the part, and how its cycles fill it (``breath.fit``): the count, the
scale of every cycle, or the long last exhale. The breathing ends ``breath.QUIET_END_MS``
before its part, so the next chime starts out of quiet.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    from report import prepare

    from voiceguide.breath import QUIET_END_MS, fit
    from voiceguide.pipeline import builtin_scripts, compile_script
    from voiceguide.player.parts import parts
    from voiceguide.timeline import Tone
    from voiceguide.words import phrases

    print(f"breathing guidance at the end of each part\n{prepare(REPO)}")
    worst = 0
    for script in builtin_scripts():
        routine, compiled, _ = compile_script(script)
        tl = compiled.timeline
        for part in parts(tl, phrases()):
            step = routine.steps[part.step] if part.step is not None else None
            if part.kind not in ("step", "side") or step is None or step.breathing is None:
                continue
            tones = [
                e
                for e in tl.events
                if isinstance(e, Tone)
                and e.tone in ("inhale", "exhale", "hold")
                and part.start_ms <= e.start_ms < part.end_ms
            ]
            if not tones:
                print(f"  {script.stem:26s} {part.name[:44]:44s} no breathing")
                continue
            gap = part.end_ms - tones[-1].end_ms
            worst = max(worst, gap)
            how = fit(step.breathing, tones[-1].end_ms - tones[0].start_ms)
            shape = "long last exhale" if how.long_exhale else f"each x{how.scale:.3f}"
            print(
                f"  {script.stem:26s} {part.name[:44]:44s} {gap / 1000:4.1f} s unguided, "
                f"{how.count} cycle{'s' if how.count != 1 else ''}, {shape}"
            )
    print(f"at most {worst / 1000:.1f} s (the quiet before the next part: {QUIET_END_MS} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
