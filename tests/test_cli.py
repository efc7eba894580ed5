"""The command line: what it imports at start-up, how it reads an export's arguments.

``voiceguide --help`` must not import numpy or yaml; nor must an export when nothing changed
(that no-op is timed: ``benchmarks/bench_noop.py``). The options reach
``voiceguide.pipeline.export`` as typer read them.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import voiceguide.pipeline
from tests.conftest import vg, write
from voiceguide import manifest
from voiceguide.cli.run import Run
from voiceguide.export import DEFAULT_BITRATE
from voiceguide.voices.installed import dist_version

HEAVY = {"numpy", "yaml", "soundfile", "lameenc", "pyttsx3", "mutagen"}

SCRIPT = """\
title: Tiny
voice: {engine: fake}
steps:
  - name: Only
    duration: 3s
    say: Go.
"""


def run_cli(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime -m voiceguide ARGS``: the result and the modules imported
    (each by its full name and its top-level package's)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "voiceguide", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
    )
    modules = set()
    errors = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rpartition("|")[2].strip()
            if name != "imported package":  # the header line
                modules.update({name, name.split(".")[0]})
        else:
            errors.append(line)
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout, "\n".join(errors)
    ), (modules)


def test_help_imports_neither_numpy_nor_yaml(tmp_path: Path) -> None:
    proc, modules = run_cli("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "export" in proc.stdout
    assert "typer" in modules  # the check sees the imports
    assert not modules & HEAVY


def test_noop_export_imports_neither_numpy_nor_yaml(tmp_path: Path) -> None:
    script = write(tmp_path, SCRIPT)
    first, modules = run_cli("export", str(script), "-o", "out.wav", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("wrote out.wav\n")
    assert "numpy" in modules

    again, modules = run_cli("export", str(script), "-o", "out.wav", cwd=tmp_path)
    assert (again.returncode, again.stdout, again.stderr) == (
        0,
        "up to date: out.wav (use --force to redo)\n",
        "",
    )
    assert "typer" in modules
    assert not modules & (HEAVY | {"rich"})  # nor rich: no progress bar, no help

    # The same no-op with the options written otherwise: the same output, the same imports.
    other, modules = run_cli("--debug", "export", str(script), "-oout.wav", cwd=tmp_path)
    assert (other.returncode, other.stdout, other.stderr) == (0, again.stdout, "")
    assert not modules & (HEAVY | {"rich"})

    forced, modules = run_cli("export", str(script), "-o", "out.wav", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith("wrote out.wav\n")

    script.write_text(SCRIPT.replace("Go.", "Go on."), encoding="utf-8")
    changed, _ = run_cli("export", str(script), "-o", "out.wav", cwd=tmp_path)
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.startswith("wrote out.wav\n")


def test_a_command_is_built_when_it_is_used(tmp_path: Path) -> None:
    """``export`` imports its own command's module, not the others' (nor the player's)."""
    proc, modules = run_cli("export", "no-such-routine", cwd=tmp_path)
    assert proc.returncode == 3
    commands = {m for m in modules if m.startswith("voiceguide.cli.")}
    assert commands == {
        "voiceguide.cli.commands",
        "voiceguide.cli.export",
        "voiceguide.cli.options",
        "voiceguide.cli.run",
    }
    assert not any(m.startswith("voiceguide.player") for m in modules)

    helped, modules = run_cli("--help", cwd=tmp_path)
    assert helped.returncode == 0
    assert {"voiceguide.cli.ctl", "voiceguide.cli.play", "voiceguide.cli.plan"} <= modules


def test_errors_are_one_line_and_an_exit_code(tmp_path: Path) -> None:
    missing, _ = run_cli("export", "no-such-routine", cwd=tmp_path)
    assert missing.returncode == 3
    assert missing.stderr.strip() == (  # no made-up line and column
        "voiceguide: no such script: no-such-routine "
        "(not a file nor a built-in routine; see 'voiceguide routines')"
    )
    assert len(missing.stderr.splitlines()) == 1

    engine, _ = run_cli("voices", "--engine", "nope", cwd=tmp_path)  # the registry's words
    assert engine.returncode == 5
    assert engine.stderr.startswith("voiceguide: unknown speech engine 'nope'; use one of:")
    assert len(engine.stderr.splitlines()) == 1

    debug, _ = run_cli("--debug", "export", "no-such-routine", cwd=tmp_path)
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and "NoSuchScript" in debug.stderr

    script = write(tmp_path, SCRIPT)
    usage, _ = run_cli("export", str(script), "--bitrate", "fast", cwd=tmp_path)
    assert usage.returncode == 2
    assert usage.stdout == ""
    assert "--bitrate" in usage.stderr


# Argument lists, and what ``export`` passes on to ``voiceguide.pipeline.export`` for them.
EXPORTS: list[tuple[list[str], dict[str, Any]]] = [
    (["export", "daily"], {}),
    (["--debug", "export", "daily", "-o", "x.wav"], {"output": Path("x.wav"), "debug": True}),
    (
        ["export", "-o", "a b.mp3", "daily", "--bitrate", "96", "--split", "--subtitles"],
        {"output": Path("a b.mp3"), "bitrate": 96, "split": True, "subtitles": True},
    ),
    (
        ["export", "--output=x=y.ogg", "--bitrate=32", "daily", "--force", "--engine", "fake"],
        {"output": Path("x=y.ogg"), "bitrate": 32, "force": True, "engine": "fake"},
    ),
    (
        ["export", "daily", "-b", "128", "--engine=fake", "--subtitles", "--voice", "calm"],
        {"bitrate": 128, "engine": "fake", "subtitles": True, "voice": "calm"},
    ),
    (["export", "daily", "-b064", "-ox.mp3"], {"bitrate": 64, "output": Path("x.mp3")}),
    (["export", "--", "-daily"], {"script": "-daily"}),
]
DEFAULTS = {
    "script": "daily",
    "output": None,
    "engine": None,
    "voice": None,
    "bitrate": DEFAULT_BITRATE,
    "split": False,
    "subtitles": False,
    "force": False,
    "debug": False,
}


@pytest.mark.parametrize(("args", "expected"), EXPORTS, ids=[" ".join(a) for a, _ in EXPORTS])
def test_export_passes_its_options_on_as_read(
    args: list[str], expected: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from voiceguide.cli.commands import app

    seen: list[dict[str, Any]] = []

    def fake_export(script: str, output: Path | None = None, **kw: Any) -> Any:
        assert kw.pop("progress") is None  # not a terminal: no bar
        seen.append({"script": script, "output": output, **kw})
        return voiceguide.pipeline.ExportResult([Path("x")], skipped=True)

    monkeypatch.setattr(voiceguide.pipeline, "export", fake_export)
    run = Run()
    result = CliRunner().invoke(app, args, prog_name="voiceguide", obj=run)
    assert result.exit_code == 0, result.output
    assert result.output == "up to date: x (use --force to redo)\n"
    assert seen == [{k: v for k, v in {**DEFAULTS, **expected}.items() if k != "debug"}]
    assert run.debug == {**DEFAULTS, **expected}["debug"]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"bitrate": 64},
        {"subtitles": True},
        {"split": True},
        {"split": True, "subtitles": True, "bitrate": 32},
    ],
    ids=repr,
)
def test_an_export_is_current_until_something_changes(
    tmp_path: Path, options: dict[str, Any]
) -> None:
    """The record an export leaves names its outputs and options: current after an export,
    not after a change of options, output, or an output's bytes."""

    def up_to_date(
        script: str,
        output: Path | None,
        *,
        engine: str | None,
        bitrate: int,
        split: bool,
        subtitles: bool,
    ) -> list[Path] | None:
        target = output or voiceguide.pipeline.default_output(Path(script))
        planned = manifest.planned_outputs(target, split=split, subtitles=subtitles)
        opts = manifest.export_options(
            Path(script), target, engine=engine, bitrate=bitrate, split=split, subtitles=subtitles
        )
        return planned if manifest.is_current(planned, opts) else None

    script = write(tmp_path, SCRIPT)
    output = tmp_path / "out" / "tiny.mp3"
    check = {
        "engine": None,
        "bitrate": DEFAULT_BITRATE,
        "split": False,
        "subtitles": False,
        **options,
    }
    assert up_to_date(str(script), output, **check) is None
    result = voiceguide.pipeline.export(script, output, **options)
    assert not result.skipped
    planned = up_to_date(str(script), output, **check)
    assert planned is not None
    assert voiceguide.pipeline.export(script, output, **options).outputs == planned
    assert up_to_date(str(script), output, **{**check, "engine": "fake"}) is None
    assert up_to_date(str(script), output, **{**check, "bitrate": 48}) is None
    assert up_to_date(str(script), None, **check) is None  # audio/tiny.mp3
    planned[0].write_bytes(b"changed")
    assert up_to_date(str(script), output, **check) is None


@pytest.mark.parametrize("dist", ["pyttsx3", "numpy", "PyYAML", "pyyaml", "typer", "voiceguide"])
def test_dist_version_is_importlib_metadatas(dist: str) -> None:
    assert dist_version(dist) == metadata.version(dist)


def test_dist_version_of_a_missing_distribution() -> None:
    assert dist_version("no-such-tts") is None
    assert manifest.engine_fingerprint("nope") == "nope"


def test_dist_version_reads_dist_info_and_defers_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write(
        first,
        "Metadata-Version: 2.1\nName: Demo.Pkg\nVersion: 1.2rc1\n\nVersion: 9\n",
        "demo_pkg-1.2rc1.dist-info/METADATA",
    )
    write(second, "Metadata-Version: 1.1\nName: demo-pkg\nVersion: 0.5\n", "demo_pkg-0.5.egg-info")
    write(second, "Metadata-Version: 1.1\nName: other\nVersion: 3\n", "other-3.egg-info/PKG-INFO")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), str(first), str(second)])
    metadata_version = metadata.version
    assert dist_version("demo-pkg") == "1.2rc1" == metadata_version("demo-pkg")
    assert dist_version("Demo_Pkg") == "1.2rc1"
    assert dist_version("other") == "3" == metadata_version("other")  # egg-info
    monkeypatch.setattr(sys, "path", [str(second), str(first)])
    assert dist_version("demo-pkg") == "0.5" == metadata_version("demo-pkg")
    assert dist_version("absent") is None


def test_engine_fingerprint_keeps_its_form() -> None:
    """The fingerprint reads as before (importlib.metadata): recorded exports stay current."""
    expected = f"pyttsx3;pyttsx3={metadata.version('pyttsx3')}"
    assert manifest.engine_fingerprint("pyttsx3").startswith(expected)
    assert manifest.engine_fingerprint("fake") == "fake"


def test_engine_fingerprint_without_an_engine_covers_the_default_and_every_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A script names its engines per step or cue, so an export without --engine is made
    again when any engine changes, or when the default engine does."""
    from voiceguide.voices import ENGINE_ENV, ENGINES

    monkeypatch.setenv(ENGINE_ENV, "pyttsx3")
    whole = manifest.engine_fingerprint(None)
    assert whole.split("\n")[0] == "pyttsx3"
    for name in ENGINES:
        assert manifest.engine_fingerprint(name) in whole
    monkeypatch.setenv(ENGINE_ENV, "fake")
    assert manifest.engine_fingerprint(None) != whole


def test_app_is_still_available() -> None:
    import typer

    import voiceguide.cli

    assert isinstance(voiceguide.cli.app, typer.Typer)
    with pytest.raises(AttributeError):
        _ = voiceguide.cli.no_such_thing


def test_a_different_script_to_the_same_output_is_never_a_noop(tmp_path: Path) -> None:
    """The no-op check keys on the script being exported now: another script (or the same
    text at another path) exported to the same file is exported, not "up to date"."""
    first = write(tmp_path, SCRIPT, "first.yaml")
    second = write(tmp_path, SCRIPT.replace("Go.", "Breathe."), "second.yaml")
    copy = write(tmp_path / "elsewhere", SCRIPT, "first.yaml")
    out = tmp_path / "x.wav"

    done, _ = run_cli("export", str(first), "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    made_by_first = out.read_bytes()
    again, _ = run_cli("export", str(first), "-o", str(out), cwd=tmp_path)
    assert again.stdout.startswith("up to date"), again.stdout

    other, _ = run_cli("export", str(second), "-o", str(out), cwd=tmp_path)
    assert other.returncode == 0, other.stderr
    assert other.stdout.startswith(f"wrote {out}\n"), other.stdout
    assert out.read_bytes() != made_by_first

    for script in (first, copy, second):  # each one a real export after the one before
        proc, _ = run_cli("export", str(script), "-o", str(out), cwd=tmp_path)
        assert proc.stdout.startswith(f"wrote {out}\n"), (script, proc.stdout)
    assert voiceguide.pipeline.export(second, out).skipped
    assert not voiceguide.pipeline.export(first, out).skipped


RECORDER = """\
import sys
from pathlib import Path
from voiceguide import manifest
script, folder, tag = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
for i in range(40):
    out = folder / f"{tag}-{i}.wav"
    out.write_bytes(b"audio")
    opts = manifest.export_options(
        script, out, engine="fake", bitrate=96, split=False, subtitles=False
    )
    manifest.record([out], [out], [script], opts)
"""


def test_two_exports_at_once_lose_no_record(tmp_path: Path) -> None:
    """Two processes recording exports at the same time: every record survives."""
    script = write(tmp_path, SCRIPT)
    procs = [
        subprocess.Popen([sys.executable, "-c", RECORDER, str(script), str(tmp_path), tag])
        for tag in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    for tag in ("a", "b"):
        for i in range(40):
            out = tmp_path / f"{tag}-{i}.wav"
            opts = manifest.export_options(
                script, out, engine="fake", bitrate=96, split=False, subtitles=False
            )
            assert manifest.is_current([out], opts), out


def blocked_on(pid: int, lock: Path) -> bool:
    """True if ``pid`` waits for an flock on ``lock`` (``/proc/locks``: ``->`` lines)."""
    inode = lock.stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        waiting = len(fields) > 6 and fields[1:3] == ["->", "FLOCK"]
        if waiting and fields[5] == str(pid) and fields[6].rsplit(":", 1)[-1] == str(inode):
            return True
    return False


def test_two_exports_to_one_output_take_turns(tmp_path: Path) -> None:
    """An export to a file another export is making waits for it: the record of the output
    is always that of the export whose file is there."""
    import time

    first = write(tmp_path, SCRIPT, "first.yaml")
    second = write(tmp_path, SCRIPT.replace("Go.", "Breathe."), "second.yaml")
    out = tmp_path / "x.wav"
    assert not voiceguide.pipeline.export(first, out).skipped
    made_by_first = out.read_bytes()
    with manifest.exclusive(out):  # as an export of ``first`` under way holds it
        proc = subprocess.Popen(
            [sys.executable, "-m", "voiceguide", "export", str(second), "-o", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lock = manifest.record_path(out).with_suffix(".lock")
        deadline = time.monotonic() + 60
        while not blocked_on(proc.pid, lock):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the second export never waited for the lock"
            time.sleep(0.005)
        assert out.read_bytes() == made_by_first  # it waits before doing anything
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert stdout.startswith(f"wrote {out}\n")
    assert voiceguide.pipeline.export(second, out).skipped
    assert not voiceguide.pipeline.export(first, out).skipped


def test_a_lossy_file_that_cannot_be_read_back_is_kept_unmeasured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the decoder cannot read the file back (an old libsndfile without MP3), the
    export still stands; it reports no loudness or peak rather than the mix's."""
    import voiceguide.export.measure

    def unreadable(paths: list[Path]) -> tuple[float, float]:
        raise RuntimeError("Error opening: File contains data in an unknown format.")

    monkeypatch.setattr(voiceguide.export.measure, "measure", unreadable)
    result = voiceguide.pipeline.export(write(tmp_path, SCRIPT), tmp_path / "x.mp3")
    assert (result.lufs, result.peak_dbtp) == (None, None)
    assert result.outputs == [tmp_path / "x.mp3"] and (tmp_path / "x.mp3").stat().st_size > 0


PLANNED = """\
title: Planned
voice: {engine: fake}
intro: Welcome.
outro: Well done.
steps:
  - {name: Warm Up, duration: 5s, say: Begin.}
  - {name: Cool Down, duration: 5s, say: Slow down.}
"""


def test_plan_names_the_intro_and_outro_as_their_chapters(tmp_path: Path) -> None:
    """An event of no step is named by its chapter: the intro's are not "Closing"."""
    proc = vg("plan", str(write(tmp_path, PLANNED)), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    said = {e["text"]: (e["step"], e["step_name"]) for e in data["events"] if "text" in e}
    assert said == {
        "Welcome.": (None, "Introduction"),
        "Begin.": (0, "Warm Up"),
        "Slow down.": (1, "Cool Down"),
        "Well done.": (None, "Closing"),
    }
    titles = {c["title"]: c["step"] for c in data["chapters"]}
    assert titles == {"Introduction": None, "Warm Up": 0, "Cool Down": 1, "Closing": None}


def test_plan_numbers_the_steps_as_play_from_counts_them(tmp_path: Path) -> None:
    proc = vg("plan", str(write(tmp_path, PLANNED)))
    assert proc.returncode == 0, proc.stderr
    chapters = [line.split("==")[1].strip() for line in proc.stdout.splitlines() if "==" in line]
    assert chapters == ["Introduction", "1. Warm Up", "2. Cool Down", "Closing"]
    intro = next(line for line in proc.stdout.splitlines() if line.endswith("Welcome."))
    assert "Introduction" in intro


def export_on_a_pty(script: Path, output: Path) -> tuple[int, str, str]:
    """``voiceguide export`` with its stderr on a pseudo-terminal and stdout on a pipe: the
    exit code, what stdout held and what the terminal was sent."""
    main, terminal = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "80"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "export", str(script), "-o", str(output)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=env,
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    return proc.wait(timeout=60), out, seen.decode(errors="replace")


def test_export_draws_its_progress_on_a_terminal_stderr_only(tmp_path: Path) -> None:
    """The bar goes to stderr even when stdout is a pipe; stdout lists the files alone."""
    code, out, terminal = export_on_a_pty(write(tmp_path, PLANNED), tmp_path / "x.wav")
    assert code == 0, terminal
    assert "exporting" in terminal and "━" in terminal
    assert out.splitlines()[0] == f"wrote {tmp_path / 'x.wav'}"
    assert len(out.splitlines()) == 2 and out.splitlines()[1].startswith("length ")


def test_export_prints_no_progress_when_stderr_is_no_terminal(tmp_path: Path) -> None:
    proc = vg("export", str(write(tmp_path, PLANNED)), "-o", str(tmp_path / "x.wav"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines()[0] == f"wrote {tmp_path / 'x.wav'}"
