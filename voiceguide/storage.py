"""Storage: every file voiceguide keeps is written whole and durably, and read with care.

Three kinds of file, one way of writing them:

- ``replace``: the bytes go to a temporary file in the target's directory, are fsynced,
  renamed onto the target, and the directory is fsynced so the rename itself is on disk.
  What survives a crash or a power cut is the old file or the new one, never an empty or
  torn one.
- JSON stores (``read_json``/``write_json``): small records such as the export no-op
  record and the player's resume positions. A missing or unreadable store reads as empty.
- Checked files (``write``/``read``): cache entries (a speech clip with its stats, a tone's
  stats, a mix's loudness level) are a small header, then the payload::

    b"VGCACHE2"  uint64 payload length  uint32 CRC-32 of (context, payload)  payload

  ``context`` is what the file is for (its key), so a file copied under another name does
  not verify. The checksum is there to catch damage (a power cut, a failing disk, stray
  writes), not tampering, which no checksum kept beside the data could stop: CRC-32 misses
  about one damaged file in four billion, and is several times cheaper than a cryptographic
  hash (over the daily routine's 19 MB of clips: 26 ms, BLAKE2b 246 ms, on a 2-core
  x86-64). The readers also check that the numbers make sense. A reader gets the payload
  only if the file is complete and matches its digest; anything else (missing, empty, torn,
  flipped bytes, another format) reads as missing, with the reason, so the caller makes
  the entry again.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import tempfile
import time
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MAGIC = b"VGCACHE2"
HEADER = struct.Struct("<8sQI")
TMP_PREFIX = ".tmp-"
STALE_TMP_S = 3600.0
MAX_PAYLOAD = 1 << 30  # larger is never one of ours


class BadEntry(Exception):
    """A cache file that is missing or cannot be trusted; ``str()`` says why."""


def replace(path: Path, parts: Iterable[bytes | memoryview]) -> None:
    """Replace ``path`` with the bytes of ``parts`` in order, durably. The temporary file is
    named TMP_PREFIX + random (``sweep`` removes what a killed writer left). Raises OSError."""
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            for part in parts:
                f.write(part)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable; best effort (not every platform can open a
    directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, LF line ends) durably; its directory is made
    if missing. Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace(path, [text.encode("utf-8")])


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object stored in ``path``; empty if it is missing, unreadable or not an
    object (a store is a convenience: losing it costs a re-export or a resume)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace the store ``path`` with ``data`` durably. Raises OSError."""
    write_text(path, json.dumps(data, indent=1))


def digest(context: bytes, payload: Iterable[bytes | memoryview]) -> int:
    """The CRC-32 of ``context`` (with its length) and then ``payload``."""
    crc = zlib.crc32(len(context).to_bytes(4, "little") + context)
    for part in payload:
        crc = zlib.crc32(part, crc)
    return crc


def write(path: Path, context: bytes, payload: list[bytes | memoryview]) -> None:
    """Replace ``path`` with a checked file of ``payload`` (the parts in order), durably.

    Raises OSError (the caller decides whether a cache it cannot write is an error).
    """
    length = sum(len(part) for part in payload)
    header = HEADER.pack(MAGIC, length, digest(context, payload))
    path.parent.mkdir(parents=True, exist_ok=True)
    replace(path, [header, *payload])


def read(path: Path, context: bytes) -> bytes:
    """The payload of the checked file ``path``; BadEntry if it is not a complete, intact
    entry for ``context``."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEADER.size)
            if len(head) < HEADER.size:
                raise BadEntry("empty" if not head else "cut short")
            magic, length, stored = HEADER.unpack(head)
            if magic != MAGIC or length > MAX_PAYLOAD:
                raise BadEntry("not a voiceguide cache file")
            payload = f.read(length + 1)
    except FileNotFoundError:
        raise BadEntry("missing") from None
    except OSError as error:
        raise BadEntry(f"unreadable ({error.strerror or error})") from None
    if len(payload) != length:
        raise BadEntry("cut short" if len(payload) < length else "longer than its header says")
    if digest(context, [payload]) != stored:
        raise BadEntry("corrupted (its checksum does not match)")
    return payload


def peek(path: Path, prefix: int) -> tuple[int, bytes] | None:
    """``(payload length, its first prefix bytes)`` from the header alone, if the file's
    size matches it (no digest: a cheap check that the entry is whole); else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEADER.size + prefix)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return None
    if len(head) < HEADER.size + prefix:
        return None
    magic, length, _ = HEADER.unpack(head[: HEADER.size])
    if magic != MAGIC or size != HEADER.size + length:
        return None
    return length, head[HEADER.size :]


def sweep(directory: Path) -> None:
    """Delete temporary files in ``directory`` left by crashed runs (older than an hour:
    younger ones may belong to a run still writing)."""
    now = time.time()
    for leftover in directory.glob(f"{TMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > STALE_TMP_S:
                leftover.unlink()


def warn(line: str) -> None:
    """Say on stderr, in one line, that an entry was bad and is being made again."""
    import sys

    print(line.replace("\n", " "), file=sys.stderr, flush=True)
