"""The library's front door: script file -> compiled timeline -> exported files.

The CLI calls these functions and nothing deeper; they raise only ``VoiceguideError``s for
expected failures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.errors import CueFitError, ExportError, ScriptError
from voiceguide.paths import scripts_dir

if TYPE_CHECKING:
    from voiceguide.compile import Compiled
    from voiceguide.model import Routine
    from voiceguide.render import Level
    from voiceguide.voices.base import SpeechBank

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
    raise ScriptError(
        path, 1, 1, "no such script file or built-in routine (see 'voiceguide routines')"
    )


def open_bank(*, engine: str | None = None) -> SpeechBank:
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
    """Parse and compile a script, synthesising (or finding cached) every clip."""
    from voiceguide.compile import compile_routine

    routine = load(path, engine=engine)
    bank = bank or open_bank(engine=engine)
    return routine, compile_routine(routine, bank), bank


@dataclass
class ExportResult:
    """What an export wrote and measured."""

    outputs: list[Path]
    skipped: bool = False  # nothing changed since the recorded export: no work done
    duration_ms: int = 0
    level: Level | None = None
    extra: dict[str, int] = field(default_factory=dict)


def _outputs(output: Path, split: bool, subtitles: bool) -> list[Path]:
    outs = [output.with_suffix(".m3u")] if split else [output]
    if subtitles:
        outs.append(output.with_suffix(".vtt"))
    return outs


def default_output(script: str | Path) -> Path:
    """``audio/<script name>.mp3``."""
    return Path("audio") / f"{Path(str(script)).stem}.mp3"


def export(
    script: str | Path,
    output: Path | None = None,
    *,
    engine: str | None = None,
    bitrate: int = 64,
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
    options = {
        "output": str(output.resolve()),
        "engine": engine,
        "bitrate": bitrate,
        "split": split,
        "subtitles": subtitles,
        "engine_fingerprint": manifest.engine_fingerprint(engine or "pyttsx3"),
    }
    planned = _outputs(output, split, subtitles)
    if not force and manifest.is_current(planned, options):
        return ExportResult(planned, skipped=True)

    from voiceguide.export import export_audio, export_split, export_subtitles
    from voiceguide.render import analyse, render
    from voiceguide.units import ms_to_frames

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
    level = analyse(timeline, bank)
    total = ms_to_frames(timeline.duration_ms)
    report = (lambda done: progress(done, total)) if progress else None
    blocks = render(timeline, bank, gain_db=level.gain_db)
    if split:
        written = export_split(timeline, blocks, output, bitrate=bitrate, progress=report)
    else:
        export_audio(timeline, blocks, output, bitrate=bitrate, progress=report)
        written = [output]
    if subtitles:
        vtt = output.with_suffix(".vtt")
        export_subtitles(timeline, vtt)
        written.append(vtt)
    manifest.record(planned, routine.files, options)
    return ExportResult(written, duration_ms=timeline.duration_ms, level=level)
