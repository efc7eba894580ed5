"""GPIO buttons and the status LED, on gpiozero's MockFactory, steering the real player.

The gestures (press, long press, double press) are checked against a hub; the rest drives
``pipeline.play`` in this process (its signals want the main thread) through pacat into the
PulseAudio null sink, recorded with parec, while a thread presses the mock pins: a press
pauses (the recording goes silent), next skips (the status part changes, and the next
step's audio comes early), a long press stops, the LED follows the player's state, and
``--wait-start`` is silent until a press. Each step waits on the player's status.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import ctl, write
from tests.pulse import PulseServer, Recording
from tests.test_output import find, real_time
from tests.test_player_e2e import ROUTINE, exported
from voiceguide.errors import ExitCode
from voiceguide.player import buttons as buttons_module
from voiceguide.player.buttons import BUTTON_LATENCY, ButtonSource, Gestures
from voiceguide.player.buttons_config import Button, load_buttons
from voiceguide.player.channel import ControlError, NoPlayer, send_command
from voiceguide.player.commands import Action, Origin
from voiceguide.player.hub import ControlHub
from voiceguide.player.session import PlayResult
from voiceguide.units import SAMPLE_RATE, ms_to_frames

Samples = npt.NDArray[np.float32]

BUTTONS = """\
[buttons.17]
press = "pause"
long_press = "stop"
[buttons.27]
press = "next"
[buttons.5]
press = "start"
[led]
pin = 22
"""
PAUSE, NEXT, START, LED = 17, 27, 5, 22


@pytest.fixture
def mock_pins() -> Iterator[Any]:
    """gpiozero's MockFactory as the pin factory (a Pi 3B's pins), then none again."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    saved = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    try:
        yield factory
    finally:
        factory.reset()
        factory.close()
        Device.pin_factory = saved


def press(factory: Any, pin: int, down_s: float = 0.05) -> None:
    """A press of the button on ``pin`` (pulled up: pressed is low), held ``down_s``."""
    mock = factory.pin(pin)
    mock.drive_low()
    time.sleep(down_s)
    mock.drive_high()


def until(ok: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


# ----------------------------------------------------------------------- gestures


@contextlib.contextmanager
def source(config_text: str, tmp_path: Path) -> Iterator[ControlHub]:
    config = load_buttons(write(tmp_path, config_text, "buttons.toml"))
    with ControlHub([ButtonSource(config)]) as hub:
        yield hub


def taken(hub: ControlHub, timeout: float = 5.0) -> Action:
    command = hub.get(timeout=timeout)
    assert command is not None, "no command"
    assert command.origin is Origin.BUTTON
    return command.action


def test_a_plain_press_acts_as_it_goes_down(mock_pins: Any, tmp_path: Path) -> None:
    with source('[buttons.27]\npress = "next"\n', tmp_path) as hub:
        mock_pins.pin(27).drive_low()
        assert taken(hub) is Action.NEXT  # before the release
        mock_pins.pin(27).drive_high()
        assert hub.get(timeout=0.3) is None


def test_long_and_double_press(mock_pins: Any, tmp_path: Path) -> None:
    text = (
        '[buttons.17]\npress = "pause"\nlong_press = "stop"\ndouble_press = "next"\nhold_s = 0.5\n'
    )
    with source(text, tmp_path) as hub:
        press(mock_pins, 17)
        assert taken(hub) is Action.TOGGLE_PAUSE  # once the double-press window passed
        press(mock_pins, 17)
        press(mock_pins, 17)
        assert taken(hub) is Action.NEXT
        assert hub.get(timeout=0.6) is None  # the double press sent nothing else
        pin = mock_pins.pin(17)
        pin.drive_low()
        assert taken(hub) is Action.STOP  # held for hold_s, still down
        pin.drive_high()
        assert hub.get(timeout=0.6) is None  # its release sends no press


def test_a_long_press_button_presses_on_release(mock_pins: Any, tmp_path: Path) -> None:
    with source('[buttons.17]\npress = "ready"\nlong_press = "stop"\n', tmp_path) as hub:
        pin = mock_pins.pin(17)
        pin.drive_low()
        assert hub.get(timeout=0.3) is None  # it might yet be a long press
        pin.drive_high()
        assert taken(hub, 1.0) is Action.READY


def test_a_pin_in_use_is_one_line_naming_it(mock_pins: Any, tmp_path: Path) -> None:
    from gpiozero import Button as GpioButton

    from voiceguide.player.buttons import GpioUnavailable

    taken_already = GpioButton(27)
    try:
        text = '[buttons.17]\npress = "pause"\n[buttons.27]\npress = "next"\n'
        hub = ControlHub([ButtonSource(load_buttons(write(tmp_path, text, "b")))])
        with pytest.raises(GpioUnavailable, match=r"^--buttons: GPIO27 cannot be used \("):
            hub.start()
        assert mock_pins.pin(17).when_changed is None  # the one opened first is closed again
    finally:
        taken_already.close()


def test_gestures_send_nothing_after_close() -> None:
    sent: list[Action] = []
    gestures = Gestures(Button(4, Action.NEXT, double_press=Action.BACK, double_s=0.1), sent.append)
    gestures.pressed()
    gestures.released()
    gestures.close()
    time.sleep(0.3)
    assert sent == []


def test_the_led_follows_the_state(mock_pins: Any, tmp_path: Path) -> None:
    config = load_buttons(write(tmp_path, '[buttons.4]\npress = "next"\n[led]\npin = 22\n', "b"))
    state = ["playing"]
    buttons = ButtonSource(config, lambda: state[0])
    led = mock_pins.pin(LED)
    with ControlHub([buttons]):
        until(lambda: led.state == 1, "the LED never came on while playing")
        state[0] = "paused"
        slow = blinks(led, 3)
        state[0] = "waiting"
        fast = blinks(led, 3)
        state[0] = "finished"
        until(lambda: led.state == 0, "the LED stayed on after the end")
    assert min(slow) >= 0.9  # 1 s on, 1 s off (gpiozero's waits are never shorter)
    assert sorted(fast)[1] < min(slow)  # 0.15 s: faster (however busy the machine is)


def test_buttons_ask_for_a_short_output_buffer_unless_the_machine_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default buffer (0.2 s) alone is longer than the 150 ms a press may take."""
    config = load_buttons(write(tmp_path, '[buttons.4]\npress = "next"\n', "b"))
    monkeypatch.setattr(buttons_module, "busy_machine", lambda: False)
    assert ButtonSource(config).output_latency() == BUTTON_LATENCY <= 0.1
    monkeypatch.setattr(buttons_module, "busy_machine", lambda: True)
    assert ButtonSource(config).output_latency() is None  # the output's longer one


def blinks(led: Any, count: int, timeout: float = 15.0) -> list[float]:
    """The lengths of the next ``count`` full on or off spells of the mock ``led``."""
    led.clear_states()
    until(lambda: len(led.states) > count + 1, "the LED does not blink", timeout)
    return [s.timestamp for s in led.states[2 : count + 2]]  # after the first change


# ----------------------------------------------------------------------- the real player


@dataclass
class Driver:
    """What a test does to a play in this process, from a thread of its own."""

    sock: Path
    pins: Any
    done: threading.Event = field(default_factory=threading.Event)

    def status(self) -> dict[str, Any]:
        import json

        data: dict[str, Any] = json.loads(send_command("status", self.sock))
        return data

    def poll(self, ok: Callable[[dict[str, Any]], bool], what: str, timeout: float = 30) -> Any:
        """The player's status once ``ok(status)`` (fails after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            assert not self.done.is_set(), f"{what}: the play ended"
            with contextlib.suppress(NoPlayer, ControlError):  # not up yet
                status = self.status()
                if ok(status):
                    return status
            assert time.monotonic() < deadline, what
            time.sleep(0.02)


def play_driven(
    script: Path, buttons: Path, drive: Callable[[Driver], None], pins: Any, **options: Any
) -> PlayResult:
    """``pipeline.play`` of ``script`` on pacat with ``buttons``, ``drive`` run meanwhile;
    its failure stops the play and is raised."""
    from voiceguide.pipeline import play

    driver = Driver(script.parent / "ctl.sock", pins)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            drive(driver)
        except BaseException as exc:
            failed.append(exc)
            with contextlib.suppress(NoPlayer, ControlError):
                send_command("stop", driver.sock)

    thread = threading.Thread(target=run, name="test-driver", daemon=True)
    thread.start()
    try:
        result = play(script, output="pacat", socket=driver.sock, buttons=buttons, **options)
    finally:
        driver.done.set()
        thread.join(30)
    if failed:
        raise failed[0]
    return result


def quiet_runs(recording: Samples) -> list[tuple[int, int]]:
    """The (start, length) in frames of each stretch where the recording is silent."""
    level = np.sqrt(np.convolve(recording**2, np.ones(2400) / 2400, mode="valid"))
    quiet = level < 1e-4
    edges = np.flatnonzero(np.diff(quiet)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(quiet)]])
    return [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True) if quiet[s]]


def frame_at(rec: Recording, moment: float) -> int:
    return round((moment - rec.started_at) * SAMPLE_RATE)


def test_wait_start_pause_led_and_long_press_stop(
    pulse: PulseServer, mock_pins: Any, tmp_path: Path
) -> None:
    script = write(tmp_path, ROUTINE)
    buttons = write(tmp_path, BUTTONS, "buttons.toml")
    ref, _ = exported(script)
    led = mock_pins.pin(LED)

    def measure() -> None:
        rec = pulse.record(len(ref) / SAMPLE_RATE + 120.0)
        moments: dict[str, float] = {}

        def drive(d: Driver) -> None:
            d.poll(lambda s: s["state"] == "waiting-start", "never waited for start")
            assert min(blinks(led, 2)) < 0.9  # fast: waiting
            time.sleep(2.0)  # silent meanwhile
            assert d.status()["state"] == "waiting-start"
            moments["start"] = time.monotonic()
            press(mock_pins, START)
            d.poll(lambda s: s["state"] == "playing", "the start button did not start it")
            d.poll(lambda s: s["position_file_ms"] >= 2000, "not playing on")
            assert led.state == 1  # on: playing
            press(mock_pins, PAUSE)  # acts on release (the button has a long press)
            moments["pause"] = time.monotonic()
            d.poll(lambda s: s["state"] == "paused", "the pause button did not pause")
            assert min(blinks(led, 2)) >= 0.9  # slow: paused
            press(mock_pins, PAUSE)
            d.poll(lambda s: s["state"] == "playing", "the pause button did not resume")
            d.poll(lambda s: s["position_file_ms"] >= 5000, "not playing on after resuming")
            pin = mock_pins.pin(PAUSE)
            moments["hold"] = time.monotonic()
            pin.drive_low()  # held until the play has stopped
            until(d.done.is_set, "a long press did not stop the play", 30)
            moments["stopped"] = time.monotonic()
            pin.drive_high()

        result = play_driven(script, buttons, drive, mock_pins, wait_start=True)
        recording = rec.finish()
        assert not result.finished
        assert moments["stopped"] - moments["hold"] >= 1.5  # the hold, not its press
        # Silent until the start button (less the capture's own 20 ms of latency):
        before = recording[: frame_at(rec, moments["start"]) - 2400]
        assert len(before) > 1.5 * SAMPLE_RATE and float(np.max(np.abs(before))) < 1e-3
        # then the routine from its start:
        head, match = find(ref[:SAMPLE_RATE], recording)
        assert match > 0.98 and head >= len(before)
        # The pause: silent for a second and more (the slow blinks' two), after the press.
        paused = frame_at(rec, moments["pause"])
        gaps = [(s, n) for s, n in quiet_runs(recording) if s >= paused - SAMPLE_RATE]
        assert gaps and max(n for _, n in gaps) > 1.5 * SAMPLE_RATE

    real_time(measure)


def test_the_next_button_skips(pulse: PulseServer, mock_pins: Any, tmp_path: Path) -> None:
    script = write(tmp_path, ROUTINE)
    buttons = write(tmp_path, BUTTONS, "buttons.toml")
    ref, plan = exported(script)
    chapters = {c["title"]: ms_to_frames(c["start_ms"]) for c in plan["chapters"]}

    def measure() -> None:
        rec = pulse.record(len(ref) / SAMPLE_RATE + 120.0)

        def drive(d: Driver) -> None:
            d.poll(lambda s: s["step"] == "Breathe" and s["remaining_s"] <= 6, "not in Breathe")
            press(mock_pins, NEXT)
            status = d.poll(lambda s: s["step"] != "Breathe", "next did not skip")
            assert status["step"] == "Stretch" and status["last"] == "skipped to Stretch"

        result = play_driven(script, buttons, drive, mock_pins)
        recording = rec.finish()
        assert result.finished
        head, match = find(ref[:SAMPLE_RATE], recording)
        assert match > 0.98
        stretch = chapters["Stretch"]
        at, match = find(ref[stretch : stretch + SAMPLE_RATE], recording)
        assert match > 0.95
        assert at - head < stretch - 2 * SAMPLE_RATE  # two seconds and more of Breathe skipped

    real_time(measure)


def test_wait_start_through_ctl_start(pulse: PulseServer, tmp_path: Path) -> None:
    """Without buttons: the status, the journal, and ``voiceguide ctl start``."""
    script = write(tmp_path, ROUTINE)
    sock = tmp_path / "ctl.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "play", str(script), "--output", "null"]
        + ["--socket", str(sock), "--wait-start"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        until(sock.exists, "no socket", 60)
        until(lambda: '"state": "waiting-start"' in ctl("status", sock), "not waiting", 30)
        time.sleep(0.5)
        assert '"position_file_ms": 0,' in ctl("status", sock)  # it stays where it is
        assert ctl("start", sock).strip() == "ok"
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    lines = err.splitlines()
    assert lines[0] == "-0:03 waiting for start"
    assert "-0:03 started" in lines and lines[-1] == "finished"


def _play_with(
    tmp_path: Path, env: dict[str, str], prelude: str = ""
) -> subprocess.CompletedProcess[str]:
    script = write(tmp_path, ROUTINE)
    buttons = write(tmp_path, BUTTONS, "buttons.toml")
    code = (
        f"{prelude}import sys; from voiceguide.cli import main; sys.argv[0] = 'voiceguide'; main()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, "play", str(script), "--output", "null"]
        + ["--buttons", str(buttons)],
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k != "GPIOZERO_PIN_FACTORY"}, **env},
        timeout=60,
    )


def test_without_gpiozero_buttons_name_the_extra(tmp_path: Path) -> None:
    done = _play_with(tmp_path, {}, "import sys; sys.modules['gpiozero'] = None; ")
    assert done.returncode == ExitCode.USAGE
    assert done.stderr.strip().splitlines() == [
        "voiceguide: --buttons needs gpiozero: pip install 'voiceguide[gpio]'"
    ]


ON_A_PI = "Raspberry Pi" in (
    Path("/proc/device-tree/model").read_text(errors="replace")
    if Path("/proc/device-tree/model").exists()
    else ""
)


@pytest.mark.skipif(ON_A_PI, reason="a Pi has GPIO: the error is for machines without")
def test_off_a_pi_buttons_say_so_in_one_line(tmp_path: Path) -> None:
    done = _play_with(tmp_path, {})
    assert done.returncode == ExitCode.USAGE
    (line,) = done.stderr.strip().splitlines()
    assert "--buttons: no GPIO pins here" in line and "python3-lgpio" in line
