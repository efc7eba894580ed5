"""Reading a routine script: a file (at most ``MAX_SCRIPT_BYTES``, UTF-8) or its text ->
the model, through the composer and the readers, with any error at ``file:line:col``."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from voiceguide import limits
from voiceguide.errors import NoSuchScript, ScriptError
from voiceguide.model import Routine
from voiceguide.script.compose import FORBIDDEN, compose, forbidden, position
from voiceguide.script.fields import Fields
from voiceguide.script.includes import Context, context
from voiceguide.script.messages import excerpt
from voiceguide.script.routine import routine

# ``say: {side} first``: a value that starts with a brace is a mapping to YAML
BRACED = re.compile(r"(?:^|[:\-,\[{])\s*\{[^{}:,]*\}\s*[^\s,}\]#]")
BRACE_HINT = "this looks like YAML read {...} in unquoted text as a mapping: put the text in quotes"


def parse_script(text: str, path: Path) -> Routine:
    """Parse a routine script's text; ``path`` names it in errors and anchors includes."""
    return _parse(text, path, (), context(path, _load))


def _parse(text: str, path: Path, stack: tuple[Path, ...], ctx: Context) -> Routine:
    fields = Fields(path)
    stack = (*stack, path.resolve())
    bad = FORBIDDEN.search(text)
    if bad is not None:
        raise fields.fail(position(text, bad.start()), forbidden(bad.group()))
    try:
        node = compose(text, fields.fail)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = excerpt(exc.problem or exc.context, quote=False, limit=120)
        lines = text.split("\n")
        if 0 < line <= len(lines) and BRACED.search(lines[line - 1]):
            problem += f"; {BRACE_HINT}"
        raise ScriptError(path, line, column, f"YAML syntax: {problem}") from None
    except yaml.reader.ReaderError as exc:
        line, column = position(text, min(exc.position, len(text)))
        raise ScriptError(path, line, column, f"YAML syntax: {exc.reason}") from None
    except yaml.YAMLError as exc:
        problem = excerpt(str(exc).splitlines()[0] if str(exc) else "", quote=False, limit=120)
        raise ScriptError(path, 1, 1, f"YAML syntax: {problem}") from None
    if node is None:
        raise ScriptError(path, 1, 1, "the script is empty")
    return routine(fields, stack, ctx, node)


def load_script(path: Path | str) -> Routine:
    """Read and parse a routine script file (and its includes)."""
    path = Path(path)
    return _load(path, (), context(path, _load))


def _load(path: Path, stack: tuple[Path, ...], ctx: Context) -> Routine:
    """Read and parse one script file, at most ``MAX_SCRIPT_BYTES`` of it."""
    try:
        with path.open("rb") as f:
            data = f.read(limits.MAX_SCRIPT_BYTES + 1)
    except FileNotFoundError:
        raise NoSuchScript(path, "") from None
    except OSError as exc:
        raise ScriptError(path, 1, 1, f"cannot read: {exc.strerror}") from None
    if len(data) > limits.MAX_SCRIPT_BYTES:
        raise ScriptError(
            path,
            1,
            1,
            f"the script is larger than the limit of {limits.MAX_SCRIPT_BYTES // 1024} KiB",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", "replace")
        line, column = position(before, len(before))
        raise ScriptError(path, line, column, f"not UTF-8 text ({exc.reason})") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # as reading text would
    loaded = _parse(text, path, stack, ctx)
    read = frozenset(p.resolve() for p in loaded.files)
    ctx.loaded[path.resolve()] = (loaded, read)
    return loaded
