"""Export benchmarks, each figure a ratio to a floor measured side by side in the same run.

Run from the repository root (takes about a minute; ``--repeat`` sets the repetitions)::

    .venv/bin/python benchmarks/bench_export.py

Shared machines are noisy, so every time is set against a floor timed in the same run,
interleaved with it, and reported as the median (and min) of ``--repeat`` runs:

a. ``voiceguide export daily`` to MP3 as a subprocess of the real command line: cold (a fresh
   empty cache each time) against the ``espeak-ng`` command line speaking the same cues (one
   ``espeak-ng -w`` per distinct text, same rate) plus the MP3 encoder alone; warm (cache
   filled, ``--force``) against the encoder alone (lameenc on the export's PCM with the
   exporter's settings and block size, timed around the encoding inside a child process).
b. The same export when nothing changed (no ``--force``), against ``python -c pass``.
c. Peak RSS of a 60-minute export (six times the daily routine) against the 10-minute one,
   warm cache, each read from its own child process (``os.wait4``).
d. ``voiceguide --help``, against ``python -c pass``.

Exits 0 after printing the table (targets missed are marked, not fatal); 1 if a command
fails (its stderr is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from report import cells, layout, prepare

REPO = Path(__file__).resolve().parent.parent
DAILY = REPO / "scripts" / "daily.yaml"
VOICEGUIDE = [sys.executable, "-m", "voiceguide"]
PYTHON_FLOOR = [sys.executable, "-c", "pass"]
MB = 1_000_000  # bytes; ru_maxrss is in KiB on Linux

# Targets.
WARM_MAX = 1.3  # x the encoder alone
COLD_MAX = 1.5  # x (espeak-ng CLI + encoder)
NOOP_MAX_S = 0.25  # the no-op re-export goes through typer
HELP_MAX_S = 0.3
RSS_60_MAX_MB = 120.0
RSS_GROWTH_MAX_MB = 15.0


class CommandFailed(Exception):
    """A benchmarked command exited non-zero (or did not do what it was run for)."""

    def __init__(self, cmd: Sequence[str], code: int, stderr: str) -> None:
        super().__init__(f"{' '.join(cmd)} exited with {code}")
        self.stderr = stderr


@dataclass(frozen=True)
class Run:
    """One child process: its wall time, peak RSS and output."""

    seconds: float
    max_rss_kib: int
    stdout: str


def run(cmd: Sequence[str], cache: Path | None = None) -> Run:
    """Run ``cmd`` (in the repository, ``VOICEGUIDE_CACHE_DIR=cache``), timed; raise on failure.

    Output goes to files, not pipes, so the child can be reaped with ``os.wait4``, which gives
    its own resource usage (peak RSS) rather than the sum over all children.
    """
    env = dict(os.environ)
    if cache is not None:
        env["VOICEGUIDE_CACHE_DIR"] = str(cache)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise CommandFailed(cmd, proc.returncode, stderr)
    return Run(seconds, usage.ru_maxrss, stdout)


def export_cmd(script: Path | str, output: Path, *extra: str) -> list[str]:
    return [*VOICEGUIDE, "export", str(script), "-o", str(output), *extra]


def espeak_commands(plan: str, folder: Path) -> list[list[str]]:
    """One ``espeak-ng -w`` per distinct spoken text, with the cue's rate and volume."""
    events = json.loads(plan)["events"]
    spoken: dict[tuple[str, str], list[str]] = {}
    for event in events:
        if event["kind"] != "speech":
            continue
        voice = event.get("voice") or {}
        if voice.get("engine", "pyttsx3") != "pyttsx3":
            raise SystemExit(f"bench_export: a cue uses the {voice['engine']!r} engine")
        opts: list[str] = []
        if voice.get("voice"):
            opts += ["-v", str(voice["voice"])]
        if voice.get("rate"):
            opts += ["-s", str(voice["rate"])]
        if voice.get("volume") is not None:  # pyttsx3 sets espeak's volume to 100 x volume
            opts += ["-a", str(round(100 * float(voice["volume"])))]
        spoken.setdefault((event["text"], " ".join(opts)), opts)
    return [
        ["espeak-ng", *opts, "-w", str(folder / f"{i}.wav"), text]
        for i, ((text, _), opts) in enumerate(spoken.items())
    ]


def encoder_floor(wav: Path) -> float:
    """Seconds lameenc alone takes to encode ``wav``'s PCM with the MP3 exporter's settings.

    Run in a child process (``--encoder-floor``): holding the PCM here would raise the peak
    RSS that ``os.wait4`` reports for every later child (a child's ``ru_maxrss`` includes
    the parent memory it was forked from).
    """
    import lameenc
    import numpy as np
    import soundfile

    from voiceguide import render
    from voiceguide.export import mp3
    from voiceguide.export.bitrate import DEFAULT_BITRATE
    from voiceguide.units import SAMPLE_RATE

    pcm, rate = soundfile.read(str(wav), dtype="int16")
    if rate != SAMPLE_RATE or pcm.ndim != 1:
        raise SystemExit(f"bench_export: {wav} is not mono {SAMPLE_RATE} Hz")
    block = int(getattr(render, "BLOCK_FRAMES", SAMPLE_RATE))
    blocks = [np.ascontiguousarray(pcm[i : i + block]).tobytes() for i in range(0, len(pcm), block)]

    start = time.perf_counter()
    encoder = lameenc.Encoder()
    encoder.set_channels(1)
    encoder.set_in_sample_rate(SAMPLE_RATE)
    encoder.set_out_sample_rate(SAMPLE_RATE)
    encoder.set_bit_rate(DEFAULT_BITRATE)
    encoder.set_quality(mp3.QUALITY)
    encoder.silence()
    size = 0
    for data in blocks:
        size += len(encoder.encode(data))
    size += len(encoder.flush())
    seconds = time.perf_counter() - start
    if not size:
        raise SystemExit("bench_export: lameenc produced nothing")
    return seconds


@dataclass
class Row:
    label: str
    times: list[float]  # or sizes in MB
    floor_label: str = ""
    floor: float | None = None
    ratio: str = ""
    target: str = ""
    ok: bool | None = None  # None: no target
    unit: str = "s"


def fmt(value: float, unit: str) -> str:
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def table(rows: list[Row]) -> str:
    return layout(
        [
            cells(
                row.label,
                row.times,
                lambda v, unit=row.unit: fmt(v, unit),
                floor_label=row.floor_label,
                floor=row.floor,
                ratio=row.ratio,
                target=row.target,
                ok=row.ok,
            )
            for row in rows
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement [3]")
    parser.add_argument("--encoder-floor", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.encoder_floor:
        print(encoder_floor(args.encoder_floor))
        return 0
    repeat = max(1, args.repeat)
    if shutil.which("espeak-ng") is None:
        print("bench_export: espeak-ng is not installed (./setup.sh installs it)", file=sys.stderr)
        return 1
    began = time.perf_counter()
    machine = prepare(REPO)
    print(f"voiceguide export benchmark: {repeat} runs each, median and min\n{machine}")
    try:
        with tempfile.TemporaryDirectory(prefix="voiceguide-bench-") as tmp:
            rows = measure(Path(tmp), repeat)
    except CommandFailed as exc:
        print(f"bench_export: {exc}\n{exc.stderr}", file=sys.stderr)
        return 1
    except OSError as exc:  # a command that cannot be started
        print(f"bench_export: {exc}", file=sys.stderr)
        return 1
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB
    print()
    print(table(rows))
    print(
        "\nratio: median / floor median (a, b, d); c: growth of the median peak RSS over the"
        "\n10-minute export's. Targets: a. the ratio; b, d: the median itself; c: the 60-minute"
        "\npeak RSS and its growth. MB = 10^6 bytes. This process's own peak RSS:"
        f" {own_rss:.1f} MB\n(a child's reported peak cannot be lower)."
        f" Whole run {time.perf_counter() - began:.0f} s."
    )
    return 0


def measure(tmp: Path, repeat: int) -> list[Row]:
    mp3 = tmp / "daily.mp3"
    cold: list[Run] = []
    warm: list[Run] = []
    espeak: list[float] = []
    encoder: list[float] = []
    espeak_cmds: list[list[str]] = []
    wav: Path | None = None
    cache = tmp / "cache"
    for i in range(repeat):
        # a. cold: a fresh empty cache; warm: the cache that run filled, with --force.
        cache = tmp / f"cache-{i}"
        cache.mkdir()
        cold.append(run(export_cmd(DAILY, mp3, "--force"), cache))
        warm.append(run(export_cmd(DAILY, mp3, "--force"), cache))
        if wav is None:  # once, untimed: the cue texts and the export's PCM
            (tmp / "espeak").mkdir()
            plan = run([*VOICEGUIDE, "plan", str(DAILY), "--json"], cache).stdout
            espeak_cmds = espeak_commands(plan, tmp / "espeak")
            wav = tmp / "daily.wav"
            run(export_cmd(DAILY, wav, "--force"), cache)
        espeak.append(sum(run(cmd).seconds for cmd in espeak_cmds))
        floor = run([sys.executable, __file__, "--encoder-floor", str(wav)])
        encoder.append(float(floor.stdout))
        print(
            f"  run {i + 1}/{repeat}: cold {cold[-1].seconds:.2f} s, warm {warm[-1].seconds:.2f} s,"
            f" espeak-ng {espeak[-1]:.2f} s, encoder {encoder[-1]:.2f} s;"
            f" warm peak RSS {warm[-1].max_rss_kib * 1024 / MB:.1f} MB",
            flush=True,
        )

    # b, d: start-up, interleaved with the interpreter's own.
    noop: list[float] = []
    helps: list[float] = []
    python: list[float] = []
    for _ in range(repeat):
        python.append(run(PYTHON_FLOOR).seconds)
        result = run(export_cmd(DAILY, mp3), cache)
        if not result.stdout.startswith("up to date"):
            raise CommandFailed(
                export_cmd(DAILY, mp3), 0, f"expected 'up to date', got:\n{result.stdout}"
            )
        noop.append(result.seconds)
        helps.append(run([*VOICEGUIDE, "--help"]).seconds)

    # c: peak RSS, 60 minutes against 10 (warm cache: an untimed export fills it first).
    hour = tmp / "hour.yaml"
    include = json.dumps(str(DAILY))
    hour.write_text(
        "title: One Hour Back Release\nsteps:\n"
        + "".join(f"  - include: {include}\n" for _ in range(6)),
        encoding="utf-8",
    )
    run(export_cmd(hour, tmp / "hour.mp3", "--force"), cache)
    hour_rss: list[float] = []
    for i in range(repeat):
        hour_run = run(export_cmd(hour, tmp / "hour.mp3", "--force"), cache)
        hour_rss.append(hour_run.max_rss_kib * 1024 / MB)
        print(
            f"  60-minute export {i + 1}/{repeat}: {hour_run.seconds:.1f} s,"
            f" peak RSS {hour_rss[-1]:.1f} MB",
            flush=True,
        )
    rss10 = statistics.median(r.max_rss_kib for r in warm) * 1024 / MB
    rss60 = statistics.median(hour_rss)

    m = statistics.median
    cold_floor = m(espeak) + m(encoder)
    py = m(python)
    return [
        Row(
            "a. export daily, cold cache",
            [r.seconds for r in cold],
            f"espeak-ng CLI ({len(espeak_cmds)} texts) + encoder",
            cold_floor,
            f"{m(r.seconds for r in cold) / cold_floor:.2f}x",
            f"<= {COLD_MAX}x",
            m(r.seconds for r in cold) <= COLD_MAX * cold_floor,
        ),
        Row(
            "a. export daily, warm cache, --force",
            [r.seconds for r in warm],
            "encoder alone (lameenc)",
            m(encoder),
            f"{m(r.seconds for r in warm) / m(encoder):.2f}x",
            f"<= {WARM_MAX}x",
            m(r.seconds for r in warm) <= WARM_MAX * m(encoder),
        ),
        Row("   floor: espeak-ng CLI alone", espeak),
        Row("   floor: encoder alone", encoder),
        Row("   floor: python -c pass", python),
        Row(
            "b. re-export, nothing changed",
            noop,
            "python -c pass",
            py,
            f"{m(noop) / py:.1f}x",
            f"<= {NOOP_MAX_S} s",
            m(noop) <= NOOP_MAX_S,
        ),
        Row(
            "c. peak RSS, 60-min export (warm)",
            hour_rss,
            "10-min export (warm)",
            rss10,
            f"{rss60 - rss10:+.1f} MB",
            f"<= {RSS_60_MAX_MB:.0f} MB, +{RSS_GROWTH_MAX_MB:.0f} MB",
            rss60 <= RSS_60_MAX_MB and rss60 - rss10 <= RSS_GROWTH_MAX_MB,
            unit="MB",
        ),
        Row(
            "d. voiceguide --help",
            helps,
            "python -c pass",
            py,
            f"{m(helps) / py:.1f}x",
            f"<= {HELP_MAX_S} s",
            m(helps) <= HELP_MAX_S,
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
