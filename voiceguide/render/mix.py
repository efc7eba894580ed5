"""The mixer: a timeline's clips, tones and music summed block by block, the bed (tones and
music, ``render.music``) ducked under speech, then gain, true-peak limiter and final gain
(``render``).

The mix is computed block by block, so memory does not grow with the routine's length:
speech clips are loaded when they start and dropped when they end; tones are synthesised
per event. Speech ducks the tone bed (with short ramps, known ahead from the timeline).

Every clip and tone comes with its true peak and K-weighted energy per millisecond
(``dsp.clips.chunk_stats``): the mixer sums the parts' peaks into a bound on the mix's, so the
limiter (``limiter.PeakLimiter``) needs no oversampling of its own, and it can give the
mix's stats without mixing a sample (``stats``, what ``analyse`` works from). Speech clips
come from the cache with a peak-to-loudness ratio of 13 to 16 dB (``dsp.clips.CLIP_LIMIT_DBTP``),
so the mix limiter only trims. Each speech clip sounds at its voice's ``volume`` (a gain
applied here: the cache levels every clip alike). Samples are clipped to [-1, 1] as a last
guard that real content never reaches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceguide import tones
from voiceguide.dsp.clips import SPEECH_LUFS
from voiceguide.dsp.limiter import PeakLimiter
from voiceguide.dsp.samples import F64 as _F64
from voiceguide.dsp.samples import Samples
from voiceguide.model import VoiceSettings
from voiceguide.render.level import Level
from voiceguide.render.music import MusicMix
from voiceguide.render.tone_stats import rough_tone_stats, tone_stats
from voiceguide.speakable import speakable
from voiceguide.timeline import Silence, Speech, Timeline, Tone
from voiceguide.units import FRAMES_PER_MS, SAMPLE_RATE, ms_to_frames
from voiceguide.voices.base import SpeechBank

BLOCK_FRAMES = SAMPLE_RATE  # one second
# The K-weighted energy of one millisecond of a prepared clip, on average: SPEECH_LUFS less
# BS.1770's offset (-0.691), as a mean square, times the frames in a millisecond.
_SPEECH_CHUNK_ENERGY = 10 ** ((SPEECH_LUFS + 0.691) / 10) * FRAMES_PER_MS


class Mixer:
    """A timeline's parts block by block: as samples (``blocks``) or as stats (``stats``)."""

    def __init__(
        self,
        timeline: Timeline,
        bank: SpeechBank,
        *,
        estimate: bool = False,
        volumes: bool = True,
    ) -> None:
        self.timeline = timeline
        self.bank = bank
        self.estimate = estimate  # stand in stats for clips still being prepared
        self.volumes = volumes  # each clip at its voice's volume (else all at full volume)
        self._donor: Samples | None = None  # see ``_stand_in``
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
        self.music = MusicMix(timeline)  # the music beds, ducked with the tones

    def _ducking(self, b0: int, b1: int) -> list[tuple[int, int]]:
        """The (start, end) frames of the speech whose ducking reaches frames [b0, b1)."""
        lo = int(np.searchsorted(self.speech_ends, b0 - self.ramp, side="right"))
        hi = int(np.searchsorted(self.speech_starts, b1 + self.ramp, side="left"))
        starts: list[int] = self.speech_starts[lo:hi].tolist()
        ends: list[int] = self.speech_ends[lo:hi].tolist()
        return list(zip(starts, ends, strict=True))

    def _duck(self, b0: int, b1: int) -> Samples | None:
        """The tone bed's gain for frames [b0, b1): 1 outside speech, DUCK_DB inside."""
        spans = self._ducking(b0, b1)
        if not spans:
            return None
        weight = np.zeros(b1 - b0, dtype=np.float32)
        r = self.ramp
        for s, e in spans:
            # 0 until s - r, rising to 1 at s, 1 until e, falling to 0 at e + r; only the
            # frames this speech reaches are touched.
            f0, f1 = max(b0, s - r), min(b1, e + r)
            if f0 >= f1:
                continue
            t = np.arange(f0, f1, dtype=np.float32)
            w = np.clip(np.minimum(t - (s - r), (e + r) - t) / r, 0.0, 1.0)
            np.maximum(weight[f0 - b0 : f1 - b0], w, out=weight[f0 - b0 : f1 - b0])
        gain: Samples = 1.0 - (1.0 - self.duck) * weight
        return gain

    def _duck_chunks(self, b0: int, b1: int) -> tuple[_F64, _F64] | None:
        """Per 1 ms chunk of frames [b0, b1): the tone bed's largest gain, and the square
        of its mean gain (for energies); None where no speech ducks it.

        Speech starts, ends and ramps fall on whole milliseconds, so within a chunk each
        speech's weight is linear: its ends give the exact least weight and mean. Where two
        speeches' ramps meet, their weights combine by their maxima, which puts the bed's
        largest gain on the safe side and its mean within a hair.
        """
        spans = self._ducking(b0, b1)
        if not spans:
            return None
        f = FRAMES_PER_MS
        c0, n = b0 // f, (b1 - b0) // f
        least = np.zeros(n)  # the least weight within each chunk
        mean = np.zeros(n)  # the mean weight
        r = self.ramp
        for s, e in spans:
            k0, k1 = max(c0, (s - r) // f), min(c0 + n, -(-(e + r) // f))
            if k0 >= k1:
                continue
            first = np.arange(k0, k1, dtype=np.float64) * f
            ends = np.stack([first, first + (f - 1)])
            w = np.clip(np.minimum(ends - (s - r), (e + r) - ends) / r, 0.0, 1.0)
            np.maximum(least[k0 - c0 : k1 - c0], w.min(axis=0), out=least[k0 - c0 : k1 - c0])
            np.maximum(mean[k0 - c0 : k1 - c0], w.mean(axis=0), out=mean[k0 - c0 : k1 - c0])
        cut = 1.0 - self.duck
        largest = 1.0 - cut * least
        g_mean = 1.0 - cut * mean
        return largest, g_mean * g_mean

    def _stand_in(self, frames: int) -> Samples:
        """Stats for a clip still being prepared: the ready clips' in a row, repeated to
        the length.

        Every prepared clip reads SPEECH_LUFS and is limited alike, so the ready clips'
        energies and peaks, at the average power of such a clip, stand in for the loudness
        (and for what the limiter takes from it). With no clip ready yet, a steady voice at
        SPEECH_LUFS.
        """
        if self._donor is None:
            speech = (e for e in self.events if isinstance(e, Speech))
            ready = (self.bank.clip(e.spoken, e.voice) for e in speech)
            done = [c.load_stats() for c in ready if c.pending is None or c.pending.done()]
            self._donor = np.concatenate(done, axis=1) if done else _typical_speech_stats(24_000)
        chunks = -(-frames // FRAMES_PER_MS)
        reps = -(-chunks // self._donor.shape[1])
        stand_in: Samples = np.tile(self._donor, (1, reps))[:, :chunks].astype(np.float32)
        # At the average power of a prepared clip, whatever part of the donors it took.
        mean = float(stand_in[1].mean())
        if mean > 0:
            scale = _SPEECH_CHUNK_ENERGY / mean
            stand_in[0] *= np.float32(math.sqrt(scale))
            stand_in[1] *= np.float32(scale)
        return stand_in

    def _parts(
        self, block_frames: int, start_frame: int, with_samples: bool
    ) -> Iterator[tuple[int, int, list[_Part]]]:
        """``(b0, b1, parts)`` for each block ``[b0, b1)`` from ``start_frame`` on: the
        parts that sound in it (their samples only ``with_samples``)."""
        if block_frames % FRAMES_PER_MS or start_frame % FRAMES_PER_MS or block_frames <= 0:
            raise ValueError("blocks must start and end on whole milliseconds")
        active: list[_Part] = []
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
                samples = None
                if isinstance(ev, Speech):
                    clip = self.bank.clip(ev.spoken, ev.voice)
                    frames = clip.frames
                    if self.estimate and clip.pending is not None and not clip.pending.done():
                        stats = self._stand_in(frames)
                        if with_samples:
                            samples = clip.load()
                    elif with_samples:  # read together, verified by the speech cache
                        samples, stats = clip.load_entry()
                    else:
                        stats = clip.load_stats()
                    if self.volumes:
                        samples, stats = _at_volume(ev.voice.volume, samples, stats)
                else:
                    frames = ms_to_frames(ev.duration_ms)
                    stats = (
                        rough_tone_stats(ev.tone, frames)
                        if self.estimate
                        else tone_stats(ev.tone, frames)
                    )
                    if with_samples:
                        samples = tones.tone(ev.tone, frames)
                if start + frames > b0:
                    active.append(_Part(start, frames, isinstance(ev, Speech), samples, stats))
            yield b0, b1, active
            active = [part for part in active if part.start + part.frames > b1]
            b0 = b1

    def blocks(
        self, gain: float = 1.0, block_frames: int = BLOCK_FRAMES, start_frame: int = 0
    ) -> Iterator[tuple[Samples, Samples]]:
        """Mixed blocks from ``start_frame`` to the end, each with its true peak per 1 ms.

        The peaks bound the block's true peak chunk by chunk: the sum of the sounding
        parts' peaks (``dsp.clips.chunk_peaks``, cached with each clip and tone), the tone bed's
        at its least ducked within the chunk. Starts and block sizes are whole milliseconds,
        so every part lines up with the chunks. The last block may be shorter.
        """
        g = np.float32(gain)
        for b0, b1, parts in self._parts(block_frames, start_frame, with_samples=True):
            voice = np.zeros(b1 - b0, dtype=np.float32)
            bed = np.zeros(b1 - b0, dtype=np.float32)
            peaks = np.zeros((2, (b1 - b0) // FRAMES_PER_MS), dtype=np.float32)
            for part in parts:
                lo, hi = max(b0, part.start), min(b1, part.start + part.frames)
                if lo < hi and part.samples is not None:
                    target = voice if part.speech else bed
                    target[lo - b0 : hi - b0] += part.samples[lo - part.start : hi - part.start]
                    part.add_stats(peaks[1 - part.speech], _PEAKS, b0, lo, hi)
            music = self.music.samples(b0, b1) if self.music else None
            music_stats = self.music.stats(b0, b1) if music is not None else None
            if music is not None and music_stats is not None:
                bed += music
                peaks[1] += music_stats[_PEAKS]
            duck = self._duck(b0, b1)
            chunk_duck = self._duck_chunks(b0, b1)
            if duck is None or chunk_duck is None:
                voice += bed
                chunk_peaks = peaks[0] + peaks[1]
            else:
                voice += bed * duck
                chunk_peaks = peaks[0] + peaks[1] * chunk_duck[0]
            if gain != 1.0:
                voice *= g
                chunk_peaks *= g
            yield voice, chunk_peaks

    def stats(
        self, gain: float = 1.0, block_frames: int = BLOCK_FRAMES
    ) -> Iterator[tuple[_F64, Samples]]:
        """What ``blocks`` would give, known by its K-weighted energy per 1 ms instead of
        its samples: ``(energies, peaks)`` per block, without mixing a sample.

        The parts' energies add (a voice and a tone are unrelated sounds, so the cross terms
        average out); the tone bed's is scaled by the square of its mean duck gain in each
        chunk (the gain changes little within a millisecond).
        """
        g2 = gain * gain
        for b0, b1, parts in self._parts(block_frames, 0, with_samples=False):
            chunks = (b1 - b0) // FRAMES_PER_MS
            energy = np.zeros((2, chunks), dtype=np.float64)
            peaks = np.zeros((2, chunks), dtype=np.float32)
            for part in parts:
                lo, hi = max(b0, part.start), min(b1, part.start + part.frames)
                if lo < hi:
                    part.add_stats(peaks[1 - part.speech], _PEAKS, b0, lo, hi)
                    part.add_stats(energy[1 - part.speech], _ENERGY, b0, lo, hi)
            music = self.music.stats(b0, b1) if self.music else None
            if music is not None:
                peaks[1] += music[_PEAKS]
                energy[1] += music[_ENERGY]
            duck = self._duck_chunks(b0, b1)
            if duck is None:
                total = energy[0] + energy[1]
                chunk_peaks = peaks[0] + peaks[1]
            else:
                total = energy[0] + energy[1] * duck[1]
                chunk_peaks = peaks[0] + peaks[1] * duck[0]
            yield total * g2, chunk_peaks * np.float32(gain)


_PEAKS, _ENERGY = 0, 1  # rows of ``dsp.clips.chunk_stats``


@dataclass(frozen=True)
class _Part:
    """A clip or tone in the mix: where it starts, its length, and its per-ms stats."""

    start: int  # frame
    frames: int
    speech: bool
    samples: Samples | None
    stats: Samples  # dsp.chunk_stats

    def add_stats(self, into: npt.NDArray[Any], row: int, b0: int, lo: int, hi: int) -> None:
        """Add row ``row`` of the stats for frames [lo, hi) to ``into`` (chunks from b0)."""
        first = self.start // FRAMES_PER_MS
        k0, k1 = lo // FRAMES_PER_MS, -(-hi // FRAMES_PER_MS)
        c0 = b0 // FRAMES_PER_MS
        into[k0 - c0 : k1 - c0] += self.stats[row, k0 - first : k1 - first]


def _at_volume(
    volume: float, samples: Samples | None, stats: Samples
) -> tuple[Samples | None, Samples]:
    """A clip's samples and stats at ``volume`` (a gain: the speech cache levels every clip
    alike, so a voice's volume is applied here, in the mix, as its peaks and energies)."""
    if volume == 1.0:
        return samples, stats
    g = np.float32(volume)
    scaled = stats * np.array([[g], [g * g]], dtype=np.float32)
    return (None if samples is None else samples * g), scaled


def _typical_speech_stats(frames: int) -> Samples:
    """Stats of a steady voice at SPEECH_LUFS with a 6 dB crest factor (``_stand_in``
    when no clip is ready to lend its own)."""
    chunks = -(-frames // FRAMES_PER_MS)
    stats = np.empty((2, chunks), dtype=np.float32)
    stats[0] = 2 * math.sqrt(_SPEECH_CHUNK_ENERGY / FRAMES_PER_MS)
    stats[1] = _SPEECH_CHUNK_ENERGY
    return stats


def _samples(blocks: Iterator[tuple[Samples, Samples]]) -> Iterator[Samples]:
    """The samples of ``(samples, peaks)`` blocks."""
    for block, _ in blocks:
        yield block


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
    mixer = Mixer(timeline, bank)
    start = ms_to_frames(start_ms)
    if level is None:
        return _guarded(_samples(mixer.blocks(1.0, block_frames, start)))
    blocks = mixer.blocks(10 ** (level.gain_db / 20), block_frames, start)
    limited = PeakLimiter(level.limit_dbtp).process(blocks)
    return _guarded(limited, 10 ** (level.post_gain_db / 20))


def _guarded(blocks: Iterator[Samples], gain: float = 1.0) -> Iterator[Samples]:
    """The final gain, then the last guard: samples clipped to [-1, 1] (after the limiter,
    so real content never reaches it; the limiter itself must see the unclipped mix)."""
    g = np.float32(gain)
    for block in blocks:
        if gain != 1.0:
            block *= g
        yield np.clip(block, -1.0, 1.0, out=block)


def render_speech(
    text: str, voice: VoiceSettings, bank: SpeechBank, level: Level, *, pad_ms: int = 0
) -> Samples:
    """``text`` spoken on its own, mixed as a timeline is (the same gain, limiter and final
    gain of ``level``), with ``pad_ms`` of silence before and after it: what a player says
    over a pause sounds as the routine's own speech does, and is made speakable as it is."""
    spoken = speakable(text)
    clip = bank.clip(spoken, voice)
    speech = Speech(pad_ms, clip.duration_ms, text, None, "say", voice, spoken)
    timeline = Timeline("", clip.duration_ms + 2 * pad_ms, 0, (speech,), ())
    return np.concatenate([np.zeros(0, dtype=np.float32), *render(timeline, bank, level)])
