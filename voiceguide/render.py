"""Timeline -> a stream of PCM blocks: the one mix that every sink consumes.

The mix is computed block by block, so memory does not grow with the routine's length:
speech clips are loaded when they start and dropped when they end; tones are synthesised
per event. Speech ducks the tone bed (with short ramps, known ahead from the timeline).

Loudness: ``analyse`` runs the same mix once through a BS.1770 meter; ``render`` then
applies the gain that brings the whole routine to TARGET_LUFS integrated, and a true-peak
limiter (``dsp.StreamLimiter``) holds the peaks at CEILING_DBTP. Speech clips come from the
cache already limited to a 13 dB peak-to-loudness ratio, so the mix limiter only trims.
Samples are clipped to [-1, 1] as a last guard that real content never reaches.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceguide import tones
from voiceguide.dsp import StreamLimiter
from voiceguide.loudness import LoudnessMeter
from voiceguide.timeline import Silence, Speech, Timeline, Tone
from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE, ms_to_frames
from voiceguide.voices.base import SpeechBank

TARGET_LUFS = -16.0
CEILING_DBTP = -1.5  # 0.5 dB under the promised -1 dBTP
POST_HEADROOM_DB = 1.5  # room for the final gain after the limiter (see ``Level``)
GUESS_BIAS_DB = 2.0  # ``analyse`` guesses this much louder than the estimate: cutting is free
BREATH_LUFS = -24.0  # loudness of a breath glide (see ``tones.BREATH_PEAK``)
BLOCK_FRAMES = SAMPLE_RATE  # one second

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Level:
    """How to normalise a mix: gain, limiter ceiling, then a final linear gain.

    The final gain is applied after the limiter, so it moves loudness and peak by exactly
    its own amount: ``analyse`` measures the limited mix once and sets it to land on the
    target, with the limiter's ceiling lowered by as much in advance.
    """

    gain_db: float
    limit_dbtp: float
    post_gain_db: float
    output_lufs: float  # integrated loudness of the output
    output_peak_db: float  # its true peak


class _Mixer:
    def __init__(self, timeline: Timeline, bank: SpeechBank) -> None:
        self.timeline = timeline
        self.bank = bank
        self.total = ms_to_frames(timeline.duration_ms)
        self.events: list[Speech | Tone] = sorted(
            (e for e in timeline.events if not isinstance(e, Silence)),
            key=lambda e: e.start_ms,
        )
        speech = [e for e in self.events if isinstance(e, Speech)]
        self.speech_starts = np.array([ms_to_frames(s.start_ms) for s in speech], dtype=np.int64)
        self.speech_ends = np.array([ms_to_frames(s.end_ms) for s in speech], dtype=np.int64)
        self.ramp = max(1, tones.DUCK_RAMP_MS * FRAMES_PER_MS)
        self.duck = float(10 ** (tones.DUCK_DB / 20))

    def _duck(self, b0: int, b1: int) -> Samples | None:
        """The tone bed's gain for frames [b0, b1): 1 outside speech, DUCK_DB inside."""
        lo = int(np.searchsorted(self.speech_ends, b0 - self.ramp, side="right"))
        hi = int(np.searchsorted(self.speech_starts, b1 + self.ramp, side="left"))
        if lo >= hi:
            return None
        t = np.arange(b0, b1, dtype=np.float32)
        weight = np.zeros(b1 - b0, dtype=np.float32)
        for s, e in zip(self.speech_starts[lo:hi], self.speech_ends[lo:hi], strict=True):
            rise = (t - (s - self.ramp)) / self.ramp
            fall = ((e + self.ramp) - t) / self.ramp
            np.maximum(weight, np.clip(np.minimum(rise, fall), 0.0, 1.0), out=weight)
        gain: Samples = 1.0 - (1.0 - self.duck) * weight
        return gain

    def blocks(
        self, gain: float = 1.0, block_frames: int = BLOCK_FRAMES, start_frame: int = 0
    ) -> Iterator[Samples]:
        """Mixed blocks from ``start_frame`` to the end; the last block may be shorter."""
        active: list[tuple[int, Speech | Tone, Samples]] = []
        nxt = 0
        events = self.events
        b0 = start_frame
        while b0 < self.total:
            b1 = min(b0 + block_frames, self.total)
            while nxt < len(events) and ms_to_frames(events[nxt].start_ms) < b1:
                ev = events[nxt]
                nxt += 1
                start = ms_to_frames(ev.start_ms)
                if ms_to_frames(ev.end_ms) <= b0:  # over before this block (a late start)
                    continue
                if isinstance(ev, Speech):
                    samples = self.bank.clip(ev.text, ev.voice).load()
                else:
                    samples = tones.tone(ev.tone, ms_to_frames(ev.duration_ms))
                if start + len(samples) > b0:
                    active.append((start, ev, samples))
            voice = np.zeros(b1 - b0, dtype=np.float32)
            bed = np.zeros(b1 - b0, dtype=np.float32)
            has_bed = False
            keep = []
            for start, ev, samples in active:
                lo, hi = max(b0, start), min(b1, start + len(samples))
                if lo < hi:
                    target = voice if isinstance(ev, Speech) else bed
                    target[lo - b0 : hi - b0] += samples[lo - start : hi - start]
                    has_bed = has_bed or not isinstance(ev, Speech)
                if start + len(samples) > b1:
                    keep.append((start, ev, samples))
            active = keep
            if has_bed:
                duck = self._duck(b0, b1)
                voice += bed if duck is None else bed * duck
            if gain != 1.0:
                voice *= np.float32(gain)
            yield voice
            b0 = b1


def _measure(blocks: Iterator[Samples]) -> tuple[float, float]:
    meter = LoudnessMeter(SAMPLE_RATE)
    for block in blocks:
        meter.add(block)
    return meter.integrated(), meter.true_peak_db()


def _estimate_lufs(timeline: Timeline) -> float:
    """A rough integrated loudness of the raw mix from the timeline alone.

    Speech clips are normalised to ``dsp.SPEECH_LUFS``; breath tones sit at a known level
    under them; quiet holds and silence fall under the gates. Only a starting point for
    ``analyse`` (typically within 1 dB), never a result.
    """
    from voiceguide.dsp import SPEECH_LUFS

    speech_ms = sum(e.duration_ms for e in timeline.events if isinstance(e, Speech))
    breath_ms = sum(
        e.duration_ms
        for e in timeline.events
        if isinstance(e, Tone) and e.tone in ("inhale", "exhale")
    )
    energy = speech_ms * 10 ** (SPEECH_LUFS / 10) + breath_ms * 10 ** (BREATH_LUFS / 10)
    loud_ms = speech_ms + breath_ms
    return 10 * math.log10(energy / loud_ms) if loud_ms else SPEECH_LUFS


def _scaled(blocks: Iterator[Samples], meter: LoudnessMeter, gain: float) -> Iterator[Samples]:
    """Feed ``meter`` each raw block, pass it on with ``gain``: two measurements, one mix."""
    g = np.float32(gain)
    for block in blocks:
        meter.add(block)
        yield block * g


def analyse(
    timeline: Timeline,
    bank: SpeechBank,
    *,
    ceiling_dbtp: float = CEILING_DBTP,
    target_lufs: float = TARGET_LUFS,
) -> Level:
    """Find the gains that bring the mix to ``target_lufs`` with its true peak under the
    ceiling.

    One pass over the mix measures it raw and, at the same time, at a first-guess gain
    through a limiter set POST_HEADROOM_DB under the ceiling. If the raw mix's peaks stay
    under the ceiling at the gain it calls for, the limiter would not act: that gain is
    exact. Otherwise a final linear gain after the limiter makes up the difference to the
    target: any cut, or a boost of at most the headroom, so the peaks stay under the
    ceiling. The guess errs loud, so a second pass (a larger boost needed) is rare.
    """
    mixer = _Mixer(timeline, bank)
    limit_at = ceiling_dbtp - POST_HEADROOM_DB
    gain = target_lufs - _estimate_lufs(timeline) + GUESS_BIAS_DB
    raw = LoudnessMeter(SAMPLE_RATE)
    limiter = StreamLimiter(SAMPLE_RATE, limit_at)
    lufs, peak = _measure(limiter.process(_scaled(mixer.blocks(), raw, 10 ** (gain / 20))))
    raw_lufs, raw_peak = raw.integrated(), raw.true_peak_db()
    if not math.isfinite(raw_lufs):  # silence: nothing to normalise
        return Level(0.0, ceiling_dbtp, 0.0, raw_lufs, -math.inf)
    exact = target_lufs - raw_lufs
    if raw_peak + exact <= ceiling_dbtp:
        return Level(exact, ceiling_dbtp, 0.0, target_lufs, raw_peak + exact)
    post = target_lufs - lufs
    for _ in range(3):
        if post <= POST_HEADROOM_DB:
            break
        gain += post - POST_HEADROOM_DB / 2
        limiter = StreamLimiter(SAMPLE_RATE, limit_at)
        lufs, peak = _measure(limiter.process(mixer.blocks(10 ** (gain / 20))))
        post = target_lufs - lufs
    post = min(post, POST_HEADROOM_DB)
    return Level(gain, limit_at, post, lufs + post, peak + post)


def render(
    timeline: Timeline,
    bank: SpeechBank,
    level: Level | None = None,
    *,
    block_frames: int = BLOCK_FRAMES,
    start_ms: int = 0,
) -> Iterator[Samples]:
    """The mix as float32 blocks at SAMPLE_RATE, normalised by ``level`` (from ``analyse``).

    The blocks add up to exactly ``ms_to_frames(timeline.duration_ms - start_ms)`` frames.
    Without a level, the raw mix (no gain, no limiter).
    """
    mixer = _Mixer(timeline, bank)
    start = ms_to_frames(start_ms)
    if level is None:
        return _guarded(mixer.blocks(1.0, block_frames, start))
    blocks = mixer.blocks(10 ** (level.gain_db / 20), block_frames, start)
    limited = StreamLimiter(SAMPLE_RATE, level.limit_dbtp).process(blocks)
    return _guarded(limited, 10 ** (level.post_gain_db / 20))


def _guarded(blocks: Iterator[Samples], gain: float = 1.0) -> Iterator[Samples]:
    """The final gain, then the last guard: samples clipped to [-1, 1] (after the limiter,
    so real content never reaches it; the limiter itself must see the unclipped mix)."""
    g = np.float32(gain)
    for block in blocks:
        if gain != 1.0:
            block *= g
        yield np.clip(block, -1.0, 1.0, out=block)


def prefetch(blocks: Iterator[Samples], depth: int = 4) -> Iterator[Samples]:
    """Compute ``blocks`` in a background thread, up to ``depth`` ahead of the consumer.

    Mixing then runs on one core while an encoder (which releases the GIL) runs on another.
    An exception in the producer is re-raised in the consumer; when the consumer stops
    early (an error, Ctrl-C) the producer stops at its next block.
    """
    q: queue.Queue[Samples | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Samples | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for block in blocks:
                if not put(block):
                    return
            put(None)
        except BaseException as exc:  # handed to the consumer
            put(exc)

    thread = threading.Thread(target=produce, name="voiceguide-render", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
