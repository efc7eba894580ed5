"""Loudness and true peak of written files, decoded as a player decodes them.

A lossy encoder changes the peaks (its filters ring, its quantisation adds), so what a
listener gets is known only from the decoded file: ``measure`` decodes the files one after
another (soundfile: libsndfile with mpg123 and libvorbis) and meters them as one stream.
Decoding runs on a thread of its own (``render.prefetch``) while the meter runs on this
one. What the decoders print to stderr on their own (mpg123 reports a granule over its bit
budget that LAME's bit reservoir allows) is kept off the terminal.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import soundfile
from numpy.typing import NDArray

from voiceguide.dsp.loudness import LoudnessMeter
from voiceguide.render.ahead import prefetch
from voiceguide.units import SAMPLE_RATE

_BLOCK = 10 * SAMPLE_RATE


def measure(paths: Sequence[Path]) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of ``paths`` decoded in order."""
    meter = LoudnessMeter(SAMPLE_RATE)
    with _quiet_stderr():
        for block in prefetch(_decoded(paths), 4, name="voiceguide-decode"):
            meter.add(block)
    return meter.integrated(), meter.true_peak_db()


def _decoded(paths: Sequence[Path]) -> Iterator[NDArray[np.float32]]:
    for path in paths:
        with soundfile.SoundFile(str(path)) as f:
            yield from f.blocks(blocksize=_BLOCK, dtype="float32")


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null meanwhile (the decoders' C libraries write
    there directly); Python's own stderr is flushed first and restored after."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep quiet
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
