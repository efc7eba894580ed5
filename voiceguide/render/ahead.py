"""Blocks computed on a thread ahead of their consumer (``prefetch``).

The mix runs on one core while its consumer (an encoder, a decoder's meter) runs on
another: both release the GIL in their inner loops.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voiceguide.dsp.samples import Samples


def prefetch(
    blocks: Iterator[Samples], depth: int = 16, *, name: str = "voiceguide-render"
) -> Iterator[Samples]:
    """Compute ``blocks`` in a background thread (called ``name``), up to ``depth`` ahead
    of the consumer.

    An exception in the producer is re-raised in the consumer; when the consumer stops
    early (an error, Ctrl-C) the producer stops at its next block.
    """
    q: queue.Queue[Samples | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Samples | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for block in blocks:
                if not put(block):
                    return
            put(None)
        except BaseException as exc:  # handed to the consumer
            put(exc)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
