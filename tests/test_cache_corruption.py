"""A damaged cache never reaches the audio: every entry is verified when it is read.

Each kind of damage once found (random bytes in a clip's body, flipped bytes, bad stats, a
zero-length or torn file after a power cut, a levels file with valid contents but wrong
numbers) is made to a real export's cache; the next export must warn once, make the entry
again and write exactly what a clean cache gives. A seeded random sweep then damages
entries in every way at once and counts what the reader catches.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, write
from voiceguide import storage as store
from voiceguide.voices.entry import SUFFIX, read_entry, write_entry

SCRIPT = """\
title: Corruption check
intro: Find a quiet spot.
steps:
  - name: Breathe
    duration: 14s
    say: Breathe slowly.
    breathing:
      pattern: 4-0-6-0
      spoken_cycles: 1
outro: Well done.
"""


def export(script: Path, cache: Path, output: Path) -> subprocess.CompletedProcess[str]:
    """``voiceguide export SCRIPT -o OUTPUT --force`` with its own cache (the real CLI)."""
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", str(script), "-o", str(output), "--force"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    """A real export (espeak-ng, WAV): its script, its filled cache, and its audio."""
    root = tmp_path_factory.mktemp("clean")
    script = write(root, SCRIPT)
    done = export(script, root / "cache", root / "clean.wav")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return script, root / "cache", (root / "clean.wav").read_bytes()


def clips(cache: Path) -> list[Path]:
    return sorted((cache / "speech").glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_size)


def flip(path: Path, count: int, seed: int, start: int = store.HEADER.size) -> None:
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    for i in rng.sample(range(start, len(data)), count):
        data[i] ^= 1 + rng.randrange(255)
    path.write_bytes(bytes(data))


def random_body(path: Path) -> None:
    """The finding: random bytes over a clip's samples, the file's size unchanged."""
    data = bytearray(path.read_bytes())
    body = store.HEADER.size + 8
    data[body:] = random.Random(7).randbytes(len(data) - body)
    path.write_bytes(bytes(data))


def bad_stats(path: Path) -> None:
    """Stats (the peaks and energies after the samples) overwritten with zeros."""
    data = bytearray(path.read_bytes())
    frames = int.from_bytes(data[store.HEADER.size : store.HEADER.size + 8], "little")
    stats_at = store.HEADER.size + 8 + 4 * frames
    data[stats_at:] = bytes(len(data) - stats_at)
    path.write_bytes(bytes(data))


def loud_but_checksummed(path: Path) -> None:
    """Samples four times too loud with stats to match, and a valid checksum: what only
    the sanity check (samples within full scale) can catch."""
    from voiceguide.dsp.clips import chunk_stats

    key = path.stem
    samples, _ = read_entry(path, key)
    louder = samples * np.float32(4.0)
    write_entry(path, key, louder, chunk_stats(louder))


def lying_peaks_checksummed(path: Path) -> None:
    """Peaks under the samples' own (a mix limiter would trust them), checksum valid."""
    key = path.stem
    samples, stats = read_entry(path, key)
    stats = stats.copy()
    stats[0] *= np.float32(0.25)
    write_entry(path, key, samples, stats)


def wrong_level(cache: Path) -> None:
    """The finding: a levels file with valid contents (and, here, a valid checksum) but a
    gain that would export at -2.5 LUFS."""
    (path,) = (cache / "levels").glob("*.level")
    level = json.loads(store.read(path, path.stem.encode()))
    level["gain_db"] += 13.5
    level["output_lufs"] += 13.5
    store.write(path, path.stem.encode(), [json.dumps(level).encode()])


def tone(cache: Path) -> Path:
    return sorted((cache / "tones").glob("*.stats"))[0]


PLAIN_LEVEL = {"gain_db": 13.5, "limit_dbtp": -1.5, "post_gain_db": 0.0}
PLAIN_LEVEL |= {"output_lufs": -2.5, "output_peak_db": -1.5}

DAMAGE: dict[str, Callable[[Path], object]] = {
    "clip body random, same size": lambda c: random_body(clips(c)[-1]),
    "clip with 20 flipped bytes": lambda c: flip(clips(c)[-1], 20, seed=20),
    "clip with 1 flipped byte": lambda c: flip(clips(c)[0], 1, seed=1),
    "clip stats zeroed": lambda c: bad_stats(clips(c)[-1]),
    "clip zero-length (power cut)": lambda c: clips(c)[0].write_bytes(b""),
    "clip torn in half": lambda c: clips(c)[0].write_bytes(clips(c)[0].read_bytes()[:1000]),
    "clip too loud, checksum valid": lambda c: loud_but_checksummed(clips(c)[-1]),
    "clip peaks lie, checksum valid": lambda c: lying_peaks_checksummed(clips(c)[-1]),
    "tone stats zero-length (power cut)": lambda c: tone(c).write_bytes(b""),
    "tone stats torn": lambda c: tone(c).write_bytes(tone(c).read_bytes()[:100]),
    "tone stats flipped bytes": lambda c: flip(tone(c), 20, seed=3),
    "levels file zero-length": lambda c: next((c / "levels").glob("*.level")).write_bytes(b""),
    "levels numbers wrong, checksum valid": wrong_level,
    "levels file plain JSON": lambda c: next((c / "levels").glob("*.level")).write_text(
        json.dumps(PLAIN_LEVEL)
    ),
}


@pytest.mark.e2e
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_entry_is_made_again_and_the_export_is_exact(
    damage: str, clean: tuple[Path, Path, bytes], tmp_path: Path
) -> None:
    script, filled, expected = clean
    cache = tmp_path / "cache"
    shutil.copytree(filled, cache)
    DAMAGE[damage](cache)
    done = export(script, cache, tmp_path / "out.wav")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    warnings = done.stderr.splitlines()
    assert len(warnings) == 1, done.stderr  # one line, naming the entry and what was wrong
    assert warnings[0].startswith("voiceguide: ") and "again" in warnings[0]
    assert (tmp_path / "out.wav").read_bytes() == expected
    again = export(script, cache, tmp_path / "again.wav")  # and the entry is whole again
    assert again.returncode == 0 and again.stderr == "", again.stderr


TRIES = 300


def damages(tries: int, directory: Path) -> Iterator[bool]:
    """For each seeded random damage to a clip entry (flipped bytes anywhere, header
    included; truncation; extension; zeroed ranges; another entry's file under this name):
    whether reading the entry refused it. Also run at scale by ``benchmarks/bench_cache.py``."""
    from voiceguide.dsp.clips import chunk_stats

    rng = np.random.default_rng(5)
    entries = []
    for i in range(3):
        samples = (rng.standard_normal(2400 + 700 * i) * 0.1).astype(np.float32)
        path = directory / f"k{i}{SUFFIX}"
        write_entry(path, path.stem, samples, chunk_stats(samples))
        entries.append((path, path.read_bytes()))
    seeds = random.Random(11)
    for _ in range(tries):
        index = seeds.randrange(len(entries))
        path, good = entries[index]
        data = bytearray(good)
        how = seeds.choice(["flip", "truncate", "extend", "zero", "swap"])
        if how == "flip":
            for i in seeds.sample(range(len(data)), seeds.randint(1, 40)):
                data[i] ^= 1 + seeds.randrange(255)
        elif how == "truncate":
            del data[seeds.randrange(len(data)) :]
        elif how == "extend":
            data += bytes(seeds.randint(1, 64))
        elif how == "zero":
            a = seeds.randrange(len(data))
            b = min(len(data), a + seeds.randint(1, 5000))
            data[a:b] = bytes(b - a)
        else:
            data = bytearray(entries[(index + 1) % len(entries)][1])
        if bytes(data) == good:
            data[seeds.randrange(len(data))] ^= 0xFF
        path.write_bytes(bytes(data))
        try:
            read_entry(path, path.stem)
            yield False
        except store.BadEntry:
            yield True
        path.write_bytes(good)


def test_random_damage_is_always_detected(tmp_path: Path) -> None:
    """Every seeded random damage to a clip entry is refused when the entry is read."""
    detected = sum(damages(TRIES, tmp_path))
    print(f"random cache damage: {detected} of {TRIES} detected")
    assert detected == TRIES


def test_a_cache_file_is_fsynced_before_it_is_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power cut after the rename must not leave a zero-length entry: the data is
    flushed to disk first, and the rename itself after."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync-dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync-file")
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    store.write(tmp_path / "entry.clip", b"key", [b"payload"])
    assert events == ["fsync-file", "rename", "fsync-dir"]
    assert store.read(tmp_path / "entry.clip", b"key") == b"payload"
    with pytest.raises(store.BadEntry, match="checksum"):
        store.read(tmp_path / "entry.clip", b"another key")  # copied under another name
    (tmp_path / "empty.clip").write_bytes(b"")
    with pytest.raises(store.BadEntry, match="empty"):
        store.read(tmp_path / "empty.clip", b"key")


@pytest.mark.e2e
def test_every_clip_of_the_daily_routine_verifies(capfd: pytest.CaptureFixture[str]) -> None:
    """The checks refuse no real clip: long ones have energies that round a hair below
    zero in float32 (the intro's paragraphs were refused and made again on every load)."""
    from voiceguide.pipeline import compile_script
    from voiceguide.timeline import Speech
    from voiceguide.voices.cache import SpeechCache

    _, compiled, bank = compile_script("daily")
    assert isinstance(bank, SpeechCache)
    speech = [e for e in compiled.timeline.events if isinstance(e, Speech)]
    for event in speech:
        clip = bank.clip(event.spoken, event.voice)
        samples, _ = read_entry(clip.path, clip.key)  # raises BadEntry if refused
        assert samples.size == clip.frames
    assert capfd.readouterr().err == ""
