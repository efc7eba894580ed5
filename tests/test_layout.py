"""The shape of the house: data flows one way, no import cycles, no module too big.

The flow is script -> model -> compile -> timeline -> render -> sinks (export, player), with
the front door (``pipeline``) and the CLI on top. Each module belongs to one layer below, and
may import only the layers that layer lists: the data of the stages before it and the shared
ground. Imports inside functions count as well as those at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "voiceguide"
MAX_LINES = 400

# Ground that any layer may use: errors, units, limits, paths, storage and the words table.
GROUND = {"ground"}
# layer -> the layers it may import (besides itself and the ground)
STAGES = {"model", "script", "breath", "timeline", "voices", "compile", "render", "signal"}
ALLOWED: dict[str, set[str]] = {
    "ground": set(),
    "model": set(),
    "signal": set(),  # numpy sample arithmetic: dsp/ (stats, loudness, limiter...), tones
    "script": {"model"},
    "breath": {"model"},
    "timeline": {"model"},
    "voices": {"model", "signal"},
    "compile": {"model", "breath", "timeline", "voices", "signal"},
    "render": {"model", "timeline", "voices", "signal"},
    "export": {"model", "timeline", "render", "voices", "signal"},
    "player": {"model", "timeline", "render", "voices", "signal"},
    "front": STAGES | {"export", "player"},  # pipeline wires the stages and the sinks
    "cli": STAGES | {"export", "player", "front"},
}

# first matching prefix wins (dotted module names below ``voiceguide``)
LAYERS: list[tuple[str, str]] = [
    ("voiceguide.cli", "cli"),
    ("voiceguide.__main__", "cli"),
    ("voiceguide.pipeline", "front"),
    ("voiceguide.manifest", "front"),
    ("voiceguide.doctor", "front"),  # checks every part of the machine the player needs
    ("voiceguide.service", "front"),  # systemd units that run the player
    ("voiceguide.player", "player"),
    ("voiceguide.export", "export"),
    ("voiceguide.render", "render"),
    ("voiceguide.compile", "compile"),
    ("voiceguide.voices", "voices"),
    ("voiceguide.timeline", "timeline"),
    ("voiceguide.breath", "breath"),
    ("voiceguide.script", "script"),
    ("voiceguide.model", "model"),
    ("voiceguide.dsp", "signal"),
    ("voiceguide.tones", "signal"),
    ("voiceguide.errors", "ground"),
    ("voiceguide.units", "ground"),
    ("voiceguide.limits", "ground"),
    ("voiceguide.paths", "ground"),
    ("voiceguide.storage", "ground"),
    ("voiceguide.words", "ground"),
    ("voiceguide.speakable", "ground"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    if module == "voiceguide":
        return "ground"  # the package itself holds only the version
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in {__file__}")


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every voiceguide module that ``module`` imports, wherever in the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("voiceguide"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("voiceguide"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    found.discard(module)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: {i for i in imports(m, p, known) if i in known} for m, p in known.items()}


def test_imports_follow_the_flow() -> None:
    wrong = []
    for module, targets in graph().items():
        mine = layer_of(module)
        allowed = ALLOWED[mine] | GROUND | {mine}
        for target in sorted(targets):
            theirs = layer_of(target)
            if theirs not in allowed:
                wrong.append(f"{module} ({mine}) imports {target} ({theirs})")
    assert not wrong, "imports against the flow:\n" + "\n".join(wrong)


def test_sinks_do_not_import_each_other() -> None:
    """The two sinks consume the renderer side by side: neither may use the other."""
    assert "player" not in ALLOWED["export"] and "export" not in ALLOWED["player"]


def test_no_import_cycles() -> None:
    """Package ``__init__`` re-exports count: a cycle through them still ties modules."""
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_module_is_too_big() -> None:
    big = {
        module_name(p): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines: {big}"
