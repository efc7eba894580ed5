"""Time units: durations in scripts ("1m30s") <-> integer milliseconds <-> sample frames.

The timeline counts integer milliseconds. Audio is rendered at SAMPLE_RATE, chosen so that
one millisecond is a whole number of frames: every event starts exactly on a frame.
Durations said as words ("1 minute 30 seconds") are the words table's: ``voiceguide.words``.

>>> parse_duration("1m30s")
90000
>>> parse_duration("2.5s")
2500
>>> ms_to_frames(1500)
36000
>>> clock(125_000)
'2:05'
"""

from __future__ import annotations

import math
import re

SAMPLE_RATE = 24_000
FRAMES_PER_MS = SAMPLE_RATE // 1000

_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")


def parse_duration(value: str | int | float) -> int:
    """Parse ``2m``, ``90s``, ``1m30s``, ``1.5s``, ``250ms`` or a bare number of seconds.

    Returns integer milliseconds; raises ValueError with a readable message, also for
    ``inf``, ``nan`` and numbers too large to be milliseconds.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 90s or 1m30s, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        return value * 1000
    if isinstance(value, float):
        if not 0 <= value * 1000 < math.inf:
            raise ValueError(f"expected a finite duration of zero or more, got {value!r}")
        return round(value * 1000)
    text = value.strip().replace(" ", "")
    pos = 0
    total = 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        number, unit = float(match.group(1)), match.group(2)
        total += number * {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}[unit]
        pos = match.end()
    if pos != len(text) or not text or not total < math.inf:
        raise ValueError(f"expected a duration such as 90s, 2m or 1m30s, got {value!r}")
    return round(total)


def ms_to_frames(ms: int) -> int:
    """Milliseconds to frames at SAMPLE_RATE (exact)."""
    return ms * FRAMES_PER_MS


def frames_to_ms(frames: int) -> int:
    """Frames to milliseconds, rounded up so a clip never overruns its slot."""
    return -(-frames // FRAMES_PER_MS)


def clock(ms: int) -> str:
    """``m:ss`` (or ``h:mm:ss``) for tables; negative times get a leading minus."""
    sign = "-" if ms < 0 else ""
    seconds = abs(ms) // 1000
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h}:{m:02d}:{s:02d}" if h else f"{sign}{m}:{s:02d}"


def clock_ms(ms: int) -> str:
    """``m:ss.mmm``: a clock with milliseconds, for subtitles-like precision in tables."""
    return f"{clock(ms)}.{abs(ms) % 1000:03d}"
