"""The player's bookkeeping, driven by pulling frames directly (no audio device, no clock).

The speech is the fake engine's, through the real speech cache; the audio compared is the
renderer's, which is what the export writes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write
from voiceguide.compile import compile_routine
from voiceguide.player.control import Action, Command
from voiceguide.player.session import BLOCK_FRAMES, Session
from voiceguide.render import analyse, render
from voiceguide.script import load_script
from voiceguide.timeline import Silence, Timeline
from voiceguide.units import FRAMES_PER_MS, ms_to_frames, spoken
from voiceguide.voices.cache import SpeechCache

SCRIPT = """title: Session Test
voice: {engine: fake}
intro: Hello.
steps:
  - {name: One, duration: 6s, say: First.}
  - {name: Two, duration: 6s, say: Second.}
  - name: Three
    duration: 6s
    say: Third.
    wait: {pause: 4s, remind: Waiting., every: 10s}
  - {name: Twist, duration: 8s, sides: [right, left], say: "Twist to the {side}."}
"""


class PullOutput:
    """An output that plays nothing: its play position is what was pulled (no latency)."""

    failed = None
    underflows = None

    def __init__(self) -> None:
        self.pulled = 0

    def start(self, pull: object) -> None: ...

    def played_frames(self) -> int:
        return self.pulled

    def pulled_frames(self) -> int:
        return self.pulled

    def latency_frames(self) -> int:
        return 0

    def stop(self, drain: bool = True) -> None: ...

    def close(self) -> None: ...


@pytest.fixture
def session(tmp_path: Path):  # type: ignore[no-untyped-def]
    bank = SpeechCache(tmp_path / "speech")
    timeline = compile_routine(load_script(write(tmp_path, SCRIPT)), bank).timeline
    level = analyse(timeline, bank)
    s = Session(timeline, bank, level, PullOutput())  # type: ignore[arg-type]
    s.start_rendering()
    yield s
    s.close()


def take(s: Session, frames: int) -> np.ndarray:  # type: ignore[type-arg]
    out = []
    while frames > 0:
        s.wait_rendered()
        n = min(frames, BLOCK_FRAMES)
        out.append(s.pull(n))
        s.output.pulled += n  # type: ignore[attr-defined]
        frames -= n
    return np.concatenate(out)


def act(s: Session, action: Action) -> None:
    s.handle(Command(action))


def reference(s: Session) -> np.ndarray:  # type: ignore[type-arg]
    return np.concatenate(list(render(s.timeline, s.bank, s.level)))


def test_playing_through_gives_exactly_the_exported_audio(session: Session) -> None:
    ref = reference(session)
    first_wait = session.waits[0].start
    got = take(session, first_wait)
    np.testing.assert_array_equal(got, ref[:first_wait])
    assert session.underruns == 0


def test_pause_keeps_the_exact_position_and_resume_re_cues(session: Session) -> None:
    ref = reference(session)
    a = take(session, 30_000)
    act(session, Action.PAUSE)
    paused = take(session, 24_000)
    assert not paused.any() and session.cursor == 30_000
    act(session, Action.RESUME)
    overlay = sum(len(c) for c in session.overlay)
    assert overlay > ms_to_frames(600)  # "Resuming: ..." between two short silences
    cue = take(session, overlay)
    assert cue.any() and session.cursor == 30_000
    b = take(session, 20_000)
    np.testing.assert_array_equal(np.concatenate([a, b]), ref[:50_000])


def test_re_cue_names_the_step_the_side_and_the_time_left(session: Session) -> None:
    tl = session.timeline
    one = next(c for c in tl.chapters if c.title == "One")
    assert (
        session.recue(one.start_ms + 2000)
        == f"Resuming: One, {spoken(one.end_ms - one.start_ms - 2000)} left."
    )
    right, left = tl.sides
    assert (right.side, left.side) == ("right", "left")
    ms = left.start_ms + 1000
    assert session.recue(ms) == f"Resuming: Twist, left side, {spoken(left.end_ms - ms)} left."
    assert session.recue(right.start_ms) == "Resuming: Twist, right side, 4 seconds left."


def test_next_back_and_repeat_seek_to_step_starts(session: Session) -> None:
    tl = session.timeline
    steps = {c.title: ms_to_frames(c.start_ms) for c in tl.chapters}
    take(session, steps["One"] + ms_to_frames(1000))
    act(session, Action.NEXT)
    assert session.cursor == steps["Two"]
    take(session, ms_to_frames(2000))
    act(session, Action.BACK)  # 2 s in: to the step before
    assert session.cursor == steps["One"]
    take(session, ms_to_frames(5500))
    act(session, Action.BACK)  # 5.5 s in: this step again
    assert session.cursor == steps["One"]
    take(session, ms_to_frames(5500))
    act(session, Action.REPEAT)
    assert session.cursor == steps["One"]
    got = take(session, ms_to_frames(1000))
    ref = reference(session)
    np.testing.assert_array_equal(got, ref[steps["One"] : steps["One"] + ms_to_frames(1000)])


def test_a_wait_holds_until_ready(session: Session) -> None:
    wait = session.waits[0]
    take(session, wait.start + 10)
    assert session.waiting is wait and session.cursor == wait.start
    assert session.status()["state"] == "waiting"
    held = take(session, 48_000)
    assert session.cursor == wait.start and not held.any()
    act(session, Action.READY)
    assert session.waiting is None and session.cursor == wait.end
    take(session, 2400)
    assert session.cursor == wait.end + 2400


def test_status_names_the_step_and_volume_changes_gain(session: Session) -> None:
    tl = session.timeline
    two = next(c for c in tl.chapters if c.title == "Two")
    session.seek(two.start_ms + 1000)
    status = session.status()
    assert status["step"] == "Two" and status["next"] == "Three"
    assert status["step_remaining_s"] == 5
    assert status["position"] == "0:07"
    assert status["side"] is None and status["device_underruns"] is None  # cannot tell
    left = tl.sides[1]
    session.seek(left.start_ms + 500)
    assert session.status()["side"] == "left"
    session.seek(two.start_ms + 1000)
    ref = reference(session)
    act(session, Action.VOLUME_DOWN)
    start = session.cursor
    got = take(session, 2400)
    expected = ref[start : start + 2400] * np.float32(10 ** (-3 / 20))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert session.status()["volume_db"] == -3.0


def test_the_end_finishes(session: Session) -> None:
    session.seek(session.timeline.duration_ms - 100)
    take(session, 100 * FRAMES_PER_MS + 10)
    assert session.finished and session.status()["state"] == "finished"


def test_a_cold_start_goes_over_to_the_exact_level_at_a_quiet_moment(tmp_path: Path) -> None:
    """Provisional level first, then the export's from a quiet moment: no seam, no gap."""
    bank = SpeechCache(tmp_path / "speech")
    timeline = compile_routine(load_script(write(tmp_path, SCRIPT)), bank).timeline
    exact = analyse(timeline, bank)
    provisional = replace(exact, gain_db=exact.gain_db - 2.0)
    s = Session(timeline, bank, provisional, PullOutput())  # type: ignore[arg-type]
    s.start_rendering()
    try:
        first = take(s, 24_000)
        s.set_level(exact)
        rest = take(s, s.waits[0].start - 24_000)
    finally:
        s.close()
    got = np.concatenate([first, rest])
    before = np.concatenate(list(render(timeline, bank, provisional)))[: len(got)]
    after = np.concatenate(list(render(timeline, bank, exact)))[: len(got)]
    assert s.level is exact
    differs = np.flatnonzero(got != after)
    switch = int(differs[-1]) + 1  # from here on, exactly the export
    assert 24_000 < switch < len(got) - 24_000
    np.testing.assert_array_equal(got[:switch], before[:switch])
    np.testing.assert_array_equal(got[switch:], after[switch:])
    quiet = s.quiet_from(switch - 1)
    assert quiet is not None and quiet >= switch
    assert not got[quiet - ms_to_frames(100) : quiet].any()  # it changed in silence


def test_the_estimate_needs_no_clip_to_be_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the cache is still preparing every clip, the level is estimated, not awaited."""
    import threading

    from voiceguide import dsp

    release = threading.Event()
    level_clip = dsp.level_clip

    def held(trimmed: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
        release.wait(10)
        return level_clip(trimmed)

    monkeypatch.setattr(dsp, "level_clip", held)
    bank = SpeechCache(tmp_path / "speech")
    timeline = compile_routine(load_script(write(tmp_path, SCRIPT)), bank).timeline
    assert bank.busy
    estimate = analyse(timeline, bank, estimate=True)
    assert bank.busy  # nothing was waited for
    release.set()
    exact = analyse(timeline, bank)
    assert estimate.gain_db == pytest.approx(exact.gain_db, abs=1.5)


def test_a_growing_timeline_plays_exactly_the_whole(tmp_path: Path) -> None:
    """A cold start plays the compiler's prefixes as they come: the joins are exact."""
    bank = SpeechCache(tmp_path / "speech")
    prefixes: list[Timeline] = []
    whole = compile_routine(load_script(write(tmp_path, SCRIPT)), bank, prefixes.append)
    timeline = whole.timeline
    level = analyse(timeline, bank)
    ref = np.concatenate(list(render(timeline, bank, level)))
    first, *more = [p for p in prefixes if p.duration_ms > 0]
    s = Session(first, bank, level, PullOutput(), complete=False)  # type: ignore[arg-type]
    s.start_rendering(head_start=1)
    got: list[np.ndarray] = []  # type: ignore[type-arg]
    wait = ms_to_frames(next(e.start_ms for e in timeline.events if isinstance(e, Silence)))
    try:
        for nxt in [*more, timeline]:
            # What this part can be played up to (the wait needs a "ready" to go on).
            ready = min(s.quiet_before(s.total), wait)
            if ready > s.cursor:
                got.append(take(s, ready - s.cursor))
            s.extend(nxt, complete=nxt is timeline)
        if wait > s.cursor:
            got.append(take(s, wait - s.cursor))
    finally:
        s.close()
    played = np.concatenate(got)
    np.testing.assert_array_equal(played, ref[: len(played)])
    assert s.underruns == 0


def test_a_partial_timeline_does_not_finish(tmp_path: Path) -> None:
    bank = SpeechCache(tmp_path / "speech")
    prefixes: list[Timeline] = []
    compile_routine(load_script(write(tmp_path, SCRIPT)), bank, prefixes.append)
    part = prefixes[1]
    s = Session(part, bank, analyse(part, bank), PullOutput(), complete=False)  # type: ignore[arg-type]
    s.seek(part.duration_ms)
    assert not s.finished
    s.handle(Command(Action.NEXT))  # past what is known: nothing to skip to yet
    assert s.cursor == ms_to_frames(part.duration_ms) and not s.finished
