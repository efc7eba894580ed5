"""hibari's install facts, read cheaply: its voice registry, where model files are, what
is missing and how to fix it, and model files' hashes.

Nothing here imports hibari, onnxruntime or numpy except ``model_path``, which asks hibari
itself where a voice's file is (never downloading): settings, estimates, identity hints,
fingerprints and ``voiceguide voices`` stay cheap.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import platform
import sys
from typing import Any

from voiceguide.errors import EngineError

DEFAULT_VOICE = "heart"
"""The voice inside hibari's wheel: the one a script that names none speaks with."""
FETCH = "hibari --voice {name} --phonemes hello"
"""hibari's own command that fetches a voice once (and prints a word's phonemes)."""


def package_dir() -> str | None:
    """hibari's package folder, found without importing it; None if not installed."""
    try:
        spec = importlib.util.find_spec("hibari")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return os.path.dirname(spec.origin)


@functools.cache
def _read_registry(path: str) -> dict[str, dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        loaded = json.load(f)
    return {str(k): dict(v) for k, v in loaded.items()}


def registry() -> dict[str, dict[str, Any]]:
    """hibari's ``assets/voices.json`` (name -> language, gender, file, ...), read directly;
    empty if hibari is not installed or the file cannot be read."""
    package = package_dir()
    if package is None:
        return {}
    try:
        return _read_registry(os.path.join(package, "assets", "voices.json"))
    except (OSError, ValueError, AttributeError):
        return {}


def cache_dir() -> str:
    """Where hibari keeps fetched voices (as ``hibari.voices.cache_dir``, without importing
    it): HIBARI_HOME, else the user cache directory's ``hibari``."""
    home = os.environ.get("HIBARI_HOME")
    if home:
        return home
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(
            os.path.expanduser("~"), "AppData", "Local"
        )
    elif sys.platform == "darwin":
        base = os.path.join(os.path.expanduser("~"), "Library", "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "hibari")


def model_file(name: str) -> str | None:
    """Where voice ``name``'s model file is or would be (cheap: nothing is imported)."""
    entry = registry().get(name)
    package = package_dir()
    if entry is None or package is None:
        return None
    if entry.get("bundled"):
        return os.path.join(package, "assets", str(entry["file"]))
    return os.path.join(cache_dir(), str(entry["file"]))


def fetch_fix(name: str) -> str:
    """How to fetch voice ``name`` once (voiceguide itself never downloads)."""
    entry = registry().get(name, {})
    return (
        f"fetch it once with `{FETCH.format(name=name)}`, or copy {entry.get('file', name)} "
        f"into {cache_dir()} (HIBARI_HOME)"
    )


def model_path(name: str) -> str:
    """Voice ``name``'s model file, as hibari resolves it, never downloading; EngineError
    (with the fix) if hibari is missing or the voice is unknown or not fetched."""
    missing = missing_package()
    if missing is not None:
        raise EngineError(missing)
    from hibari.voices import voice_path

    try:
        return str(voice_path(name, download_missing=False))
    except ValueError:
        raise unknown_voice(name) from None
    except FileNotFoundError:
        raise not_installed(name) from None


def not_installed(name: str) -> EngineError:
    return EngineError(
        f"hibari voice {name!r} is not installed (voiceguide never downloads); "
        f"fix: {fetch_fix(name)}"
    )


def unknown_voice(name: str) -> EngineError:
    known = ", ".join(registry()) or DEFAULT_VOICE
    return EngineError(
        f"hibari has no voice {name!r}; fix: use one of: {known} (see `voiceguide voices`)"
    )


def resolve_voice(wanted: str | None) -> str:
    """The hibari voice name a script's ``voice`` means: None is DEFAULT_VOICE; a name or
    Kokoro id is matched case-insensitively; EngineError lists the known ones."""
    from voiceguide.words import norm

    if wanted is None or not wanted.strip():
        return DEFAULT_VOICE
    key = norm(wanted)
    for name, entry in registry().items():
        if key in (norm(name), norm(str(entry.get("kokoro", "")))):
            return name
    missing = missing_package()
    if missing is not None:
        raise EngineError(missing)
    raise unknown_voice(wanted)


def _arm32() -> bool:
    machine = platform.machine().lower()
    return (machine.startswith("arm") and machine != "arm64") or sys.maxsize <= 2**32


def missing_package() -> str | None:
    """Why hibari or onnxruntime cannot be imported, with the fix; None if both are found."""
    if package_dir() is None:
        return "hibari-tts is not installed; fix: pip install hibari-tts"
    if importlib.util.find_spec("onnxruntime") is None:
        if _arm32():
            return (
                "onnxruntime has no wheel for this platform (32-bit ARM), so hibari cannot "
                "run; fix: use --engine pyttsx3"
            )
        return "onnxruntime is not installed (hibari needs it); fix: pip install onnxruntime"
    return None


_SHA: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str) -> str:
    """The sha256 of a file, remembered per path, size and modification time."""
    try:
        st = os.stat(path)
        fact = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
        if fact not in _SHA:
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            _SHA[fact] = digest.hexdigest()
    except OSError as error:
        raise EngineError(
            f"cannot read hibari's model {path} ({error}); "
            "fix: reinstall: pip install --force-reinstall hibari-tts"
        ) from None
    return _SHA[fact]
