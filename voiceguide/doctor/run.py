"""Run every check of ``voiceguide doctor``, each within its time limit, and the exit code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from voiceguide.doctor.check import Check, Status, bounded
from voiceguide.errors import ExitCode

DEFAULT_TIMEOUT = 30.0  # seconds per check: a neural engine's first word on a Pi 4 fits
FAILED = ExitCode.ERROR
"""doctor's exit code when a check failed (warnings alone exit 0)."""


@dataclass(frozen=True)
class Options:
    """What ``voiceguide doctor`` was asked: play the tone on which output, which buttons
    file and socket to check, and each check's time limit in seconds."""

    play: bool = False
    output: str = "auto"
    device: str | None = None
    buttons: Path | None = None
    socket: Path | None = None
    timeout: float = DEFAULT_TIMEOUT


def plan(options: Options) -> list[tuple[str, Callable[[], list[Check]]]]:
    """The checks to run, by name, in the order they are reported."""
    from voiceguide.doctor.audio import output_checks, tone_check
    from voiceguide.doctor.buttons import buttons_check
    from voiceguide.doctor.cache import cache_check
    from voiceguide.doctor.control import socket_check
    from voiceguide.doctor.engines import engine_checks
    from voiceguide.doctor.versions import versions_check

    # the engines time each word themselves; their check as a whole gets a limit per engine
    checks: list[tuple[str, Callable[[], list[Check]]]] = [
        ("engines", partial(engine_checks, options.timeout)),
        ("audio", partial(output_checks, options.timeout)),
    ]
    opening = partial(tone_check, options.output, options.device, options.timeout, options.play)
    checks.append(("tone" if options.play else "audio output", opening))
    checks += [("cache", cache_check), ("socket", partial(socket_check, options.socket))]
    if options.buttons is not None:
        checks.append(("buttons", partial(buttons_check, options.buttons)))
    checks.append(("versions", versions_check))
    return checks


def run_checks(options: Options, on_check: Callable[[Check], None] | None = None) -> list[Check]:
    """Every check's results, in order; ``on_check`` hears each as it comes."""
    from voiceguide.doctor.probe import stop_all

    results: list[Check] = []
    try:
        for name, check in plan(options):
            # the engines' check speaks one word per engine, each within the limit
            limit = options.timeout * (4 if name in ("engines", "audio") else 1) + 5
            for result in bounded(name, check, limit, options.timeout):
                results.append(result)
                if on_check is not None:
                    on_check(result)
    finally:
        stop_all()
    return results


def exit_code(checks: list[Check]) -> ExitCode:
    """OK when no check failed (warnings allowed), else FAILED."""
    return FAILED if any(c.status is Status.FAIL for c in checks) else ExitCode.OK
