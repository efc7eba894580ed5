"""The library's front door: script file -> compiled timeline -> exported files, or a play.

The CLI calls these functions and nothing deeper; they raise only ``VoiceguideError``s for
expected failures. They only wire the stages: resolve and load the script, compile it,
and hand the timeline and the speech cache to the export (``export.routine``) or to the
player (``player.play``); the no-op record of exports is ``manifest``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.errors import NoSuchScript
from voiceguide.export.bitrate import DEFAULT_BITRATE
from voiceguide.paths import scripts_dir

if TYPE_CHECKING:
    from voiceguide.compile import Compiled
    from voiceguide.export.routine import Progress
    from voiceguide.model import Routine, VoiceSettings
    from voiceguide.player.session import PlayResult
    from voiceguide.timeline import Timeline
    from voiceguide.voices.base import SpeechBank
    from voiceguide.voices.cache import SpeechCache

SCRIPT_SUFFIXES = (".yaml", ".yml")


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
    raise NoSuchScript(path)


def open_bank() -> SpeechCache:
    """The speech cache in the user cache directory."""
    from voiceguide.paths import cache_dir
    from voiceguide.voices.cache import SpeechCache

    return SpeechCache(cache_dir() / "speech")


def load(path: str | Path, *, engine: str | None = None, voice: str | None = None) -> Routine:
    """Parse a script; ``engine`` and ``voice`` override the script's for every cue, and a
    voice that names no engine gets the default engine (``voices.default_engine``)."""
    from voiceguide.model import map_voices, voices_of
    from voiceguide.script import load_script
    from voiceguide.voices import ENGINES, default_engine, engine_name, get_engine, unknown_engine

    chosen = engine_name(engine) if engine else None
    if chosen is not None and chosen not in ENGINES:
        raise unknown_engine(chosen, ENGINES)  # the command line's, not the script's
    routine = load_script(resolve_script(path))
    default = default_engine()

    def resolved(v: VoiceSettings) -> VoiceSettings:
        return replace(v, engine=chosen or v.engine or default, voice=voice or v.voice)

    routine = map_voices(routine, resolved)
    if chosen or voice:  # an engine or voice the command line names: its error, not a cue's
        for v in voices_of(routine):
            get_engine(v.engine).settings(v)
    return routine


def compile_script(
    path: str | Path,
    *,
    engine: str | None = None,
    voice: str | None = None,
    bank: SpeechBank | None = None,
) -> tuple[Routine, Compiled, SpeechBank]:
    """Parse and compile a script, synthesising (or finding cached) every clip.

    New clips finish storing in the background (see ``SpeechCache.wait``); this waits for
    them, and so reports their errors.
    """
    from voiceguide.compile import compile_routine, wait_for_speech
    from voiceguide.voices.cache import SpeechCache

    routine = load(path, engine=engine, voice=voice)
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
    files: list[Path] = field(default_factory=list)  # the script and music files read


def default_output(script: str | Path) -> Path:
    """``audio/<script name>.mp3``."""
    return Path("audio") / f"{Path(str(script)).stem}.mp3"


def export(
    script: str | Path,
    output: Path | None = None,
    *,
    engine: str | None = None,
    voice: str | None = None,
    bitrate: int = DEFAULT_BITRATE,
    split: bool = False,
    subtitles: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Export a routine to ``output`` (format from its extension); see ``voiceguide export``.

    Refuses (CueFitError) when cues do not fit; skips the work when nothing changed. An
    output format or MP3 bitrate voiceguide cannot write is refused first
    (UnsupportedOutput, exit code 2).
    """
    from voiceguide import manifest
    from voiceguide.export import check_output

    path = resolve_script(script)
    output = output or default_output(path)
    check_output(output, bitrate)  # a bad argument (exit 2), before anything is spoken
    options = manifest.export_options(
        path,
        output,
        engine=engine,
        voice=voice,
        bitrate=bitrate,
        split=split,
        subtitles=subtitles,
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
            voice=voice,
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
    voice: str | None,
    bitrate: int,
    split: bool,
    subtitles: bool,
    progress: Progress | None,
) -> ExportResult:
    """The work of ``export``: compile, then render, write and measure (``export.routine``)."""
    from voiceguide.compile.job import refuse_misfits
    from voiceguide.compile.music import music_files
    from voiceguide.export.routine import export_timeline

    routine, compiled, bank = compile_script(path, engine=engine, voice=voice)
    refuse_misfits(compiled, "nothing was exported")
    written = export_timeline(
        compiled.timeline,
        bank,
        output,
        bitrate=bitrate,
        split=split,
        subtitles=subtitles,
        progress=progress,
    )
    return ExportResult(
        written.outputs,
        duration_ms=compiled.timeline.duration_ms,
        lufs=written.lufs,
        peak_dbtp=written.peak_dbtp,
        files=[*routine.files, *music_files(routine)],  # the music counts in the no-op key
    )


def find_step(timeline: Timeline, value: str) -> int:
    """The file time ``--from value`` starts at: a step number, a routine time or a word of
    a step's name (``voiceguide.player.start``); a FromError (exit 2) if it names none."""
    from voiceguide.player.start import start_at

    return start_at(timeline, value)


def play(
    script: str | Path,
    *,
    engine: str | None = None,
    voice: str | None = None,
    output: str | None = "auto",
    device: str | None = None,
    fast: bool = False,
    resume: bool = False,
    from_step: str | None = None,
    socket: Path | None = None,
    volume_db: float = 0.0,
    device_wait: float | None = None,
    buttons: Path | None = None,
    wait_start: bool = False,
    latency: float | None = None,
) -> PlayResult:
    """Play a routine hands-free; see ``voiceguide play``. Saves the position on a stop.

    The routine compiles on a thread (``voiceguide.compile.job.Compiling``): warm, it is laid out at
    once; cold, the play starts on its first part while the rest is spoken into the cache,
    at a level estimated from a guessed layout (``render.estimate_level``).
    An audio device that stalls or is lost while playing is reopened (the same output;
    with ``auto``, else the next backend) for ``device_wait`` seconds (default
    ``limits.DEVICE_WAIT_SECONDS``), and the play goes on from where it was heard; one
    missing at the start is waited for as long (``player.reopening.open_waiting``).
    What the sound libraries print meanwhile is counted, not shown.
    Raises Interrupted after Ctrl-C or SIGTERM (the device released first).
    ``buttons`` is a buttons file (``player.buttons``), checked before anything is laid out.
    With ``wait_start`` all of it is laid out first, then the play waits, silent, for start
    (a button, a key, ``voiceguide ctl start``) before it begins. ``latency``: the output's
    buffer in seconds (None: the output's default; with buttons, their shorter one).
    """
    from voiceguide.compile import compile_routine
    from voiceguide.compile.job import Compiling, refuse_misfits
    from voiceguide.player.play import FIRST_PART_MS, play_routine
    from voiceguide.render import estimate_level, starting_level
    from voiceguide.timeline import Timeline

    misfits = "run 'voiceguide check'"
    path = resolve_script(script)
    routine = load(path, engine=engine, voice=voice)
    controls = None
    if buttons is not None:
        from voiceguide.player.buttons import open_buttons

        controls = open_buttons(buttons)
    bank = open_bank()
    job = Compiling(routine, bank, misfits)
    # Warm, the whole is laid out at once. Cold, every cue is spoken into the cache first:
    # play from the first part that is ready, as the rest is laid out behind it.
    whole = from_step is not None or resume or wait_start
    first = job.result() if whole else job.first(FIRST_PART_MS)
    if isinstance(first, Timeline):  # a prefix: the speech is still being synthesised
        timeline, complete = first, False
        level = estimate_level(
            timeline, bank, lambda guess: compile_routine(routine, guess).timeline
        )
    else:
        refuse_misfits(first, misfits)
        timeline, complete = first.timeline, True
        level = starting_level(timeline, bank)
    return play_routine(
        path,
        timeline,
        level,
        bank,
        job,
        complete=complete,
        start_ms=find_step(timeline, from_step) if from_step is not None else None,
        resume=resume,
        output=output,
        device=device,
        fast=fast,
        socket=socket,
        volume_db=volume_db,
        device_wait=device_wait,
        buttons=controls,
        wait_start=wait_start,
        latency=latency,
    )
