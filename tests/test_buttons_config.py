"""The buttons file: what it maps, and every kind of error as one ``file:line:col`` line."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceguide.errors import ExitCode, ScriptError
from voiceguide.player.buttons_config import (
    BOUNCE_MS,
    DOUBLE_S,
    HOLD_S,
    Button,
    ButtonsError,
    load_buttons,
)
from voiceguide.player.commands import Action

GOOD = """\
# buttons.toml
[buttons.17]
press = "pause"          # pause/resume
long_press = "stop"      # held >= 1.5 s
double_press = "next"
[buttons.27]
press = "whats_next"
hold_s = 2
[buttons.GPIO5]
press = "Volume-Up"
[led]
pin = 22
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "buttons.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file(tmp_path: Path) -> None:
    config = load_buttons(_write(tmp_path, GOOD))
    first, second, third = config.buttons
    assert first == Button(17, Action.TOGGLE_PAUSE, Action.STOP, Action.NEXT)
    assert (first.hold_s, first.double_s, first.bounce_ms) == (HOLD_S, DOUBLE_S, BOUNCE_MS)
    assert second == Button(27, press=Action.WHATS_NEXT, hold_s=2.0)
    assert third == Button(5, press=Action.VOLUME_UP)
    assert config.led_pin == 22
    assert config.pins() == [17, 27, 5, 22]
    assert config.pin_problems() == []


@pytest.mark.parametrize(
    ("word", "action"),
    [
        ("start", Action.RESUME),
        ("pause", Action.TOGGLE_PAUSE),
        ("back", Action.BACK),
        ("ready", Action.READY),
        ("whats-next", Action.WHATS_NEXT),
        ("volume_down", Action.VOLUME_DOWN),
        ("stop", Action.STOP),
    ],
)
def test_each_action_word(tmp_path: Path, word: str, action: Action) -> None:
    config = load_buttons(_write(tmp_path, f'[buttons.4]\npress = "{word}"\n'))
    assert config.buttons[0].press is action
    assert config.led_pin is None


BAD = [
    # (id, text, line, column, message fragment)
    ("toml-syntax", '[buttons.17]\npress = "pause"\nlong_press = \n', 3, 14, "not valid TOML"),
    ("toml-unclosed", '[buttons.17\npress = "pause"\n', 1, 12, "not valid TOML"),
    ("toml-same-table", "[buttons.17]\n[buttons.17]\n", 2, 12, "not valid TOML"),
    (
        "unknown-action",
        '[buttons.17]\npress = "pause"\n\n[buttons.27]\nhold_s = 2\nlong_press = "jump"\n',
        6,
        1,
        "pin 27: unknown action 'jump' for long_press (one of: start, pause,",
    ),
    ("action-not-text", "[buttons.27]\npress = 3\n", 2, 1, "pin 27: unknown action 3"),
    (
        "duplicate-pin",
        '[buttons.17]\npress = "pause"\n[buttons.017]\npress = "next"\n',
        3,
        1,
        "pin 17 is used twice ([buttons.17])",
    ),
    (
        "led-on-a-button",
        '[buttons.17]\npress = "pause"\n[led]\npin = 17\n',
        3,
        1,
        "pin 17 is used twice",
    ),
    ("not-a-pin", '[buttons.left]\npress = "back"\n', 1, 1, "'left' is not a GPIO pin number"),
    ("no-buttons", "[led]\npin = 22\n", 1, 1, "no buttons"),
    ("no-action", "[buttons.6]\nhold_s = 2\n", 1, 1, "pin 6: no action"),
    ("unknown-key", '[buttons.6]\npress = "next"\nlong = "stop"\n', 3, 1, "unknown key 'long'"),
    ("hold-range", '[buttons.6]\npress = "next"\nhold_s = 60\n', 3, 1, "within 0.2 to 10"),
    ("unknown-section", '[button.6]\npress = "next"\n', 1, 1, "unknown section [button]"),
    ("led-keys", '[buttons.6]\npress = "next"\n[led]\ngpio = 2\n', 3, 1, "[led] takes one key"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_bad_files(tmp_path: Path, text: str, line: int, column: int, fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ButtonsError) as caught:
        load_buttons(path)
    error = caught.value
    assert isinstance(error, ScriptError) and error.exit_code is ExitCode.SCRIPT
    assert (error.line, error.column) == (line, column), str(error)
    assert str(error).startswith(f"{path}:{line}:{column}: ")
    assert fragment in str(error)
    assert "\n" not in str(error)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ButtonsError, match=r"buttons.toml:1:1: cannot read the buttons file"):
        load_buttons(tmp_path / "buttons.toml")


def test_pins_the_board_does_not_have(tmp_path: Path) -> None:
    text = '[buttons.17]\npress = "pause"\n[buttons.40]\npress = "next"\n[led]\npin = 28\n'
    config = load_buttons(_write(tmp_path, text))
    assert config.pin_problems() == [
        "GPIO40 does not exist (BCM GPIO pins are 0-27)",
        "GPIO28 does not exist (BCM GPIO pins are 0-27)",
    ]


def test_pins_asked_of_the_pin_factory(tmp_path: Path) -> None:
    """With a pin factory present, its board is asked (gpiozero's mock of a Pi 3B here)."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    config = load_buttons(_write(tmp_path, '[buttons.17]\npress = "pause"\n[led]\npin = 27\n'))
    saved = Device.pin_factory
    Device.pin_factory = MockFactory()
    try:
        assert config.pin_problems() == []
    finally:
        Device.pin_factory.close()
        Device.pin_factory = saved
