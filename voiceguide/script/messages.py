"""How the script reader's errors quote values and name the limits they refuse.

Every message that quotes a script's value goes through ``excerpt``, so no message repeats
much of a file that may not be a routine script at all.
"""

from __future__ import annotations

from voiceguide import limits


def join(field: str, key: str) -> str:
    """The dotted field path of ``key`` inside ``field`` (``steps[0].say``)."""
    return f"{field}.{key}" if field else key


def excerpt(value: object, *, quote: bool = True, limit: int = limits.EXCERPT_CHARS) -> str:
    """A value as an error quotes it: its repr (or text), cut to ``limit`` characters."""
    text = repr(value) if quote else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def hours(ms: int) -> str:
    return f"{ms / 3_600_000:g} hours"


def too_long(chars: int, limit: int) -> str:
    return f"is {chars} characters long, more than the limit of {limit}"


_WHAT = {
    "steps": (limits.MAX_STEPS, "steps in a routine"),
    "cues": (limits.MAX_CUES_PER_STEP, "cues in a step"),
    "sides": (limits.MAX_SIDES, "sides in a step"),
    "spoken": (limits.MAX_SPOKEN_CUES, "spoken cues in a routine"),
    "events": (limits.MAX_EVENTS, "timeline events in a routine"),
}


def over(count: int, what: str, *, repeats: bool = False) -> str:
    """``count`` goes over the limit named ``what``: the message says so, naming the limit."""
    limit, noun = _WHAT[what]
    if repeats:
        return f"is spoken {count} times, more than the limit of {limit} {noun}"
    return f"makes {count} {noun.split(' in ')[0]}, more than the limit of {limit} {noun}"
