"""Stable output names (``--device headphones|hdmi|hdmi0|hdmi1|usb|bluetooth``): matched
against what the backends list on Raspberry Pis and a PC (the listings below are theirs),
then for real through the PulseAudio null sink, one named like a USB card's."""

from __future__ import annotations

import dataclasses
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SCRIPTS, TALKING, ctl, vg, write
from tests.pulse import PulseServer
from voiceguide.errors import AudioDeviceError, ExitCode
from voiceguide.player.device_names import chosen, is_stable_name, kinds, matches, resolve
from voiceguide.player.devices import Device, list_devices, sink_descriptions
from voiceguide.player.output import open_output


def sd(name: str) -> Device:
    return Device("sounddevice", name, f"{name} (ALSA)")


def sink(name: str) -> Device:
    return Device("pacat", name, f"sink {name} s16le 2ch 48000Hz")


def pcm(name: str, description: str = "") -> Device:
    return Device("aplay", name, description, name == "default")


# A Pi 4 on Bookworm with PipeWire: the jack, both HDMI ports, a USB card, a Bluetooth speaker.
PI4 = [
    sd("bcm2835 Headphones: - (hw:0,0)"),
    sd("vc4-hdmi-0: MAI PCM i2s-hifi-0 (hw:1,0)"),
    sd("vc4-hdmi-1: MAI PCM i2s-hifi-0 (hw:2,0)"),
    sd("USB Audio Device: USB Audio (hw:3,0)"),
    sd("sysdefault"),
    sd("hdmi"),
    sd("pipewire"),
    sd("default"),
    sink("alsa_output.platform-bcm2835_audio.stereo-fallback"),
    sink("alsa_output.platform-fef05700.hdmi.hdmi-stereo"),
    sink("alsa_output.platform-fef00700.hdmi.hdmi-stereo"),
    sink("alsa_output.usb-C-Media_Electronics_Inc._USB_Audio_Device-00.analog-stereo"),
    sink("bluez_output.12_34_56_78_9A_BC.1"),
    pcm("default", "Playback/recording through the PulseAudio sound server"),
    pcm("pipewire", "PipeWire Sound Server"),
    pcm("hw:CARD=Headphones,DEV=0", "bcm2835 Headphones, bcm2835 Headphones"),
    pcm("plughw:CARD=Headphones,DEV=0", "bcm2835 Headphones, bcm2835 Headphones"),
    pcm("sysdefault:CARD=Headphones", "bcm2835 Headphones, bcm2835 Headphones"),
    pcm("dmix:CARD=Headphones,DEV=0", "bcm2835 Headphones, bcm2835 Headphones"),
    pcm("hw:CARD=vc4hdmi0,DEV=0", "vc4-hdmi-0, MAI PCM i2s-hifi-0"),
    pcm("plughw:CARD=vc4hdmi0,DEV=0", "vc4-hdmi-0, MAI PCM i2s-hifi-0"),
    pcm("sysdefault:CARD=vc4hdmi0", "vc4-hdmi-0, MAI PCM i2s-hifi-0"),
    pcm("hdmi:CARD=vc4hdmi0,DEV=0", "vc4-hdmi-0, MAI PCM i2s-hifi-0"),
    pcm("hw:CARD=vc4hdmi1,DEV=0", "vc4-hdmi-1, MAI PCM i2s-hifi-0"),
    pcm("hdmi:CARD=vc4hdmi1,DEV=0", "vc4-hdmi-1, MAI PCM i2s-hifi-0"),
    pcm("hw:CARD=Device,DEV=0", "USB Audio Device, USB Audio"),
    pcm("plughw:CARD=Device,DEV=0", "USB Audio Device, USB Audio"),
    pcm("front:CARD=Device,DEV=0", "USB Audio Device, USB Audio"),
    pcm("sysdefault:CARD=Device", "USB Audio Device, USB Audio"),
]
# A Pi 5 (no jack) on PulseAudio, two USB cards (a speakerphone first), bluez-alsa on ALSA.
PI5 = [
    sink("alsa_output.platform-107c706400.hdmi.hdmi-stereo"),
    sink("alsa_output.platform-107c701400.hdmi.hdmi-stereo"),
    sink("alsa_output.usb-Jabra_SPEAK_510_USB_1C48F9C2A1B2020A00-00.analog-stereo"),
    sink("alsa_output.usb-Generic_USB2.0_Device_20130100ph0-00.analog-stereo"),
    sink("bluez_sink.AA_BB_CC_DD_EE_FF.a2dp_sink"),
    pcm("sysdefault:CARD=vc4hdmi1", "vc4-hdmi-1, MAI PCM i2s-hifi-0"),
    pcm("sysdefault:CARD=vc4hdmi0", "vc4-hdmi-0, MAI PCM i2s-hifi-0"),
    pcm("hw:CARD=USB,DEV=0", "Jabra SPEAK 510 USB, USB Audio"),
    pcm("plughw:CARD=USB,DEV=0", "Jabra SPEAK 510 USB, USB Audio"),
    pcm("plughw:CARD=Device,DEV=0", "USB2.0 Device, USB Audio"),
    pcm("bluealsa:DEV=AA:BB:CC:DD:EE:FF,PROFILE=a2dp,SRV=org.bluealsa", "Bluetooth Audio"),
]
# The firmware's audio driver (older Pi OS): cards b1 and Headphones, one platform device.
LEGACY = [
    sd("bcm2835 HDMI 1: - (hw:0,0)"),
    sd("bcm2835 Headphones: - (hw:1,0)"),
    sink("alsa_output.platform-bcm2835_audio.digital-stereo"),
    sink("alsa_output.platform-bcm2835_audio.analog-stereo"),
    pcm("sysdefault:CARD=b1", "bcm2835 HDMI 1, bcm2835 HDMI 1"),
    pcm("sysdefault:CARD=Headphones", "bcm2835 Headphones, bcm2835 Headphones"),
]
# A PC: its HDMI has no Pi port number, its analog output answers to none of the names.
PC = [
    sd("HDA Intel PCH: ALC257 Analog (hw:0,0)"),
    sd("HDA Intel PCH: HDMI 0 (hw:0,3)"),
    sink("alsa_output.pci-0000_00_1f.3.analog-stereo"),
    sink("alsa_output.pci-0000_00_1f.3.hdmi-stereo"),
    pcm("hdmi:CARD=PCH,DEV=0", "HDA Intel PCH, HDMI 0"),
]

TABLE = [
    # listing, backend, name, the device chosen (None: nothing answers)
    (PI4, "sounddevice", "headphones", "bcm2835 Headphones: - (hw:0,0)"),
    (PI4, "sounddevice", "hdmi", "vc4-hdmi-0: MAI PCM i2s-hifi-0 (hw:1,0)"),
    (PI4, "sounddevice", "hdmi1", "vc4-hdmi-1: MAI PCM i2s-hifi-0 (hw:2,0)"),
    (PI4, "sounddevice", "usb", "USB Audio Device: USB Audio (hw:3,0)"),
    (PI4, "sounddevice", "bluetooth", None),  # only the sound server has it
    (PI4, "pacat", "headphones", "alsa_output.platform-bcm2835_audio.stereo-fallback"),
    (PI4, "pacat", "hdmi", "alsa_output.platform-fef00700.hdmi.hdmi-stereo"),  # HDMI0 first
    (PI4, "pacat", "hdmi0", "alsa_output.platform-fef00700.hdmi.hdmi-stereo"),
    (PI4, "pacat", "HDMI1", "alsa_output.platform-fef05700.hdmi.hdmi-stereo"),
    (
        PI4,
        "pacat",
        "usb",
        "alsa_output.usb-C-Media_Electronics_Inc._USB_Audio_Device-00.analog-stereo",
    ),
    (PI4, "pacat", "bluetooth", "bluez_output.12_34_56_78_9A_BC.1"),
    (PI4, "aplay", "headphones", "sysdefault:CARD=Headphones"),  # converts; not hw:
    (PI4, "aplay", "hdmi0", "sysdefault:CARD=vc4hdmi0"),
    (PI4, "aplay", "hdmi1", "hdmi:CARD=vc4hdmi1,DEV=0"),  # IEC958 done by ALSA, not raw hw:
    (PI4, "aplay", "usb", "sysdefault:CARD=Device"),
    (PI5, "pacat", "hdmi", "alsa_output.platform-107c701400.hdmi.hdmi-stereo"),
    (PI5, "pacat", "hdmi1", "alsa_output.platform-107c706400.hdmi.hdmi-stereo"),
    (PI5, "pacat", "headphones", None),
    (
        PI5,
        "pacat",
        "usb",
        "alsa_output.usb-Jabra_SPEAK_510_USB_1C48F9C2A1B2020A00-00.analog-stereo",
    ),
    (PI5, "pacat", "bluetooth", "bluez_sink.AA_BB_CC_DD_EE_FF.a2dp_sink"),
    (PI5, "aplay", "hdmi", "sysdefault:CARD=vc4hdmi0"),
    (PI5, "aplay", "usb", "plughw:CARD=USB,DEV=0"),  # two cards: the first listed
    (PI5, "aplay", "bluetooth", "bluealsa:DEV=AA:BB:CC:DD:EE:FF,PROFILE=a2dp,SRV=org.bluealsa"),
    (LEGACY, "sounddevice", "hdmi0", "bcm2835 HDMI 1: - (hw:0,0)"),
    (LEGACY, "sounddevice", "headphones", "bcm2835 Headphones: - (hw:1,0)"),
    (LEGACY, "pacat", "headphones", "alsa_output.platform-bcm2835_audio.analog-stereo"),
    (LEGACY, "pacat", "hdmi", "alsa_output.platform-bcm2835_audio.digital-stereo"),
    (LEGACY, "aplay", "hdmi0", "sysdefault:CARD=b1"),
    (PC, "sounddevice", "hdmi", "HDA Intel PCH: HDMI 0 (hw:0,3)"),
    (PC, "sounddevice", "hdmi0", None),  # a Pi's port numbers only
    (PC, "pacat", "hdmi", "alsa_output.pci-0000_00_1f.3.hdmi-stereo"),
    (PC, "pacat", "headphones", None),
    (PC, "aplay", "hdmi", "hdmi:CARD=PCH,DEV=0"),
]


@pytest.mark.parametrize(("listing", "backend", "name", "expected"), TABLE)
def test_a_stable_name_picks_the_device(
    listing: list[Device], backend: str, name: str, expected: str | None
) -> None:
    found = matches(name, listing, backend)
    assert (found[0].id if found else None) == expected


def test_what_each_device_answers_to() -> None:
    answers = {d.id: kinds(d) for d in PI4}
    assert answers["alsa_output.platform-fef05700.hdmi.hdmi-stereo"] == ("hdmi", "hdmi1")
    assert answers["vc4-hdmi-0: MAI PCM i2s-hifi-0 (hw:1,0)"] == ("hdmi", "hdmi0")
    assert answers["bluez_output.12_34_56_78_9A_BC.1"] == ("bluetooth",)
    assert answers["hw:CARD=Device,DEV=0"] == ("usb",)
    for plain in ("default", "pipewire", "sysdefault", "hdmi"):  # ALSA's own PCMs: no card
        assert answers[plain] == ()


def test_devices_shows_the_names_by_the_device_each_picks() -> None:
    shown = {d.id: names for d, names in chosen(PI4).items()}
    assert shown["alsa_output.platform-fef00700.hdmi.hdmi-stereo"] == "hdmi hdmi0"
    assert shown["alsa_output.platform-fef05700.hdmi.hdmi-stereo"] == "hdmi1"
    assert shown["sysdefault:CARD=Headphones"] == "headphones"
    assert shown["bluez_output.12_34_56_78_9A_BC.1"] == "bluetooth"
    assert "hw:CARD=Headphones,DEV=0" not in shown  # aplay plays on sysdefault instead
    assert sum(names.split().count("usb") for names in shown.values()) == 3  # one a backend


def test_auto_tries_each_backend_that_has_the_device() -> None:
    order = ("sounddevice", "pacat", "aplay")
    assert [b for b, _ in resolve("bluetooth", PI4, order)] == ["pacat"]
    assert resolve("usb", PI4, order)[0] == ("sounddevice", "USB Audio Device: USB Audio (hw:3,0)")
    assert len(resolve("usb", PI4, order)) == 3


def test_a_name_nothing_answers_to_says_what_is_there_in_one_line() -> None:
    with pytest.raises(AudioDeviceError) as err:
        resolve("headphones", PI5, ("pacat", "aplay"))
    message = str(err.value)
    assert "\n" not in message and err.value.exit_code == ExitCode.AUDIO
    assert "'headphones'" in message and "here: hdmi, hdmi0, hdmi1, usb, bluetooth" in message
    with pytest.raises(AudioDeviceError, match="no headphone, HDMI, USB or Bluetooth output; "):
        resolve("usb", [sink("vgtest"), pcm("default")], ("pacat",))


def test_only_the_names_are_stable_names() -> None:
    assert all(is_stable_name(n) for n in ("usb", "HDMI", "hdmi1", "bluetooth", "headphones"))
    assert not any(is_stable_name(n) for n in (None, "hdmi2", "default", "hw:0,0", "vgtest"))


PACTL_LIST_SINKS = """Sink #58
\tState: SUSPENDED
\tName: alsa_output.platform-bcm2835_audio.stereo-fallback
\tDescription: Built-in Audio Stereo
\tDriver: PipeWire
\tProperties:
\t\tdevice.description = "Built-in Audio"
\tPorts:
\t\tanalog-output: Analog Output (type: Unknown, priority: 9900, availability unknown)
\tActive Port: analog-output

Sink #71
\tState: RUNNING
\tName: bluez_output.12_34_56_78_9A_BC.1
\tDescription: JBL Flip 5
\tDriver: PipeWire
"""


def test_a_sink_is_described_by_its_own_name() -> None:
    assert sink_descriptions(PACTL_LIST_SINKS) == {
        "alsa_output.platform-bcm2835_audio.stereo-fallback": "Built-in Audio Stereo",
        "bluez_output.12_34_56_78_9A_BC.1": "JBL Flip 5",
    }


# -- for real: a null sink named like a USB card ------------------------------------------

USB_SINK = "alsa_output.usb-Generic_USB_Audio_201405280001-00.analog-stereo"


@pytest.fixture
def usb_sink(pulse: PulseServer) -> Iterator[PulseServer]:
    """A second null sink, named as PulseAudio names a USB card's; the default stays."""
    module = pulse.pactl(
        "load-module", "module-null-sink", f"sink_name={USB_SINK}", "rate=24000", "channels=1"
    ).strip()
    try:
        yield dataclasses.replace(pulse, sink=USB_SINK, listener=None)
    finally:
        pulse.pactl("unload-module", module)


@pytest.mark.e2e
@pytest.mark.parametrize("backend", ["pacat", "auto"])
def test_usb_plays_on_the_usb_sink(usb_sink: PulseServer, backend: str) -> None:
    assert any(d.id == USB_SINK for d in list_devices(("pacat",)))
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(24_000) / 24_000)).astype(np.float32)
    pos = 0

    def pull(n: int) -> np.ndarray:
        nonlocal pos
        block = np.zeros(n, np.float32)
        part = tone[pos : pos + n]
        block[: part.size] = part
        pos += n
        return block

    recording = usb_sink.record(3.0, "usb")
    with open_output(backend, "usb") as out:
        assert out.name == "pacat"  # PortAudio (through ALSA's pulse plugin) has no USB card
        out.start(pull)
        samples = recording.wait()
        out.stop(drain=False)
    assert np.max(np.abs(samples)) > 0.2, "nothing reached the USB sink"


@pytest.mark.e2e
def test_play_on_a_name_nothing_answers_to_is_exit_7(usb_sink: PulseServer) -> None:
    done = vg(
        "play",
        str(SCRIPTS / "daily.yaml"),
        "--device",
        "bluetooth",
        "--device-wait",
        "0",
        env=usb_sink.client_env,
    )
    assert done.returncode == ExitCode.AUDIO, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "'bluetooth'" in lines[0] and "here: usb" in lines[0], lines[0]


@pytest.mark.e2e
def test_a_usb_speaker_plugged_in_after_the_start_is_found_by_name(
    pulse: PulseServer, tmp_path: Path
) -> None:
    """As at boot: `play --device usb` before any USB card is there waits (``--device-wait``)
    and plays on the card once it appears, looked up by its name again at each try."""
    script = write(tmp_path, TALKING)
    sock = tmp_path / "ctl.sock"
    args = ("--device", "usb", "--device-wait", "120", "--socket", str(sock))
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "play", str(script), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=pulse.client_env,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    module = ""
    try:
        first = lines.get(timeout=120)
        assert "no audio device yet (no audio output answers to 'usb'" in first, first
        module = pulse.pactl(
            "load-module", "module-null-sink", f"sink_name={USB_SINK}", "rate=24000", "channels=1"
        ).strip()
        ready = lines.get(timeout=120)
        assert ready.startswith("voiceguide: audio device ready after "), ready
        deadline = time.monotonic() + 60
        while not sock.exists() or json.loads(ctl("status", sock))["position_file_ms"] < 500:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        heard = dataclasses.replace(pulse, sink=USB_SINK, listener=None).record(4.0).wait()
        assert float(np.max(np.abs(heard))) > 0.05, "nothing reached the USB sink"
        ctl("stop", sock)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if module:
            pulse.pactl("unload-module", module)
    assert proc.returncode == 0
