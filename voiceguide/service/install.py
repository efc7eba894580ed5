"""Installing and removing the systemd units that play a routine (``voiceguide service``).

``plan_install`` checks the routine (and the buttons file) as a play would load them, and
works out the units (``service.units``), where they go and the systemctl commands that
enable them; ``write_files`` writes them (each file replaced whole: installing again is an
update); ``run_systemctl`` runs the commands when systemctl can reach its manager. Where it
cannot (a container, CI, a packager's staging folder) the commands are handed back to be
printed instead: the files are in place, and enabling them is one command away.

Where the units go:

- the user's (the default): ``$XDG_CONFIG_HOME/systemd/user`` (``~/.config/systemd/user``),
  run by the user's manager beside their sound server (PipeWire on Raspberry Pi OS
  Bookworm); at boot without a login once ``loginctl enable-linger USER`` is set.
- the system's (``--system``, as root): ``/etc/systemd/system``, with ``User=`` the invoking
  user (``SUDO_USER`` under sudo) and their runtime directory, where their sound server's
  socket is.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from voiceguide.errors import VoiceguideError
from voiceguide.service.units import DEVICE_WAIT_S, UnitSpec, unit_files
from voiceguide.service.units import unit_name as name_of
from voiceguide.storage import write_text

SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
# where a distribution's user units live (for the sound server's, to pull it in)
VENDOR_USER_DIRS = (
    Path("/usr/lib/systemd/user"),
    Path("/lib/systemd/user"),
    Path("/etc/systemd/user"),
)
LINGER_DIR = Path("/var/lib/systemd/linger")
SYSTEMCTL_TIMEOUT_S = 30.0
UNIT_MODE = 0o644  # as a package's units are: anyone may read what runs


class ServiceError(VoiceguideError):
    """The units could not be written or removed, or systemctl refused them (exit 1)."""


class NotInstalled(ServiceError):
    """``service remove`` of a routine that has no units in the folder (exit 1)."""


@dataclass(frozen=True)
class Account:
    """Whom the units are for: the invoking user (the one behind sudo, under sudo)."""

    name: str
    uid: int
    home: Path

    @property
    def lingering(self) -> bool:
        """Their manager (and sound server) runs from boot, without a login."""
        return (LINGER_DIR / self.name).exists()


def invoking_account() -> Account:
    """The user who asked: ``SUDO_USER`` when run as root through sudo, else this process's."""
    entry = None
    if os.geteuid() == 0 and os.environ.get("SUDO_USER"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(os.environ["SUDO_USER"])
    if entry is None:
        entry = pwd.getpwuid(os.getuid())
    return Account(entry.pw_name, entry.pw_uid, Path(entry.pw_dir))


def user_unit_dir() -> Path:
    """The user's own unit folder: ``$XDG_CONFIG_HOME/systemd/user``."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user"


def default_buttons_file(account: Account) -> Path:
    """Where the buttons file is unless ``--buttons`` says: ``~/.config/voiceguide/
    buttons.toml`` of ``account`` (``$XDG_CONFIG_HOME`` honoured when it is this user)."""
    config = os.environ.get("XDG_CONFIG_HOME") if account.uid == os.getuid() else None
    return Path(config or account.home / ".config") / "voiceguide" / "buttons.toml"


def installed_sound_units(dirs: tuple[Path, ...] = VENDOR_USER_DIRS) -> tuple[str, ...]:
    """The user sound server units this machine has: PipeWire's pulse server, else
    PulseAudio (the one a play talks to)."""
    for unit in ("pipewire-pulse.service", "pulseaudio.service"):
        if any((d / unit).exists() for d in dirs):
            return (unit,)
    return ()


@dataclass(frozen=True)
class PlayOptions:
    """How the service's play sounds, as ``voiceguide play`` takes it: None (and a volume
    of 0 dB) leaves the play's default, so the unit names only what was chosen."""

    output: str | None = None
    device: str | None = None
    volume_db: float = 0.0
    engine: str | None = None
    voice: str | None = None
    device_wait_s: float = DEVICE_WAIT_S

    def arguments(self) -> tuple[str, ...]:
        """The play's options for these choices (the device wait always: a service starts
        at boot, often before its sound server)."""
        given = {
            "--output": None if self.output in (None, "auto") else self.output,
            "--device": self.device,
            "--volume": None if self.volume_db == 0 else f"{self.volume_db:g}",
            "--engine": self.engine,
            "--voice": self.voice,
            "--device-wait": f"{self.device_wait_s:g}",
        }
        return tuple(word for option, value in given.items() if value for word in (option, value))


def player_command(
    routine: str, buttons: Path | None, options: PlayOptions | None = None
) -> tuple[str, ...]:
    """The play the service runs: this Python's voiceguide, the routine, with ``buttons``
    the wait for a press, and the chosen output, device, volume and voice."""
    command = [os.path.abspath(sys.executable), "-m", "voiceguide", "play", routine]
    if buttons is not None:
        command += ["--buttons", str(buttons), "--wait-start"]
    return (*command, *(options or PlayOptions()).arguments())


@dataclass
class Plan:
    """What an install or a removal does: files to write or delete, then commands to run."""

    spec: UnitSpec | None
    unit_dir: Path
    system: bool
    write: dict[Path, str] = field(default_factory=dict)
    delete: list[Path] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)  # systemctl's arguments
    before: list[list[str]] = field(default_factory=list)  # run before the files change
    fallback: list[list[str]] = field(default_factory=list)  # to print, when not run here
    updating: bool = False  # the units were there: this replaces them

    def systemctl(self, args: list[str]) -> list[str]:
        """The whole command line of ``systemctl args`` for these units."""
        return ["systemctl", *([] if self.system else ["--user"]), *args]


def _quiet(command: list[str]) -> list[str]:
    """``command`` (a systemctl one) as run from here: never waiting on a password prompt
    (``--system`` without root fails, and says so, instead)."""
    return [command[0], "--no-ask-password", *command[1:]]


def _routine_arg(routine: str) -> tuple[str, str]:
    """The routine as the unit names it (a file's absolute path, or the built-in name as
    given), and its title; the routine's own error (exit 3) if it does not load."""
    from voiceguide.pipeline import load, resolve_script

    path = resolve_script(routine)
    title = load(path).title
    given = Path(routine)
    return (str(given.resolve()) if given.is_file() else routine), title


def plan_install(
    routine: str,
    *,
    at: str | None,
    buttons: Path | None,
    system: bool,
    unit_dir: Path | None = None,
    name: str | None = None,
    play: PlayOptions | None = None,
) -> Plan:
    """The units for ``routine`` at ``at`` (HH:MM, daily), or waiting for a press of the
    buttons in ``buttons`` (``at`` None), played as ``play`` says, and how to enable them.
    The routine and the buttons file are loaded here: their errors (exit 3) come before
    anything is written."""
    argument, title = _routine_arg(routine)
    if at is None:
        from voiceguide.player.buttons_config import load_buttons

        if buttons is None:
            raise ServiceError("a service without --at waits for buttons: name their file")
        buttons = buttons.resolve()
        load_buttons(buttons)
    account = invoking_account()
    spec = UnitSpec(
        name=name_of(name or routine),
        title=title,
        routine_arg=routine if name is None else name,
        command=player_command(argument, None if at is not None else buttons, play),
        at=at,
        system=system,
        user=account.name if system else None,
        uid=account.uid if system else None,
        wants=() if system else installed_sound_units(),
    )
    folder = unit_dir or (SYSTEM_UNIT_DIR if system else user_unit_dir())
    plan = Plan(spec, folder, system)
    plan.write = {folder / file: text for file, text in unit_files(spec).items()}
    plan.updating = any(path.exists() for path in plan.write)
    stale_timer = folder / spec.timer
    if at is None and stale_timer.exists():  # it played at a time before: no more
        plan.before.append(plan.systemctl(["disable", "--now", spec.timer]))
        plan.delete.append(stale_timer)
    started = spec.timer if at is not None else spec.service
    plan.commands = [
        plan.systemctl(["daemon-reload"]),
        plan.systemctl(["enable", "--now", started]),
    ]
    if plan.updating:  # a running timer or player takes up the new unit
        plan.commands.append(plan.systemctl(["restart", started]))
    plan.fallback = [*plan.before, *plan.commands]
    return plan


def plan_remove(routine: str, *, system: bool, unit_dir: Path | None = None) -> Plan:
    """Disabling, stopping and deleting the units of ``routine`` (its name as installed, or
    the unit's name); NotInstalled if the folder has none of them."""
    name = name_of(routine)
    folder = unit_dir or (SYSTEM_UNIT_DIR if system else user_unit_dir())
    plan = Plan(None, folder, system)
    units = [f"{name}.timer", f"{name}.service"]
    files = [folder / unit for unit in units if (folder / unit).exists()]
    if not files:
        others = sorted(p.name for p in folder.glob("voiceguide-*.service"))
        also = f" (installed there: {', '.join(others)})" if others else ""
        raise NotInstalled(f"{name} is not installed in {folder}{also}")
    plan.before = [plan.systemctl(["disable", "--now", f.name]) for f in files]
    # what `systemctl enable` linked, should it not be there to undo it
    links = [p for unit in units for p in folder.glob(f"*.wants/{unit}") if p.is_symlink()]
    plan.delete = [*files, *links]
    plan.commands = [plan.systemctl(["daemon-reload"])]
    # once the files are gone a loaded unit can still be stopped, no longer disabled
    plan.fallback = [*(plan.systemctl(["stop", f.name]) for f in files), *plan.commands]
    return plan


def write_files(plan: Plan) -> None:
    """Write and delete the plan's files (each written whole, durably, then made readable
    to all as unit files are: the temporary file is private); ServiceError
    naming the fix when the folder is not ours to write (``--system`` without root)."""
    try:
        for path, text in plan.write.items():
            write_text(path, text)
            path.chmod(UNIT_MODE)
        for path in plan.delete:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    except OSError as error:
        where = error.filename or plan.unit_dir
        fix = "; run it as root (sudo)" if isinstance(error, PermissionError) else ""
        raise ServiceError(f"cannot write {where}: {error.strerror or error}{fix}") from None


def systemctl_problem(plan: Plan) -> str | None:
    """Why systemctl cannot enable the units here (None: it can): not installed, or no
    manager to talk to (no systemd bus, as in containers and CI)."""
    if shutil.which("systemctl") is None:
        return "systemctl not found"
    try:
        done = subprocess.run(
            _quiet(plan.systemctl(["show-environment"])),
            capture_output=True,
            text=True,
            timeout=SYSTEMCTL_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"systemctl: {error}"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return f"systemctl: {lines[0] if lines else f'exit status {done.returncode}'}"
    return None


def run_systemctl(commands: list[list[str]], *, check: bool = True) -> None:
    """Run each command in turn; ServiceError with systemctl's words when one fails (with
    ``check``; else failures are passed over: disabling what was never enabled)."""
    for command in commands:
        try:
            done = subprocess.run(
                _quiet(command),
                capture_output=True,
                text=True,
                timeout=SYSTEMCTL_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            if check:
                raise ServiceError(f"{' '.join(command)}: {error}") from None
            continue
        if done.returncode != 0 and check:
            why = " ".join((done.stderr or done.stdout).split()) or f"exit {done.returncode}"
            raise ServiceError(f"{' '.join(command)} failed: {why}")
