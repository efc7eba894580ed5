"""The speech engines: which can run here, their voices, and one word spoken by each.

The default engine (the one a script naming none speaks with) must speak, or doctor fails;
another engine that is not installed is a warning (it is optional), but one that is
installed and cannot speak fails. The word is spoken in a child process (``probe``) that is
killed when it runs past the time limit.
"""

from __future__ import annotations

import time

from voiceguide.doctor.check import Check, fail, ok, split_fix, warn
from voiceguide.doctor.probe import WORD, run
from voiceguide.errors import EngineError
from voiceguide.voices import ENGINE_ENV, ENGINES, default_engine, get_engine
from voiceguide.voices.available import listed_engines

SILENT_PEAK = 0.01  # a spoken word peaks far above this (speech is normalised later)


def engine_checks(timeout: float) -> list[Check]:
    """One check per engine, the default first; an unknown VOICEGUIDE_ENGINE fails."""
    try:
        chosen: str | None = default_engine()
    except EngineError as exc:
        detail, _ = split_fix(str(exc))
        checks = [fail("engine (default)", detail, f"unset {ENGINE_ENV}")]
        chosen = None
    else:
        checks = []
    names = listed_engines()
    if chosen is not None and chosen not in names and chosen in ENGINES:
        names.append(chosen)  # VOICEGUIDE_ENGINE names one not listed (the test engine)
    names.sort(key=lambda n: n != chosen)
    return checks + [engine_check(name, name == chosen, timeout) for name in names]


def engine_check(name: str, default: bool, timeout: float) -> Check:
    """``name``'s check: why it cannot run, or its voices and how long a word took."""
    label = f"engine {name}" + (" (default)" if default else "")
    problem = get_engine(name).unavailable()
    if problem is not None:
        detail, fix = split_fix(problem)
        fix = _apt_fix(fix)
        if default:
            return fail(label, detail, fix)
        return warn(label, f"{detail} (optional)", fix)
    started = time.monotonic()
    result, trouble = run(["engine", name], timeout)
    took = time.monotonic() - started
    if result is not None and "error" in result:  # the engine's own EngineError
        trouble = str(result["error"])
    elif trouble is not None:  # the time limit, or a crash
        trouble = f"speaking '{WORD}' {trouble}"
    if trouble is not None or result is None:
        detail, fix = split_fix(trouble or "no result")
        fix = _apt_fix(fix) or f"voiceguide voices --engine {name}"
        return fail(label, detail, fix, seconds=took)
    count = int(result["voices"])
    voices = f"{count} voice{'s' if count != 1 else ''}" + (
        f" ({result['ready']} installed)" if result["ready"] != result["voices"] else ""
    )
    if float(result["peak"]) < SILENT_PEAK:
        return fail(
            label,
            f"{voices}; '{WORD}' came out silent",
            f"voiceguide voices --engine {name}",
            seconds=took,
            data=result,
        )
    spoken = f"'{WORD}' spoken in {result['seconds']:.2f} s ({result['audio_ms']} ms of audio)"
    return ok(label, f"{voices}; {spoken}", seconds=took, data=result)


def _apt_fix(fix: str | None) -> str | None:
    """espeak-ng's fix as the one command (its words also say what it brings)."""
    if fix is not None and "espeak-ng" in fix and "apt" in fix:
        return "sudo apt-get install espeak-ng"
    return fix
