"""An audio device missing as the play begins (a service at boot, before its sound server):
waited for ``--device-wait`` seconds with a line on stderr saying why, then exit 7 naming the
fix; and a sound server that comes up during the wait is played on.

The retry logic alone against a scripted opener; the player against a real PulseAudio
server (``tests.pulse``) that is not there yet, or never.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import TALKING, ctl, wait_for_socket, write
from tests.pulse import ALSA_CONF, PulseServer, start_pulse
from voiceguide.errors import AudioDeviceError, ExitCode
from voiceguide.player import reopening
from voiceguide.player.output_null import NullOutput
from voiceguide.player.reopening import open_waiting


def scripted(failures: int) -> tuple[Callable[[], NullOutput], list[int]]:
    """An opener that fails ``failures`` times (no server), then opens; and its call count."""
    calls = [0]

    def open_output() -> NullOutput:
        calls[0] += 1
        if calls[0] <= failures:
            raise AudioDeviceError("pacat cannot play: no PulseAudio or PipeWire server answers")
        return NullOutput()

    return open_output, calls


def test_a_device_that_comes_is_opened_with_a_line_per_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reopening, "REOPEN_EVERY_SECONDS", 0.01)
    monkeypatch.setattr(reopening, "RETRY_LINE_EVERY_SECONDS", 0.0)  # a line every try
    opener, calls = scripted(3)
    said: list[str] = []
    output = open_waiting(opener, 600.0, said.append)
    assert isinstance(output, NullOutput) and calls[0] == 4
    assert said[0].startswith(
        "no audio device yet (pacat cannot play: no PulseAudio or PipeWire server answers); "
        "retrying for "
    )
    assert said[0].endswith(" s")
    assert [line.split(";")[1].split(" for")[0] for line in said[1:3]] == [" still retrying"] * 2
    assert said[3].startswith("audio device ready after ") and len(said) == 4


def test_a_device_that_never_comes_is_the_last_error_after_the_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reopening, "REOPEN_EVERY_SECONDS", 0.01)
    opener, calls = scripted(10**9)
    said: list[str] = []
    began = time.monotonic()
    with pytest.raises(AudioDeviceError) as error:
        open_waiting(opener, 0.2, said.append)
    assert time.monotonic() - began >= 0.2
    assert str(error.value) == (
        "no audio device came within 0.2 s: pacat cannot play: no PulseAudio or PipeWire "
        "server answers"
    )
    assert len(said) == 1 and calls[0] >= 2  # one line: the window is 15 s


def test_no_wait_is_the_first_error_at_once() -> None:
    opener, calls = scripted(1)
    with pytest.raises(AudioDeviceError, match="^pacat cannot play"):
        open_waiting(opener, 0.0, lambda line: pytest.fail(line))
    assert calls[0] == 1


def no_server_env(root: Path) -> dict[str, str]:
    """An environment whose sound server is not there (its socket is ``root/run/native``,
    as ``start_pulse(root)`` will make it): PulseAudio and ALSA's default both point there,
    and nothing starts a server of its own (no autospawn)."""
    for sub in ("run", "client-run"):
        (root / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    (root / "client.conf").write_text("autospawn = no\n")
    (root / "asound.conf").write_text("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "ALSA_"))}
    return {
        **clean,
        "PULSE_SERVER": f"unix:{root / 'run' / 'native'}",
        "PULSE_COOKIE": str(root / "cookie"),
        "PULSE_CLIENTCONFIG": str(root / "client.conf"),
        "PULSE_RUNTIME_PATH": str(root / "client-run"),
        "ALSA_CONFIG_PATH": f"{ALSA_CONF}:{root / 'asound.conf'}",
    }


def play(script: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "play", str(script), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.e2e
def test_no_sound_server_at_start_retries_then_exits_7(tmp_path: Path) -> None:
    script = write(tmp_path, TALKING)
    proc = play(script, no_server_env(tmp_path / "none"), "--device-wait", "2")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == ExitCode.AUDIO, err
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("voiceguide: no audio device yet (no audio output works (")
    assert lines[0].endswith("); retrying for 2 s")
    assert lines[1].startswith("voiceguide: no audio device came within 2 s: no audio output")
    assert "start PulseAudio or PipeWire" in lines[1] and "voiceguide export" in lines[1]


def lines_of(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """The lines of the player's stderr as they come, read on a thread (which ends with
    them)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def status(sock: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ctl("status", sock))
    return data


@pytest.mark.e2e
@pytest.mark.parametrize("backend", ["pacat", "sounddevice", "auto"])
def test_a_sound_server_that_comes_during_the_wait_is_played_on(
    backend: str, tmp_path: Path
) -> None:
    script = write(tmp_path, TALKING)
    root = tmp_path / "late"
    sock = tmp_path / "ctl.sock"
    args = ("--output", backend, "--socket", str(sock), "--device-wait", "120")
    proc = play(script, no_server_env(root), *args)
    server: PulseServer | None = None
    try:
        lines, reader = lines_of(proc)
        first = lines.get(timeout=120)
        assert first.startswith("voiceguide: no audio device yet ("), first
        assert first.endswith("; retrying for 120 s"), first
        server = start_pulse(root)
        ready = lines.get(timeout=120)
        assert ready.startswith("voiceguide: audio device ready after "), ready
        wait_for_socket(sock, proc)
        deadline = time.monotonic() + 60
        while (now := status(sock))["position_file_ms"] < 500:
            assert proc.poll() is None and time.monotonic() < deadline, now
            time.sleep(0.05)
        heard = server.record(4.0).wait()  # a cue every 2 s: some of it sounds
        assert float(np.max(np.abs(heard))) > 0.05
        ctl("stop", sock)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if server is not None:
            server.stop()
    assert proc.returncode == 0
    reader.join(timeout=30)
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert not [line for line in rest if "Traceback" in line or "no audio device" in line], rest
