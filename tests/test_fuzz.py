"""Property-based fuzzing of ``voiceguide check``: mutated built-in scripts and hostile ones.

Whatever the script, checking it either succeeds or ends in one ``file:line:col: message``
line (a ScriptError): never another exception, never unbounded time or memory. The cases
run in-process through the library (``pipeline.compile_script`` with a pure fake speech
bank, under an address-space limit so a blow-up fails the test instead of the machine),
and a handful run through the real ``voiceguide check`` command in a child process with
its own memory limit.

Deterministic in CI (``derandomize``, no example database). ``VOICEGUIDE_FUZZ_EXAMPLES``
sets the examples per strategy (default 150); ``benchmarks/fuzz_check.py`` runs thousands
and counts failures instead of stopping at the first.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SCRIPTS, DurationBank
from voiceguide.errors import ExitCode, ScriptError
from voiceguide.pipeline import compile_script

EXAMPLES = int(os.environ.get("VOICEGUIDE_FUZZ_EXAMPLES", "150"))
CASE_SECONDS = 15.0  # a generous bound on one check (they take milliseconds to ~0.5 s)
MEMORY_BYTES = 1 << 30  # more address space than any check may take, in-process or not
CHILD_RSS_BYTES = 200 << 20  # the command's peak memory refusing a script (it takes ~35 MB)
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

BUILTINS = sorted(p.relative_to(SCRIPTS) for p in SCRIPTS.rglob("*.yaml"))
ERROR_LINE = re.compile(r"^[^\n]+:(\d+):(\d+): [^\n]+$")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# Values a hostile or careless script puts where a value goes.
HOSTILE_VALUES = [
    ".inf",
    "-.inf",
    ".nan",
    "1.0e+308",
    "9" * 40,
    "9" * 400 + "s",
    "99999h",
    "4h",
    "1ms",
    "0",
    "-1",
    "&a [*a, *a]",
    "&b {x: *b}",
    "*a",
    "*undefined",
    "&a x",
    '"\\x1b]0;x\\x07"',
    '"\\x00"',
    '"\\x9b31m"',
    '"\\u202e"',
    '"\\ud800"',
    "\x01",
    "\x1b[31m",
    "\x7f",
    "\u202e",
    "'{remaining:>999999999}'",
    "'{side.__class__}'",
    "'{side} and {other_side}'",
    "'{remaining} left'",
    "'In {oops'",
    "false",
    "{",
    "[",
    "]",
    "{{}}",
    "!!python/object/apply:os.system [ls]",
    "!!binary AAAA",
    "!!timestamp 2024-01-01",
    "!!timestamp 2024-01-01x",
    "!!int abc",
    "!!bool maybe",
    "!!set {a: 1}",
    "!custom x",
    "~",
    "null",
    "2024-01-01",
    "0o17",
    "0x1F",
    "1:30",
    "<<: *a",
    "'" + "x" * 1200 + "'",
    "[" * 50 + "]" * 50,
    "/etc/passwd",
    "../../../etc/hostname",
    "../outside.yaml",
    "true",
    "|\n  text",
    "- - - -",
    "? x",
    "%YAML 1.1",
    "--- x",
]

# Characters the mutations insert: YAML's syntax, controls, and some beyond ASCII.
ALPHABET = st.sampled_from(
    list(":-[]{}&*!|>'\"#%@`,?~\\ \t\n0123456789.hms")
    + ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u202e", "\u2028", "\ufeff", "é", "😀"]
)

# Fields with where they go in a small valid script, for hostile values anywhere.
BASE = (
    "title: {title}\n"
    "author: {author}\n"
    "intro: {intro}\n"
    "rest: {rest}\n"
    "voice: {{engine: fake, rate: {rate}}}\n"
    "steps:\n"
    "  - name: {name}\n"
    "    duration: {duration}\n"
    "    say: {say}\n"
    "    sides: {sides}\n"
    "    countdown: {countdown}\n"
    "    breathing: {{pattern: {pattern}, inhale: {inhale}, slow_to: {slow_to}}}\n"
    "    wait: {{pause: {pause}, every: {every}}}\n"
    "    cues:\n"
    "      - {{at: {at}, say: {cue}}}\n"
    "      - {{every: {every_cue}, from: {from_}, say: Relax.}}\n"
    "      - {{before_end: {before_end}, say: Nearly.}}\n"
    "      - {{on: inhale, cycles: {cycles}, say: In.}}\n"
    "  - include: {include}\n"
    "    step: {step}\n"
)
DEFAULTS = {
    "title": "Fuzz",
    "author": "Me",
    "intro": "Hello.",
    "rest": "5s",
    "rate": "160",
    "name": "A",
    "duration": "2m",
    "say": "Go to the {side}.",
    "sides": "true",
    "countdown": "3",
    "pattern": "4-0-6-0",
    "inhale": "4s",
    "slow_to": "5",
    "pause": "10s",
    "every": "30s",
    "at": "10s",
    "cue": "Hi.",
    "every_cue": "20s",
    "from_": "15s",
    "before_end": "5s",
    "cycles": "2",
    "include": "techniques/cat-cow.yaml",
    "step": "Cat-Cow Stretch",
}


@contextlib.contextmanager
def memory_limit(extra: int = MEMORY_BYTES) -> Iterator[None]:
    """At most ``extra`` more bytes of address space for this process meanwhile: a check
    that tried to take more raises MemoryError (a failure) instead of swapping the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        current = int(f.read().split()[0]) * resource.getpagesize()
    limit = current + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def check_case(path: Path) -> str | None:
    """Check ``path`` as ``voiceguide check`` does; None when it behaved, else what went
    wrong (any exception but a ScriptError, a malformed message, or too long a time)."""
    return classify(path)[1]


def classify(path: Path) -> tuple[str, str | None]:
    """``check_case``'s verdict with the outcome: "clean", "refused" (a well-formed
    ScriptError) or "failed" (with what went wrong)."""
    start = time.perf_counter()
    outcome = "clean"
    try:
        compile_script(path, bank=DurationBank())
    except ScriptError as err:
        outcome = "refused"
        message = str(err)
        if not ERROR_LINE.match(message) or err.line < 1 or err.column < 1:
            return "failed", f"malformed error: {message[:300]!r}"
        if CONTROL.search(message):
            return "failed", f"control character in the error: {message[:300]!r}"
        if len(message) > len(err.path) + 400:
            return "failed", f"error of {len(message)} characters: {message[:300]!r}"
    except Exception as exc:  # anything else escaping is a crash (a traceback)
        return "failed", f"{type(exc).__name__}: {str(exc)[:300]}"
    seconds = time.perf_counter() - start
    if seconds > CASE_SECONDS:
        return "failed", f"took {seconds:.1f} s"
    return outcome, None


class Workspace:
    """A copy of the built-in scripts to write fuzzed scripts into (includes resolve), with
    a script and a symlink outside it for includes to try to reach."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.scripts = root / "scripts"
        shutil.copytree(SCRIPTS, self.scripts)
        (root / "outside.yaml").write_text(
            "title: Outside\nsteps:\n  - {name: Secret, duration: 1m}\n", encoding="utf-8"
        )
        (self.scripts / "escape.yaml").symlink_to(root / "outside.yaml")

    def write(self, relative: Path, text: str) -> Path:
        path = self.scripts / relative.parent / f"fuzz-{relative.name}"
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    with tempfile.TemporaryDirectory(prefix="voiceguide-fuzz-") as tmp:
        yield Workspace(Path(tmp))


# -- strategies ---------------------------------------------------------------------------


def _lines_op(draw: st.DrawFn, text: str) -> str:
    """Delete, duplicate, swap or re-indent lines."""
    lines = text.split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    how = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent"]))
    if how == "delete":
        del lines[i]
    elif how == "duplicate":
        lines[i:i] = [lines[i]] * draw(st.integers(1, 50))
    elif how == "swap":
        j = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif how == "indent":
        lines[i] = "  " + lines[i]
    else:
        lines[i] = lines[i][2:]
    return "\n".join(lines)


def _value_op(draw: st.DrawFn, text: str) -> str:
    """Replace what follows a ``key:`` on some line with a hostile value."""
    spots = [m.end() for m in re.finditer(r"(?m)^[ -]*[A-Za-z_]+: ", text)]
    if not spots:
        return text
    at = draw(st.sampled_from(spots))
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    return text[:at] + draw(st.sampled_from(HOSTILE_VALUES)) + text[end:]


def _insert_op(draw: st.DrawFn, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.text(ALPHABET, min_size=1, max_size=12)) + text[at:]


def _delete_op(draw: st.DrawFn, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    return text[:at] + text[at + draw(st.integers(1, 40)) :]


OPS: list[Callable[[st.DrawFn, str], str]] = [_lines_op, _value_op, _insert_op, _delete_op]


@st.composite
def mutated_builtins(draw: st.DrawFn) -> tuple[Path, str]:
    """A built-in script with one to five random mutations."""
    relative = draw(st.sampled_from(BUILTINS))
    text = (SCRIPTS / relative).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 5))):
        text = draw(st.sampled_from(OPS))(draw, text)
    return relative, text


def _bomb(levels: int, width: int) -> str:
    rows = [f"&l0 [{', '.join(['lol'] * width)}]"]
    rows += [f"&l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "[" + ", ".join(rows) + "]"


def _escaped_control(draw: st.DrawFn) -> str:
    code = draw(
        st.one_of(
            st.integers(0, 8),
            st.integers(0x0B, 0x1F),
            st.integers(0x7F, 0x9F),
            st.sampled_from([0x061C, 0x200E, 0x200F, 0x202A, 0x202E, 0x2066, 0x2069]),
        )
    )
    escape = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return f'"Breathe{escape}in"'


def _raw_control(draw: st.DrawFn) -> str:
    code = draw(
        st.one_of(st.integers(0, 8), st.integers(0x0B, 0x1F), st.integers(0x7F, 0x9F))
        | st.sampled_from([0x202E, 0x2066])
    )
    return f"Breathe{chr(code)}in"


def _huge_number(draw: st.DrawFn) -> str:
    number: str = draw(
        st.one_of(
            st.sampled_from([".inf", "-.inf", ".nan", ".NaN", "+.inf"]),
            st.integers(10**6, 10**400).map(str),
            st.floats(min_value=1e6, allow_infinity=False).map(repr),
            st.integers(5, 10**30).map(lambda n: f"{n}h"),
            st.integers(1, 10**30).map(lambda n: f"{n}m{n}s"),
            st.just("1ms"),
        )
    )
    return number


def _escaping_include(draw: st.DrawFn) -> str:
    return draw(
        st.sampled_from(
            [
                "/etc/passwd",
                "/etc/hostname",
                "../../../etc/hostname",
                "../../../../../../../../etc/passwd",
                "../outside.yaml",
                "escape.yaml",
                "/proc/self/environ",
                "/dev/zero",
                "techniques/../../outside.yaml",
                "techniques",
                "'.'",
                "fuzz-routine.yaml",
                "no/such.yaml",
            ]
        )
    )


def _long_text(draw: st.DrawFn) -> str:
    return "'" + "Relax your shoulders. " * draw(st.integers(40, 3000)) + "'"


def _recursive_alias(draw: st.DrawFn) -> str:
    return draw(
        st.sampled_from(
            ["&a [*a]", "&a [*a, *a]", "&a {x: *a}", "&a [x, [y, [*a]]]", "&a {k: [1, *a]}"]
        )
    )


HOSTILE_KINDS: dict[str, Callable[[st.DrawFn], str]] = {
    "recursive-alias": _recursive_alias,
    "alias-bomb": lambda draw: _bomb(draw(st.integers(2, 12)), draw(st.integers(2, 12))),
    "huge-number": _huge_number,
    "escaped-control": _escaped_control,
    "raw-control": _raw_control,
    "long-text": _long_text,
    "hostile-value": lambda draw: draw(st.sampled_from(HOSTILE_VALUES)),
}
NUMBER_FIELDS = [
    "rest",
    "rate",
    "duration",
    "countdown",
    "inhale",
    "slow_to",
    "pause",
    "every",
    "at",
    "every_cue",
    "from_",
    "before_end",
    "cycles",
]


@st.composite
def hostile_scripts(draw: st.DrawFn) -> tuple[Path, str]:
    """A small valid script with one to three of its values made hostile, or one of its
    includes escaping, or many copies of its steps or cues."""
    values = dict(DEFAULTS)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from([*HOSTILE_KINDS, "include", "many"]))
        if kind == "include":
            values["include"] = _escaping_include(draw)
        elif kind == "many":
            values["cue"] = "Hi.}\n      - {at: 1s, say: Hi." * draw(st.integers(50, 400))
        elif kind == "huge-number":
            values[draw(st.sampled_from(NUMBER_FIELDS))] = _huge_number(draw)
        else:
            values[draw(st.sampled_from(sorted(DEFAULTS)))] = HOSTILE_KINDS[kind](draw)
    text = BASE.format(**values)
    if draw(st.booleans()):
        text *= draw(st.integers(1, 3))  # duplicate keys, or a second document's worth
    return Path("routine.yaml"), text


# -- the properties -----------------------------------------------------------------------


@FUZZ
@given(case=mutated_builtins())
def test_check_survives_mutated_builtin_scripts(
    workspace: Workspace, case: tuple[Path, str]
) -> None:
    relative, text = case
    with memory_limit():
        failure = check_case(workspace.write(relative, text))
    assert failure is None, f"{failure}\n--- script ---\n{text[:2000]}"


@FUZZ
@given(case=hostile_scripts())
def test_check_survives_hostile_scripts(workspace: Workspace, case: tuple[Path, str]) -> None:
    relative, text = case
    with memory_limit():
        failure = check_case(workspace.write(relative, text))
    assert failure is None, f"{failure}\n--- script ---\n{text[:2000]}"


def test_the_fuzzed_built_in_scripts_check_clean_unmutated(workspace: Workspace) -> None:
    """The mutations start from scripts that check clean: every error found is theirs."""
    for relative in BUILTINS:
        text = (SCRIPTS / relative).read_text(encoding="utf-8")
        path = workspace.write(relative, text)
        _, compiled, _ = compile_script(path, bank=DurationBank())
        assert compiled.timeline.duration_ms > 0


# -- the real command, in a child process with bounded memory ----------------------------

COMMAND_CASES = {
    "recursive-alias": "title: x\nsteps:\n  - name: A\n    duration: &a [*a, *a]\n",
    "alias-bomb": f"title: x\nsteps:\n  - name: A\n    duration: 1m\nx: {_bomb(9, 9)}\n",
    "alias-bomb-in-say": "title: x\nsteps:\n  - name: A\n    duration: 1m\n"
    f"    say: {_bomb(9, 9)}\n",
    "many-steps": "title: x\nsteps:\n" + "  - name: A\n    duration: 1s\n" * 8000,
    "huge-file": "title: x\nsteps:\n" + "  - name: A\n    duration: 1s\n" * 400_000,
    "long-cue": "title: x\nsteps:\n  - name: A\n    duration: 1m\n    say: " + "a" * 50_000,
    "inf": "title: x\nsteps:\n  - name: A\n    duration: .inf\n",
    "huge-duration": "title: x\nsteps:\n  - name: A\n    duration: 99999h\n",
    "every-millisecond": "title: x\nsteps:\n  - name: A\n    duration: 4h\n"
    "    cues:\n      - {every: 1ms, say: Hi}\n",
    "raw-control": "title: x\nsteps:\n  - name: A\x01\n    duration: 1m\n",
    "escaped-control": "title: x\nsteps:\n  - name: A\n    duration: 1m\n"
    '    say: "\\x1b]0;x\\x07"\n',
    "include-passwd": "title: x\nsteps:\n  - include: /etc/passwd\n",
    "include-up": "title: x\nsteps:\n  - include: ../../../../../../../etc/hostname\n",
    "deep": "title: x\nsteps: " + "[" * 100_000 + "]" * 100_000 + "\n",
}


def _limit_child_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 * MEMORY_BYTES, 2 * MEMORY_BYTES))


# ``python -m voiceguide`` that reports, on exit, its own peak memory (VmHWM, in KiB) on the
# file descriptor named by VG_PEAK_FD. Not ru_maxrss from wait4: that counts the memory of
# the forked test process before the exec too, and pytest itself may be larger than the
# bound by the end of a full run.
_MEASURED = """
import atexit, os, runpy, sys
def _peak():
    with open("/proc/self/status") as f:
        kib = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    os.write(int(os.environ["VG_PEAK_FD"]), kib.encode())
atexit.register(_peak)
sys.argv[0] = "voiceguide"
runpy.run_module("voiceguide", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("name", sorted(COMMAND_CASES))
def test_voiceguide_check_refuses_hostile_scripts_quickly_in_bounded_memory(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / "routine.yaml"
    path.write_text(COMMAND_CASES[name], encoding="utf-8")
    with (tmp_path / "out").open("w+") as out_file, (tmp_path / "err").open("w+") as err_file:
        peak_read, peak_write = os.pipe()
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", _MEASURED, "check", str(path), "--engine", "fake"],
            stdout=out_file,
            stderr=err_file,
            preexec_fn=_limit_child_memory,
            pass_fds=(peak_write,),
            env={**os.environ, "VG_PEAK_FD": str(peak_write)},
        )
        os.close(peak_write)
        hang = threading.Timer(120, child.kill)  # a hang fails the test, not the machine
        hang.start()
        try:
            _, status, _ = os.wait4(child.pid, 0)
        finally:
            hang.cancel()
        with os.fdopen(peak_read, "rb") as f:
            peak_kib = int(f.read() or 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    assert "Traceback" not in err, err
    assert child.returncode == ExitCode.SCRIPT, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"voiceguide: {path}:"), err
    assert ERROR_LINE.match(lines[0].removeprefix("voiceguide: ")), err
    assert seconds < CASE_SECONDS, f"{seconds:.1f} s"
    assert 0 < peak_kib * 1024 < CHILD_RSS_BYTES, f"{peak_kib} KiB"
