"""Where voiceguide keeps its files: the user cache and the built-in routine scripts."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "VOICEGUIDE_CACHE_DIR"
SCRIPTS_ENV = "VOICEGUIDE_SCRIPTS"


def cache_dir() -> Path:
    """The user cache directory (``$VOICEGUIDE_CACHE_DIR`` overrides the platform default)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("voiceguide", appauthor=False))


def scripts_dir() -> Path:
    """The built-in routine scripts (``scripts/`` beside the package in a checkout)."""
    if os.environ.get(SCRIPTS_ENV):
        return Path(os.environ[SCRIPTS_ENV])
    return Path(__file__).resolve().parent.parent / "scripts"
