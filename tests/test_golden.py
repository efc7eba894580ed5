"""Golden timelines of the built-in scripts (compiled with the pure fake bank).

A change in the compiler or a script that moves any event shows up here as a diff.
Regenerate deliberately with ``UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import REPO, SCRIPTS, DurationBank
from voiceguide.compile import compile_routine
from voiceguide.script import load_script

GOLDEN = REPO / "tests" / "golden"
BUILTINS = sorted(SCRIPTS.rglob("*.yaml"))


def golden_path(script: Path) -> Path:
    return GOLDEN / script.relative_to(SCRIPTS).with_suffix(".json")


def test_there_are_builtin_scripts() -> None:
    names = {p.relative_to(SCRIPTS).as_posix() for p in BUILTINS}
    assert {"daily.yaml", "safety.yaml", "techniques/cat-cow.yaml"} <= names


@pytest.mark.parametrize("script", BUILTINS, ids=lambda p: p.relative_to(SCRIPTS).as_posix())
def test_builtin_timeline_matches_golden(script: Path) -> None:
    compiled = compile_routine(load_script(script), DurationBank())
    data = compiled.timeline.to_json()
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    path = golden_path(script)
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file for {script.name}: run with UPDATE_GOLDEN=1"
    assert json.loads(path.read_text(encoding="utf-8")) == data


def test_daily_routine_steps_start_on_the_minute() -> None:
    """The article's sequence: 0-2 Cat-Cow, 2-4 twist, 4-7 foam roll, 7-9 child's pose, 9-10."""
    tl = compile_routine(load_script(SCRIPTS / "daily.yaml"), DurationBank()).timeline
    steps = [c for c in tl.chapters if c.step is not None]
    assert [c.start_ms - tl.origin_ms for c in steps] == [0, 120_000, 240_000, 420_000, 540_000]
    assert steps[-1].end_ms - tl.origin_ms == 600_000
