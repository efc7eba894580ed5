"""The README's complete example script parses and compiles, and its commands exist."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.conftest import REPO, SCRIPTS, DurationBank
from voiceguide.compile import compile_routine
from voiceguide.script import load_script

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_example_script_compiles(tmp_path: Path) -> None:
    block = re.search(r"```yaml\n(title: Evening Unwind.*?)```", README, re.S)
    assert block is not None
    shutil.copytree(SCRIPTS / "techniques", tmp_path / "techniques")
    path = tmp_path / "example.yaml"
    path.write_text(block.group(1), encoding="utf-8")
    routine = load_script(path)
    assert [s.name for s in routine.steps] == [
        "Cat-Cow",
        "Foam Roll",
        "Seated Twist",
        "Cat-Cow Stretch",
    ]
    compiled = compile_routine(routine, DurationBank())
    assert compiled.timeline.duration_ms > 0


def test_quick_start_has_two_command_lines() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    assert lines[1] in (REPO / ".ci" / "run").read_text(encoding="utf-8")
