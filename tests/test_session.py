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
from voiceguide.limits import VOLUME_RANGE_DB
from voiceguide.player.commands import Action, Command
from voiceguide.player.render_ahead import BLOCK_FRAMES
from voiceguide.player.session import Session
from voiceguide.player.transport import FADE_FRAMES, FADE_IN
from voiceguide.render import analyse, render
from voiceguide.script import load_script
from voiceguide.timeline import Silence, Timeline
from voiceguide.units import FRAMES_PER_MS, ms_to_frames
from voiceguide.voices.cache import SpeechCache
from voiceguide.words import ENGLISH

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


def take(s: Session, frames: int) -> np.ndarray:
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


def reference(s: Session) -> np.ndarray:
    return np.concatenate(list(render(s.timeline, s.ahead.bank, s.ahead.level)))


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
        == f"Resuming: One, {ENGLISH.duration(one.end_ms - one.start_ms - 2000)} left."
    )
    right, left = tl.sides
    assert (right.side, left.side) == ("right", "left")
    ms = left.start_ms + 1000
    left_s = ENGLISH.duration(left.end_ms - ms)
    assert session.recue(ms) == f"Resuming: Twist, left side, {left_s} left."
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
    want = ref[steps["One"] : steps["One"] + ms_to_frames(1000)]
    np.testing.assert_array_equal(got[FADE_FRAMES:], want[FADE_FRAMES:])  # after the fade-in
    np.testing.assert_allclose(got[:FADE_FRAMES], want[:FADE_FRAMES] * FADE_IN, atol=1e-7)


def test_moves_and_time_left_are_by_side(session: Session) -> None:
    """In a sided step, "next" goes to the other side, "back" and "repeat" to this side's
    start, and the time left (status, re-cue, what's next) is the side's."""
    tl = session.timeline
    right, left = tl.sides
    session.seek(right.start_ms + 1000)
    status = session.status()
    assert status["remaining_s"] == 3 and status["next"] == "Twist, left side"
    assert status["part"]["kind"] == "side" and status["part"]["name"] == "Twist, right side"
    # the part's span, on the routine clock like "position_ms"
    offset = status["position_file_ms"] - status["position_ms"]
    assert (status["part"]["start_ms"], status["part"]["end_ms"]) == (
        right.start_ms - offset,
        right.end_ms - offset,
    )
    assert session.recue(right.start_ms + 1000) == "Resuming: Twist, right side, 3 seconds left."
    said: list[str] = []
    session.say = said.append  # type: ignore[method-assign,assignment]
    act(session, Action.WHATS_NEXT)
    assert said == ["3 seconds left in Twist, right side. Next: Twist, left side."]
    assert session.status()["last"] == "said what's next"
    act(session, Action.NEXT)  # the left side, not past it
    assert session.cursor == ms_to_frames(left.start_ms)
    assert session.status()["last"] == "skipped to Twist, left side"
    take(session, ms_to_frames(1000))
    act(session, Action.BACK)  # 1 s into the left side: the right side again
    assert session.cursor == ms_to_frames(right.start_ms)
    assert session.status()["last"] == "back to Twist, right side"
    session.seek(left.start_ms + 2000)
    act(session, Action.REPEAT)
    assert session.cursor == ms_to_frames(left.start_ms)
    assert session.status()["last"] == "repeating Twist, left side"
    act(session, Action.VOLUME_UP)
    assert session.status()["last"] == "+3 dB"
    act(session, Action.PAUSE)
    assert session.status()["last"] == "paused"


def test_a_wait_is_a_part_of_its_own(session: Session) -> None:
    wait = session.waits[0]
    take(session, wait.start + 10)
    status = session.status()
    assert status["part"]["kind"] == "wait" and status["part"]["name"] == "Getting ready for Three"
    assert status["step"] == "Three" and status["next"] == "Three"
    act(session, Action.NEXT)  # past the wait: the timed part of the step
    assert session.waiting is None and session.cursor == wait.end
    assert session.status()["part"]["kind"] == "step"


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
    assert status["step"] == "Two" and status["next"] == "Getting ready for Three"
    assert status["remaining_s"] == 5
    assert status["position"] == "0:07"
    assert status["position_ms"] == two.start_ms + 1000 - tl.origin_ms == 7000
    assert status["position_file_ms"] == two.start_ms + 1000
    assert status["part"] == {
        "kind": "step",
        "name": "Two",
        "step": "Two",
        "side": None,
        "index": 2,
        "start_ms": 6000,
        "end_ms": 12000,
    }
    assert status["side"] is None and status["device_underruns"] is None  # cannot tell
    left = tl.sides[1]
    session.seek(left.start_ms + 500)
    assert session.status()["side"] == "left"
    session.seek(two.start_ms + 1000)
    take(session, 2400)
    act(session, Action.VOLUME_DOWN)
    start = session.cursor
    got = take(session, 2400)
    quieter = replace(session.ahead.level, gain_db=session.ahead.level.gain_db - 3.0)
    expected = np.concatenate(list(render(tl, session.ahead.bank, quieter)))[start : start + 2400]
    # A crossfade into the quieter rendering: then exactly it.
    np.testing.assert_array_equal(got[FADE_FRAMES:], expected[FADE_FRAMES:])
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
    assert s.ahead.level is exact
    differs = np.flatnonzero(got != after)
    switch = int(differs[-1]) + 1  # from here on, exactly the export
    assert 24_000 < switch < len(got) - 24_000
    np.testing.assert_array_equal(got[:switch], before[:switch])
    np.testing.assert_array_equal(got[switch:], after[switch:])
    quiet = s.ahead.quiet_from(switch - 1)
    assert quiet is not None and quiet >= switch
    assert not got[quiet - ms_to_frames(100) : quiet].any()  # it changed in silence


def test_the_estimate_needs_no_clip_to_be_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the cache is still preparing every clip, the level is estimated, not awaited."""
    import threading

    from voiceguide.dsp import clips as dsp

    release = threading.Event()
    level_clip = dsp.level_clip

    def held(trimmed: np.ndarray) -> np.ndarray:
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
    got: list[np.ndarray] = []
    wait = ms_to_frames(next(e.start_ms for e in timeline.events if isinstance(e, Silence)))
    try:
        for nxt in [*more, timeline]:
            # What this part can be played up to (the wait needs a "ready" to go on).
            ready = min(s.ahead.quiet_before(s.ahead.total), wait)
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


def _loudest(ref: np.ndarray, start: int, stop: int) -> int:
    return start + int(np.argmax(np.abs(ref[start:stop])))


def test_no_transition_is_a_hard_step(session: Session) -> None:
    """Pause, resume, an overlay cutting in, seeks and volume changes all fade: at each, the
    step from one sample to the next stays within what the speech itself has (a hard cut at
    these loud moments would step by the sample's whole value, 0.3 and more)."""
    ref = reference(session)
    steps = {c.title: ms_to_frames(c.start_ms) for c in session.timeline.chapters}
    speech = [(ms_to_frames(e.start_ms), ms_to_frames(e.end_ms)) for e in session.timeline.speech]
    natural = max(float(np.abs(np.diff(ref[a:b])).max()) for a, b in speech)
    out: list[np.ndarray] = []
    transitions: list[tuple[str, int, float]] = []

    def pull(frames: int) -> None:
        out.append(take(session, frames))

    def at_loud_moment(a: int, b: int) -> None:
        """Play on to the loudest frame of ref[a:b] (the cursor is before it)."""
        target = _loudest(ref, a, b)
        assert abs(ref[target]) > 0.3
        pull(target - session.cursor)

    def mark(what: str, extra: int = 0, to: int | None = None) -> None:
        """A transition in what is pulled next (``extra`` frames on), into ``to`` (a seek:
        whose own steps count too, e.g. a chime's attack)."""
        own = natural
        if to is not None:
            own = max(own, float(np.abs(np.diff(ref[to : to + FADE_FRAMES + 2])).max()))
        transitions.append((what, sum(map(len, out)) + extra, own))

    intro = speech[0]
    half = (intro[0] + intro[1]) // 2
    at_loud_moment(intro[0], half - 2400)
    mark("pause")
    act(session, Action.PAUSE)
    pull(2400)
    act(session, Action.RESUME)
    overlay = sum(len(c) for c in session.overlay)
    mark("resume", overlay)
    pull(overlay + 2400)
    at_loud_moment(max(session.cursor + 10, half), intro[1])
    mark("overlay cuts in")
    act(session, Action.WHATS_NEXT)
    overlay = sum(len(c) for c in session.overlay)
    mark("timeline after the overlay", overlay)
    pull(overlay + 2400)
    first = next(s for s in speech if s[0] >= steps["One"])
    session.seek(first[0] // FRAMES_PER_MS)
    third = (first[1] - first[0]) // 3
    for i, action in enumerate((Action.VOLUME_UP, Action.VOLUME_UP, Action.NEXT)):
        at_loud_moment(max(session.cursor + 10, first[0] + i * third), first[0] + (i + 1) * third)
        mark(action.value, to=steps["Two"] if action is Action.NEXT else None)
        act(session, action)
        pull(1200)
    second = next(s for s in speech if s[0] >= steps["Two"])
    at_loud_moment(second[0], second[1])
    mark("back", to=steps["One"])
    act(session, Action.BACK)
    assert session.cursor == steps["One"]
    act(session, Action.NEXT)
    pull(4800)
    got = np.concatenate(out)
    for what, at, own in transitions:
        bound = own * 10 ** (3 / 20) + 0.01  # at the loudest volume
        window = got[max(0, at - 2) : at + FADE_FRAMES + 2]
        jump = float(np.abs(np.diff(window)).max())
        assert jump <= bound, f"{what}: a step of {jump:.3f} (the source's own: {own:.3f})"


LOUD = """title: Loud Test
intro: Sit tall. Breathe in deeply, and let your shoulders drop.
steps:
  - name: Hold
    duration: 4s
    say: Press your palms together, hard.
"""


def test_the_loudest_volume_never_clips(tmp_path: Path) -> None:
    """Two presses of + from 0 dB (the top of the range, +3 dB) over the real voice, whose
    peaks sit at the limiter's ceiling: the output holds that ceiling, never full scale."""
    bank = SpeechCache(tmp_path / "speech")
    timeline = compile_routine(load_script(write(tmp_path, LOUD)), bank).timeline
    level = analyse(timeline, bank)
    s = Session(timeline, bank, level, PullOutput())  # type: ignore[arg-type]
    s.start_rendering()
    try:
        for _ in range(3):
            act(s, Action.VOLUME_UP)
        assert s.volume_db == VOLUME_RANGE_DB[1]  # stays at the top
        got = take(s, s.ahead.total)
    finally:
        s.close()
    ref = reference(s)
    assert float(np.abs(ref).max()) > 10 ** (-2.5 / 20)  # +3 dB would take it past full scale
    peak = float(np.abs(got).max())
    assert peak <= 10 ** (level.output_peak_db / 20) + 1e-4, f"peak {20 * np.log10(peak):.2f} dB"
    assert float(np.sqrt(np.mean(got**2))) > float(np.sqrt(np.mean(ref**2)))  # louder though


def _playing(tmp_path: Path, sock: Path):  # type: ignore[no-untyped-def]
    """A session playing in real time (null output) on a thread, steered through ``sock``."""
    import threading

    from voiceguide.player.hub import ControlHub
    from voiceguide.player.output_null import NullOutput
    from voiceguide.player.server import SocketSource

    bank = SpeechCache(tmp_path / "speech")
    timeline = compile_routine(load_script(write(tmp_path, SCRIPT)), bank).timeline
    s = Session(timeline, bank, analyse(timeline, bank), NullOutput())
    hub = ControlHub([SocketSource(sock)], status=s.status).start()
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(s.run(hub)), daemon=True)
    thread.start()
    return s, hub, thread, results


def _burst(sock: Path, lines: list[str]) -> list[str]:
    """Send ``lines`` on one connection; the answers."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(sock))
        conn.sendall("".join(f"{line}\n" for line in lines).encode())
        data = b""
        while data.count(b"\n") < len(lines):
            chunk = conn.recv(65536)
            assert chunk, "the player closed the connection"
            data += chunk
    return data.decode().splitlines()


def _until(condition: object, timeout: float, what: str) -> float:
    """Poll ``condition()`` until true; the seconds it took (fails after ``timeout``)."""
    import time

    t0 = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - t0 < timeout, f"{what} not within {timeout} s"
        time.sleep(0.01)
    return time.monotonic() - t0


def test_a_burst_of_pause_and_resume_does_not_queue_up(tmp_path: Path) -> None:
    """500 pause/resume on one connection: the player goes on playing at once (it used to
    stay paused for 12 s while the queue drained), and a stop after them stops at once."""
    sock = tmp_path / "ctl.sock"
    s, hub, thread, results = _playing(tmp_path, sock)
    try:
        _until(lambda: s.status()["state"] == "playing" and s.cursor > 0, 10, "playing")
        answers = _burst(sock, ["pause", "resume"] * 250)
        assert answers == ["ok"] * 500
        _until(lambda: s.status()["state"] == "playing", 2.0, "playing after the burst")
        assert len(s.overlay) <= 3  # one re-cue at most, not 250
        answers = _burst(sock, ["toggle", "resume", "pause"] * 166 + ["stop"])
        _until(lambda: not thread.is_alive(), 2.0, "the stop")
    finally:
        s.close()
        hub.close()
        thread.join(5)
    assert results and not results[0].finished
