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
            np.clip(voice, -1.0, 1.0, out=voice)
            yield voice
            b0 = b1


def _measure(blocks: Iterator[Samples]) -> tuple[float, float]:
    meter = LoudnessMeter(SAMPLE_RATE)
    for block in blocks:
        meter.add(block)
    return meter.integrated(), meter.true_peak_db()


def analyse(timeline: Timeline, bank: SpeechBank, *, ceiling_dbtp: float = CEILING_DBTP) -> Level:
    """Find the gains that bring the mix to TARGET_LUFS with its true peak under the ceiling.

    The raw mix gives the gain. If its peaks then stay under the ceiling, the limiter will
    not act: done, exactly. Otherwise the mix is measured once more through a limiter set
    POST_HEADROOM_DB under the ceiling; a final linear gain makes up the loudness the
    limiter took (at most that headroom, so the peaks stay under the ceiling; rarely, with
    very peaky speech, the gain is raised and the limited mix measured again).
    """
    mixer = _Mixer(timeline, bank)
    lufs, peak = _measure(mixer.blocks())
    if not math.isfinite(lufs):  # silence: nothing to normalise
        return Level(0.0, ceiling_dbtp, 0.0, lufs, -math.inf)
    gain = TARGET_LUFS - lufs
    if peak + gain <= ceiling_dbtp:
        return Level(gain, ceiling_dbtp, 0.0, TARGET_LUFS, peak + gain)
    limit_at = ceiling_dbtp - POST_HEADROOM_DB
    for _ in range(4):
        limiter = StreamLimiter(SAMPLE_RATE, limit_at)
        lufs, peak = _measure(limiter.process(mixer.blocks(10 ** (gain / 20))))
        post = TARGET_LUFS - lufs
        if post <= POST_HEADROOM_DB:
            break
        gain += post - POST_HEADROOM_DB / 2
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
        return mixer.blocks(1.0, block_frames, start)
    blocks = mixer.blocks(10 ** (level.gain_db / 20), block_frames, start)
    limited = StreamLimiter(SAMPLE_RATE, level.limit_dbtp).process(blocks)
    if level.post_gain_db == 0.0:
        return limited
    post = np.float32(10 ** (level.post_gain_db / 20))
    return (block * post for block in limited)


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
