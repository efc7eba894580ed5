"""The field readers: one script value (a node) -> a checked model value, or a ScriptError.

Each reader checks one kind of value (a mapping's keys, text, a duration, a whole number, a
template's placeholders ...) and refuses it with ``file:line:col: field: message`` at the
value's own position. Every reader of a step, cue or routine is built from these.
"""

from __future__ import annotations

import difflib
import math
import string
from pathlib import Path

from voiceguide import limits
from voiceguide.errors import ScriptError
from voiceguide.model import Where
from voiceguide.script.compose import Node
from voiceguide.script.messages import excerpt, hours, join, too_long
from voiceguide.units import parse_duration

TEMPLATE_FIELDS = {"side", "other_side", "remaining", "next", "step", "title", "duration"}
SIDED_FIELDS = {"side", "other_side"}


class Fields:
    """Reads the nodes of the script at ``path`` into values, raising ScriptError there."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(
        self, node: Node | tuple[int, int], message: str, field: str | None = None
    ) -> ScriptError:
        """The ScriptError at ``node`` (or a line and column) to raise."""
        line, column = (node.line, node.column) if isinstance(node, Node) else node
        return ScriptError(self.path, line, column, message, field)

    def where(self, node: Node) -> Where:
        """The model's position of ``node``."""
        return Where(str(self.path), node.line, node.column)

    def mapping(self, node: Node, field: str, allowed: set[str]) -> dict[str, Node]:
        """A mapping whose keys are all in ``allowed`` (an unknown key names the closest one)."""
        if not isinstance(node.value, dict):
            raise self.fail(node, f"expected a mapping, got {kind(node)}", field)
        assert node.keys is not None
        for key in node.value:
            if key not in allowed:
                hint = difflib.get_close_matches(key, sorted(allowed), n=1)
                extra = (
                    f"; did you mean {hint[0]!r}?"
                    if hint
                    else f" (allowed: {', '.join(sorted(allowed))})"
                )
                if node.value[key].value is None and " " in key:  # `{say: a, b}`: "b" a key
                    extra = f": {COMMA_SLIP}"
                raise self.fail(
                    node.keys[key],
                    f"unknown field {excerpt(key)}{extra}",
                    join(field, excerpt(key, quote=False, limit=20)),
                )
        return dict(node.value)

    def required(self, node: Node, m: dict[str, Node], key: str, field: str) -> Node:
        """``m[key]``, or the error that ``key`` is missing from ``node``."""
        if key not in m:
            raise self.fail(node, f"missing required field {key!r}", join(field, key))
        return m[key]

    def text(self, node: Node, field: str, limit: int = limits.MAX_TEXT_CHARS) -> str:
        """Text on one line (runs of white space become one space), at most ``limit`` long."""
        if (
            isinstance(node.value, dict)
            and node.value
            and not any(v.value is not None for v in node.value.values())
        ):  # `say: {remaining}`: YAML's mapping of "remaining" to nothing
            raise self.fail(node, f"expected text, got a mapping: {brace_slip(node)}", field)
        if (
            isinstance(node.value, bool)
            or node.value is None
            or isinstance(node.value, dict | list)
        ):
            raise self.fail(node, f"expected text, got {kind(node)}", field)
        text = " ".join(str(node.value).split())
        if not text:
            raise self.fail(node, "text is empty", field)
        if len(text) > limit:
            raise self.fail(node, too_long(len(text), limit), field)
        return text

    def name(self, node: Node, field: str) -> str:
        """A title, author, step, side or voice name: short text."""
        return self.text(node, field, limits.MAX_NAME_CHARS)

    def paragraphs(self, node: Node, field: str) -> str:
        """Text that keeps blank-line paragraph breaks (intro and outro)."""
        if not isinstance(node.value, str):
            raise self.fail(node, f"expected text, got {kind(node)}", field)
        paras = [" ".join(p.split()) for p in node.value.split("\n\n")]
        paras = [p for p in paras if p]
        if not paras:
            raise self.fail(node, "text is empty", field)
        longest = max(len(p) for p in paras)
        if longest > limits.MAX_TEXT_CHARS:
            raise self.fail(node, f"a paragraph {too_long(longest, limits.MAX_TEXT_CHARS)}", field)
        return "\n\n".join(paras)

    def duration(self, node: Node, field: str, *, allow_zero: bool = False) -> int:
        """A duration (``90s``, ``1m30s``, a number of seconds) in ms, above zero unless
        ``allow_zero``."""
        value = node.value
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, f"expected a finite duration, got {value}", field)
        try:
            ms = parse_duration(value)
        except (ValueError, TypeError, AttributeError):
            if isinstance(value, float) and value > 0:  # too many milliseconds for a float
                ms = limits.MAX_DURATION_MS + 1
            else:
                raise self.fail(
                    node,
                    f"expected a duration such as 90s, 2m or 1m30s, got {kind(node)}",
                    field,
                ) from None
        if ms <= 0 and not allow_zero:
            raise self.fail(node, "must be longer than zero", field)
        if ms > limits.MAX_DURATION_MS:
            raise self.fail(
                node,
                f"{excerpt(value)} is longer than the limit of {hours(limits.MAX_DURATION_MS)} "
                "for one duration",
                field,
            )
        return ms

    def integer(self, node: Node, field: str, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``."""
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise self.fail(node, f"expected a whole number, got {kind(node)}", field)
        if not low <= node.value <= high:
            raise self.fail(
                node, f"must be between {low} and {high}, got {excerpt(node.value)}", field
            )
        return int(node.value)

    def number(self, node: Node, field: str, low: float, high: float) -> float:
        """A number from ``low`` to ``high``."""
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise self.fail(node, f"expected a number, got {kind(node)}", field)
        if not low <= node.value <= high:
            raise self.fail(
                node, f"must be between {low} and {high}, got {excerpt(node.value)}", field
            )
        return float(node.value)

    def boolean(self, node: Node, field: str) -> bool:
        """``true`` or ``false``."""
        if not isinstance(node.value, bool):
            raise self.fail(node, f"expected true or false, got {kind(node)}", field)
        return node.value

    def template(self, node: Node, field: str, *, sided: bool) -> str:
        """Text whose ``{placeholders}`` are known ones; ``{side}`` only if ``sided``."""
        text = self.text(node, field)
        try:
            parts = [
                (name, spec, conversion)
                for _, name, spec, conversion in string.Formatter().parse(text)
                if name is not None
            ]
        except ValueError as exc:
            raise self.fail(node, f"bad template: {exc}", field) from None
        for name, spec, conversion in parts:
            if name not in TEMPLATE_FIELDS:
                known = ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS))
                raise self.fail(
                    node,
                    f"unknown placeholder {{{excerpt(name, quote=False)}}} (known: {known})",
                    field,
                )
            if spec or conversion:
                raise self.fail(node, f"a placeholder takes no format: write {{{name}}}", field)
            if name in SIDED_FIELDS and not sided:
                raise self.fail(node, f"{{{name}}} is only known in a step with sides", field)
        return text


COMMA_SLIP = (
    "this looks like YAML read a comma in unquoted text inside {...} as the end of the "
    "text: put the text in quotes"
)


def brace_slip(node: Node) -> str:
    """What an error says of ``{name}`` in unquoted text, which YAML reads as a mapping."""
    names = " ".join("{" + excerpt(k, quote=False, limit=20) + "}" for k in node.value)
    return (
        f"this looks like YAML read {names} in unquoted text as a mapping: put the text in quotes"
    )


def kind(node: Node) -> str:
    """What a value is, as an error names it: ``a mapping``, ``a list``, ``nothing`` or the
    value."""
    v = node.value
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if v is None:
        return "nothing"
    return excerpt(v)


def sided(text: str) -> bool:
    """Whether a (valid) template speaks of sides."""
    return any(name in SIDED_FIELDS for _, name, _, _ in string.Formatter().parse(text))
