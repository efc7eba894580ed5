"""The Xing/LAME "Info" frame for CBR MP3: frame count, byte count, encoder delay, padding.

An MP3 decoder outputs ``delay + samples + padding`` samples (plus its own 529-sample lag);
without this frame nobody knows which ones are real. ffmpeg and mpg123 (hence libsndfile)
read the frame and trim exactly: they skip ``delay + 529`` samples at the start and stop
``padding - 529`` samples before the end of the last frame. The frame comes first in the
stream (after any ID3v2 tag), is itself silent and carries no audio.

Layout (LAME tag revision 0, big-endian), offsets from the "Info" magic::

    0  "Info"   4 flags (frames|bytes|toc|quality)   8 frames   12 bytes
    16 TOC[100] 116 quality
    120 LAME extension: 9 version, 1 revision/method, 1 lowpass, 4 peak, 2+2 replay gain,
        1 flags/ATH, 1 bitrate, 3 delay(12 bits)/padding(12 bits), 1 misc, 1 mp3gain,
        2 preset/surround, 4 music length, 2 music CRC, 2 tag CRC

Both CRCs are CRC-16/ARC (poly 0x8005 reflected, init 0): the music CRC covers every audio
frame after this one, the tag CRC every byte of this frame before it.
"""

from __future__ import annotations

import struct
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

ENCODER_VERSION = b"LAME3.100"  # lameenc bundles LAME 3.100; ffmpeg requires "LAME" here
SAMPLES_PER_FRAME = {1: 1152, 2: 576}  # Layer III: MPEG-1, MPEG-2/2.5 (LSF)
DECODER_DELAY = 529  # what decoders add on top of the tagged encoder delay

# Layer III bitrates (kbps) by header index for MPEG-1 and MPEG-2/2.5.
_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}

_FLAGS = 0x0F  # frames, bytes, TOC, quality: all four, as LAME writes them
_XING_SIZE = 4 + 4 + 4 + 4 + 100 + 4
_LAME_SIZE = 36


class FrameHeader:
    """The fields of a 4-byte MPEG audio frame header that the Info frame needs."""

    def __init__(self, raw: bytes) -> None:
        if len(raw) < 4:
            raise ValueError("an MPEG frame header has 4 bytes")
        value = int.from_bytes(raw[:4], "big")
        if value >> 21 != 0x7FF:
            raise ValueError(f"not an MPEG frame header: {raw[:4].hex()}")
        version_bits = (value >> 19) & 3
        layer_bits = (value >> 17) & 3
        if version_bits == 1 or layer_bits != 1:
            raise ValueError(f"not an MPEG Layer III header: {raw[:4].hex()}")
        self.value = value
        self.version_bits = version_bits
        self.mpeg1 = version_bits == 3
        self.bitrate_index = (value >> 12) & 15
        self.sample_rate = _SAMPLE_RATES[version_bits][(value >> 10) & 3]
        self.padding = (value >> 9) & 1
        self.channel_mode = (value >> 6) & 3  # stereo, joint stereo, dual channel, mono
        self.mono = self.channel_mode == 3

    @property
    def lame_stereo_mode(self) -> int:
        """The LAME tag's 3-bit stereo mode: mono 0, stereo 1, dual 2, joint 3."""
        return {0: 1, 1: 3, 2: 2, 3: 0}[self.channel_mode]

    @property
    def bitrate(self) -> int:
        return _BITRATES[1 if self.mpeg1 else 2][self.bitrate_index]

    @property
    def samples_per_frame(self) -> int:
        return SAMPLES_PER_FRAME[1 if self.mpeg1 else 2]

    @property
    def side_info_size(self) -> int:
        if self.mpeg1:
            return 17 if self.mono else 32
        return 9 if self.mono else 17

    def frame_size(self, bitrate_index: int | None = None, padding: int | None = None) -> int:
        """Bytes in a frame with this header (optionally another bitrate or padding)."""
        index = self.bitrate_index if bitrate_index is None else bitrate_index
        kbps = _BITRATES[1 if self.mpeg1 else 2][index]
        slot = self.padding if padding is None else padding
        return (self.samples_per_frame // 8) * kbps * 1000 // self.sample_rate + slot

    def with_bitrate(self, bitrate_index: int) -> bytes:
        """This header with another bitrate index, no padding and no CRC protection."""
        value = (self.value & ~(0xF << 12) & ~(1 << 9)) | (bitrate_index << 12) | (1 << 16)
        return value.to_bytes(4, "big")


def info_frame_bitrate_index(header: FrameHeader) -> int:
    """The stream's own bitrate if the Info frame fits in such a frame, else the smallest fit."""
    needed = 4 + header.side_info_size + _XING_SIZE + _LAME_SIZE
    if header.frame_size(padding=0) >= needed:
        return header.bitrate_index
    for index in range(1, 15):
        if header.frame_size(index, padding=0) >= needed:
            return index
    raise ValueError("no MPEG frame is large enough for the Info tag")  # pragma: no cover


def build_info_frame(
    header: FrameHeader,
    *,
    audio_frames: int,
    audio_bytes: int,
    encoder_delay: int,
    padding: int,
    music_crc: int,
    quality: int,
    lowpass_hz: int = 0,
) -> bytes:
    """The complete Info frame to put before ``audio_frames`` CBR frames of ``audio_bytes``."""
    if not (0 <= encoder_delay < 4096 and 0 <= padding < 4096):
        raise ValueError(f"delay {encoder_delay} / padding {padding} do not fit in 12 bits")
    index = info_frame_bitrate_index(header)
    size = header.frame_size(index, padding=0)
    total_bytes = size + audio_bytes  # Xing "bytes": from this frame to the end of the audio
    frame = bytearray(size)
    frame[0:4] = header.with_bitrate(index)
    at = 4 + header.side_info_size  # side information stays zero: an empty frame
    toc = bytes(min(255, i * 256 // 100) for i in range(100))  # linear: every frame alike
    xing = b"Info" + struct.pack(">III", _FLAGS, audio_frames, total_bytes) + toc
    xing += struct.pack(">I", quality)
    frame[at : at + _XING_SIZE] = xing
    at += _XING_SIZE
    lame = bytearray()
    lame += ENCODER_VERSION
    lame.append(0x01)  # tag revision 0, method 1: constant bitrate
    lame.append(min(255, lowpass_hz // 100))
    lame += bytes(4)  # peak amplitude: not measured
    lame += bytes(4)  # radio and audiophile replay gain: not measured
    lame.append(0)  # encoding flags and ATH type: unknown
    lame.append(min(255, header.bitrate))  # CBR: the bitrate
    lame += ((encoder_delay << 12) | padding).to_bytes(3, "big")
    lame.append(_source_rate_code(header.sample_rate) << 6 | header.lame_stereo_mode << 2)
    lame.append(0)  # mp3gain
    lame += bytes(2)  # preset and surround: unknown
    lame += struct.pack(">IH", total_bytes, music_crc)
    frame[at : at + len(lame)] = lame
    at += len(lame)
    frame[at : at + 2] = crc16(bytes(frame[:at])).to_bytes(2, "big")
    return bytes(frame)


# --- CRC-16/ARC, vectorised -----------------------------------------------------------------
#
# One byte b updates the state c to A(c) ^ T[b] with A(c) = (c >> 8) ^ T[c & 0xFF]: the CRC is
# linear in the state and the data. So rows of the buffer are summed up independently (a numpy
# loop over columns), then combined pairwise: crc(X + Y) = A^len(Y)(crc(X)) ^ crc(Y). Leading
# zero bytes do not change a CRC that starts at 0, which makes padding the front free.


def _make_table() -> NDArray[np.uint16]:
    table = np.zeros(256, dtype=np.uint16)
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table[byte] = crc
    return table


_TABLE = _make_table()
_TABLE_LIST = [int(v) for v in _TABLE]
_ROW = 64  # bytes summed per row in the vectorised path
_SMALL = 4096  # below this many bytes a plain loop is faster


def _shift_one(crc: int) -> int:
    return (crc >> 8) ^ _TABLE_LIST[crc & 0xFF]


Images = tuple[int, ...]  # a linear map on 16 bits: the images of the 16 unit vectors


def _apply(images: Images, value: int) -> int:
    out = 0
    bit = 0
    while value:
        if value & 1:
            out ^= images[bit]
        value >>= 1
        bit += 1
    return out


def _compose(outer: Images, inner: Images) -> Images:
    return tuple(_apply(outer, image) for image in inner)


@lru_cache(maxsize=64)
def _power_of_two(exponent: int) -> Images:
    """A^(2^exponent): the effect of 2^exponent zero bytes on a CRC state."""
    if exponent == 0:
        return tuple(_shift_one(1 << bit) for bit in range(16))
    half = _power_of_two(exponent - 1)
    return _compose(half, half)


def _shift(crc: int, count: int) -> int:
    """The state after ``count`` zero bytes."""
    exponent = 0
    while count and crc:
        if count & 1:
            crc = _apply(_power_of_two(exponent), crc)
        count >>= 1
        exponent += 1
    return crc


@lru_cache(maxsize=64)
def _byte_tables(exponent: int) -> tuple[NDArray[np.uint16], NDArray[np.uint16]]:
    """Lookup tables applying A^(2^exponent) to arrays: low byte and high byte halves."""
    images = np.array(_power_of_two(exponent), dtype=np.uint16)
    values = np.arange(256)
    low = np.zeros(256, dtype=np.uint16)
    high = np.zeros(256, dtype=np.uint16)
    for bit in range(8):
        mask = (values >> bit) & 1 == 1
        low[mask] ^= images[bit]
        high[mask] ^= images[bit + 8]
    return low, high


def crc16(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-16/ARC of ``data``, continuing from ``crc`` (the CRC of what came before)."""
    view = np.frombuffer(data, dtype=np.uint8)
    if view.size < _SMALL:
        table = _TABLE_LIST
        for byte in view.tobytes():
            crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
        return crc
    rows = -(-view.size // _ROW)
    rows += rows & 1  # an even number of rows; extra rows of zeros go in front
    padded = np.zeros(rows * _ROW, dtype=np.uint8)
    padded[padded.size - view.size :] = view
    columns = padded.reshape(rows, _ROW).T.copy()
    state = np.zeros(rows, dtype=np.uint16)
    for column in columns:
        state = (state >> 8) ^ _TABLE[(state ^ column) & 0xFF]
    exponent = 6  # rows are 2^6 = _ROW bytes long
    while state.size > 1:
        if state.size & 1:
            state = np.concatenate(([np.uint16(0)], state))
        low, high = _byte_tables(exponent)
        front, back = state[0::2], state[1::2]
        state = low[front & 0xFF] ^ high[front >> 8] ^ back
        exponent += 1
    return _shift(crc, view.size) ^ int(state[0])


def _source_rate_code(rate: int) -> int:
    """The LAME tag's 2-bit source sample rate: <=32 kHz, 44.1 kHz, 48 kHz, above."""
    if rate <= 32000:
        return 0
    return 1 if rate == 44100 else 2 if rate == 48000 else 3
