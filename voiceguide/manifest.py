"""Records what each export was made from, so an unchanged re-export is a no-op.

For every output file the manifest keeps a content hash of its inputs (the script being
exported, named by its resolved path, and every file it included, the export options, the
voiceguide version and the speech engine's fingerprint) with the output's size and
modification time. If all of these still match, the file on disk is what a new export
would write. The check reads only the small input files: no YAML parsing, no numpy, no
engine start-up.

Each output has a record file of its own (``exports/<hash of the output path>.json``),
replaced atomically: two exports at once never lose each other's records. Two exports to
the same output take turns (``exclusive``), so its record is always that of the export
whose file is there.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from voiceguide import __version__, storage
from voiceguide.render.level import MIX_VERSION


def manifest_dir() -> Path:
    """The folder of the export records, beside the speech cache."""
    from voiceguide.paths import cache_dir

    return cache_dir() / "exports"


def record_path(output: Path) -> Path:
    """The record of the export whose first planned output is ``output``."""
    key = hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:32]
    return manifest_dir() / f"{key}.json"


@contextlib.contextmanager
def exclusive(output: Path) -> Iterator[None]:
    """Hold the lock of ``output``'s record meanwhile (an ``flock`` on a file beside it,
    released by the kernel if the process dies): an export to the same output started
    meanwhile waits. Best effort: where no lock can be had, nothing waits."""
    path = record_path(output).with_suffix(".lock")
    fd = -1
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        pass
    try:
        yield
    finally:
        if fd >= 0:
            os.close(fd)


def planned_outputs(output: Path, *, split: bool, subtitles: bool) -> list[Path]:
    """The files an export to ``output`` stands for in the manifest, the first one its key.

    The same as ``voiceguide.pipeline.export`` plans: the playlist for ``split``, plus the
    subtitles.
    """
    outputs = [output.with_suffix(".m3u")] if split else [output]
    if subtitles:
        outputs.append(output.with_suffix(".vtt"))
    return outputs


def export_options(
    script: Path,
    output: Path,
    *,
    engine: str | None,
    voice: str | None = None,
    bitrate: int,
    split: bool,
    subtitles: bool,
) -> dict[str, Any]:
    """The options an export's hash covers, as ``voiceguide.pipeline.export`` records them:
    ``script`` is the script being exported (its content is hashed with the includes)."""
    return {
        "mix": MIX_VERSION,
        "script": str(script.resolve()),
        "output": str(output.resolve()),
        "engine": engine,
        "voice": voice,
        "bitrate": bitrate,
        "split": split,
        "subtitles": subtitles,
        "engine_fingerprint": engine_fingerprint(engine),
    }


def engine_fingerprint(engine: str | None) -> str:
    """Cheap facts that change when the engine would speak differently (package versions,
    data files): the engine's own ``fingerprint()``, which does not start it. Without
    ``engine``, the default engine's name and every engine's fingerprint (a script may
    name any engine, per step or per cue)."""
    from voiceguide.voices import ENGINES, default_engine, fingerprint

    if engine:
        return fingerprint(engine)
    return "\n".join([default_engine(), *(fingerprint(name) for name in sorted(ENGINES))])


def input_hash(files: Iterable[Path], options: dict[str, Any]) -> str:
    """The content hash of an export's inputs."""
    h = hashlib.sha256()
    h.update(f"voiceguide {__version__}\n".encode())
    h.update(json.dumps(options, sort_keys=True, default=str).encode())
    for f in files:
        h.update(b"\0file\0" + str(f).encode() + b"\0")
        try:
            with open(f, "rb") as data:  # a MiB at a time: a music file may be an hour long
                while chunk := data.read(1 << 20):
                    h.update(chunk)
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()


def _stamp(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _inputs(options: dict[str, Any], included: Iterable[Path]) -> list[Path]:
    """The files an export's hash reads: the script being exported now, then its includes
    (and the music files it plays, ``pipeline.ExportResult.files``)."""
    script = Path(options["script"])
    return [script, *(f for f in included if f != script)]


def is_current(outputs: list[Path], options: dict[str, Any]) -> bool:
    """True if ``outputs`` exist unchanged and were made from unchanged inputs: the same
    script (path and content), the same included files and the same options."""
    entry = storage.read_json(record_path(outputs[0]))
    if entry.get("output") != str(outputs[0].resolve()):
        return False
    recorded = entry.get("files", [])
    if not isinstance(recorded, list) or not recorded or recorded[0] != options["script"]:
        return False
    files = _inputs(options, (Path(f) for f in recorded))
    if entry.get("hash") != input_hash(files, options):
        return False
    stamps = entry.get("outputs", {})
    if not isinstance(stamps, dict) or not all(str(p.resolve()) in stamps for p in outputs):
        return False
    return all(_stamp(Path(p)) == stamp for p, stamp in stamps.items())


def record(
    planned: list[Path], written: list[Path], files: Iterable[Path], options: dict[str, Any]
) -> None:
    """Remember how an export was made: under its first planned output, every file it wrote
    (the parts of a split export too) with its size and time (best effort: a failure only
    costs a re-export). ``files`` are the files the script read (includes)."""
    inputs = _inputs(options, (f.resolve() for f in files))
    entry = {
        "output": str(planned[0].resolve()),
        "hash": input_hash(inputs, options),
        "files": [str(f) for f in inputs],
        "outputs": {str(p.resolve()): _stamp(p) for p in [*planned, *written]},
    }
    path = record_path(planned[0])
    with contextlib.suppress(OSError):
        storage.write_json(path, entry)
