"""GPIO buttons as a source of commands, and a status LED that shows the player's state.

Each button of the buttons file (``player.buttons_config``) is a gpiozero ``Button``
(pulled up: wired from the pin to ground), debounced. What a press does depends on the
gestures the button has:

- press only: it acts as the button goes down (the quickest);
- with ``long_press``: held for ``hold_s`` it sends that; a shorter press acts on release;
- with ``double_press``: two presses within ``double_s`` send that; one press acts once the
  window has passed (so only those buttons wait; a plain press elsewhere acts at once).

The LED is on while playing, blinks slowly while paused, fast while waiting (for ready, or
for start with ``play --wait-start``), and is off otherwise. gpiozero is imported only
here, when buttons are asked for (``pip install 'voiceguide[gpio]'``); it picks the board's
pin driver, or the one ``GPIOZERO_PIN_FACTORY`` names (``mock`` for a dry run).
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceguide.errors import ExitCode, VoiceguideError
from voiceguide.player.buttons_config import Button, ButtonsConfig, load_buttons
from voiceguide.player.commands import Action, Command, Origin
from voiceguide.player.priority import busy_machine

if TYPE_CHECKING:
    from voiceguide.player.hub import ControlHub

INSTALL = "pip install 'voiceguide[gpio]'"
BUTTON_LATENCY = 0.1
"""The output buffer (seconds) a play with buttons asks for on a quiet machine, so that a
press is heard within about 150 ms: the default buffer (0.2 s) alone is longer than that.
On a machine busy as the play starts, the output's longer buffer for that still applies."""
LED_POLL_S = 0.05  # how often the LED looks at the player's state
BLINKS: dict[str, tuple[float, float] | None] = {  # state -> (on, off) seconds; None: on
    "playing": None,
    "paused": (1.0, 1.0),
    "waiting": (0.15, 0.15),
    "waiting-start": (0.15, 0.15),
}


class GpioUnavailable(VoiceguideError):
    """Buttons were asked for but there is no GPIO to read them: gpiozero is not installed,
    or this machine has no pins it can drive. Exit code 2: the command line asks for what
    this machine cannot do (like a bad option)."""

    exit_code = ExitCode.USAGE


def open_buttons(path: Path) -> ButtonSource:
    """The buttons of the file at ``path``, checked against this machine before a play
    begins: ButtonsError (exit 3) for a bad file or a pin the board lacks, GpioUnavailable
    (exit 2) without gpiozero or GPIO."""
    config = load_buttons(path)
    config.require_pins()  # the numbers (no pin driver asked yet)
    pin_factory()
    config.require_pins()  # against the board the driver found
    return ButtonSource(config)


def pin_factory() -> Any:
    """gpiozero's pin factory (made if none is set yet); GpioUnavailable when there is none."""
    try:
        from gpiozero import Device
    except ImportError:
        raise GpioUnavailable(f"--buttons needs gpiozero: {INSTALL}") from None
    try:
        with warnings.catch_warnings():  # its fallbacks, one line each: said below instead
            warnings.simplefilter("ignore")
            Device.ensure_pin_factory()
    except Exception as exc:
        raise GpioUnavailable(
            f"--buttons: no GPIO pins here ({exc}): run on a Raspberry Pi with a pin driver "
            "(sudo apt install python3-lgpio, or pip install lgpio), or try the buttons file "
            "with GPIOZERO_PIN_FACTORY=mock"
        ) from None
    return Device.pin_factory


class Gestures:
    """Turns one button's presses and releases into its actions (``emit``), by its gestures.

    Called from gpiozero's threads (``pressed``, ``released``, ``held``) and from the timer
    of the double-press window; all of it under one lock.
    """

    def __init__(self, button: Button, emit: Callable[[Action], None]) -> None:
        self.button = button
        self.emit = emit
        self._lock = threading.Lock()
        self._pending: threading.Timer | None = None  # one press, waiting for a second
        self._spent = False  # this press was used up (held, or the second of a double)

    @property
    def at_once(self) -> bool:
        """Whether a press acts as the button goes down (it has no other gesture)."""
        return self.button.long_press is None and self.button.double_press is None

    def pressed(self) -> None:
        with self._lock:
            self._spent = False
            if self.at_once:
                self._send(self.button.press)
            elif self._pending is not None:  # the second press within the window
                self._pending.cancel()
                self._pending = None
                self._spent = True
                self._send(self.button.double_press)

    def held(self) -> None:
        with self._lock:
            if self.button.long_press is not None and not self._spent:
                self._spent = True
                self._cancel()
                self._send(self.button.long_press)

    def released(self) -> None:
        with self._lock:
            if self.at_once or self._spent:
                return
            if self.button.double_press is None:
                self._send(self.button.press)
                return
            timer = threading.Timer(self.button.double_s, self._window_passed)
            timer.daemon = True
            self._pending = timer
            timer.start()

    def _window_passed(self) -> None:
        with self._lock:
            if self._pending is None:
                return
            self._pending = None
            self._send(self.button.press)

    def _send(self, action: Action | None) -> None:
        if action is not None:
            self.emit(action)

    def _cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def close(self) -> None:
        with self._lock:
            self._cancel()


class ButtonSource:
    """The buttons of ``config`` as a source of commands, and its LED following ``state``
    (a callable giving the player's ``Session.state()``; without one the LED stays off)."""

    def __init__(self, config: ButtonsConfig, state: Callable[[], str] | None = None) -> None:
        self.config = config
        self.state = state
        self._devices: list[Any] = []
        self._gestures: list[Gestures] = []
        self._closing = threading.Event()
        self._led_thread: threading.Thread | None = None

    def output_latency(self) -> float | None:
        """The output buffer to play with (BUTTON_LATENCY; None on a busy machine: the
        output's own choice)."""
        return None if busy_machine() else BUTTON_LATENCY

    def start(self, hub: ControlHub) -> None:
        from gpiozero import LED
        from gpiozero import Button as GpioButton

        pin_factory()
        self._closing.clear()

        def emit(action: Action) -> None:
            if not self._closing.is_set():
                hub.put(Command(action, Origin.BUTTON))

        for button in self.config.buttons:
            gestures = Gestures(button, emit)
            bounce = button.bounce_ms / 1000 or None
            device = _claim(
                button.pin,
                partial(
                    GpioButton,
                    button.pin,
                    pull_up=True,
                    bounce_time=bounce,
                    hold_time=button.hold_s,
                ),
            )
            self._devices.append(device)
            self._gestures.append(gestures)
            device.when_pressed = gestures.pressed
            device.when_released = gestures.released
            if button.long_press is not None:
                device.when_held = gestures.held
        if self.config.led_pin is not None:
            pin = self.config.led_pin
            led = _claim(pin, lambda: LED(pin))
            self._devices.append(led)
            self._led_thread = threading.Thread(
                target=self._follow, args=(led,), name="voiceguide-led", daemon=True
            )
            self._led_thread.start()

    def _follow(self, led: Any) -> None:
        """Show the player's state on ``led`` until closed (see BLINKS)."""
        shown: object = object()
        while not self._closing.is_set():
            try:
                state = self.state() if self.state is not None else "off"
            except Exception:  # the status failed once: try again
                state = "off"
            if state != shown:
                shown = state
                blink = BLINKS.get(state, (0.0, 0.0))
                with contextlib.suppress(Exception):  # an LED that fails: buttons go on
                    if blink is None:
                        led.on()
                    elif blink == (0.0, 0.0):
                        led.off()
                    else:
                        led.blink(on_time=blink[0], off_time=blink[1])
            self._closing.wait(LED_POLL_S)

    def close(self) -> None:
        self._closing.set()
        if self._led_thread is not None:
            self._led_thread.join(timeout=2.0)
            self._led_thread = None
        for gestures in self._gestures:
            gestures.close()
        self._gestures.clear()
        while self._devices:
            with contextlib.suppress(Exception):
                self._devices.pop().close()


def _claim(pin: int, make: Callable[[], Any]) -> Any:
    """The gpiozero device ``make`` opens on ``pin``; GpioUnavailable, naming the pin, when
    the pin cannot be had (another program holds it, say)."""
    try:
        return make()
    except Exception as exc:
        why = str(exc) or type(exc).__name__
        raise GpioUnavailable(
            f"--buttons: GPIO{pin} cannot be used ({why}): is another program using it?"
        ) from None
