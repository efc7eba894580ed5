"""The ``music:`` field of a routine or a step: a music file, or a mapping with its level and fades.

``music: rain.ogg`` names a file relative to the script (``~`` and absolute paths work
too); ``music: {file: rain.ogg, level_db: -18, fade: 2s}`` sets how far under the voice it
sounds and how long it fades in and out. The file must exist and be audio soundfile can
decode (WAV, FLAC, MP3, Ogg): anything else is an error at the file's name in the script.
"""

from __future__ import annotations

from pathlib import Path

from voiceguide.model import Music
from voiceguide.script.compose import Node
from voiceguide.script.fields import Fields
from voiceguide.script.messages import excerpt

MUSIC_KEYS = {"file", "level_db", "fade"}
LEVEL_RANGE_DB = (-60.0, 0.0)  # relative to the voice
MAX_FADE_MS = 60_000
MIN_MUSIC_MS = 100  # shorter than this, there is nothing to loop
FORMATS = "WAV, FLAC, MP3 or Ogg"


def music(f: Fields, node: Node, field: str) -> Music:
    """The music bed ``node`` describes, its file checked to be there and decodable."""
    if isinstance(node.value, dict):
        m = f.mapping(node, field, MUSIC_KEYS)
        file_node = f.required(node, m, "file", field)
        level = (
            f.number(m["level_db"], f"{field}.level_db", *LEVEL_RANGE_DB)
            if "level_db" in m
            else Music.level_db
        )
        fade = f.duration(m["fade"], f"{field}.fade", allow_zero=True) if "fade" in m else None
        if fade is not None and fade > MAX_FADE_MS:
            raise f.fail(m["fade"], f"a fade is at most {MAX_FADE_MS // 1000}s", f"{field}.fade")
        at = f"{field}.file"
    else:
        file_node, level, fade, at = node, Music.level_db, None, field
    path = audio_file(f, file_node, at)
    return Music(path, level, Music.fade_ms if fade is None else fade, f.where(file_node))


def audio_file(f: Fields, node: Node, field: str) -> Path:
    """The resolved path ``node`` names (relative to the script), checked to be audio."""
    import soundfile as sf

    name = f.text(node, field)
    path = Path(name).expanduser()
    if not path.is_absolute():
        path = f.path.parent / path
    path = path.resolve()
    if not path.is_file():
        what = "is not a file" if path.exists() else "not found"
        raise f.fail(node, f"music file {excerpt(name)} {what} (looked for {path})", field)
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError) as error:  # soundfile's LibsndfileError is a RuntimeError
        reason = " ".join(str(error).split())
        raise f.fail(
            node,
            f"music file {excerpt(name)} cannot be decoded as {FORMATS} audio ({reason})",
            field,
        ) from None
    if info.frames * 1000 < MIN_MUSIC_MS * info.samplerate:
        raise f.fail(node, f"music file {excerpt(name)} is shorter than {MIN_MUSIC_MS} ms", field)
    return path
