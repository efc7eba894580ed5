"""``voiceguide doctor``: real engines, a real PulseAudio null sink, real sockets and files.

The end-to-end tests run the command as a subprocess. A missing package is made missing for
that process alone, by a ``sitecustomize`` that marks it absent in ``sys.modules`` (the way
``importlib`` reports a module that cannot be imported), so nothing installed is touched.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import REPO, ctl, wait_for_socket, write
from tests.pulse import PulseServer
from voiceguide.doctor.buttons import buttons_check
from voiceguide.doctor.check import Check, Status, bounded, command_in, ok, split_fix
from voiceguide.doctor.control import socket_check
from voiceguide.doctor.engines import engine_check
from voiceguide.errors import ExitCode
from voiceguide.tones import CHIME_PEAK

HIDE = """import os, sys
for name in os.environ.get("DOCTOR_TEST_HIDE", "").split(","):
    if name:
        sys.modules[name] = None
"""


def env_for(tmp_path: Path, base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """A whole environment: a private cache and socket, and ``extra`` on top."""
    env = dict(base if base is not None else os.environ)
    env["VOICEGUIDE_CACHE_DIR"] = str(tmp_path / "cache")
    env["VOICEGUIDE_SOCKET"] = str(tmp_path / "vg.sock")
    env["COLUMNS"] = "200"  # the table unwrapped, so each check is one line
    env.update(extra)
    return env


def hiding(tmp_path: Path, env: dict[str, str], *modules: str) -> dict[str, str]:
    """``env`` for a process in which ``modules`` cannot be imported (nor found)."""
    site = tmp_path / "hide"
    write(site, HIDE, "sitecustomize.py")
    return {
        **env,
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]),
        "DOCTOR_TEST_HIDE": ",".join(modules),
    }


def doctor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", "doctor", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )


def report(*args: str, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """``doctor --json ARGS``: its exit code and its report, by check name."""
    done = doctor("--json", *args, env=env)
    assert done.stderr == "", done.stderr
    data = json.loads(done.stdout)
    assert data["exit_code"] == done.returncode
    assert all(c["fix"] for c in data["checks"] if c["status"] == "fail"), data["checks"]
    return done.returncode, {c["name"]: c for c in data["checks"]}


def digitless(text: str) -> str:
    """``text`` without its numbers (timings and free space differ from run to run)."""
    return re.sub(r"\d+(\.\d+)?", "#", text)


# ------------------------------------------------------------------------- pure logic


def test_the_command_is_taken_out_of_a_problems_words() -> None:
    assert split_fix(
        "libespeak-ng was not found; fix: install espeak-ng: sudo apt install "
        "espeak-ng (it brings libespeak-ng1)"
    ) == (
        "libespeak-ng was not found",
        "sudo apt-get install espeak-ng",
    )
    assert split_fix("piper-tts is not installed; fix: pip install 'voiceguide[piper]'") == (
        "piper-tts is not installed",
        "pip install 'voiceguide[piper]'",
    )
    assert split_fix("no fix here") == ("no fix here", None)
    assert command_in("use --engine pyttsx3") is None


def test_a_check_that_hangs_fails_within_its_time_limit() -> None:
    never = threading.Event()

    def hung() -> list[Check]:
        never.wait()
        return [ok("hung", "never")]

    started = time.monotonic()
    (result,) = bounded("hung", hung, 0.2, per_check=30)
    assert time.monotonic() - started < 10
    assert result.status is Status.FAIL and "within 0.2 s" in result.detail
    assert result.fix == "voiceguide doctor --timeout 120"
    never.set()


def test_a_check_that_raises_is_one_failure() -> None:
    def broken() -> list[Check]:
        raise RuntimeError("surprise")

    (result,) = bounded("broken", broken, 10)
    assert result.status is Status.FAIL and result.detail == "RuntimeError: surprise"


def test_an_engine_past_the_time_limit_is_killed_and_fails() -> None:
    """The real hibari in its child process, given far less time than a start needs."""
    started = time.monotonic()
    result = engine_check("hibari", True, 0.001)
    assert time.monotonic() - started < 20
    assert result.status is Status.FAIL
    assert "did not finish within 0.001 s" in result.detail
    assert result.fix == "voiceguide doctor --timeout 0.004"


# ------------------------------------------------------------------- end to end: audio


def test_all_pass_with_espeak_and_a_sound_server(pulse: PulseServer, tmp_path: Path) -> None:
    code, checks = report(env=env_for(tmp_path, pulse.client_env))
    assert code == ExitCode.OK
    espeak = checks["engine pyttsx3 (default)"]
    assert espeak["status"] == "ok", espeak
    assert re.search(
        r"\d+ voices; 'ready' spoken in \d+\.\d\d s \(\d+ ms of audio\)", espeak["detail"]
    )
    assert espeak["data"]["peak"] > 0.1
    sinks = checks["audio pacat"]
    assert sinks["status"] == "ok" and "(default: vgtest)" in sinks["detail"]
    assert any(item.startswith("* vgtest") for item in sinks["items"])
    assert checks["audio output"]["status"] == "ok", checks["audio output"]
    assert checks["cache"]["status"] == "ok"
    assert checks["socket"]["status"] == "ok"
    assert checks["versions"]["data"]["voiceguide"]
    assert all(c["fix"] is None for c in checks.values() if c["status"] == "ok")


def test_the_table_says_what_the_json_says(pulse: PulseServer, tmp_path: Path) -> None:
    env = env_for(tmp_path, pulse.client_env)
    code, checks = report(env=env)
    table = doctor(env=env)
    assert table.returncode == code
    lines = table.stdout.splitlines()
    for name, check in checks.items():
        row = next(line for line in lines if line.startswith(name + " "))
        assert row.split()[len(name.split())] == check["status"], row
        assert digitless(check["detail"]) in digitless(" ".join(row.split())), row
        if check["fix"] and check["status"] != "ok":
            assert f"fix {name}: {check['fix']}" in lines
    assert lines[-1].startswith("all ")


def test_play_sounds_the_chime_on_the_sink(pulse: PulseServer, tmp_path: Path) -> None:
    rec = pulse.record(600.0)  # until doctor is done
    code, checks = report("--play", "--output", "pacat", env=env_for(tmp_path, pulse.client_env))
    heard = rec.finish(after=1.0)
    assert code == ExitCode.OK, checks
    assert checks["tone"]["status"] == "ok" and "pacat" in checks["tone"]["detail"]
    peak = float(np.max(np.abs(heard)))
    assert 0.5 * CHIME_PEAK < peak < 1.2 * CHIME_PEAK
    loud = np.flatnonzero(np.abs(heard) > 0.05 * CHIME_PEAK)
    assert (loud[-1] - loud[0]) / 24_000 > 0.5  # the chime's ring, not a click


def test_play_on_a_device_that_does_not_exist_fails(pulse: PulseServer, tmp_path: Path) -> None:
    env = env_for(tmp_path, pulse.client_env)
    code, checks = report("--play", "--output", "pacat", "--device", "nosuch", env=env)
    assert code == ExitCode.ERROR
    assert checks["tone"]["status"] == "fail" and checks["tone"]["fix"]


def no_sound_env(tmp_path: Path, alsa: str) -> dict[str, str]:
    """No sound server answers, no pacat or aplay on PATH, ALSA configured by ``alsa``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "ALSA_"))}
    (tmp_path / "bin").mkdir()
    return env_for(
        tmp_path,
        clean,
        PULSE_SERVER=f"unix:{tmp_path / 'nobody'}",
        PULSE_CLIENTCONFIG=str(write(tmp_path, "autospawn = no\n", "client.conf")),
        ALSA_CONFIG_PATH=alsa,
        PATH=str(tmp_path / "bin"),
    )


def test_no_sound_server_fails_with_the_command_that_brings_one(tmp_path: Path) -> None:
    pulse_default = write(tmp_path, "pcm.!default { type pulse }\n", "asound.conf")
    code, checks = report(env=no_sound_env(tmp_path, f"/usr/share/alsa/alsa.conf:{pulse_default}"))
    assert code == ExitCode.ERROR
    assert checks["audio pacat"]["status"] == "warn"
    assert checks["audio pacat"]["fix"] == "sudo apt-get install pulseaudio-utils"
    assert checks["audio aplay"]["fix"] == "sudo apt-get install alsa-utils"
    opened = checks["audio output"]
    assert opened["status"] == "fail" and "no audio output works" in opened["detail"]
    assert opened["fix"] == "sudo apt-get install pulseaudio pulseaudio-utils"


def test_a_broken_alsa_config_crashing_portaudio_is_reported(tmp_path: Path) -> None:
    """PortAudio aborts on an empty ALSA configuration: doctor lives on to say so."""
    code, checks = report(env=no_sound_env(tmp_path, str(write(tmp_path, "", "empty.conf"))))
    assert code == ExitCode.ERROR
    portaudio = checks["audio sounddevice"]
    assert portaudio["status"] == "warn"
    assert "crashed (signal SIGABRT)" in portaudio["detail"]
    assert portaudio["fix"] == "unset ALSA_CONFIG_PATH"
    opened = checks["audio output"]
    assert opened["status"] == "fail" and "crashed (signal SIGABRT)" in opened["detail"]
    assert opened["fix"] == "unset ALSA_CONFIG_PATH"


# ------------------------------------------------------------------- end to end: parts


def test_a_cache_under_a_file_fails_and_its_fix_works(tmp_path: Path) -> None:
    blocker = write(tmp_path, "not a directory", "file")
    env = env_for(tmp_path, VOICEGUIDE_CACHE_DIR=str(blocker / "cache"))
    code, checks = report(env=env)
    assert code == ExitCode.ERROR
    cache = checks["cache"]
    assert cache["status"] == "fail" and f"{blocker} is a file" in cache["detail"]
    assert cache["fix"] == f"mv {blocker} {blocker}.bak && mkdir -p {blocker / 'cache'}"
    subprocess.run(cache["fix"], shell=True, check=True)
    _, checks = report(env=env)
    assert checks["cache"]["status"] == "ok"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any mode bits")
def test_a_cache_without_write_permission_fails(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o500)
    try:
        code, checks = report(env=env_for(tmp_path, VOICEGUIDE_CACHE_DIR=str(cache)))
    finally:
        cache.chmod(0o700)
    assert code == ExitCode.ERROR
    assert checks["cache"]["status"] == "fail" and "chmod u+rwx" in checks["cache"]["fix"]


def test_an_unknown_engine_fails_with_its_fix(tmp_path: Path) -> None:
    code, checks = report(env=env_for(tmp_path, VOICEGUIDE_ENGINE="nosuch"))
    assert code == ExitCode.ERROR
    assert checks["engine (default)"]["status"] == "fail"
    assert checks["engine (default)"]["fix"] == "unset VOICEGUIDE_ENGINE"


def test_a_missing_default_engine_fails_and_a_missing_optional_one_warns(
    tmp_path: Path,
) -> None:
    env = hiding(tmp_path, env_for(tmp_path, VOICEGUIDE_ENGINE="piper"), "piper")
    code, checks = report(env=env)
    assert code == ExitCode.ERROR
    piper = checks["engine piper (default)"]
    assert piper["status"] == "fail" and piper["fix"] == "pip install 'voiceguide[piper]'"
    assert checks["engine pyttsx3"]["status"] == "ok"

    env = hiding(tmp_path, env_for(tmp_path, VOICEGUIDE_ENGINE="pyttsx3"), "piper")
    code, checks = report(env=env)
    assert checks["engine piper"]["status"] == "warn"
    assert checks["engine piper"]["fix"] == "pip install 'voiceguide[piper]'"
    assert not [n for n, c in checks.items() if n.startswith("engine") and c["status"] == "fail"]


def test_espeak_missing_names_its_package(tmp_path: Path) -> None:
    env = hiding(tmp_path, env_for(tmp_path, VOICEGUIDE_ENGINE="pyttsx3"), "pyttsx3")
    code, checks = report(env=env)
    assert code == ExitCode.ERROR
    espeak = checks["engine pyttsx3 (default)"]
    assert espeak["status"] == "fail" and espeak["fix"] == "pip install pyttsx3"


def test_a_stale_socket_warns_and_its_fix_works(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(env["VOICEGUIDE_SOCKET"])
    stale.close()  # the file stays, nobody listens: a player that crashed
    _, checks = report(env=env)
    sock = checks["socket"]
    assert sock["status"] == "warn" and "no player is listening" in sock["detail"]
    assert sock["fix"] == f"rm {env['VOICEGUIDE_SOCKET']}"
    subprocess.run(sock["fix"], shell=True, check=True)
    _, checks = report(env=env)
    assert checks["socket"]["status"] == "ok"


def test_a_running_player_is_seen_on_the_socket(tmp_path: Path) -> None:
    """Where it binds, and from a login whose XDG_RUNTIME_DIR names another place first
    (a player run as a system service binds the cache directory's socket)."""
    env = env_for(tmp_path)
    script = write(
        tmp_path,
        "title: Doctor Test\nvoice: {engine: fake}\nsteps:\n"
        "  - {name: Long, duration: 10m, say: Begin.}\n",
    )
    sock = Path(env["VOICEGUIDE_CACHE_DIR"]) / "voiceguide.sock"
    env["VOICEGUIDE_SOCKET"] = str(sock)
    player = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "play", str(script), "--output", "null"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_socket(sock, player)
        _, checks = report(env=env)
        assert checks["socket"]["status"] == "ok"
        assert f"a player is listening on {sock} (" in checks["socket"]["detail"]
        assert "Doctor Test" in checks["socket"]["detail"]

        (tmp_path / "run").mkdir()
        login = {k: v for k, v in env.items() if k != "VOICEGUIDE_SOCKET"}
        _, checks = report(env={**login, "XDG_RUNTIME_DIR": str(tmp_path / "run")})
        detail = checks["socket"]["detail"]
        assert checks["socket"]["status"] == "ok"
        assert f"a player is listening on {sock} (" in detail
        assert f"started here would listen on {tmp_path / 'run' / 'voiceguide.sock'}" in detail
    finally:
        ctl("stop", sock)
        player.communicate(timeout=30)


def test_a_socket_path_taken_by_a_file_fails(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    write(tmp_path, "", "vg.sock")
    code, checks = report(env=env)
    assert code == ExitCode.ERROR
    assert checks["socket"]["status"] == "fail"
    assert (
        checks["socket"]["fix"] == f"mv {env['VOICEGUIDE_SOCKET']} {env['VOICEGUIDE_SOCKET']}.bak"
    )


# ------------------------------------------------------------------- the buttons file

BUTTONS = """[buttons.17]
press = "pause"
long_press = "stop"
[led]
pin = 22
"""


def test_a_good_buttons_file_passes(tmp_path: Path) -> None:
    path = write(tmp_path, BUTTONS, "buttons.toml")
    code, checks = report("--buttons", str(path), env=env_for(tmp_path))
    assert checks["buttons"]["status"] == "ok", checks["buttons"]
    assert "1 button, pins GPIO17, GPIO22" in checks["buttons"]["detail"]


def test_buttons_without_gpiozero_warn_with_the_extra_to_install(tmp_path: Path) -> None:
    path = write(tmp_path, BUTTONS, "buttons.toml")
    _, checks = report("--buttons", str(path), env=hiding(tmp_path, env_for(tmp_path), "gpiozero"))
    assert checks["buttons"]["status"] == "warn"
    assert checks["buttons"]["fix"] == "pip install 'voiceguide[gpio]'"


def test_a_buttons_file_that_does_not_parse_fails_at_its_place(tmp_path: Path) -> None:
    path = write(tmp_path, '[buttons.17]\npress = "dance"\n', "buttons.toml")
    (check,) = buttons_check(path)
    assert check.status is Status.FAIL
    assert check.detail.startswith(f"{path}:2:1: ") and "dance" in check.detail
    assert check.fix == f"nano +2,1 {path}"


def test_a_buttons_file_with_a_pin_the_board_lacks_fails(tmp_path: Path) -> None:
    path = write(tmp_path, BUTTONS.replace("17", "40"), "buttons.toml")
    code, checks = report("--buttons", str(path), env=env_for(tmp_path))
    assert code == ExitCode.ERROR
    assert checks["buttons"]["status"] == "fail"
    assert "GPIO40 does not exist" in checks["buttons"]["detail"]
    assert checks["buttons"]["fix"] == f"nano {path}"


def test_a_socket_path_too_long_for_unix_sockets_fails(tmp_path: Path) -> None:
    (check,) = socket_check(tmp_path / ("x" * 120) / "voiceguide.sock")
    assert check.status is Status.FAIL and "longer than a socket path may be" in check.detail
    assert check.fix is not None and check.fix.startswith("export VOICEGUIDE_SOCKET=")
