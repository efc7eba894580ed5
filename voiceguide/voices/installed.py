"""What is installed, read cheaply: distribution versions and file facts.

Engines build their ``fingerprint()`` and ``identity_hint()`` from these. A no-op export
asks for a fingerprint on every run, so nothing here imports ``importlib.metadata`` in the
common case, or starts an engine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def dist_version(dist: str) -> str | None:
    """``importlib.metadata.version(dist)``, or None if it is not installed.

    The common case, a ``.dist-info`` folder in a ``sys.path`` folder, is read directly:
    importing ``importlib.metadata`` costs more than the rest of a no-op export. Whenever the
    answer is not that simple (an ``.egg-info``, a zip on ``sys.path``, two candidates in one
    folder, no ``Version``), ``importlib.metadata`` answers.
    """
    wanted = _normalize(dist)
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except NotADirectoryError:  # a zip file: only importlib.metadata looks inside
            return _metadata_version(dist)
        except OSError:
            continue
        found = [
            name
            for name in names
            if name.lower().endswith((".dist-info", ".egg-info"))
            and _normalize(name.lower().rpartition(".")[0].partition("-")[0]) == wanted
        ]
        if not found:
            continue
        if len(found) == 1 and found[0].lower().endswith(".dist-info"):
            version = _metadata_field(Path(entry or ".", found[0], "METADATA"), "Version")
            if version is not None:
                return version
        return _metadata_version(dist)
    return _metadata_version(dist)


def dist_facts(dists: tuple[str, ...]) -> list[str]:
    """``name=version`` for each distribution (``name=missing`` if it is not installed)."""
    return [f"{dist}={dist_version(dist) or 'missing'}" for dist in dists]


def stat_fact(path: str) -> list[object] | None:
    """``[real path, size, modification time in ns]`` of a file, or None if it is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [os.path.realpath(path), st.st_size, st.st_mtime_ns]


def _normalize(name: str) -> str:
    """A distribution name as importlib.metadata compares them (PEP 503, with ``_``)."""
    parts = name.lower().replace("-", "_").replace(".", "_").split("_")
    return "_".join(part for part in parts if part)


def _metadata_field(path: Path, field: str) -> str | None:
    """A header field of a core metadata file (the headers end at the first empty line)."""
    try:
        with path.open(encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    break
                key, sep, value = line.partition(":")
                if sep and key.strip().lower() == field.lower():
                    return value.strip()
    except (OSError, ValueError):
        pass
    return None


def _metadata_version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
