"""The README's example scripts pass ``check`` (or print what it shows), and its commands exist."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def _check(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", "check", path.name, *args],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.e2e
def test_every_yaml_example_passes_check_or_prints_what_the_readme_shows(
    tmp_path: Path,
) -> None:
    """Each YAML block of the README is run through the real ``voiceguide check``: a
    complete example passes with the voice it names; the one shown with ``check``'s output
    (the conflict and warnings sample) prints exactly the lines that follow it."""
    shutil.copytree(SCRIPTS / "techniques", tmp_path / "techniques")
    blocks = list(re.finditer(r"```yaml\n(.*?)```", README, re.S))
    assert len(blocks) >= 2
    kinds = set()
    for n, block in enumerate(blocks):
        after = README[block.end() :].split("```yaml", 1)[0]
        sample = re.search(r"`voiceguide check (\S+) ([^`]*)` prints \(exit (\d)\):", after)
        name = sample.group(1) if sample else f"example{n}.yaml"
        kinds.add(sample is None)
        path = tmp_path / name
        path.write_text(block.group(1), encoding="utf-8")
        if sample is None:
            done = _check(path)
            assert done.returncode == 0, (name, done.stdout, done.stderr)
            assert re.fullmatch(r".*: ok: .*routine \d+:\d\d · file \d+:\d\d\n", done.stdout)
            continue
        shown = re.search(r"```text\n(.*?)```", after, re.S)
        assert shown is not None
        done = _check(path, *sample.group(2).split())
        assert done.returncode == int(sample.group(3)), done.stderr
        assert (done.stdout + done.stderr).splitlines() == shown.group(1).splitlines()
    assert kinds == {True, False}  # complete examples, and the sample with its output
