"""One check's result, running a check within a time limit, and the fix in a problem's text.

A check is a function returning a ``Check``; ``bounded`` runs it in a thread of its own and
gives up on it after its time limit, so a hung engine or sound server never hangs doctor
(the thread is a daemon: it cannot hold up the exit either).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from voiceguide.errors import VoiceguideError


class Status(StrEnum):
    """How a check ended: ``warn`` is reported but does not fail doctor."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """One check: its name, status, a one-line detail and, when it is not ok, the command
    that fixes it; ``items`` are extra lines (devices, versions), ``data`` facts for JSON."""

    name: str
    status: Status
    detail: str
    fix: str | None = None
    seconds: float = 0.0
    items: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": str(self.status),
            "detail": self.detail,
            "fix": self.fix,
            "seconds": round(self.seconds, 3),
            "items": list(self.items),
            **({"data": self.data} if self.data else {}),
        }


def ok(name: str, detail: str, **kwargs: Any) -> Check:
    return Check(name, Status.OK, detail, **kwargs)


def warn(name: str, detail: str, fix: str | None = None, **kwargs: Any) -> Check:
    return Check(name, Status.WARN, detail, fix, **kwargs)


def fail(name: str, detail: str, fix: str | None, **kwargs: Any) -> Check:
    return Check(name, Status.FAIL, detail, fix, **kwargs)


def bounded(
    name: str, check: Callable[[], list[Check]], timeout: float, per_check: float | None = None
) -> list[Check]:
    """``check()``'s results, each timed; a check still running after ``timeout`` seconds
    is one failure (and is left to finish or hang on its own), whose fix is a longer
    ``--timeout`` than ``per_check`` (the option's value); an unexpected exception is one
    failure with its message."""
    results: list[Check] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            results.extend(check())
        except Exception as exc:  # a check's bug or a library's surprise: one failed row
            error.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=target, name=f"doctor-{name}", daemon=True)
    thread.start()
    thread.join(timeout)
    took = time.monotonic() - started
    if thread.is_alive():
        return [
            fail(
                name,
                f"did not finish within {timeout:g} s",
                f"voiceguide doctor --timeout {(per_check or timeout) * 4:g}",
                seconds=took,
            )
        ]
    if error:
        exc = error[0]
        text = str(exc) if isinstance(exc, VoiceguideError) else f"{type(exc).__name__}: {exc}"
        detail, fix = split_fix(text)
        return [fail(name, detail, fix or "voiceguide --debug doctor", seconds=took)]
    return [c if c.seconds else replace(c, seconds=took) for c in results]


# Where a command starts in a fix's words ("install espeak-ng: sudo apt install espeak-ng").
_COMMAND = re.compile(
    r"(?:sudo |pip |pip3 |python3? -m |apt-get |apt |systemctl |mkdir |chmod |chown |rm |mv "
    r"|unset |export |voiceguide |nano )"
)


def split_fix(problem: str) -> tuple[str, str | None]:
    """A problem's text ("X is missing; fix: sudo apt install x (it brings y)") as its
    detail and the command that fixes it (None when its words name no command)."""
    detail, sep, fix = problem.partition("; fix: ")
    if not sep:
        detail, sep, fix = problem.partition(": fix: ")
    if not sep:
        return problem, None
    return detail, command_in(fix) or fix.strip()


def command_in(words: str) -> str | None:
    """The first command in ``words``, up to a parenthesis, a semicolon or ", or"; apt's
    interactive front end written as apt-get, which scripts can rely on."""
    found = _COMMAND.search(words)
    if found is None:
        return None
    command = re.split(r" \(|; |, or | or ", words[found.start() :])[0].strip().rstrip(".")
    return re.sub(r"^sudo apt install\b", "sudo apt-get install", command)
