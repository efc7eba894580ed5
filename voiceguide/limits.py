"""voiceguide's documented limits: the ones a routine script must keep, and the player's.

A script's limits are far beyond any real routine, so that a mistyped or hostile script is
refused at once with ``file:line:col`` instead of using up time, memory or the speech
engine. A real routine lasts minutes to an hour or two, has tens of steps and speaks
sentences; each limit leaves a wide margin over that. Every refusal names its limit.

The player's are its volume range and how long it waits for a lost audio device; the
command line reads them here without importing the player. The README lists them all.
"""

from __future__ import annotations

MAX_SCRIPT_BYTES = 256 * 1024
"""Size of one script file (the built-in daily routine is under 5 KiB)."""

MAX_YAML_NODES = 50_000
"""YAML values in one script, counting every alias as a copy of what it names: an alias
bomb (aliases of aliases, each level multiplying the size) is refused at the alias that
crosses this."""

MAX_YAML_DEPTH = 32
"""How deeply YAML lists and mappings may nest (a routine script needs about 6)."""

MAX_STEPS = 500
"""Steps in a routine, included steps counted."""

MAX_CUES_PER_STEP = 100
"""Entries in one step's ``cues`` list."""

MAX_SIDES = 8
"""Sides of one step (``sides: [left, right]`` is 2)."""

MAX_SPOKEN_CUES = 5_000
"""Utterances in a whole routine, every repetition of an ``every``, a breath-locked cue and
a spoken breath counted (an hour with a cue every second would be 3600)."""

MAX_EVENTS = 50_000
"""Events in a routine's timeline: utterances, breath tones, chimes and ticks (two hours of
4-second breaths need about 3600 tones)."""

MAX_TEXT_CHARS = 1_000
"""Characters in one spoken text (a cue, or an intro or outro paragraph), after its
placeholders are filled in: about a minute of speech. Longer texts never reach an engine."""

MAX_NAME_CHARS = 200
"""Characters in a title, author, step name, side name or voice name."""

MAX_DURATION_MS = 4 * 3600 * 1000
"""Any one duration in a script (a step, a rest, a cue offset, a pause, a breath phase)."""

MAX_ROUTINE_MS = 4 * 3600 * 1000
"""The routine's length: its steps, rests and the pauses of its waiting steps together."""

MAX_INCLUDE_DEPTH = 8
"""How deeply includes may nest (a script including one that includes another is 2)."""

MAX_INCLUDED_FILES = 64
"""Distinct script files one routine may read, itself and its includes."""

EXCERPT_CHARS = 40
"""An error quotes at most this many characters of a value from a file."""

VOLUME_RANGE_DB = (-30.0, 3.0)
"""``voiceguide play --volume`` and the volume keys stay within this range (dB)."""

DEVICE_WAIT_SECONDS = 20.0
"""A lost or stalled audio device is reopened (the same one, else the next backend with
``--output auto``) for this long before the play gives up with exit code 7."""
