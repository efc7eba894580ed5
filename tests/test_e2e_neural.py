"""End to end with the neural engines: a built-in routine exported for real with hibari
(the default voice) and with Piper (the optional extra), decoded by real readers, and
checked against its timeline: speech where the timeline says, clean silence elsewhere."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from tests.conftest import vg
from voiceguide.units import SAMPLE_RATE, ms_to_frames
from voiceguide.voices import ENGINE_ENV

pytestmark = pytest.mark.e2e

ROUTINES = {"hibari": "daily", "piper": "techniques/cat-cow"}
MARGIN_MS = 60  # around each sound: a tone's tail, the encoder's smear


@pytest.fixture(scope="module", params=sorted(ROUTINES))
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(engine, decoded samples, the plan) of the routine exported to MP3 with the engine."""
    engine: str = request.param
    out = tmp_path_factory.mktemp(engine) / "routine.mp3"
    args = [ROUTINES[engine], "--engine", engine]
    if engine == "hibari":  # the default: the README's first command names no engine
        env = {k: v for k, v in os.environ.items() if k != ENGINE_ENV}
        done = vg("export", ROUTINES[engine], "-o", str(out), env=env)
    else:
        done = vg("export", *args, "-o", str(out))
    assert done.returncode == 0, done.stderr
    shown = vg("plan", *args, "--json")
    assert shown.returncode == 0, shown.stderr
    samples, rate = sf.read(str(out), dtype="float32")
    assert rate == SAMPLE_RATE
    return engine, samples, json.loads(shown.stdout)


def spans(plan: dict[str, Any], kind: str | None = None) -> list[tuple[int, int]]:
    return [
        (e["start_ms"], e["start_ms"] + e["duration_ms"])
        for e in plan["events"]
        if kind is None or e["kind"] == kind
    ]


def db(x: npt.NDArray[np.float32]) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def test_the_file_is_as_long_as_the_timeline(exported: Any) -> None:
    _, samples, plan = exported
    assert abs(samples.size - ms_to_frames(plan["duration_ms"])) <= ms_to_frames(1)


def test_every_cue_is_spoken_where_the_timeline_says(exported: Any) -> None:
    engine, samples, plan = exported
    speech = spans(plan, "speech")
    assert len(speech) >= 10
    for start, end in speech:
        part = samples[ms_to_frames(start) : ms_to_frames(end)]
        assert db(part) > -35.0, (engine, start)
        # trimmed: the voice starts at once, not after the engine's own silence
        assert db(part[: ms_to_frames(250)]) > -45.0, (engine, start)


def test_silence_between_sounds_is_clean(exported: Any) -> None:
    engine, samples, plan = exported
    quiet = np.ones(samples.size, bool)
    for start, end in spans(plan):
        quiet[ms_to_frames(max(0, start - MARGIN_MS)) : ms_to_frames(end + MARGIN_MS)] = False
    assert quiet.sum() > ms_to_frames(5_000)  # the routine has pauses to check
    assert float(np.abs(samples[quiet]).max()) < 10 ** (-50 / 20), engine


def test_the_plan_speaks_with_the_engine_asked_for(exported: Any) -> None:
    engine, _, plan = exported
    voices = {e["voice"]["engine"] for e in plan["events"] if e["kind"] == "speech"}
    assert voices == {engine}
