"""A helper process that speaks every text with libespeak-ng from one and the same state.

libespeak-ng keeps state from one utterance to the next (its wave generator's phase, the
pitch flutter and more; none of it can be reset through its API, and initialising the
library again does not reset it), so a text spoken after another text comes out a few
samples longer or shorter, and never bit-identical. The speech cache, the exports and
``plan`` must not depend on what was spoken before, so this process initialises the
library once (synchronous mode: no threads), then forks a child for each utterance: every
child starts from the state the library had right after initialising (~1 ms a fork). The
child collects the samples through the synth callback and hands them back through a pipe.
A crash of the library (a segfault on a hostile text) ends that child only, and is
reported as a status.

Protocol, on stdin and stdout, one request at a time: a request is one line of JSON,
``{"voice": id, "rate": wpm, "volume": 0-100, "pitch": 0-100, "text": str}``; the answer
is a 12-byte header ``<int32 status, int32 sample rate, uint32 length>`` followed by
``length`` bytes of 16-bit little-endian mono PCM. Status 0: spoken; 1: the voice cannot
be loaded; 2: the library refused the text; 3: the library cannot start; a negative
status: the child died from that signal. End of input ends the process.

Run as a file (``python espeak_worker.py``): it imports nothing from voiceguide.
"""

from __future__ import annotations

import ctypes
import json
import os
import struct
import sys
from typing import Any

HEADER = struct.Struct("<iiI")
OK, NO_VOICE, REFUSED, NO_LIBRARY = 0, 1, 2, 3


def _speak(es: Any, request: dict[str, Any], out: int) -> int:
    """In the child: speak one request, write its PCM to ``out``; the status."""
    chunks: list[bytes] = []

    def collect(wav: Any, numsamples: int, events: Any) -> int:
        if numsamples > 0 and wav:
            chunks.append(ctypes.string_at(wav, numsamples * 2))
        return 0

    thunk = es.t_espeak_callback(collect)
    es.cSetSynthCallback(thunk)
    if es.SetVoiceByName(str(request["voice"]).encode("utf-8")) != 0:
        return NO_VOICE
    es.SetParameter(es.RATE, int(request["rate"]), 0)
    es.SetParameter(es.VOLUME, int(request["volume"]), 0)
    es.SetParameter(es.PITCH, int(request["pitch"]), 0)
    text = str(request["text"]).replace("\0", " ").encode("utf-8")
    if es.Synth(text, flags=es.ENDPAUSE | es.CHARS_UTF8) != 0:
        return REFUSED
    data = b"".join(chunks)
    view = memoryview(data)
    while view:
        view = view[os.write(out, view) :]
    return OK


def _serve(es: Any, rate: int) -> None:
    answers = sys.stdout.buffer
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        request = json.loads(line)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: speak, and leave without any clean-up of the parent's
            status = 100
            try:
                os.close(read)
                status = _speak(es, request, write)
            finally:
                os._exit(status)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
        _, code = os.waitpid(pid, 0)
        if os.WIFSIGNALED(code):
            status, data = -os.WTERMSIG(code), b""
        else:
            status = os.WEXITSTATUS(code)
            data = data if status == OK else b""
        answers.write(HEADER.pack(status, rate, len(data)) + data)
        answers.flush()


def main() -> None:
    try:
        from pyttsx3.drivers import _espeak as es

        rate = int(es.Initialize(es.AUDIO_OUTPUT_SYNCHRONOUS, 1000))
    except Exception:
        sys.stdout.buffer.write(HEADER.pack(NO_LIBRARY, 0, 0))
        sys.stdout.buffer.flush()
        return
    if rate <= 0:
        sys.stdout.buffer.write(HEADER.pack(NO_LIBRARY, 0, 0))
        sys.stdout.buffer.flush()
        return
    import gc

    gc.freeze()  # the children share these pages: no collection touches (and copies) them
    sys.stdout.buffer.write(HEADER.pack(OK, rate, 0))  # ready
    sys.stdout.buffer.flush()
    _serve(es, rate)


if __name__ == "__main__":
    main()
