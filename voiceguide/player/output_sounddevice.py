"""The sounddevice output: a PortAudio callback stream, the default backend.

PortAudio calls ``_callback`` from its own thread for each block; the callback only pulls a
block and copies it, so a mixer running in another Python thread never makes it late
(it waits for the GIL at most a switch interval, 5 ms, against 200 ms of buffer). The play
position comes from the callback's ``outputBufferDacTime``: when the first frame of that
block reaches the speaker, moved onto ``time.monotonic`` and extrapolated from there.

A watchdog thread checks every 0.1 s that the stream is still active and still asking for
audio; when PulseAudio dies, PortAudio ends the stream within about 0.1 s, and a wedged
device is declared failed after ``STALL_SECONDS`` plus the latency.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voiceguide.errors import AudioDeviceError
from voiceguide.player.library_noise import captured_stderr, library_reason
from voiceguide.player.output_base import (
    DEFAULT_LATENCY,
    OPEN_SECONDS,
    STALL_SECONDS,
    OutputBase,
    Pull,
    call_with_timeout,
    check_block,
)
from voiceguide.player.output_resample import ResampledPull
from voiceguide.player.portaudio import count_stream, import_sounddevice, resolve_device
from voiceguide.player.priority import raise_priority
from voiceguide.units import SAMPLE_RATE

if TYPE_CHECKING:
    from voiceguide.dsp.samples import Samples

_DEVICE_UNAVAILABLE = -9985  # paDeviceUnavailable: busy, or gone


def _silence(n: int) -> Samples:
    import numpy as np

    return np.zeros(n, dtype=np.float32)


class SounddeviceOutput(OutputBase):
    """Plays through PortAudio (ALSA, PulseAudio or PipeWire through ALSA, JACK, OSS)."""

    name = "sounddevice"

    def __init__(
        self,
        device: str | int | None = None,
        *,
        latency: float = DEFAULT_LATENCY,
        block_frames: int = 0,
        rate: int | None = None,
        channels: int | None = None,
    ) -> None:
        """Open ``device`` (an index, a name or part of one; None: the default output).

        ``rate`` forces the device's sample rate (resampling from 24000); by default 24000
        if the device takes it. Mono, or the same samples on two channels for a device that
        refuses mono (``channels`` forces it). ``block_frames`` 0 lets PortAudio choose.
        """
        super().__init__()
        sd = import_sounddevice()
        self._sd = sd
        self.device_name = str(device or "default")

        def open_stream() -> Any:
            # Checking formats opens the device too: all of it is bounded by OPEN_SECONDS.
            self.device_index, self.device_name = resolve_device(sd, device)
            self.rate, self.channels = self._pick_format(sd, rate, channels)
            return sd.OutputStream(
                device=self.device_index,
                samplerate=self.rate,
                channels=self.channels,
                dtype="float32",
                latency=latency,
                blocksize=block_frames,
                callback=self._callback,
            )

        with captured_stderr() as lines:
            try:
                self._stream = call_with_timeout(
                    open_stream, OPEN_SECONDS, f"opening audio device {self.device_name!r}"
                )
            except (sd.PortAudioError, ValueError) as exc:
                raise self._open_error(exc, lines) from exc
        count_stream(+1)
        self._latency = float(self._stream.latency)
        self._pull: Pull | None = None  # the player's
        self._source: Pull | None = None  # what the callback calls: counted, maybe resampled
        self._pulled = 0  # frames taken from the player's pull in this run
        self._draining = False
        self._out_frames = 0  # device frames handed to PortAudio in this run
        # (device frames before the last block, when it starts playing: time.monotonic())
        self._anchor: tuple[int, float] | None = None
        self._last_callback = 0.0
        self._stopping = False
        self._final: int | None = None
        self._seen = 0
        self._watchdog: threading.Thread | None = None
        self._stop_watch = threading.Event()
        self._wedged = False  # a stop or close call on the stream never returned
        self._halting: threading.Thread | None = None
        self._halt_lock = threading.Lock()
        self._prioritised = False
        self.underflows = 0

    def _pick_format(self, sd: Any, rate: int | None, channels: int | None) -> tuple[int, int]:
        """(rate, channels): 24000 Hz mono if the device takes it, else its default rate
        (then we resample) and/or two channels (many USB and HDMI outputs refuse mono)."""
        default_rate = int(sd.query_devices(self.device_index)["default_samplerate"])
        rates = [rate] if rate else [SAMPLE_RATE, default_rate]
        problem: BaseException | None = None
        for try_rate in dict.fromkeys(rates):
            for try_channels in [channels] if channels else [1, 2]:
                try:
                    sd.check_output_settings(
                        device=self.device_index,
                        channels=try_channels,
                        dtype="float32",
                        samplerate=try_rate,
                    )
                    return try_rate, try_channels
                except (sd.PortAudioError, ValueError) as exc:
                    problem = exc
        raise AudioDeviceError(
            f"audio device {self.device_name!r} takes neither {' nor '.join(map(str, rates))} "
            f"Hz float32 in mono or stereo ({problem})"
        )

    def _open_error(self, exc: BaseException, lines: list[str]) -> AudioDeviceError:
        args: tuple[object, ...] = exc.args
        code = args[1] if len(args) > 1 else None
        why = library_reason(lines) or str(args[0] if args else exc)
        if code == _DEVICE_UNAVAILABLE:
            return AudioDeviceError(
                f"audio device {self.device_name!r} is busy or gone ({why}): close the program "
                "using it, or choose another with --device"
            )
        return AudioDeviceError(f"cannot open audio device {self.device_name!r}: {why}")

    # -- the audio thread ------------------------------------------------------------------

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        if not self._prioritised:  # PortAudio's callback thread, on its first call
            self._prioritised = True
            raise_priority()
        try:
            assert self._source is not None
            outdata[:] = check_block(self._source(frames), frames)[:, None]
        except BaseException as exc:  # pull failed: end the stream, report it
            outdata.fill(0)
            self._fail(exc)
            raise self._sd.CallbackAbort from None
        if status.output_underflow:
            self.underflows = (self.underflows or 0) + 1
        k0 = self._out_frames
        self._out_frames = k0 + frames
        now = time.monotonic()
        dac = time_info.outputBufferDacTime
        delay = dac - time_info.currentTime if dac > 0 else self._latency  # 0: host unsure
        self._anchor = (k0, now + delay)  # when this block starts playing, on our clock
        self._last_callback = now

    # -- the interface ---------------------------------------------------------------------

    def start(self, pull: Pull) -> None:
        self._check_startable()
        self._pull = pull
        self._pulled = 0
        self._draining = False
        if self.rate == SAMPLE_RATE:
            self._source = self._counted
        else:
            self._source = ResampledPull(self._counted, SAMPLE_RATE, self.rate)
        self.failed = None
        self._out_frames = 0
        self._anchor = None
        self._final = None
        self._seen = 0
        self._stopping = False
        self.underflows = 0
        self._last_callback = time.monotonic()
        with captured_stderr() as lines:
            try:
                call_with_timeout(self._stream.start, OPEN_SECONDS, "starting the audio device")
            except self._sd.PortAudioError as exc:
                raise self._open_error(exc, lines) from exc
            except AudioDeviceError:
                self._wedged = True
                raise
        self._running = True
        self._stop_watch.clear()
        self._watchdog = threading.Thread(
            target=self._watch, name="voiceguide-audio-watchdog", daemon=True
        )
        self._watchdog.start()

    def _counted(self, n: int) -> Samples:
        """The player's pull, counted; silence once draining."""
        if self._draining or self._pull is None:
            return _silence(n)
        block = self._pull(n)
        self._pulled += n
        return block

    def _watch(self) -> None:
        limit = STALL_SECONDS + self._latency
        while not self._stop_watch.wait(0.1):
            if self._stopping or self.failed is not None:
                return
            if not self._stream.active:
                self._fail(
                    AudioDeviceError(
                        f"audio device {self.device_name!r} stopped while playing (unplugged, "
                        "or the sound server stopped?)"
                    )
                )
                return
            idle = time.monotonic() - self._last_callback
            if idle > limit:
                self._fail(
                    AudioDeviceError(
                        f"audio device {self.device_name!r} stalled: no audio requested for "
                        f"{idle:.1f} s"
                    )
                )
                self._halt(self._stream.abort, wait=0)  # the player's stop() waits for it
                return

    def _device_to_source(self, frames: float) -> int:
        if self.rate == SAMPLE_RATE:
            return int(frames)
        return int(frames * SAMPLE_RATE / self.rate)

    def _heard(self) -> int:
        """Frames (at SAMPLE_RATE) heard so far, silence included, unclamped."""
        anchor = self._anchor
        if anchor is None:
            return 0
        # Not the stream's clock (Pa_GetStreamTime): through ALSA's pulse plugin it blocks
        # for 30 s when the server hangs. The callback put its DAC time on ours.
        k0, dac = anchor
        played = min(max(0.0, k0 + (time.monotonic() - dac) * self.rate), self._out_frames)
        return self._device_to_source(played)

    def played_frames(self) -> int:
        if self._final is not None:
            return self._final
        self._seen = max(self._seen, min(self._pulled, self._heard()))
        return self._seen

    def pulled_frames(self) -> int:
        return self._pulled

    def latency_frames(self) -> int:
        return round(self._latency * SAMPLE_RATE)

    def stop(self, drain: bool = True) -> None:
        if not self._running:
            return
        graceful = False
        try:
            if drain and self.failed is None:
                self._drain()
                graceful = self.failed is None
        except AudioDeviceError as exc:
            self._fail(exc)
            raise
        finally:  # also on Ctrl-C: the stream never outlives stop()
            self._stopping = True
            self._stop_watch.set()
            self._final = self.played_frames()
            self._running = False
            self._halt(self._stream.stop if graceful else self._stream.abort)

    def _halt(self, method: Callable[[], object], wait: float = 1.0) -> None:
        """Stop the stream in a helper thread, waiting ``wait`` seconds for it.

        A call that does not return in time is wedged (a hung sound server): it stays in its
        thread and no later call touches the stream, as each would wait as long. A halt
        already under way (the watchdog's) is waited for instead of starting another.
        """
        if self._wedged:
            return
        with self._halt_lock:  # the watchdog and stop() may both halt at once
            halting = self._halting
            if halting is None:
                halting = threading.Thread(
                    target=self._call_quietly, args=(method,), name="voiceguide-stop", daemon=True
                )
                halting.start()  # started before another caller can join it
                self._halting = halting
        halting.join(wait)
        if halting.is_alive():
            if wait > 0:
                self._wedged = True
                self._fail(AudioDeviceError(f"audio device {self.device_name!r} does not stop"))
        else:
            self._halting = None

    def _call_quietly(self, method: Callable[[], object]) -> None:
        try:
            with captured_stderr():
                method()
        except self._sd.PortAudioError as exc:
            self._fail(AudioDeviceError(f"audio device {self.device_name!r}: {exc}"))

    def _drain(self) -> None:
        """Play silence until everything pulled so far has been heard (plus 50 ms).

        Pa_StopStream alone is not enough: through ALSA's pulse plugin it returns before
        the last ~100 ms are heard. ``pull`` is not called again.
        """
        self._draining = True
        target = self._pulled
        margin = SAMPLE_RATE // 20
        deadline = time.monotonic() + self._latency + STALL_SECONDS + 1.0
        while self._heard() < target + margin:
            if self.failed is not None:
                return
            if time.monotonic() > deadline:
                raise AudioDeviceError(
                    f"audio device {self.device_name!r} did not finish playing in time"
                )
            time.sleep(0.01)

    def close(self) -> None:
        """Stop (cutting) and release the device; never raises, never hangs."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(AudioDeviceError):  # recorded in failed
            self.stop(drain=False)
        if self._wedged:
            return  # closing would wedge as well; PortAudio is not re-initialised again
        with captured_stderr(), contextlib.suppress(AudioDeviceError, self._sd.PortAudioError):
            call_with_timeout(self._stream.close, 2.0, "closing the audio device")
        count_stream(-1)
