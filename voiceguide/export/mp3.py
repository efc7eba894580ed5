"""MP3 writer: lameenc (LAME 3.100), CBR mono, an ID3v2.4 tag and a LAME Info frame.

File layout: ID3v2.4 tag (rendered before encoding, see ``id3tag``), the Info frame (a
placeholder while encoding, patched at the end), then the audio frames. Nothing is rewritten:
memory stays flat however long the routine is.

lameenc writes no Info frame, so decoders would output 576 samples of encoder delay plus up
to 1151 of padding. With the frame, ffmpeg/ffprobe and mpg123/libsndfile decode exactly the
input frames, aligned to the input (tests check both).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from pathlib import Path
from typing import BinaryIO

import lameenc
import numpy as np
from numpy.typing import NDArray

from voiceguide.dsp.samples import to_pcm16
from voiceguide.errors import ExportError
from voiceguide.export.base import FileWriterBase, TrackInfo
from voiceguide.export.bitrate import BITRATES, DEFAULT_BITRATE, check_bitrate
from voiceguide.export.id3tag import render_id3
from voiceguide.export.lametag import (
    FrameHeader,
    build_info_frame,
    crc16,
    info_frame_bitrate_index,
)
from voiceguide.units import SAMPLE_RATE

# LAME's encoder delay, measured: an impulse at input sample n comes out of a tag-less stream
# at n + 1105 = n + 576 (encoder) + 529 (decoder), for every quality and bitrate tried.
ENCODER_DELAY = 576
# LAME -q: 5 is its default ("good"); 2 is 2.5x slower, 7 is 1.5x faster but drops
# psychoacoustic noise shaping that speech at 64 kbps benefits from.
QUALITY = 5
_FLUSH_BYTES = 256 * 1024  # encoded bytes gathered before a CRC update and a write
_QUEUE_BLOCKS = 8  # PCM blocks waiting for the encoder


class Mp3Writer(FileWriterBase):
    """Encode a track block by block; ``finish`` flushes LAME and patches the Info frame.

    LAME runs on a thread of its own, fed 16-bit PCM through a short queue: lameenc releases
    the GIL while it encodes, so converting the next block, and everything upstream of
    the writer, overlaps the encoding instead of adding to it. The thread also writes the
    encoded bytes and keeps their CRC.
    """

    def __init__(self, path: Path, info: TrackInfo, bitrate: int = DEFAULT_BITRATE) -> None:
        check_bitrate(bitrate)
        self._encoder = lameenc.Encoder()
        self._encoder.set_channels(1)
        self._encoder.set_in_sample_rate(SAMPLE_RATE)
        self._encoder.set_out_sample_rate(SAMPLE_RATE)  # never let LAME resample
        self._encoder.set_bit_rate(bitrate)
        self._encoder.set_quality(QUALITY)
        self._encoder.silence()
        self._samples = 0
        self._pending = bytearray()
        self._audio_bytes = 0
        self._music_crc = 0
        self._header: FrameHeader | None = None
        self._pcm: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUE_BLOCKS)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._file: BinaryIO = path.open("wb")
        try:
            self._file.write(render_id3(info))
            self._info_offset = self._file.tell()
            # Reserve room for the Info frame: its size depends only on bitrate and rate.
            probe = FrameHeader(_nominal_header(bitrate))
            self._info_size = probe.frame_size(info_frame_bitrate_index(probe), padding=0)
            self._file.write(bytes(self._info_size))
        except BaseException:
            self._file.close()
            raise

    def _write(self, block: NDArray[np.float32]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._encode, name="voiceguide-lame")
            self._thread.start()
        self._samples += block.size
        pcm = to_pcm16(block).tobytes()
        while True:
            self._raise_failure()
            try:
                self._pcm.put(pcm, timeout=0.1)
                return
            except queue.Full:
                continue

    def _encode(self) -> None:
        """The encoding thread: PCM from the queue until None, encoded, CRC'd, written."""
        try:
            while (pcm := self._pcm.get()) is not None:
                self._pending += self._encoder.encode(pcm)
                if len(self._pending) >= _FLUSH_BYTES:
                    self._drain()
        except BaseException as exc:  # handed to the writing thread
            self._error = exc

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _join(self) -> None:
        """Let the encoding thread finish what it was given, and end."""
        if self._thread is None:
            return
        while self._thread.is_alive():
            try:
                self._pcm.put(None, timeout=0.1)
                break
            except queue.Full:
                if self._error is not None:  # it stopped taking blocks
                    break
        self._thread.join()
        self._thread = None

    def _stop(self) -> None:
        if self._thread is not None:  # an error cut the track short: stop the encoder
            with contextlib.suppress(queue.Empty):
                while True:
                    self._pcm.get_nowait()
            self._join()

    def finish(self) -> None:
        self._join()
        self._raise_failure()
        if self._samples == 0:
            # lameenc only flushes an initialised encoder, and an encode call initialises it.
            # LAME then emits delay and padding only, which the Info frame marks as such.
            self._pending += self._encoder.encode(bytes(0))
        self._pending += self._encoder.flush()
        self._drain()
        header = self._header
        if header is None:
            raise RuntimeError("the MP3 encoder produced no audio")
        frame_size = header.frame_size(padding=0)
        frames, remainder = divmod(self._audio_bytes, frame_size)
        if remainder or header.sample_rate != SAMPLE_RATE or not header.mono:
            raise RuntimeError(f"unexpected MP3 stream from lameenc: {header.value:08x}")
        padding = frames * header.samples_per_frame - ENCODER_DELAY - self._samples
        info_frame = build_info_frame(
            header,
            audio_frames=frames,
            audio_bytes=self._audio_bytes,
            encoder_delay=ENCODER_DELAY,
            padding=padding,
            music_crc=self._music_crc,
            quality=100 - 10 * 4 - QUALITY,  # LAME's VBR-scale field: 100 - 10*V - q
        )
        if len(info_frame) != self._info_size:  # pragma: no cover - sizes are fixed
            raise RuntimeError("Info frame size mismatch")
        self._file.seek(self._info_offset)
        self._file.write(info_frame)
        self._file.flush()

    def _drain(self) -> None:
        if not self._pending:
            return
        data = bytes(self._pending)
        self._pending.clear()
        if self._header is None:
            self._header = FrameHeader(data[:4])
        self._music_crc = crc16(data, self._music_crc)
        self._audio_bytes += len(data)
        self._file.write(data)


def open_mp3(path: Path, info: TrackInfo, bitrate: int) -> Mp3Writer:
    """WriterFactory for ``.mp3``."""
    return Mp3Writer(path, info, bitrate)


def _nominal_header(bitrate: int) -> bytes:
    """An MPEG-2 Layer III mono header at SAMPLE_RATE and ``bitrate`` (for sizing only)."""
    rates = {22050: 0, 24000: 1, 16000: 2}
    if SAMPLE_RATE not in rates:  # pragma: no cover - SAMPLE_RATE is a constant
        raise ExportError(f"MP3 export needs a 16-24 kHz sample rate, not {SAMPLE_RATE}")
    index = BITRATES.index(bitrate) + 1
    value = (0x7FF << 21) | (2 << 19) | (1 << 17) | (1 << 16)
    value |= (index << 12) | (rates[SAMPLE_RATE] << 10) | (3 << 6)
    return value.to_bytes(4, "big")
