"""Timeline -> a stream of PCM blocks: the one mix that every sink consumes.

The mix is computed block by block, so memory does not grow with the routine's length:
speech clips are loaded when they start and dropped when they end; tones are synthesised
per event. Speech ducks the tone bed (with short ramps, known ahead from the timeline).

Loudness: ``analyse`` runs the same mix once through a BS.1770 meter; ``render`` then
applies the gain that brings the whole routine to TARGET_LUFS integrated, lowered if needed
so the true peak stays at or below CEILING_DBTP. Samples are clipped to [-1, 1] as a last
guard (the gain rule means it never acts on real content).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceguide import tones
from voiceguide.loudness import LoudnessMeter
from voiceguide.timeline import Silence, Speech, Timeline, Tone
from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE, ms_to_frames
from voiceguide.voices.base import SpeechBank

TARGET_LUFS = -16.0
CEILING_DBTP = -1.0
BLOCK_FRAMES = SAMPLE_RATE  # one second

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Level:
    """The mix's measured loudness before gain, and the gain that normalises it."""

    integrated_lufs: float
    true_peak_db: float
    gain_db: float

    @property
    def output_lufs(self) -> float:
        return self.integrated_lufs + self.gain_db

    @property
    def output_peak_db(self) -> float:
        return self.true_peak_db + self.gain_db


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


def analyse(timeline: Timeline, bank: SpeechBank) -> Level:
    """Measure the un-normalised mix and derive the normalising gain."""
    meter = LoudnessMeter(SAMPLE_RATE)
    for block in _Mixer(timeline, bank).blocks():
        meter.add(block)
    lufs = meter.integrated()
    peak = meter.true_peak_db()
    if not math.isfinite(lufs) or not math.isfinite(peak):
        return Level(lufs, peak, 0.0)
    gain = min(TARGET_LUFS - lufs, CEILING_DBTP - peak)
    return Level(lufs, peak, gain)


def render(
    timeline: Timeline,
    bank: SpeechBank,
    *,
    gain_db: float = 0.0,
    block_frames: int = BLOCK_FRAMES,
    start_ms: int = 0,
) -> Iterator[Samples]:
    """The mix as float32 blocks at SAMPLE_RATE, with ``gain_db`` applied.

    The blocks add up to exactly ``ms_to_frames(timeline.duration_ms - start_ms)`` frames.
    """
    mixer = _Mixer(timeline, bank)
    return mixer.blocks(10 ** (gain_db / 20), block_frames, ms_to_frames(start_ms))
