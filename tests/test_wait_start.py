"""A play that waits for start (``play --wait-start``): silent and still until a start
arrives, from any source, then exactly the export; driven by pulling frames directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write
from tests.test_session import SCRIPT, PullOutput, reference, take
from voiceguide.compile import compile_routine
from voiceguide.player.commands import Action, Command, Origin, parse_action
from voiceguide.player.session import Session
from voiceguide.render import analyse
from voiceguide.script import load_script
from voiceguide.voices.cache import SpeechCache


@pytest.fixture
def held(tmp_path: Path):  # type: ignore[no-untyped-def]
    bank = SpeechCache(tmp_path / "speech")
    timeline = compile_routine(load_script(write(tmp_path, SCRIPT)), bank).timeline
    s = Session(timeline, bank, analyse(timeline, bank), PullOutput(), hold=True)  # type: ignore[arg-type]
    s.start_rendering()
    yield s
    s.close()


@pytest.mark.parametrize("word", ["start", "resume", "toggle", "ready"], ids=lambda w: f"ctl-{w}")
def test_silent_until_start_then_the_export(held: Session, word: str) -> None:
    ref = reference(held)
    assert held.status()["state"] == "waiting-start"
    assert not take(held, 48_000).any() and held.cursor == 0
    held.handle(Command(Action.PAUSE, Origin.BUTTON))  # a pause does not start it
    assert held.status()["state"] == "waiting-start"
    held.handle(Command(parse_action(word), Origin.SOCKET))
    status = held.status()
    assert status["state"] == "playing" and status["last"] == "started"
    np.testing.assert_array_equal(take(held, 30_000), ref[:30_000])  # no re-cue, no fade
    held.handle(Command(Action.TOGGLE_PAUSE, Origin.KEY))  # from then on, a pause pauses
    assert held.status()["state"] == "paused"


def test_a_resumed_play_says_where_it_is_as_it_starts(held: Session) -> None:
    held.start_words = held.recue(0)
    assert not held.overlay
    held.handle(Command(Action.RESUME, Origin.BUTTON))
    assert held.overlay and take(held, sum(len(c) for c in held.overlay)).any()
