"""Records what each export was made from, so an unchanged re-export is a no-op.

For every output file the manifest keeps a content hash of its inputs (the script and every
included file, the export options, the voiceguide version and the speech engine's
fingerprint) with the output's size and modification time. If all of these still match,
the file on disk is what a new export would write. The check reads only the small input
files: no YAML parsing, no numpy, no engine start-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from voiceguide import __version__


def manifest_path() -> Path:
    """The manifest file, beside the speech cache."""
    from voiceguide.paths import cache_dir

    return cache_dir() / "exports.json"


def engine_fingerprint(engine: str) -> str:
    """Cheap facts that change when the engine would speak differently (package versions)."""
    from importlib import metadata

    parts = [engine]
    for dist in {"pyttsx3": ["pyttsx3"], "piper": ["piper-tts"]}.get(engine, []):
        try:
            parts.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist}=missing")
    if engine == "pyttsx3":
        for lib in (
            "/usr/lib/x86_64-linux-gnu/libespeak-ng.so.1",
            "/usr/lib/aarch64-linux-gnu/libespeak-ng.so.1",
        ):
            try:
                st = os.stat(lib)
                parts.append(f"{lib}:{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                pass
    return ";".join(parts)


def input_hash(files: Iterable[Path], options: dict[str, Any]) -> str:
    """The content hash of an export's inputs."""
    h = hashlib.sha256()
    h.update(f"voiceguide {__version__}\n".encode())
    h.update(json.dumps(options, sort_keys=True, default=str).encode())
    for f in files:
        h.update(b"\0file\0" + str(f).encode() + b"\0")
        try:
            h.update(f.read_bytes())
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()


def _stamp(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _load() -> dict[str, Any]:
    try:
        data = json.loads(manifest_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_current(outputs: list[Path], options: dict[str, Any]) -> bool:
    """True if ``outputs`` exist unchanged and were made from unchanged inputs."""
    entry = _load().get(str(outputs[0].resolve()))
    if not isinstance(entry, dict):
        return False
    files = [Path(f) for f in entry.get("files", [])]
    if not files or entry.get("hash") != input_hash(files, options):
        return False
    stamps = entry.get("outputs", {})
    return all(stamps.get(str(p.resolve())) == _stamp(p) for p in outputs) and len(stamps) == len(
        outputs
    )


def record(outputs: list[Path], files: Iterable[Path], options: dict[str, Any]) -> None:
    """Remember how ``outputs`` were made (best effort: a failure only costs a re-export)."""
    from voiceguide.export.atomic import write_text_atomic

    files = [f.resolve() for f in files]
    data = _load()
    data[str(outputs[0].resolve())] = {
        "hash": input_hash(files, options),
        "files": [str(f) for f in files],
        "outputs": {str(p.resolve()): _stamp(p) for p in outputs},
    }
    with contextlib.suppress(OSError):
        write_text_atomic(manifest_path(), json.dumps(data, indent=1))
