"""``voiceguide service install`` and ``remove``: the units written into a folder, checked
line by line and by systemd's own ``systemd-analyze verify``; bad input; the update, the
removal, and a machine whose systemctl has no manager to talk to."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SCRIPTS, vg, write
from voiceguide.errors import ExitCode
from voiceguide.service.install import default_buttons_file, invoking_account
from voiceguide.service.units import BadTime, daily_time, exec_quote, unit_name

BUTTONS = """[buttons.17]
press = "start"
long_press = "stop"
"""


def install(unit_dir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = vg("service", "install", *args, "--unit-dir", str(unit_dir), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def unit_lines(path: Path) -> list[str]:
    """The unit's settings, without comments and blank lines."""
    text = path.read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def verify(*units: Path, user: bool, tmp_path: Path) -> str:
    """What ``systemd-analyze verify`` says of ``units``, only the lines naming them (it
    also speaks of the machine: a missing user bus, units it pulls in); "" when they pass."""
    binary = shutil.which("systemd-analyze")
    assert binary is not None, "systemd-analyze not found: install systemd (apt install systemd)"
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}  # a user manager needs one
    done = subprocess.run(
        [binary, *(["--user"] if user else []), "verify", "--man=no", *map(str, units)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    said = (done.stdout + done.stderr).splitlines()
    ours = [line for line in said if any(u.name in line for u in units)]
    assert done.returncode == 0 or ours, said  # a failure that names none of ours: shown
    return "\n".join(ours)


def test_a_daily_service_and_its_timer(tmp_path: Path) -> None:
    out = install(tmp_path, "daily", "--at", "7:05")
    service = tmp_path / "voiceguide-daily.service"
    timer = tmp_path / "voiceguide-daily.timer"
    assert sorted(p.name for p in tmp_path.iterdir()) == [service.name, timer.name]
    lines = unit_lines(service)
    python = os.path.abspath(sys.executable)
    assert f"ExecStart={python} -m voiceguide play daily --device-wait 60" in lines
    after = next(line for line in lines if line.startswith("After="))
    assert {"pipewire-pulse.service", "pulseaudio.service", "sound.target"} <= set(
        after.removeprefix("After=").split()
    )
    wants = [line for line in lines if line.startswith("Wants=")]  # the sound server installed
    assert all(w in ("Wants=pipewire-pulse.service", "Wants=pulseaudio.service") for w in wants)
    for setting in (
        "SuccessExitStatus=130",
        "KillSignal=SIGTERM",
        "Restart=on-failure",
        "StartLimitIntervalSec=600",
        "StartLimitBurst=3",
        "RestartPreventExitStatus=2 3 4 5",
        "Description=voiceguide: Daily Back Release (every day at 07:05)",
    ):
        assert setting in lines
    assert "[Install]" not in lines  # the timer starts it
    assert not any(line.startswith("User=") for line in lines)
    assert unit_lines(timer) == [
        "[Unit]",
        "Description=voiceguide: Daily Back Release every day at 07:05",
        "[Timer]",
        "OnCalendar=*-*-* 07:05:00",
        "Persistent=false",
        "AccuracySec=1s",
        "Unit=voiceguide-daily.service",
        "[Install]",
        "WantedBy=timers.target",
    ]
    assert oct(service.stat().st_mode & 0o777) == "0o644"
    assert out.splitlines()[:3] == [
        f"wrote {service}",
        f"wrote {timer}",
        "not enabled (--unit-dir); to enable it, run:",
    ]
    assert "  systemctl --user daemon-reload" in out.splitlines()
    assert "  systemctl --user enable --now voiceguide-daily.timer" in out.splitlines()
    assert "journal: journalctl --user -u voiceguide-daily" in out.splitlines()
    assert verify(service, timer, user=True, tmp_path=tmp_path) == ""


def test_the_play_options_go_into_the_unit(tmp_path: Path) -> None:
    """What ``play`` would be told on the command line is told to the service's play:
    output, device, volume, engine, voice and the device wait, the defaults left out."""
    install(tmp_path, "daily", "--at", "7:05", "--output", "pacat", "--device", "usb")
    install(tmp_path, "daily", "--at", "7:05", "--volume", "-6", "--engine", "pyttsx3")
    lines = unit_lines(tmp_path / "voiceguide-daily.service")  # installing again updates
    python = os.path.abspath(sys.executable)
    exec_start = f"ExecStart={python} -m voiceguide play daily"
    assert f"{exec_start} --volume -6 --engine pyttsx3 --device-wait 60" in lines
    install(
        tmp_path, "daily", "--at", "7:05", "--output", "pacat", "--device", "usb",
        "--voice", "en-gb", "--device-wait", "90",
    )  # fmt: skip
    lines = unit_lines(tmp_path / "voiceguide-daily.service")
    assert f"{exec_start} --output pacat --device usb --voice en-gb --device-wait 90" in lines


@pytest.mark.parametrize(
    "option",
    [
        ("--output", "jack"),
        ("--engine", "festival"),
        ("--volume", "9"),
        ("--volume", "nan"),
        ("--device-wait", "-1"),
    ],
)
def test_a_play_option_the_play_would_refuse_is_a_usage_error(
    tmp_path: Path, option: tuple[str, str]
) -> None:
    done = vg("service", "install", "daily", "--at", "7:05", *option, "--unit-dir", str(tmp_path))
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert option[0] in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_routine_file_is_named_by_its_absolute_path(tmp_path: Path) -> None:
    script = write(tmp_path, "title: Stretch Now\nsteps:\n  - {name: A, duration: 5s}\n")
    units = tmp_path / "units"
    done = subprocess.run(
        [sys.executable, "-m", "voiceguide", "service", "install", "routine.yaml"]
        + ["--at", "23:59", "--unit-dir", str(units)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = unit_lines(units / "voiceguide-routine.service")
    assert f"ExecStart={os.path.abspath(sys.executable)} -m voiceguide play {script}" in " ".join(
        lines
    )
    assert "Description=voiceguide: Stretch Now (every day at 23:59)" in lines


@pytest.mark.parametrize("at", ["24:00", "7", "07:60", "7:5", "seven", "-1:00", ""])
def test_a_bad_time_is_a_usage_error_and_writes_nothing(tmp_path: Path, at: str) -> None:
    done = vg("service", "install", "daily", "--at", at, "--unit-dir", str(tmp_path / "u"))
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert "is not a time of day" in done.stderr
    assert not (tmp_path / "u").exists()


def test_times_of_day() -> None:
    assert [daily_time(t) for t in ("0:00", "7:00", "07:30", "23:59")] == [
        "00:00",
        "07:00",
        "07:30",
        "23:59",
    ]
    with pytest.raises(BadTime):
        daily_time("12:00:00")


def test_neither_or_both_ways_to_start_is_a_usage_error(tmp_path: Path) -> None:
    for extra in ([], ["--at", "07:00", "--on-button"]):
        done = vg("service", "install", "daily", *extra, "--unit-dir", str(tmp_path))
        assert done.returncode == ExitCode.USAGE, done.stderr
        assert "--at HH:MM or --on-button" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_bad_routine_is_its_own_error_and_writes_nothing(tmp_path: Path) -> None:
    done = vg("service", "install", "no-such-routine", "--at", "07:00", "--unit-dir", str(tmp_path))
    assert done.returncode == ExitCode.SCRIPT
    assert "no-such-routine" in done.stderr and len(done.stderr.splitlines()) == 1
    bad = write(tmp_path, "title: Bad\nsteps: 3\n")
    done = vg("service", "install", str(bad), "--at", "07:00", "--unit-dir", str(tmp_path / "u"))
    assert done.returncode == ExitCode.SCRIPT, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "u").exists()


def test_installing_again_updates_and_remove_undoes_it(tmp_path: Path) -> None:
    units = tmp_path / "units"
    install(units, "daily", "--at", "07:00")
    out = install(units, "daily", "--at", "08:15")
    assert out.startswith(f"updated {units / 'voiceguide-daily.service'}\n")
    assert "OnCalendar=*-*-* 08:15:00" in unit_lines(units / "voiceguide-daily.timer")
    assert "  systemctl --user restart voiceguide-daily.timer" in out.splitlines()
    assert [p.name for p in units.iterdir() if p.name.startswith(".")] == []  # no temporaries
    # what `systemctl enable` would have linked goes too
    wants = units / "timers.target.wants"
    wants.mkdir()
    (wants / "voiceguide-daily.timer").symlink_to(units / "voiceguide-daily.timer")
    done = vg("service", "remove", "daily", "--unit-dir", str(units))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in units.rglob("*")) == ["timers.target.wants"]
    assert f"deleted {units / 'voiceguide-daily.timer'}" in done.stdout.splitlines()
    assert "  systemctl --user stop voiceguide-daily.timer" in done.stdout.splitlines()
    again = vg("service", "remove", "daily", "--unit-dir", str(units))
    assert again.returncode == ExitCode.ERROR
    assert again.stderr == f"voiceguide: voiceguide-daily is not installed in {units}\n"


def test_removing_what_is_not_installed_names_what_is(tmp_path: Path) -> None:
    install(tmp_path, "daily", "--at", "07:00")
    done = vg("service", "remove", "safety", "--unit-dir", str(tmp_path))
    assert (done.returncode, done.stderr) == (
        ExitCode.ERROR,
        f"voiceguide: voiceguide-safety is not installed in {tmp_path} (installed there: "
        "voiceguide-daily.service)\n",
    )
    assert vg("service", "remove", "voiceguide-daily", "--unit-dir", str(tmp_path)).returncode == 0


def expected_account() -> tuple[str, int, dict[str, str]]:
    """The account ``--system`` names, and the environment for it: under root, SUDO_USER
    (as sudo sets it); otherwise this user."""
    if os.geteuid() == 0:  # an account of the machine's, not root (nor "nobody": unsafe)
        entry = next(e for e in pwd.getpwall() if 0 < e.pw_uid < 65534)
        return entry.pw_name, entry.pw_uid, {**os.environ, "SUDO_USER": entry.pw_name}
    entry = pwd.getpwuid(os.getuid())
    return entry.pw_name, entry.pw_uid, {**os.environ}


def test_a_system_unit_runs_as_the_invoking_user(tmp_path: Path) -> None:
    name, uid, env = expected_account()
    out = install(tmp_path, "daily", "--at", "06:00", "--system", env=env)
    service = tmp_path / "voiceguide-daily.service"
    lines = unit_lines(service)
    assert f"User={name}" in lines
    assert f"Environment=XDG_RUNTIME_DIR=/run/user/{uid}" in lines
    assert f"After=sound.target user@{uid}.service" in lines
    assert f"Wants=user@{uid}.service" in lines
    assert "  systemctl enable --now voiceguide-daily.timer" in out.splitlines()
    assert "journal: journalctl -u voiceguide-daily" in out.splitlines()
    assert "loginctl" not in out
    assert verify(service, tmp_path / "voiceguide-daily.timer", user=False, tmp_path=tmp_path) == ""


def test_on_button_the_service_waits_at_boot(tmp_path: Path) -> None:
    buttons = tmp_path / "buttons.toml"
    buttons.write_text(BUTTONS, encoding="utf-8")
    units = tmp_path / "units"
    install(units, "daily", "--at", "07:00")
    out = install(units, "daily", "--on-button", "--buttons", str(buttons))
    service = units / "voiceguide-daily.service"
    assert sorted(p.name for p in units.iterdir()) == [service.name]  # the timer went
    assert f"deleted {units / 'voiceguide-daily.timer'}" in out.splitlines()
    lines = unit_lines(service)
    python = os.path.abspath(sys.executable)
    assert (
        f"ExecStart={python} -m voiceguide play daily --buttons {buttons} --wait-start "
        "--device-wait 60"
    ) in lines
    assert lines[-2:] == ["[Install]", "WantedBy=default.target"]
    assert "Restart=always" in lines and "StartLimitBurst=5" in lines
    assert "  systemctl --user enable --now voiceguide-daily.service" in out.splitlines()
    assert verify(service, user=True, tmp_path=tmp_path) == ""


def test_on_button_a_missing_or_bad_buttons_file_is_its_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    done = vg("service", "install", "daily", "--on-button", "--buttons", str(missing))
    assert done.returncode == ExitCode.SCRIPT, done.stderr
    assert done.stderr.startswith(f"voiceguide: {missing}:1:1: cannot read the buttons file")
    bad = tmp_path / "bad.toml"
    bad.write_text('[buttons.17]\npress = "fly"\n', encoding="utf-8")
    done = vg("service", "install", "daily", "--on-button", "--buttons", str(bad))
    assert done.returncode == ExitCode.SCRIPT, done.stderr
    assert len(done.stderr.splitlines()) == 1
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}  # the default file
    done = vg("service", "install", "daily", "--on-button", "--unit-dir", str(tmp_path), env=env)
    assert done.returncode == ExitCode.SCRIPT, done.stderr
    assert str(tmp_path / "config" / "voiceguide" / "buttons.toml") in done.stderr


def test_the_default_buttons_file_is_in_the_users_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "/somewhere")
    assert default_buttons_file(invoking_account()) == Path("/somewhere/voiceguide/buttons.toml")


def test_without_a_systemd_manager_the_commands_are_printed(tmp_path: Path) -> None:
    """As in a container or CI: the units go to the user's folder, and the command prints
    what to run (exit 0). The bus is pointed nowhere, so no real manager is ever asked."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_RUNTIME_DIR": str(runtime),
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={runtime / 'no-bus'}",
    }
    done = vg("service", "install", "daily", "--at", "07:00", env=env)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "config" / "systemd" / "user"
    assert (folder / "voiceguide-daily.timer").is_file()
    lines = done.stdout.splitlines()
    assert lines[2].startswith("not enabled (systemctl") and lines[2].endswith(
        "; to enable it, run:"
    )
    assert lines[3:5] == [
        "  systemctl --user daemon-reload",
        "  systemctl --user enable --now voiceguide-daily.timer",
    ]
    done = vg("service", "remove", "daily", env=env)
    assert done.returncode == 0, done.stderr
    assert list(folder.iterdir()) == []


def test_dry_run_prints_the_units_and_writes_nothing(tmp_path: Path) -> None:
    done = vg(
        "service",
        "install",
        "daily",
        "--at",
        "07:00",
        "--dry-run",
        "--unit-dir",
        str(tmp_path / "u"),
    )
    assert done.returncode == 0, done.stderr
    assert f"# {tmp_path / 'u' / 'voiceguide-daily.timer'}" in done.stdout.splitlines()
    assert "OnCalendar=*-*-* 07:00:00" in done.stdout.splitlines()
    assert done.stdout.splitlines()[-2:] == [
        "  systemctl --user daemon-reload",
        "  systemctl --user enable --now voiceguide-daily.timer",
    ]
    assert not (tmp_path / "u").exists()


def test_unit_names_and_exec_words() -> None:
    assert [
        unit_name(r)
        for r in ("daily", "techniques/cat-cow", "/home/pi/My Morning.yaml", "voiceguide-daily")
    ] == ["voiceguide-daily", "voiceguide-cat-cow", "voiceguide-My-Morning", "voiceguide-daily"]
    assert exec_quote("/usr/bin/python3") == "/usr/bin/python3"
    assert exec_quote("/home/pi/my routine.yaml") == '"/home/pi/my routine.yaml"'
    assert exec_quote("100%$HOME") == "100%%$$HOME"
    assert exec_quote('a"b\\c') == '"a\\"b\\\\c"'


def test_a_path_with_a_space_passes_verify(tmp_path: Path) -> None:
    folder = tmp_path / "my routines"
    folder.mkdir()
    shutil.copy(SCRIPTS / "safety.yaml", folder / "morning 100%.yaml")
    units = tmp_path / "units"
    install(units, str(folder / "morning 100%.yaml"), "--at", "07:00")
    service = units / "voiceguide-morning-100.service"
    assert f'"{folder}/morning 100%%.yaml"' in service.read_text(encoding="utf-8")
    assert (
        verify(service, units / "voiceguide-morning-100.timer", user=True, tmp_path=tmp_path) == ""
    )


def test_the_templates_are_package_data() -> None:
    """The units are made from files shipped in the package (pyproject's package-data)."""
    folder = REPO / "voiceguide" / "service" / "templates"
    assert sorted(p.name for p in folder.iterdir()) == [
        "voiceguide.service.in",
        "voiceguide.timer.in",
    ]


FAKE_SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$SYSTEMCTL_LOG"
"""


def test_with_a_manager_the_units_are_enabled_and_disabled(tmp_path: Path) -> None:
    """Where systemctl reaches its manager it is run, in this order. No manager can be had
    here (a container has none, and the user's own must not be touched), so ``systemctl``
    on the PATH is a stand-in that records its arguments: what is tested is the sequence."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(FAKE_SYSTEMCTL)
    (bin_dir / "systemctl").chmod(0o755)
    log = tmp_path / "calls"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SYSTEMCTL_LOG": str(log),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    done = vg("service", "install", "daily", "--at", "07:00", env=env)
    assert done.returncode == 0, done.stderr
    assert "enabled voiceguide-daily.timer: plays every day at 07:00" in done.stdout.splitlines()
    again = vg(
        "service",
        "install",
        "daily",
        "--on-button",
        "--buttons",
        str(write_buttons(tmp_path)),
        env=env,
    )
    assert again.returncode == 0, again.stderr
    gone = vg("service", "remove", "daily", env=env)
    assert gone.returncode == 0, gone.stderr
    assert log.read_text().splitlines() == [
        "--no-ask-password --user show-environment",
        "--no-ask-password --user daemon-reload",
        "--no-ask-password --user enable --now voiceguide-daily.timer",
        "--no-ask-password --user show-environment",
        "--no-ask-password --user disable --now voiceguide-daily.timer",  # --at no more
        "--no-ask-password --user daemon-reload",
        "--no-ask-password --user enable --now voiceguide-daily.service",
        "--no-ask-password --user restart voiceguide-daily.service",
        "--no-ask-password --user show-environment",
        "--no-ask-password --user disable --now voiceguide-daily.service",
        "--no-ask-password --user daemon-reload",
    ]
    assert list((tmp_path / "config" / "systemd" / "user").iterdir()) == []


def write_buttons(folder: Path) -> Path:
    path = folder / "buttons.toml"
    path.write_text(BUTTONS, encoding="utf-8")
    return path


def test_the_units_command_plays_the_routine(tmp_path: Path) -> None:
    """The ExecStart written is a working command: run as systemd would split it (on the
    null output, as fast as it goes), it plays the routine to the end."""
    script = write(
        tmp_path,
        "title: Unit Test\nvoice: {engine: fake}\nsteps:\n  - {name: One, duration: 3s}\n",
        "unit test.yaml",
    )
    install(tmp_path / "units", str(script), "--at", "07:00", "--volume", "-6")
    lines = unit_lines(tmp_path / "units" / "voiceguide-unit-test.service")
    command = shlex.split(next(x for x in lines if x.startswith("ExecStart=")).split("=", 1)[1])
    assert command[0] == os.path.abspath(sys.executable) and command[4] == str(script)
    done = subprocess.run(
        [*command, "--output", "null", "--fast"],
        capture_output=True,
        text=True,
        cwd="/",
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "finished"
