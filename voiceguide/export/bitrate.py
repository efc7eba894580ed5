"""MP3 bitrates: the default, the ones MPEG-2 Layer III has at SAMPLE_RATE, and their check.

Light on purpose: the CLI's options and the front door read ``DEFAULT_BITRATE`` without
loading an encoder.
"""

from __future__ import annotations

from voiceguide.errors import UnsupportedOutput

DEFAULT_BITRATE = 96  # kbit/s, MP3 only
# MPEG-2 Layer III (sample rates 16-24 kHz) constant bitrates.
BITRATES = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)


def check_bitrate(bitrate: int) -> None:
    """Raise UnsupportedOutput (exit code 2) unless ``bitrate`` is a valid CBR rate at
    SAMPLE_RATE."""
    if bitrate not in BITRATES:
        supported = ", ".join(str(rate) for rate in BITRATES)
        raise UnsupportedOutput(
            f"MP3 bitrate {bitrate} kbps is not supported; use one of {supported}"
        )
