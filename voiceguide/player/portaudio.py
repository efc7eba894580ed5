"""PortAudio through sounddevice: loading it (with a fresh device list) and finding a device.

sounddevice ships no PortAudio on Linux; a missing package or library becomes an
AudioDeviceError that names what to install. Shared by the sounddevice output and
``voiceguide devices``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from voiceguide.errors import AudioDeviceError
from voiceguide.player.library_noise import captured_stderr
from voiceguide.player.output_base import OPEN_SECONDS, call_with_timeout

if TYPE_CHECKING:
    from types import ModuleType

_open_streams = 0  # streams not yet closed: PortAudio must not be re-initialised


def count_stream(change: int) -> None:
    """A stream was opened (+1) or closed (-1): ``import_sounddevice`` rescans only when
    no stream is open."""
    global _open_streams
    _open_streams += change


def import_sounddevice(rescan: bool = True) -> ModuleType:
    """sounddevice, or an AudioDeviceError naming what to install.

    PortAudio lists the devices once, when it is initialised (on import). With ``rescan``,
    an earlier import is refreshed, so that a sound server started or a USB device plugged
    in since is seen; not while a stream is open (re-initialising would close it). Listing
    probes every device, which a hung sound server blocks: bounded by OPEN_SECONDS.
    """
    fresh = "sounddevice" not in sys.modules

    def load() -> ModuleType:
        import sounddevice

        if rescan and not fresh and _open_streams == 0:
            sounddevice._terminate()
            sounddevice._initialize()
        module: ModuleType = sounddevice
        return module

    try:
        with captured_stderr():
            return call_with_timeout(load, OPEN_SECONDS, "listing the audio devices")
    except AudioDeviceError:
        raise
    except ImportError as exc:
        raise AudioDeviceError(
            "the sounddevice package is not installed (pip install sounddevice)"
        ) from exc
    except OSError as exc:  # sounddevice raises this when libportaudio is missing
        raise AudioDeviceError(
            f"PortAudio is missing ({exc}): install libportaudio2 (apt install libportaudio2)"
        ) from exc


def resolve_device(sd: Any, device: str | int | None) -> tuple[int, str]:
    """PortAudio's index and name of the output ``device`` (None: the default output)."""
    if isinstance(device, str) and device.strip().isdigit():
        device = int(device)
    try:
        if device is None:
            index = sd.default.device[1]
            if index is None or index < 0:
                raise AudioDeviceError("no audio output device found (PortAudio sees none)")
            info = sd.query_devices(index)
        else:
            info = sd.query_devices(device, "output")
    except (ValueError, sd.PortAudioError) as exc:
        raise AudioDeviceError(
            f"no audio output device {device!r} ({exc}); see `voiceguide devices`"
        ) from exc
    if info["max_output_channels"] < 1:
        raise AudioDeviceError(f"audio device {info['name']!r} has no outputs")
    return int(info["index"]), str(info["name"])
