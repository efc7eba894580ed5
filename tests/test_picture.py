"""``voiceguide plan --svg``: the picture's bars, ticks and breath band read back against
``plan --json``, for the daily routine and a routine with sides, a rest and a wait."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write
from voiceguide.errors import ExitCode, ExportError
from voiceguide.export.picture import write_picture
from voiceguide.timeline import Chapter, Silence, Speech, Timeline, Tone
from voiceguide.words import ENGLISH

SVG = "{http://www.w3.org/2000/svg}"
BREATH_TONES = {"inhale", "exhale", "hold"}

SIDED = """\
title: Picture
voice: {engine: fake}
intro: Welcome to a short routine with a long introduction that runs on.
outro: Well done.
rest: 10s
steps:
  - name: Warm Up
    duration: 40s
    say: Stand tall.
    breathing: {pattern: 4-2-6-2, spoken_cycles: 1}
  - name: Twist
    duration: 1m
    sides: true
    wait: {say: Ready?, pause: 3s}
    say: Twist to the {side}.
    switch: Other side.
    cues:
      - {at: 10s, say: Breathe into the tight areas and keep the spine long and easy.}
"""


def vg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
        timeout=300,
    )


class Drawn:
    """A routine's ``plan --json`` and its ``plan --svg`` picture, parsed."""

    def __init__(self, plan: dict[str, Any], root: ET.Element) -> None:
        self.plan, self.root = plan, root
        self.plot_x = float(root.attrib["data-plot-x"])
        self.plot_w = float(root.attrib["data-plot-width"])
        self.duration = int(root.attrib["data-duration-ms"])

    def x(self, ms: int) -> float:
        """Where file time ``ms`` must be drawn, from the root's mapping."""
        return self.plot_x + ms * self.plot_w / self.duration

    def items(self, cls: str) -> list[ET.Element]:
        return [e for e in self.root.iter() if e.get("class") == cls]


@pytest.fixture(scope="module", params=["daily", "sided"])
def drawn(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Drawn:
    folder = tmp_path_factory.mktemp("picture")
    script = "daily" if request.param == "daily" else str(write(folder, SIDED))
    listed = vg("plan", "--json", script)
    assert listed.returncode == 0, listed.stderr
    out = folder / "plan.svg"
    drew = vg("plan", script, "--svg", str(out))
    assert drew.returncode == 0, drew.stderr
    assert drew.stdout.startswith(f"{out}: "), drew.stdout  # says what it wrote, no table
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no temporary
    return Drawn(json.loads(listed.stdout), ET.parse(out).getroot())


def test_the_picture_is_one_svg_of_the_routine(drawn: Drawn) -> None:
    assert drawn.root.tag == f"{SVG}svg"
    assert drawn.root.attrib["data-title"] == drawn.plan["title"]
    assert drawn.duration == drawn.plan["duration_ms"]
    assert int(drawn.root.attrib["data-origin-ms"]) == drawn.plan["origin_ms"]


def test_every_part_bar_spans_its_part(drawn: Drawn) -> None:
    parts = drawn.plan["parts"]
    bars = drawn.items("part")
    assert len(bars) == len(parts)
    for part, bar in zip(parts, bars, strict=True):
        assert (bar.get("data-kind"), bar.get("data-name")) == (part["kind"], part["name"])
        assert int(bar.attrib["data-start-ms"]) == part["start_ms"]
        assert int(bar.attrib["data-end-ms"]) == part["end_ms"]
        rect = bar.find(f"{SVG}rect")
        assert rect is not None
        x, width = float(rect.attrib["x"]), float(rect.attrib["width"])
        assert abs(x - drawn.x(part["start_ms"])) < 1, part
        assert abs(x + width - drawn.x(part["end_ms"])) < 1, part
        title = bar.find(f"{SVG}title")
        assert title is not None and part["name"] in (title.text or "")


def test_the_parts_tile_the_file_and_follow_the_chapters(drawn: Drawn) -> None:
    """The parts listed are the timeline's own: one after another without a gap, from the
    first chapter to the last, each inside the chapter of its step."""
    parts, chapters = drawn.plan["parts"], drawn.plan["chapters"]
    assert parts[0]["start_ms"] == chapters[0]["start_ms"] == 0
    assert parts[-1]["end_ms"] == chapters[-1]["end_ms"]
    for a, b in zip(parts, parts[1:], strict=False):
        assert a["end_ms"] == b["start_ms"]
    for part in parts:
        if part["step"] is not None:
            chapter = next(c for c in chapters if c["step"] == part["step"])
            assert chapter["start_ms"] <= part["start_ms"] < part["end_ms"] <= chapter["end_ms"]


def test_rests_and_waits_are_drawn_apart_from_the_steps(drawn: Drawn) -> None:
    fills = {
        bar.attrib["data-kind"]: rect.attrib["fill"]
        for bar in drawn.items("part")
        if (rect := bar.find(f"{SVG}rect")) is not None
    }
    if drawn.plan["title"] != "Picture":
        assert set(fills) == {"intro", "step", "side", "closing"}
        return
    assert set(fills) == {"intro", "step", "rest", "wait", "side", "closing"}
    assert fills["rest"] == "url(#rest)" and fills["wait"] == "url(#wait)"
    patterns = {p.attrib["id"] for p in drawn.root.iter(f"{SVG}pattern")}
    assert {"rest", "wait"} <= patterns
    assert not {fills["step"], fills["side"]} & {fills["rest"], fills["wait"]}


def test_every_cue_tick_is_at_its_cue(drawn: Drawn) -> None:
    speech = [e for e in drawn.plan["events"] if e["kind"] == "speech"]
    ticks = drawn.items("cue")
    assert len(ticks) == len(speech)
    for cue, tick in zip(speech, ticks, strict=True):
        assert tick.get("data-name") == cue["text"]
        assert tick.get("data-kind") == cue["cue"]
        assert int(tick.attrib["data-start-ms"]) == cue["start_ms"]
        line = tick.find(f"{SVG}line")
        assert line is not None
        assert abs(float(line.attrib["x1"]) - drawn.x(cue["start_ms"])) < 1, cue
        title = tick.find(f"{SVG}title")
        assert title is not None and cue["text"] in (title.text or "")  # the full text


def test_a_cue_label_cut_short_keeps_its_full_text_for_hover(drawn: Drawn) -> None:
    labels = drawn.items("cue-label")
    assert labels
    cut = [t for t in labels if (t.text or "").endswith("…")]
    assert cut
    for label in cut:
        shown = (label.text or "").removesuffix("…")
        title = label.find(f"{SVG}title")
        assert title is not None and title.text == label.attrib["data-name"]
        assert title.text.startswith(shown) and len(title.text) > len(shown)


def test_the_breath_band_covers_the_breath_tones(drawn: Drawn) -> None:
    tones = [e for e in drawn.plan["events"] if e["kind"] == "tone" and e["tone"] in BREATH_TONES]
    assert tones
    phases = drawn.items("phase")
    assert [(int(p.attrib["data-start-ms"]), int(p.attrib["data-end-ms"])) for p in phases] == [
        (t["start_ms"], t["start_ms"] + t["duration_ms"]) for t in tones
    ]
    for phase in phases:
        x, width = float(phase.attrib["x"]), float(phase.attrib["width"])
        assert abs(x - drawn.x(int(phase.attrib["data-start-ms"]))) < 1
        assert abs(x + width - drawn.x(int(phase.attrib["data-end-ms"]))) < 1
    kinds = [p.attrib["data-kind"] for p in phases]
    # a hold is the one after the breath before it; four shades for four phases
    for before, kind in zip(kinds, kinds[1:], strict=False):
        if kind.startswith("hold"):
            assert kind == f"hold-{before}"
    shades = {p.attrib["data-kind"]: p.attrib["fill"] for p in phases}
    if drawn.plan["title"] == "Picture":  # 4-2-6-2: every phase
        assert set(shades) == {"in", "hold-in", "out", "hold-out"}
    assert len(set(shades.values())) == len(shades)


def test_the_axis_reads_the_routine_clock(drawn: Drawn) -> None:
    ticks = {int(t.attrib["data-routine-ms"]): t for t in drawn.items("tick")}
    assert 0 in ticks and 60_000 in ticks
    origin = drawn.plan["origin_ms"]
    for at, tick in ticks.items():
        assert abs(float(tick.attrib["x1"]) - drawn.x(at + origin)) < 1
    labels = {t.text for t in drawn.root.iter(f"{SVG}text")}
    assert {"0:00", "1:00"} <= labels


def timeline() -> Timeline:
    return Timeline(
        title="Tiny <&> routine",
        duration_ms=20_000,
        origin_ms=2_000,
        events=(
            Speech(2_000, 1_000, 'Say "this" & <that>.\x07', 0, "instruction"),
            Tone(4_000, 2_000, "inhale", 0),
            Silence(10_000, 8_000, 0, "rest"),
        ),
        chapters=(Chapter(0, 2_000, "Introduction", None), Chapter(2_000, 20_000, "A", 0)),
    )


def test_text_is_escaped_and_the_file_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "plan.svg"
    target.write_text("old", encoding="utf-8")
    write_picture(timeline(), ENGLISH, target, subtitle="routine 0:18")
    root = ET.parse(target).getroot()
    assert root.attrib["data-title"] == "Tiny <&> routine"
    names = [e.get("data-name") for e in root.iter() if e.get("class") == "cue"]
    assert names == ['Say "this" & <that>.']
    assert [p.name for p in tmp_path.iterdir()] == ["plan.svg"]


def test_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills up halfway: the target keeps its old content, no temporary stays,
    and the error names the target."""
    target = tmp_path / "plan.svg"
    target.write_text("old", encoding="utf-8")
    real = Path.write_text

    def half_then_full(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        real(self, data[: len(data) // 2], encoding="utf-8")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", half_then_full)
    with pytest.raises(ExportError, match="cannot write .*plan.svg: No space left on device"):
        write_picture(timeline(), ENGLISH, target)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.svg"]


def test_an_unwritable_path_exits_with_the_export_code(tmp_path: Path) -> None:
    target = tmp_path / "no such folder" / "plan.svg"
    proc = vg("plan", "daily", "--svg", str(target))
    assert proc.returncode == ExitCode.EXPORT, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"voiceguide: cannot write {target}: No such file or directory"
    ]
    assert "Traceback" not in proc.stderr and not target.parent.exists()
