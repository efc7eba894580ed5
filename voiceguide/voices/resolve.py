"""Voice resolution shared by every engine: which of an engine's voices a script asks for.

A script names a voice by id, name or language, or not at all; an engine lists what it
has as ``VoiceInfo``s. ``resolve_voice`` picks one the same way for every engine, and with
no voice asked for, one that speaks the default language (``words.DEFAULT_LANGUAGE``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from voiceguide.errors import EngineError
from voiceguide.voices.base import VoiceInfo
from voiceguide.words import DEFAULT_LANGUAGE, norm, speaks


def tail(voice_id: str) -> str:
    """The last part of a voice id: ``gmw/en-us`` -> ``en-us`` (SAPI5 ids are registry paths)."""
    return re.split(r"[/\\]", voice_id)[-1]


def speaks_language(voice: VoiceInfo, lang: str = DEFAULT_LANGUAGE) -> bool:
    """Whether ``voice`` speaks language ``lang`` (any of its regional variants)."""
    return any(speaks(tag, lang) for tag in voice.languages)


def label(voice: VoiceInfo) -> str:
    """How a voice is named in a message: ``en-us (English (America))``."""
    return f"{tail(voice.id)} ({voice.name})"


def resolve_voice(
    voices: list[VoiceInfo], wanted: str | None, default: str | None, engine: str
) -> VoiceInfo:
    """Pick a voice by id, name or language (case-insensitive); None: a default-language one.

    With no voice asked for: the engine's own ``default`` voice if it speaks the default
    language, else the first voice that does, else the engine's default, else the first.
    Otherwise, in order: the exact id (``gmw/en-us``), the exact name (``English
    (America)``), the id's last part (``en-us``), a language (``en-us``), a language prefix
    (``en`` for ``en-gb``), then a part of the name that only one voice has (``zira``).
    ``engine`` names the engine in the messages.
    """
    if not voices:
        raise EngineError(f"the {engine} engine has no voices")
    if wanted is None or not wanted.strip():
        home = [v for v in voices if default and norm(v.id) == norm(default)]
        native = [v for v in voices if speaks_language(v)]
        if home and speaks_language(home[0]):
            return home[0]
        return (native or home or voices)[0]
    q = norm(wanted)
    tiers: tuple[Callable[[VoiceInfo], bool], ...] = (
        lambda v: norm(v.id) == q,
        lambda v: norm(v.name) == q,
        lambda v: norm(tail(v.id)) == q,
        lambda v: q in v.languages,
        lambda v: any(lang.startswith(q + "-") for lang in v.languages),
    )
    for matches_tier in tiers:
        found = [v for v in voices if matches_tier(v)]
        if found:
            return found[0]
    found = [v for v in voices if q in norm(v.name)]
    if len(found) == 1:
        return found[0]
    if found:
        some = ", ".join(label(v) for v in found[:5])
        raise EngineError(
            f"voice {wanted!r} matches {len(found)} voices, e.g. {some}; give one of their "
            "ids (see `voiceguide voices`)"
        )
    raise EngineError(
        f"unknown voice {wanted!r} for the {engine} engine; available include "
        f"{', '.join(label(v) for v in _suggestions(voices, q))}; "
        "run `voiceguide voices` to list them all"
    )


def _suggestions(voices: list[VoiceInfo], q: str) -> list[VoiceInfo]:
    """Up to five voices to suggest for an unknown ``q``: close matches, else some in the
    default language, else the first five."""
    import difflib

    by_label: dict[str, VoiceInfo] = {}
    for v in voices:
        for name in (norm(tail(v.id)), norm(v.name)):
            by_label.setdefault(name, v)
    close = [by_label[c] for c in difflib.get_close_matches(q, list(by_label), n=8, cutoff=0.6)]
    suggestions = list(dict.fromkeys(close))[:5] or [v for v in voices if speaks_language(v)][:5]
    return suggestions or voices[:5]
