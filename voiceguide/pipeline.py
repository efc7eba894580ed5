"""The library's front door: script file -> compiled timeline -> exported files.

The CLI calls these functions and nothing deeper; they raise only ``VoiceguideError``s for
expected failures.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.errors import CueFitError, ExportError, ScriptError, VoiceguideError
from voiceguide.export import DEFAULT_BITRATE
from voiceguide.paths import scripts_dir

if TYPE_CHECKING:
    from voiceguide.compile import Compiled
    from voiceguide.loudness import LoudnessMeter
    from voiceguide.model import Routine
    from voiceguide.player.compiling import Compiling
    from voiceguide.player.session import PlayResult, Session
    from voiceguide.render import Level, Samples
    from voiceguide.timeline import Timeline
    from voiceguide.voices.base import SpeechBank
    from voiceguide.voices.cache import SpeechCache

SCRIPT_SUFFIXES = (".yaml", ".yml")
# A lossy file gets the lossless mix, only quieter: a uniform gain keeps the balance of
# speech and tones exactly. Its encoder overshoots the mix's peaks, so the decoded file is
# measured, and it lands at or under LOSSY_PEAK_DBTP (ffmpeg's ebur128, oversampling
# further, reads up to 0.2 dB more): the first encode is made quieter by the overshoot
# the format typically has (measured on the built-in routines), and if the decoded file
# still peaks higher, it is encoded once more, quieter by the excess.
LOSSY = (".mp3", ".ogg")
LOSSY_PEAK_DBTP = -1.3  # 0.3 dB under the promised -1 dBTP
OVERSHOOT_DB = {".mp3": 0.2, ".ogg": 1.2}  # MP3 at 96 kbit/s and more; Vorbis
LOW_BITRATE_OVERSHOOT_DB = 1.9  # MP3 below 96 kbit/s


def builtin_scripts() -> list[Path]:
    """The built-in routine scripts, routines first, then technique scripts."""
    root = scripts_dir()
    return sorted(
        (p for p in root.rglob("*") if p.suffix in SCRIPT_SUFFIXES),
        key=lambda p: (len(p.relative_to(root).parts), str(p)),
    )


def resolve_script(name: str | Path) -> Path:
    """A script path as given, or a built-in by name (``daily``, ``techniques/cat-cow``)."""
    path = Path(name)
    if path.is_file():
        return path
    for suffix in ("", *SCRIPT_SUFFIXES):
        candidate = scripts_dir() / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    for candidate in builtin_scripts():
        if candidate.stem == str(name):
            return candidate
    raise ScriptError(
        path, 1, 1, "no such script file or built-in routine (see 'voiceguide routines')"
    )


def open_bank() -> SpeechCache:
    """The speech cache in the user cache directory."""
    from voiceguide.paths import cache_dir
    from voiceguide.voices.cache import SpeechCache

    return SpeechCache(cache_dir() / "speech")


def load(path: str | Path, *, engine: str | None = None) -> Routine:
    """Parse a script; ``engine`` overrides the script's speech engine."""
    from voiceguide.script import load_script

    routine = load_script(resolve_script(path))
    if engine:
        routine = replace(routine, voice=replace(routine.voice, engine=engine))
    return routine


def compile_script(
    path: str | Path, *, engine: str | None = None, bank: SpeechBank | None = None
) -> tuple[Routine, Compiled, SpeechBank]:
    """Parse and compile a script, synthesising (or finding cached) every clip.

    New clips finish storing in the background (see ``SpeechCache.wait``); this waits for
    them, and so reports their errors.
    """
    from voiceguide.compile import compile_routine, wait_for_speech
    from voiceguide.voices.cache import SpeechCache

    routine = load(path, engine=engine)
    bank = bank or open_bank()
    compiled = compile_routine(routine, bank)
    wait_for_speech(compiled)  # an engine failing on a cue names the cue
    if isinstance(bank, SpeechCache):
        bank.wait()
    return routine, compiled, bank


@dataclass
class ExportResult:
    """What an export wrote and measured."""

    outputs: list[Path]
    skipped: bool = False  # nothing changed since the recorded export: no work done
    duration_ms: int = 0
    lufs: float | None = None  # integrated loudness of the audio as written (decoded)
    peak_dbtp: float | None = None  # its true peak
    files: list[Path] = dataclasses.field(default_factory=list)  # the script files read


def default_output(script: str | Path) -> Path:
    """``audio/<script name>.mp3``."""
    return Path("audio") / f"{Path(str(script)).stem}.mp3"


def export(
    script: str | Path,
    output: Path | None = None,
    *,
    engine: str | None = None,
    bitrate: int = DEFAULT_BITRATE,
    split: bool = False,
    subtitles: bool = False,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Export a routine to ``output`` (format from its extension); see ``voiceguide export``.

    Refuses (CueFitError) when cues do not fit; skips the work when nothing changed.
    """
    from voiceguide import manifest

    path = resolve_script(script)
    output = output or default_output(path)
    options = manifest.export_options(
        path, output, engine=engine, bitrate=bitrate, split=split, subtitles=subtitles
    )
    planned = manifest.planned_outputs(output, split=split, subtitles=subtitles)
    if not force and manifest.is_current(planned, options):
        return ExportResult(planned, skipped=True)
    with manifest.exclusive(planned[0]):  # one export to a file at a time
        if not force and manifest.is_current(planned, options):  # made while this waited
            return ExportResult(planned, skipped=True)
        result = _export(
            path,
            output,
            engine=engine,
            bitrate=bitrate,
            split=split,
            subtitles=subtitles,
            progress=progress,
        )
        manifest.record(planned, result.outputs, result.files, options)
    return result


def _export(
    path: Path,
    output: Path,
    *,
    engine: str | None,
    bitrate: int,
    split: bool,
    subtitles: bool,
    progress: Callable[[int, int], None] | None,
) -> ExportResult:
    """The work of ``export``: compile, render, write, measure."""
    from voiceguide.export import export_audio, export_split, export_subtitles
    from voiceguide.loudness import LoudnessMeter
    from voiceguide.render import CEILING_DBTP, TARGET_LUFS, prefetch, render
    from voiceguide.units import SAMPLE_RATE, ms_to_frames

    routine, compiled, bank = compile_script(path, engine=engine)
    if compiled.issues:
        lines = "\n".join(str(i) for i in compiled.issues)
        raise CueFitError(
            f"{len(compiled.issues)} cue(s) do not fit; nothing was exported:\n{lines}"
        )
    timeline = compiled.timeline
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create folder {output.parent}: {exc.strerror}") from None
    suffix = output.suffix.lower()
    level = _level(timeline, bank, CEILING_DBTP, TARGET_LUFS)  # the one mix, every format
    lossy = suffix in LOSSY
    if lossy:
        level = level.quieter(
            max(0.0, level.output_peak_db + _overshoot(suffix, bitrate) - LOSSY_PEAK_DBTP)
        )
    total = ms_to_frames(timeline.duration_ms)
    report = (lambda done: progress(done, total)) if progress else None

    measured: list[tuple[float, float] | None] = []  # each attempt's decoded lossy file

    def check(paths: list[Path]) -> None:
        """Measure the lossy file as decoded, before it replaces the target; refuse a first
        attempt that peaks too high (the next one is made quieter by the excess)."""
        from voiceguide.export.measure import measure

        try:
            measured.append(measure(paths))
        except (OSError, RuntimeError):  # a libsndfile that cannot decode it: not measured
            measured.append(None)
        last = measured[-1]
        if last is not None and last[1] > LOSSY_PEAK_DBTP and len(measured) == 1:
            raise _TooLoud()

    meter = LoudnessMeter(SAMPLE_RATE)  # a lossless file is the mix, metered as made
    while True:
        blocks = prefetch(_metered(render(timeline, bank, level), None if lossy else meter))
        try:
            if split:
                written = export_split(
                    timeline,
                    blocks,
                    output,
                    bitrate=bitrate,
                    progress=report,
                    check=check if lossy else None,
                )
                if subtitles:  # one file for the whole routine, beside the playlist
                    written.append(export_subtitles(timeline, output.with_suffix(".vtt")))
            else:  # the audio and its subtitles appear together, or neither
                written = export_audio(
                    timeline,
                    blocks,
                    output,
                    bitrate=bitrate,
                    progress=report,
                    subtitles=subtitles,
                    check=check if lossy else None,
                )
        except _TooLoud:
            first = measured[0]
            assert first is not None
            level = level.quieter(first[1] - LOSSY_PEAK_DBTP + 0.1)  # once more, quieter
            continue
        break
    lufs, peak = (meter.integrated(), meter.true_peak_db()) if not lossy else (None, None)
    if lossy and measured[-1] is not None:
        lufs, peak = measured[-1]
    return ExportResult(
        written,
        duration_ms=timeline.duration_ms,
        lufs=lufs,
        peak_dbtp=peak,
        files=list(routine.files),
    )


class _TooLoud(Exception):
    """A lossy file's first encode peaks over LOSSY_PEAK_DBTP: it is discarded, not kept."""


def _metered(blocks: Iterator[Samples], meter: LoudnessMeter | None) -> Iterator[Samples]:
    """``blocks``, each also given to ``meter`` (if any) on the way."""
    for block in blocks:
        if meter is not None:
            meter.add(block)
        yield block


def _overshoot(suffix: str, bitrate: int) -> float:
    """How far a lossy format's decoded peaks typically rise over the mix's (dB)."""
    if suffix == ".mp3" and bitrate < 96:
        return LOW_BITRATE_OVERSHOOT_DB
    return OVERSHOOT_DB[suffix]


def _level(timeline: Timeline, bank: SpeechBank, ceiling_dbtp: float, target: float) -> Level:
    """``render.analyse``, remembered in the cache under the mix's content.

    The mix is a pure function of the timeline and the clips (named by their content keys),
    so an export of an unchanged timeline skips the analysis pass. The remembered level is
    a checked file (``voiceguide.storage``: its digest ties it to this key) and its
    numbers must be ones ``analyse`` can give for this ceiling and target; anything else
    is worked out again (with one warning line), so a damaged file never sets the loudness.
    """
    import hashlib
    import json

    from voiceguide import storage as store
    from voiceguide.manifest import MIX_VERSION
    from voiceguide.paths import cache_dir
    from voiceguide.render import Level, analyse
    from voiceguide.timeline import Speech

    h = hashlib.sha256(timeline.dumps().encode())
    for event in timeline.events:
        if isinstance(event, Speech):
            h.update(bank.clip(event.text, event.voice).key.encode())
    h.update(f"{MIX_VERSION} {ceiling_dbtp} {target}".encode())
    key = h.hexdigest()
    path = cache_dir() / "levels" / f"{key}.level"
    try:
        try:
            level = Level(**json.loads(store.read(path, key.encode())))
        except (ValueError, TypeError) as error:
            raise store.BadEntry(f"not a level ({error})") from None
        _check_level(level, ceiling_dbtp, target)
        return level
    except store.BadEntry as error:
        if str(error) != "missing":
            store.warn(f"voiceguide: loudness level {path.name} was {error}; worked out again")
    level = analyse(timeline, bank, ceiling_dbtp=ceiling_dbtp, target_lufs=target)
    with contextlib.suppress(OSError):  # only costs the analysis next time
        store.write(path, key.encode(), [json.dumps(dataclasses.asdict(level)).encode()])
    return level


def _check_level(level: Level, ceiling_dbtp: float, target: float) -> None:
    """Raise BadEntry unless ``level`` is one ``render.analyse`` can give for this ceiling
    and target: the target loudness (or silence), the ceiling or the limiter's place under
    it, a final gain within its headroom, a peak under the ceiling, finite gains."""
    import math

    from voiceguide.render import POST_HEADROOM_DB
    from voiceguide.storage import BadEntry

    numbers = dataclasses.astuple(level)
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        raise BadEntry("not a level (its values are not all numbers)")
    if not (math.isfinite(level.gain_db) and abs(level.gain_db) <= 100):
        raise BadEntry(f"implausible (a gain of {level.gain_db} dB)")
    if not 0.0 <= level.post_gain_db <= POST_HEADROOM_DB + 1e-9:
        raise BadEntry(f"implausible (a final gain of {level.post_gain_db} dB)")
    places = (ceiling_dbtp, ceiling_dbtp - POST_HEADROOM_DB)
    if not any(abs(level.limit_dbtp - place) < 1e-9 for place in places):
        raise BadEntry(f"implausible (a limiter at {level.limit_dbtp} dBTP)")
    silent = level.output_lufs == -math.inf and level.gain_db == 0 and not level.post_gain_db
    if not silent and abs(level.output_lufs - target) > 1e-6:
        raise BadEntry(f"implausible (a loudness of {level.output_lufs} LUFS, not {target})")
    if math.isnan(level.output_peak_db) or level.output_peak_db > ceiling_dbtp + 1e-6:
        raise BadEntry(f"implausible (a peak of {level.output_peak_db} dBTP)")


def _exact_level_later(session: Session, bank: SpeechCache, timeline: Timeline) -> None:
    """On a thread: wait for the speech cache, then hand the session the exact level.

    A clip that fails to store is reported by the session's render thread, which loads it.
    """
    import threading

    from voiceguide.render import CEILING_DBTP, TARGET_LUFS

    def work() -> None:
        try:
            bank.wait()
            session.set_level(_level(timeline, bank, CEILING_DBTP, TARGET_LUFS))
        except VoiceguideError:
            pass

    threading.Thread(target=work, name="voiceguide-level", daemon=True).start()


def find_step(timeline: Timeline, name: str) -> int:
    """The file time where the step called ``name`` starts (case-insensitive; a unique
    prefix is enough)."""
    wanted = name.casefold()
    chapters = [c for c in timeline.chapters if c.step is not None]
    exact = [c for c in chapters if c.title.casefold() == wanted]
    matches = exact or [c for c in chapters if c.title.casefold().startswith(wanted)]
    if len(matches) != 1:
        names = ", ".join(repr(c.title) for c in chapters)
        what = "no step" if not matches else "more than one step"
        raise VoiceguideError(f"{what} called {name!r}; the steps are: {names}")
    return matches[0].start_ms


def play(
    script: str | Path,
    *,
    engine: str | None = None,
    output: str | None = "auto",
    device: str | None = None,
    fast: bool = False,
    resume: bool = False,
    from_step: str | None = None,
    socket: Path | None = None,
    volume_db: float = 0.0,
    device_wait: float | None = None,
) -> PlayResult:
    """Play a routine hands-free; see ``voiceguide play``. Saves the position on a stop.

    The routine compiles on a thread (``player.compiling``): warm, it is laid out at once;
    cold, the play starts on its first part while the rest is spoken into the cache.
    An audio device that stalls or is lost while playing is reopened (the same output;
    with ``auto``, else the next backend) for ``device_wait`` seconds (default
    ``limits.DEVICE_WAIT_SECONDS``), and the play goes on from where it was heard.
    What the sound libraries print meanwhile is counted, not shown.
    Raises Interrupted after Ctrl-C or SIGTERM (the device released first).
    """
    from voiceguide.errors import Interrupted
    from voiceguide.player import resume as positions
    from voiceguide.player.compiling import Compiling
    from voiceguide.player.hub import ControlHub
    from voiceguide.limits import DEVICE_WAIT_SECONDS
    from voiceguide.player.library_noise import library_noise_counted
    from voiceguide.player.output import open_output
    from voiceguide.player.session import Session
    from voiceguide.player.sources import player_sources
    from voiceguide.render import CEILING_DBTP, TARGET_LUFS, analyse
    from voiceguide.timeline import Timeline

    path = resolve_script(script)
    routine = load(path, engine=engine)
    bank = open_bank()
    job = Compiling(routine, bank)
    # Warm, the whole is laid out at once. Cold, every cue is spoken into the cache first:
    # play from the first part that is ready, as the rest is laid out behind it.
    first = job.result() if from_step or resume else job.first(FIRST_PART_MS)
    if isinstance(first, Timeline):  # a prefix: the speech is still being synthesised
        from voiceguide.player.compiling import estimate_level

        timeline, complete = first, False
        level = estimate_level(routine, bank, timeline)
    else:
        _refuse_misfits(first)
        timeline, complete = first.timeline, True
        if bank.busy:  # all spoken, but some clips are still being prepared
            level = analyse(timeline, bank, estimate=True)
        else:
            level = _level(timeline, bank, CEILING_DBTP, TARGET_LUFS)
    start_ms = 0
    if from_step:
        start_ms = find_step(timeline, from_step)
    elif resume:
        start_ms = positions.load(path, timeline) or 0
    with contextlib.ExitStack() as stack:
        stack.enter_context(library_noise_counted())
        out = open_output(output, device, fast=fast)
        stack.callback(out.close)  # the device is released however the play ends
        session = Session(
            timeline,
            bank,
            level,
            out,
            start_ms=start_ms,
            volume_db=volume_db,
            complete=complete,
            reopen=lambda: open_output(output, device, fast=fast),
            device_wait=DEVICE_WAIT_SECONDS if device_wait is None else device_wait,
        )
        stack.callback(lambda: session.output.close())  # a reopened one
        if not complete:
            _follow(job, session, bank)
        elif bank.busy:
            _exact_level_later(session, bank, timeline)
        if resume and start_ms:
            session.say(session.recue(start_ms))
        with ControlHub(player_sources(socket), status=session.status) as hub:
            result = session.run(hub)
    if result.finished:
        positions.clear(path)
    else:
        # A routine that failed to compile has no position worth keeping.
        with contextlib.suppress(VoiceguideError):
            positions.save(path, job.result().timeline, result.position_ms)
    if result.interrupted:
        raise Interrupted()
    return result


FIRST_PART_MS = 1000  # a cold start plays once this much of the timeline is laid out


def _refuse_misfits(compiled: Compiled) -> None:
    if compiled.issues:
        lines = "\n".join(str(i) for i in compiled.issues)
        raise CueFitError(
            f"{len(compiled.issues)} cue(s) do not fit; run 'voiceguide check':\n{lines}"
        )


def _follow(job: Compiling, session: Session, bank: SpeechCache) -> None:
    """Hand the session each part of the timeline as it is laid out; then the exact level.

    Cues that do not fit (found only at the end) stop the play, as they would have stopped
    it before it began had the routine been compiled already.
    """

    def extend(timeline: Timeline, complete: bool) -> None:
        if not complete:
            session.extend(timeline, complete=False)
            return
        try:
            _refuse_misfits(job.result())
        except CueFitError as exc:
            session.abort(exc)
            return
        session.extend(timeline, complete=True)
        _exact_level_later(session, bank, timeline)

    def failed(error: BaseException) -> None:
        session.abort(error if isinstance(error, Exception) else RuntimeError(str(error)))

    job.follow(extend, failed)
