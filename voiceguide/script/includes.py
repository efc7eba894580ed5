"""Includes: a step list entry that takes the steps of another routine script.

``- include: other.yaml`` takes all its steps; with ``step: Name`` one of them, and then
the entry's other fields override that step's. An include is resolved relative to the
including file and must name a routine script inside the folder tree of the script being
loaded, or in the built-in library (symlinks followed); include cycles are errors. Each
file is read once per load, however often it is included.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from voiceguide import limits
from voiceguide.model import Routine, Step
from voiceguide.paths import scripts_dir
from voiceguide.script.compose import Node
from voiceguide.script.fields import Fields
from voiceguide.script.messages import excerpt, join
from voiceguide.script.steps import STEP_KEYS, override

SCRIPT_SUFFIXES = (".yaml", ".yml")
INCLUDE_KEYS = {"include", "step"} | STEP_KEYS

Read = Callable[[Path, tuple[Path, ...], "Context"], Routine]
"""Reads one script file (and its includes): ``read(path, stack, ctx)``."""


@dataclass
class Context:
    """What one load shares with its includes: the folders includes may come from, how a
    script file is read, and each script read so far (read once, however often it is
    included), with the resolved paths of the files it read."""

    roots: tuple[Path, ...]
    read: Read
    loaded: dict[Path, tuple[Routine, frozenset[Path]]] = field(default_factory=dict)


def context(path: Path, read: Read) -> Context:
    """Includes may come from the folder tree of the script at ``path`` (where it is named,
    and where it is if that is a symlink) and from the built-in library."""
    roots = (path.parent.resolve(), path.resolve().parent, scripts_dir().resolve())
    return Context(roots, read)


def include_target(
    f: Fields, stack: tuple[Path, ...], ctx: Context, node: Node, ref: str, field: str
) -> Path:
    """The script an include names, if it may be read: a routine script (.yaml) inside
    the folder tree of the script being loaded, or in the built-in library."""
    target = Path(os.path.normpath(f.path.parent / ref))
    shown = excerpt(ref, quote=False)
    if target.suffix not in SCRIPT_SUFFIXES:
        raise f.fail(node, f"an include names a routine script (.yaml), not {shown}", field)
    try:
        real = target.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        raise f.fail(node, f"included script not found: {shown}", field) from None
    if not any(real.is_relative_to(root) for root in ctx.roots):
        raise f.fail(
            node,
            f"included script {shown} is outside this script's folder and the built-in "
            "library; an include must name a script inside them",
            field,
        )
    if real in stack:
        raise f.fail(node, f"include cycle: {shown} includes itself", field)
    if not target.is_file():
        raise f.fail(node, f"included script not found: {shown}", field)
    if len(stack) >= limits.MAX_INCLUDE_DEPTH:
        raise f.fail(
            node,
            f"includes nest more than {limits.MAX_INCLUDE_DEPTH} deep (the limit)",
            field,
        )
    return target


def include(
    f: Fields, stack: tuple[Path, ...], ctx: Context, node: Node, field: str
) -> tuple[list[Step], tuple[Path, ...]]:
    """The steps an include entry takes, and the script files read for them."""
    m = f.mapping(node, field, INCLUDE_KEYS)
    ref = f.text(m["include"], f"{field}.include")
    target = include_target(f, stack, ctx, m["include"], ref, f"{field}.include")
    real = target.resolve()
    if real in ctx.loaded:
        routine, read = ctx.loaded[real]
        if read & set(stack):
            raise f.fail(
                m["include"],
                f"include cycle: {excerpt(ref, quote=False)} includes this script",
                f"{field}.include",
            )
    else:
        if len(ctx.loaded) + len(stack) + 1 > limits.MAX_INCLUDED_FILES:
            raise f.fail(
                m["include"],
                f"the routine reads more than {limits.MAX_INCLUDED_FILES} script files (the limit)",
                f"{field}.include",
            )
        routine = ctx.read(target, stack, ctx)
    overrides = {k: v for k, v in m.items() if k not in ("include", "step")}
    if "step" not in m:
        if overrides:
            key = next(iter(overrides))
            raise f.fail(
                node.keys[key] if node.keys else node,
                "overrides need 'step' to pick one step of the included script",
                join(field, key),
            )
        return list(routine.steps), routine.files
    wanted = f.name(m["step"], f"{field}.step")
    matches = [s for s in routine.steps if s.name.casefold() == wanted.casefold()]
    if not matches:
        names = excerpt(", ".join(repr(s.name) for s in routine.steps), quote=False, limit=200)
        raise f.fail(
            m["step"],
            f"no step {excerpt(wanted)} in {excerpt(ref, quote=False)} (steps: {names})",
            f"{field}.step",
        )
    step = matches[0]
    if overrides:
        step = override(f, step, overrides, field, node)
    return [step], routine.files
