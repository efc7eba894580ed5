"""Checked cache files: written whole and durably, verified whole when read.

Every file voiceguide keeps in its cache (a speech clip with its stats, a tone's stats, a
mix's loudness level) is a small header, then its payload::

    b"VGCACHE2"  uint64 payload length  uint32 CRC-32 of (context, payload)  payload

``context`` is what the file is for (its key), so a file copied under another name does
not verify. The checksum is there to catch damage (a power cut, a failing disk, stray
writes), not tampering, which no checksum kept beside the data could stop: CRC-32 misses
about one damaged file in four billion, and is several times cheaper than a cryptographic
hash (over the daily routine's 19 MB of clips: 26 ms, BLAKE2b 246 ms, on a 2-core
x86-64). The readers also check that the numbers make sense.

A writer writes a temporary file in the same directory, fsyncs it, renames it onto the
entry and fsyncs the directory: a power cut leaves the old entry or the new one,
never a zero-length or torn file. A reader gets the payload only if the file is complete
and matches its digest; anything else (missing, empty, torn, flipped bytes, another
format) reads as missing, with the reason, so the caller makes the entry again.
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
import zlib
from collections.abc import Iterable
from pathlib import Path

from voiceguide import durable

MAGIC = b"VGCACHE2"
HEADER = struct.Struct("<8sQI")
TMP_PREFIX = ".tmp-"
STALE_TMP_S = 3600.0
MAX_PAYLOAD = 1 << 30  # larger is never one of ours


class BadEntry(Exception):
    """A cache file that is missing or cannot be trusted; ``str()`` says why."""


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
    durable.replace(path, [header, *payload], prefix=TMP_PREFIX)


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
