"""Scheduling for the audio threads: a higher priority where permitted (``raise_priority``),
and a longer output buffer when the machine is busy as a play starts (``busy_machine``)."""

from __future__ import annotations

import os
import threading

AUDIO_NICE = -10
"""The audio threads (and pacat or aplay) ask for this nice value: on a busy machine they
get the CPU before the busy programs (at nice 0). Where that is not permitted (no
CAP_SYS_NICE or RLIMIT_NICE), they play at normal priority."""
LOADED_LATENCY = 0.4
"""The output buffer (seconds) when the machine is busy when the play starts (a load
average above one per core): room for the audio thread to be scheduled late."""


def raise_priority(tid: int | None = None, nice: int = AUDIO_NICE) -> bool:
    """Give the thread ``tid`` (a native thread id or process id; None: the calling
    thread) the nice value ``nice``, if permitted; whether it was."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id() if tid is None else tid, nice)
    except OSError:  # not permitted: normal priority will do on a quiet machine
        return False
    return True


def busy_machine() -> bool:
    """Whether the load average (1 minute) is above the number of cores."""
    try:
        return os.getloadavg()[0] > (os.cpu_count() or 1)
    except OSError:
        return False
