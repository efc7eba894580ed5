"""The text of the systemd units that run a routine: a service, and a timer for a set time.

The units are filled in from the templates beside this module (``templates/*.in``, with
``@NAME@`` placeholders), so what is installed can be read in the source as it is. This
module only makes text; ``service.install`` writes it and talks to systemctl.

Two ways to run:

- ``--at HH:MM``: a timer starts the service every day at that time (``Persistent=false``:
  a morning missed while the machine was off is not played later). The service plays the
  routine once; it is restarted only on a failure (a missing audio device), a few times.
- ``--on-button``: the service is enabled at boot and waits for a button press
  (``play --buttons FILE --wait-start``); after each play it starts again to wait for the
  next, so it restarts always (but a stop through systemctl is not undone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

TEMPLATES = "templates"
SERVICE_TEMPLATE = "voiceguide.service.in"
TIMER_TEMPLATE = "voiceguide.timer.in"
DEVICE_WAIT_S = 60
"""How long the service's player waits for an audio device before it gives up (a boot
where the sound server comes up late)."""

# Ordered after every sound server that may be there: After= on one that is absent is
# harmless, while Wants= would be an error to report, so it names only the installed one.
USER_SOUND_UNITS = ("pipewire.service", "pipewire-pulse.service", "pulseaudio.service")
TIME = re.compile(r"\A([01]?\d|2[0-3]):([0-5]\d)\Z")
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")
_UNIT_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class BadTime(ValueError):
    """A ``--at`` that is not a time of day (HH:MM, 00:00 to 23:59)."""


def daily_time(text: str) -> str:
    """``text`` (``7:00``, ``07:00``, ``23:59``) as ``HH:MM``; BadTime if it is none."""
    found = TIME.match(text.strip())
    if found is None:
        raise BadTime(f"{text!r} is not a time of day: write HH:MM, from 00:00 to 23:59")
    return f"{int(found[1]):02d}:{found[2]}"


def unit_name(routine: str) -> str:
    """The units' name for ``routine`` (a built-in name or a path): ``voiceguide-`` and the
    file's stem, with anything systemd does not take in a name made ``-``."""
    stem = routine.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".yaml", ".yml", ".json", ".toml"):
        stem = stem.removesuffix(suffix)
    stem = stem.removeprefix("voiceguide-").removesuffix(".service").removesuffix(".timer")
    cleaned = _UNIT_NAME.sub("-", stem).strip("-.") or "routine"
    return f"voiceguide-{cleaned}"


def exec_quote(argument: str) -> str:
    """``argument`` as one word of a unit's ``ExecStart=``: ``%`` and ``$`` escaped (systemd
    expands them), and in double quotes when it holds a space, a quote or a backslash."""
    word = argument.replace("%", "%%").replace("$", "$$")
    if word and not re.search(r"[\s\"'\\;]", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class UnitSpec:
    """What the units say: the name, the command, when it runs, and for whom."""

    name: str  # ``voiceguide-daily``
    title: str  # the routine's title
    routine_arg: str  # how ``service remove`` names it
    command: tuple[str, ...]  # ExecStart, one argument each
    at: str | None = None  # ``HH:MM`` with a timer, or None (on a button)
    system: bool = False  # a system unit (User= set), else the user's
    user: str | None = None  # with ``system``: the account it runs as
    uid: int | None = None  # with ``system``: that account's uid (its runtime directory)
    wants: tuple[str, ...] = ()  # the sound server units to pull in

    @property
    def service(self) -> str:
        return f"{self.name}.service"

    @property
    def timer(self) -> str:
        return f"{self.name}.timer"


def _fill(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``@NAME@`` replaced; a line that was a placeholder alone and
    became empty is dropped. KeyError for a placeholder with no value."""
    lines = []
    for line in template.splitlines():
        filled = _PLACEHOLDER.sub(lambda m: values[m[1]], line)
        if not filled.strip() and _PLACEHOLDER.fullmatch(line.strip()):
            continue
        lines.append(filled.rstrip())
    return "\n".join(lines).rstrip("\n") + "\n"


def _text(value: str) -> str:
    """``value`` as free text in a unit (a description): one line, ``%`` escaped."""
    return " ".join(value.split()).replace("%", "%%")


def _template(name: str) -> str:
    return resources.files(__package__).joinpath(TEMPLATES, name).read_text(encoding="utf-8")


def service_text(spec: UnitSpec) -> str:
    """The ``.service`` unit for ``spec``."""
    if spec.system:
        after = ["sound.target", f"user@{spec.uid}.service"]
        wants = [f"user@{spec.uid}.service"]  # the user's manager, and so their sound server
        account = "\n".join(
            [
                f"User={spec.user}",
                f"Environment=XDG_RUNTIME_DIR=/run/user/{spec.uid}",
            ]
        )
        target = "multi-user.target"
    else:
        after = [*USER_SOUND_UNITS, "sound.target"]
        wants = list(spec.wants)
        account = ""
        target = "default.target"
    on_button = spec.at is None
    install = f"\n[Install]\nWantedBy={target}" if on_button else ""
    how = "waits for a button" if on_button else f"every day at {spec.at}"
    return _fill(
        _template(SERVICE_TEMPLATE),
        {
            "ROUTINE_ARG": spec.routine_arg,
            "TITLE": _text(spec.title),
            "HOW": how,
            "AFTER": " ".join(after),
            "WANTS": f"Wants={' '.join(wants)}" if wants else "",
            "BURST": "5" if on_button else "3",
            "EXEC_START": " ".join(exec_quote(a) for a in spec.command),
            "ACCOUNT": account,
            "RESTART": "always" if on_button else "on-failure",
            "INSTALL": install,
        },
    )


def timer_text(spec: UnitSpec) -> str:
    """The ``.timer`` unit for ``spec`` (which has a time)."""
    if spec.at is None:
        raise ValueError("a routine started by a button has no timer")
    return _fill(
        _template(TIMER_TEMPLATE),
        {
            "ROUTINE_ARG": spec.routine_arg,
            "TITLE": _text(spec.title),
            "AT": spec.at,
            "SERVICE": spec.service,
        },
    )


def unit_files(spec: UnitSpec) -> dict[str, str]:
    """File name -> text of every unit ``spec`` installs (the service, and its timer)."""
    files = {spec.service: service_text(spec)}
    if spec.at is not None:
        files[spec.timer] = timer_text(spec)
    return files
