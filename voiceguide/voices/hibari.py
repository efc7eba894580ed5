"""The natural default voice: hibari-tts, small English neural models run with onnxruntime.

hibari speaks 24 kHz float samples; its voices are whole models of one architecture
(``heart``, American English, is inside the wheel; the others are files fetched once into
hibari's cache directory, ``HIBARI_HOME`` or the user cache). voiceguide never downloads:
a voice that is not there is an error naming the command that fetches it.

Determinism: hibari's waveform has a noise part drawn from a random generator. Every text
is spoken from a generator freshly seeded with ``SEED`` (part of the settings), by one
onnxruntime session run with one intra-op thread (two intra-op threads give other bits), so
a text gives bit-identical samples whatever was spoken before it, in which thread, and
whether alone or in a batch.

Silence: hibari puts ~0.3 s of silence before each sentence and ~0.4-0.5 s after it, with
a noise floor 60-125 dB below the speech; the speech cache's trim (-50 dB relative to the
clip's loudest 5 ms) finds the onset within ~15 ms of where the speech reaches -30 dB, so
the engine trims nothing itself. Between sentences of one cue the model's own pause stays
(~0.6-0.75 s).

Batches (``synthesize_many``) start at call time on worker threads (``voices.batch``)
sharing the voice's one session, and yield in order, each as soon as it is ready. Measured
for the daily routine's 43 texts (2911 characters, 204 s of speech) on two cores that other
work kept busy, medians of 5-11 runs: from a cold process, one thread 6.4 s (5.3 at best);
two threads sharing the session 7.1 s; two sessions in two threads 8.4 s; two spawned
worker processes, each loading its own model, 9.7 s; one session with two intra-op
threads 10.5 s (and other bits). With the model loaded, alternating in one process: one
thread 3.2 s, two threads 4.0 s: a second thread never got more than the one core this
process was given. With a core free (load average ~2 on two cores), alternating, model
loaded: one thread 2.9-4.0 s, two threads sharing the session 1.9-2.2 s (1.7x). Of the
4.2 CPU-seconds, 3.0 are the model and 1.1 numpy, which release the GIL, and 0.08 the G2P.
So batches speak on a thread per core, two at most (``voices.batch``); the samples do not
depend on it.

Cost (same machine): importing hibari 0.4 s, loading the model 0.5 s, the first text
0.8 s more (the G2P's lexicons); then 55-65x realtime on one thread. ``voiceguide plan
daily`` peaks at 331 MB resident when it speaks every cue, 24 MB when all are cached.

This module reads only cheap facts (``voices.json``, file sizes and times, package
versions), so settings, estimates, identity hints and fingerprints never import hibari,
onnxruntime or numpy (``hibari_facts``); ``hibari_model`` loads and runs the model.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from voiceguide.voices import hibari_facts as facts
from voiceguide.voices.base import VoiceInfo

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from voiceguide.model import VoiceSettings
    from voiceguide.voices.base import Request, Samples

SEED = 0
"""The noise generator's seed for every text (see the module docstring)."""
MIN_SPEED, MAX_SPEED = 0.5, 2.0
"""The speeds hibari is made for; a script's rate is held within them."""
MS_PER_CHAR = 57.0
"""How long hibari's heart takes per character at speed 1, trimmed, fitted with
SENTENCE_PAUSE_MS on the built-in routines' 92 texts (median error 7%, at most 25%)."""
SENTENCE_PAUSE_MS = 500.0
"""The pause hibari makes between two sentences of one text (fitted with MS_PER_CHAR)."""
_SENTENCE_BREAK = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*\s+(?=[^\s a-z])")


@dataclass(frozen=True)
class HibariSettings:
    """What hibari is asked for: the resolved voice name, the speed (1.0: hibari's own
    pace) and the noise seed. Volume is not here: the mixer applies it for every engine."""

    sample_rate: ClassVar[int] = 24_000
    voice: str
    speed: float
    seed: int


class HibariEngine:
    """Natural English speech with hibari-tts (onnxruntime on the CPU)."""

    name = "hibari"

    def settings(self, voice: VoiceSettings) -> HibariSettings:
        """The resolved voice, the script's rate as a speed (two decimals, held within
        MIN_SPEED..MAX_SPEED), and SEED; EngineError for a voice unknown or not fetched."""
        speed = round(min(max(voice.speed, MIN_SPEED), MAX_SPEED), 2)
        name = facts.resolve_voice(voice.voice)
        path = facts.model_file(name)
        if path is not None and not os.path.exists(path):
            raise facts.not_installed(name)
        return HibariSettings(name, speed, SEED)

    def synthesize(self, text: str, voice: VoiceSettings) -> tuple[Samples, int]:
        """Speak ``text`` (the voice's model is loaded once per process)."""
        from voiceguide.voices import hibari_model

        if not text.strip():
            raise ValueError("cannot speak an empty text")
        s = self.settings(voice)
        return hibari_model.speak(s.voice, text, s.speed, s.seed), HibariSettings.sample_rate

    def synthesize_many(self, requests: Sequence[Request]) -> Iterator[tuple[Samples, int]]:
        """Every request's ``synthesize``, started now on a thread per core (``batch``),
        yielded in order as each is ready; a request that fails raises when its turn comes."""
        from voiceguide.voices.batch import run_batch

        return run_batch([(self.synthesize, text, voice) for text, voice in requests])

    def estimate_ms(self, text: str, voice: VoiceSettings) -> int:
        """MS_PER_CHAR per character and SENTENCE_PAUSE_MS per sentence break, scaled by
        the speed (hibari's pauses shrink less than its words when it speaks faster)."""
        speed = self.settings(voice).speed
        breaks = len(_SENTENCE_BREAK.findall(text.strip()))
        scale = 1.0 / speed if speed <= 1.0 else speed**-0.8
        return round((len(text) * MS_PER_CHAR + breaks * SENTENCE_PAUSE_MS) * scale)

    def identity(self, voice: VoiceSettings) -> str:
        """hibari-tts and onnxruntime versions, the voice, and its model file's sha256."""
        from voiceguide.voices.installed import dist_version

        name = self.settings(voice).voice
        digest = facts.file_sha256(facts.model_path(name))
        versions = [f"{d}={dist_version(d) or 'unknown'}" for d in ("hibari-tts", "onnxruntime")]
        return ";".join([*versions, f"voice={name}", f"model={digest}"])

    def identity_hint(self, voice: VoiceSettings) -> str | None:
        """Package versions and the model file's size and time; None if it is not there
        (then ``identity`` says why)."""
        from voiceguide.voices.installed import dist_facts, stat_fact

        name = self.settings(voice).voice
        path = facts.model_file(name)
        fact = stat_fact(path) if path is not None else None
        if fact is None:
            return None
        packages = dist_facts(("hibari-tts", "onnxruntime"))
        return json.dumps({"packages": packages, "voice": name, "model": fact})

    def fingerprint(self) -> str:
        """The engine's name, package versions, and every voice model file's size and time."""
        from voiceguide.voices.installed import dist_facts

        parts = [self.name, *dist_facts(("hibari-tts", "onnxruntime"))]
        for name in facts.registry():
            path = facts.model_file(name)
            try:
                st = os.stat(path) if path is not None else None
            except OSError:
                continue
            if st is not None:
                parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        return ";".join(parts)

    def voices(self) -> list[VoiceInfo]:
        """Every hibari voice; one not fetched says so, and how to fetch it, in its note."""
        found = []
        for name, entry in facts.registry().items():
            accent = str(entry.get("accent", ""))
            label = f"{name} ({accent} English)" if accent else name
            path = facts.model_file(name)
            note = ""
            if path is None or not os.path.exists(path):
                note = f"not installed; fix: {facts.FETCH.format(name=name)}"
            language = str(entry.get("language", "en"))
            gender = entry.get("gender")
            found.append(VoiceInfo(name, label, (language,), str(gender) if gender else None, note))
        return found

    def unavailable(self) -> str | None:
        """hibari-tts or onnxruntime missing, or the voice inside the wheel gone."""
        missing = facts.missing_package()
        if missing is not None:
            return missing
        path = facts.model_file(facts.DEFAULT_VOICE)
        if path is None or not os.path.isfile(path):
            return (
                f"hibari's {facts.DEFAULT_VOICE} voice model is missing; "
                "fix: pip install --force-reinstall hibari-tts"
            )
        return None
