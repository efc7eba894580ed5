"""A fake speech engine for fast, deterministic tests of the compiler and renderer.

It "speaks" a soft tone whose length follows the text: ``speech_ms(text, rate)`` =
(60 ms per character + 200 ms) x 160 / rate, so faster speech is shorter, as with a real
engine. The tone's loudness swells about four times a second (like syllables) so loudness
normalisation has real work to do, and it is padded with silence at both ends like a real
engine's output so trimming is exercised too. Text with nothing speakable in it (only
spaces and punctuation) gives pure silence, as espeak-ng does. It speaks many texts at
once by speaking them one after another (``synthesize_many``), so batching is exercised.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from voiceguide.voices.base import VoiceInfo

if TYPE_CHECKING:
    from voiceguide.model import VoiceSettings
    from voiceguide.voices.base import Request, Samples

FAKE_RATE = 22_050  # like espeak-ng, so the cache's resampling is exercised
LEAD_MS = 30  # silence before the "speech"
TAIL_MS = 80  # silence after it
_FADE_MS = 8


def speech_ms(text: str, rate: int = 160) -> int:
    """How long the fake engine's voiced part of ``text`` lasts at ``rate`` words/minute."""
    return round((60 * len(text) + 200) * 160 / max(rate, 1))


@dataclass(frozen=True)
class FakeSettings:
    """What the fake tone depends on: the voice name (its pitch), the rate, the volume."""

    sample_rate: ClassVar[int] = FAKE_RATE
    voice: str | None
    rate: int  # words per minute, as a script gives them
    volume: float  # 0..1


class FakeEngine:
    """Deterministic tone "speech"; the same text and settings give the same samples."""

    name = "fake"

    def settings(self, voice: VoiceSettings) -> FakeSettings:
        """The request as it is: the fake speaks words a minute."""
        return FakeSettings(voice.voice, int(voice.rate), float(voice.volume))

    def synthesize(self, text: str, voice: VoiceSettings) -> tuple[Samples, int]:
        """A tone of ``speech_ms(text, voice.rate)`` between short silences, at FAKE_RATE."""
        import numpy as np

        s = self.settings(voice)
        lead = s.sample_rate * LEAD_MS // 1000
        tail = s.sample_rate * TAIL_MS // 1000
        if not any(ch.isalnum() for ch in text):
            return np.zeros(lead + tail, dtype=np.float32), s.sample_rate
        n = s.sample_rate * speech_ms(text, s.rate) // 1000
        t = np.arange(n, dtype=np.float64) / s.sample_rate
        seed = zlib.crc32(f"{s.voice}\0{text}".encode())
        f0 = 140.0 + seed % 60  # a speaking pitch, varying with the text
        wave = (
            np.sin(2 * np.pi * f0 * t)
            + 0.4 * np.sin(2 * np.pi * 2 * f0 * t)
            + 0.2 * np.sin(2 * np.pi * 3 * f0 * t)
        ) / 1.6
        syllables = 0.65 + 0.35 * np.sin(2 * np.pi * 4.0 * t + (seed % 7))
        fade = np.minimum(1.0, np.minimum(t, t[-1] - t) * 1000 / _FADE_MS)
        voiced = 0.3 * max(0.0, min(s.volume, 1.0)) * wave * syllables * fade
        out = np.zeros(lead + n + tail, dtype=np.float32)
        out[lead : lead + n] = voiced
        return out, s.sample_rate

    def synthesize_many(self, requests: Sequence[Request]) -> Iterator[tuple[Samples, int]]:
        """Each request in turn, as ``synthesize`` speaks it."""
        for text, voice in requests:
            yield self.synthesize(text, voice)

    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        """The voiced length, ``speech_ms(text, voice.rate)``: the fake knows it exactly."""
        return speech_ms(text, self.settings(voice).rate)

    def identity(self, voice: VoiceSettings) -> str:
        """The fake engine's version and voice: changes the cache key if the tone changes."""
        return f"fake=1;voice={voice.voice or 'default'}"

    def identity_hint(self, voice: VoiceSettings) -> str | None:
        """Identity is computed without any set-up, so no hint is needed."""
        return None

    def fingerprint(self) -> str:
        """Nothing is installed for the fake: its name is all."""
        return self.name

    def voices(self) -> list[VoiceInfo]:
        """The fake engine accepts any voice name; these are listed for completeness."""
        return [VoiceInfo(id="default", name="Fake default", languages=("en",))]

    def unavailable(self) -> str | None:
        """The fake engine is always there."""
        return None
