"""What C sound libraries (ALSA, PortAudio, JACK) print on fd 2, kept off the terminal.

Around a short call (``captured_stderr``) their lines are captured for the error message;
while playing (``library_noise_counted``) they are counted, not shown. Every other line goes
on to the real stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Capture what C libraries (ALSA, PortAudio) print on fd 2 during a short call.

    Their messages (``ALSA lib pulse.c:242:(pulse_connect) PulseAudio: Unable to connect``,
    ``Expression '...' failed in 'src/hostapi/alsa/pa_linux_alsa.c'``) would clutter the
    one-line error; the lines are handed to the caller for the error message, and lines
    that are not such noise are passed on to the real stderr afterwards.
    """
    import tempfile

    lines: list[str] = []
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all
        yield lines
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode(errors="replace")
            lines.extend(line for line in text.splitlines() if line.strip())
            other = [line for line in lines if not _is_library_noise(line)]
            if other:
                os.write(2, ("\n".join(other) + "\n").encode())


_library_lines = [0]  # lines of sound-library noise kept off the terminal (see below)


def library_messages() -> int:
    """How many lines the sound libraries printed while playing (counted, not shown)."""
    return _library_lines[0]


@contextlib.contextmanager
def library_noise_counted() -> Iterator[None]:
    """While playing: what C libraries print on fd 2 at any time (``ALSA lib pcm.c:8545:
    (snd_pcm_recover) underrun occurred``, from PortAudio's audio thread) is counted
    (``library_messages``), not shown; every other line goes on to stderr as it comes.

    fd 2 is a pipe meanwhile, read by a thread that sorts the lines.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    thread = threading.Thread(
        target=_sort_lines, args=(read_end, saved), name="voiceguide-stderr", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last writer closes: the thread sees its end
        thread.join(1.0)
        if not thread.is_alive():  # (else it still writes to ``saved``)
            os.close(saved)


def _sort_lines(read_end: int, out: int) -> None:
    rest = b""
    try:
        while chunk := os.read(read_end, 4096):
            *lines, rest = (rest + chunk).split(b"\n")
            for raw in lines:
                if _is_library_noise(raw.decode(errors="replace")):
                    _library_lines[0] += 1
                else:
                    os.write(out, raw + b"\n")
        if rest:
            os.write(out, rest)
    except OSError:
        pass
    finally:
        os.close(read_end)


def _is_library_noise(line: str) -> bool:
    return line.startswith(
        (
            "ALSA lib ",
            "Expression '",
            "PaAlsaStream",
            "Cannot connect to server",
            "jack server",
            "JackShm",
        )
    )


def library_reason(lines: list[str]) -> str:
    """The most telling line of what ALSA printed, for an error message ('' if none)."""
    for line in reversed(lines):
        if line.startswith("ALSA lib ") and ")" in line:
            return line.split(")", 1)[1].strip()
    return ""
