"""The buttons file: which GPIO pin does what, and the pin of the status LED (TOML).

::

    # buttons.toml
    [buttons.17]
    press = "pause"          # pause / resume
    long_press = "stop"      # held for hold_s (1.5 s unless set)
    double_press = "next"    # two presses within double_s (0.4 s unless set)
    [buttons.27]
    press = "whats_next"
    [led]
    pin = 22                 # on while playing, slow blink paused, fast blink waiting

Pins are BCM GPIO numbers (GPIO17 is header pin 11). A button may set ``hold_s`` and
``double_s``, and ``bounce_ms`` (debounce, 20 ms unless set). The file is only read here;
``voiceguide.player.buttons`` wires it to gpiozero, and ``pin_problems`` says which pins
this board does not have (``voiceguide doctor`` asks it).
"""

from __future__ import annotations

import contextlib
import re
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceguide.errors import ScriptError
from voiceguide.player.commands import Action

ACTIONS: dict[str, Action] = {
    "start": Action.RESUME,  # starts a play waiting for start (--wait-start); else resumes
    "pause": Action.TOGGLE_PAUSE,  # pause / resume
    "resume": Action.RESUME,
    "next": Action.NEXT,
    "back": Action.BACK,
    "repeat": Action.REPEAT,
    "ready": Action.READY,
    "whats_next": Action.WHATS_NEXT,
    "volume_up": Action.VOLUME_UP,
    "volume_down": Action.VOLUME_DOWN,
    "stop": Action.STOP,
}
"""The words a button can say, and the action each sends the player."""

GESTURES = ("press", "long_press", "double_press")
BCM_PINS = range(28)  # GPIO0..GPIO27 on the 40-pin header
HOLD_S = 1.5
DOUBLE_S = 0.4
BOUNCE_MS = 20
_NUMBERS = {"hold_s": (0.2, 10.0), "double_s": (0.1, 1.0), "bounce_ms": (0.0, 200.0)}


class ButtonsError(ScriptError):
    """The buttons file is invalid: ``file:line:col: message`` (exit code 3)."""


@dataclass(frozen=True)
class Button:
    """One button: its BCM pin and the action of each gesture it has."""

    pin: int
    press: Action | None = None
    long_press: Action | None = None
    double_press: Action | None = None
    hold_s: float = HOLD_S
    double_s: float = DOUBLE_S
    bounce_ms: float = BOUNCE_MS
    words: dict[str, str] = field(default_factory=dict, compare=False)  # gesture -> word
    line: int = field(default=1, compare=False)  # where its table is in the file


@dataclass(frozen=True)
class ButtonsConfig:
    """The buttons of a buttons file, and its LED pin (None: no LED)."""

    path: Path
    buttons: tuple[Button, ...]
    led_pin: int | None = None
    led_line: int = field(default=1, compare=False)

    def pins(self) -> list[int]:
        """Every pin the file uses: the buttons', then the LED's."""
        pins = [b.pin for b in self.buttons]
        return pins + ([self.led_pin] if self.led_pin is not None else [])

    def pin_problems(self) -> list[str]:
        """One line per pin this board does not have.

        On a Pi with gpiozero, its pin factory names the board's pins; elsewhere only the
        numbers are checked (BCM GPIO 0-27 of the 40-pin header).
        """
        return [problem for _, problem in self._problems()]

    def require_pins(self) -> None:
        """Raise ButtonsError, at its line, for the first pin this board does not have."""
        for line, problem in self._problems():
            raise ButtonsError(self.path, line, 1, problem)

    def _problems(self) -> list[tuple[int, str]]:
        board = _board_info()
        lines = [(b.pin, b.line) for b in self.buttons]
        if self.led_pin is not None:
            lines.append((self.led_pin, self.led_line))
        problems = []
        for pin, line in lines:
            if pin not in BCM_PINS:
                problems.append((line, f"GPIO{pin} does not exist (BCM GPIO pins are 0-27)"))
            elif board is not None and not _on_board(board, pin):
                problems.append((line, f"GPIO{pin} is not on this board ({board.model})"))
        return problems


def load_buttons(path: Path) -> ButtonsConfig:
    """Read the buttons file at ``path``; raises ButtonsError (or ScriptError when it
    cannot be read) naming the place and, for a pin, the pin."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ButtonsError(path, 1, 1, f"cannot read the buttons file: {reason}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (int(found[1]), int(found[2])) if found else (1, 1)
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise ButtonsError(path, line, col, f"not valid TOML: {message}") from None
    return _parse(path, text, data)


def _parse(path: Path, text: str, data: dict[str, Any]) -> ButtonsConfig:
    where = _Locator(path, text)
    for key in data:
        if key not in ("buttons", "led"):
            raise where.error(f"unknown section [{key}] (use [buttons.PIN] and [led])", key)
    table = data.get("buttons", {})
    if not isinstance(table, dict) or not table:
        raise where.error("no buttons: add a [buttons.PIN] table per button", "buttons")
    buttons: list[Button] = []
    seen: dict[int, str] = {}
    for name, spec in table.items():
        pin = where.pin(name, f"buttons.{name}")
        if pin in seen:
            raise where.error(f"pin {pin} is used twice ([buttons.{seen[pin]}])", f"buttons.{name}")
        seen[pin] = name
        buttons.append(_button(where, name, pin, spec))
    led = data.get("led")
    led_pin = None
    if led is not None:
        if not isinstance(led, dict) or set(led) != {"pin"}:
            raise where.error("[led] takes one key: pin = GPIO number", "led")
        led_pin = where.pin(led["pin"], "led", key="pin")
        if led_pin in seen:
            raise where.error(f"pin {led_pin} is used twice ([buttons.{seen[led_pin]}])", "led")
    led_line = where.line("led", "pin") if led_pin is not None else 1
    return ButtonsConfig(path, tuple(buttons), led_pin, led_line)


def _button(where: _Locator, name: str, pin: int, spec: object) -> Button:
    section = f"buttons.{name}"
    if not isinstance(spec, dict):
        raise where.error(f"pin {pin}: expected a table [buttons.{name}]", section)
    gestures: dict[str, Action] = {}
    words: dict[str, str] = {}
    numbers: dict[str, float] = {}
    for key, value in spec.items():
        if key in GESTURES:
            word = value.strip().lower().replace("-", "_") if isinstance(value, str) else None
            if word not in ACTIONS:
                raise where.error(
                    f"pin {pin}: unknown action {value!r} for {key} (one of: {', '.join(ACTIONS)})",
                    section,
                    key,
                )
            gestures[key], words[key] = ACTIONS[word], word
        elif key in _NUMBERS:
            low, high = _NUMBERS[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise where.error(f"pin {pin}: {key} must be a number", section, key)
            if not low <= value <= high:
                raise where.error(
                    f"pin {pin}: {key} must be within {low:g} to {high:g}", section, key
                )
            numbers[key] = float(value)
        else:
            known = ", ".join((*GESTURES, *_NUMBERS))
            raise where.error(f"pin {pin}: unknown key {key!r} (one of: {known})", section, key)
    if not gestures:
        raise where.error(f"pin {pin}: no action (set press, long_press or double_press)", section)
    line = where.line(section)
    return Button(pin, **gestures, **numbers, words=words, line=line)  # type: ignore[arg-type]


class _Locator:
    """Finds the line of a table or key in the TOML text, for errors (tomllib keeps none)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def error(self, message: str, section: str, key: str | None = None) -> ButtonsError:
        line, col = self._find(section, key)
        return ButtonsError(self.path, line, col, message)

    def line(self, section: str, key: str | None = None) -> int:
        return self._find(section, key)[0]

    def pin(self, value: object, section: str, key: str | None = None) -> int:
        """``value`` as a BCM pin number (``17``, ``"17"`` or ``"GPIO17"``)."""
        text = str(value).strip().upper().removeprefix("GPIO")
        if isinstance(value, bool) or not text.isdigit():
            raise self.error(f"{value!r} is not a GPIO pin number (BCM, 0-27)", section, key)
        return int(text)

    def _find(self, section: str, key: str | None) -> tuple[int, int]:
        head = section.split(".")
        start = None
        for number, line in enumerate(self.lines, 1):
            stripped = line.strip()
            if stripped.startswith("["):
                names = [p.strip().strip("\"'") for p in stripped.strip("[]").split(".")]
                if start is not None and names != head:
                    break
                if names == head:
                    start = number
                    if key is None:
                        return number, line.index("[") + 1
            elif (
                start is not None
                and key is not None
                and re.match(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=", line)
            ):
                return number, len(line) - len(line.lstrip()) + 1
        return (start, 1) if start is not None else (1, 1)


def _board_info() -> Any:
    """The board the pin factory drives, or None (no gpiozero, or not on a Pi)."""
    try:
        from gpiozero import Device
    except ImportError:
        return None
    factory = Device.pin_factory
    if factory is not None:
        return factory.board_info
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            factory = Device._default_pin_factory()
    except Exception:  # no GPIO here (not a Pi): the numbers alone are checked
        return None
    try:
        return factory.board_info
    finally:
        with contextlib.suppress(Exception):
            factory.close()


def _on_board(board: Any, pin: int) -> bool:
    try:
        board.to_gpio(pin)
    except Exception:
        return False
    return True
