"""YAML text -> nodes that keep each value's position, held to the limits as they are built.

The YAML is parsed into events (PyYAML's safe loader) and composed here, iteratively. Each
node is counted, an alias as a copy of what it names, so recursive aliases and alias bombs
are refused before anything is built; nesting is held to ``MAX_YAML_DEPTH``. Only YAML's
core tags are read, only ``true``/``false`` are booleans, and no text may hold control
characters (raw or escaped): they would reach terminals, tags and subtitles.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from voiceguide import limits
from voiceguide.errors import ScriptError
from voiceguide.script.messages import excerpt

if hasattr(yaml, "CSafeLoader"):  # PyYAML's wheels bundle libyaml: several times faster

    class _Loader(yaml.CSafeLoader):
        """A safe loader where only true/false are booleans (YAML 1.2): ``on: inhale`` is
        a key."""

else:  # pragma: no cover - a PyYAML built without libyaml

    class _Loader(yaml.SafeLoader):  # type: ignore[no-redef]
        """A safe loader where only true/false are booleans (YAML 1.2): ``on: inhale`` is
        a key."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


# No text may hold these: C0 and C1 control characters but tab and line breaks, DEL, lone
# surrogates, non-characters, and the bidirectional controls that reorder what is shown.
FORBIDDEN = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
    r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass
class Node:
    """A YAML value with its position; mappings keep their keys' positions too."""

    value: Any
    line: int
    column: int
    keys: dict[str, tuple[int, int]] | None = None


def position(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of ``text[index]``."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def forbidden(text: str) -> str:
    """What an error says of the first character in ``text`` that no text may hold."""
    found = FORBIDDEN.search(text)
    assert found is not None
    ch = found.group()
    kind = "bidirectional control" if _BIDI.match(ch) else "control character"
    return f"{kind} U+{ord(ch):04X} is not allowed in a script (remove it)"


def _too_many() -> str:
    return f"the script has more than {limits.MAX_YAML_NODES} values (the limit)"


def _check_anchor(
    name: str,
    anchors: dict[str, tuple[Node, int, int]],
    opened: set[str],
    pos: tuple[int, int],
    fail: Callable[..., ScriptError],
) -> None:
    if name in anchors or name in opened:
        raise fail(pos, f"anchor &{excerpt(name, quote=False)} is defined twice")


_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
# The only tags a script may write out: YAML's core types (scripts need none of them).
_SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}
_COLLECTION_TAGS = {"!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _tag_refused(tag: str) -> str:
    return f"YAML tag {excerpt(tag, quote=False)} is not allowed in a script"


def _scalar(loader: _Loader, event: Any, fail: Callable[..., ScriptError]) -> Any:
    """A scalar's value, typed as the safe loader types it (text the quick way); explicit
    tags other than YAML's core types are refused, and so is a value its tag cannot read."""
    pos = (event.start_mark.line + 1, event.start_mark.column + 1)
    tag = event.tag
    if tag is not None and tag != "!" and tag not in _SCALAR_TAGS:
        raise fail(pos, _tag_refused(tag))
    if tag is None or tag == "!":
        if not event.implicit[0]:  # quoted or a block: text
            return event.value
        tag = loader.resolve(  # type: ignore[no-untyped-call]
            yaml.ScalarNode, event.value, event.implicit
        )
    if tag == _STR_TAG:
        return event.value
    value = event.value
    if tag == _INT_TAG and value.isascii() and value.isdigit() and value[0] != "0":
        return int(value)  # what the constructor does (0-led digits are octal), quicker
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return loader.construct_object(node)
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError):
        short = tag.rsplit(":", 1)[-1]
        raise fail(pos, f"not a valid {short}: {excerpt(value)}") from None


def _too_deep() -> str:
    return f"lists and mappings nest more than {limits.MAX_YAML_DEPTH} deep (the limit)"


@dataclass
class _Open:
    """A list or mapping being composed."""

    node: Node
    anchor: str | None
    start: int  # the node count when it opened
    depth: int  # 1 for the top level
    deepest: int  # the deepest level inside it so far
    key: tuple[str, tuple[int, int]] | None = None  # a mapping's key awaiting its value


def compose(text: str, fail: Callable[..., ScriptError]) -> Node | None:
    """The one YAML document in ``text`` as nodes, or None when there is none.

    Composed from the parser's events, iteratively: each node is counted, an alias as
    many nodes as what it names (an alias bomb is refused at the alias that crosses
    ``MAX_YAML_NODES``), an alias to a value still being composed is a recursive alias,
    and nesting is held to ``MAX_YAML_DEPTH``. Aliases share the node they name.
    """
    loader = _Loader(text)
    anchors: dict[str, tuple[Node, int, int]] = {}  # node, nodes in it, levels in it
    opened: set[str] = set()
    stack: list[_Open] = []
    count = 0
    root: Node | None = None
    done = False

    def attach(node: Node, pos: tuple[int, int]) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        top = stack[-1]
        if isinstance(top.node.value, list):
            top.node.value.append(node)
        elif top.key is None:
            if isinstance(node.value, dict | list):
                raise fail(pos, "a key must be plain text")
            key = str(node.value)
            if key in top.node.value:
                raise fail(pos, f"duplicate field {excerpt(key)}")
            top.key = (key, pos)
        else:
            key, key_pos = top.key
            top.node.value[key] = node
            assert top.node.keys is not None
            top.node.keys[key] = key_pos
            top.key = None

    try:
        while True:
            event: Any = loader.get_event()  # typed by ``kind`` below
            kind = type(event)
            if kind is yaml.ScalarEvent:
                pos = (event.start_mark.line + 1, event.start_mark.column + 1)
                count += 1
                if count > limits.MAX_YAML_NODES:
                    raise fail(pos, _too_many())
                value = _scalar(loader, event, fail)
                if isinstance(value, str) and FORBIDDEN.search(value):
                    raise fail(pos, forbidden(value))
                node = Node(value, *pos)
                if event.anchor is not None:
                    _check_anchor(event.anchor, anchors, opened, pos, fail)
                    anchors[event.anchor] = (node, 1, 0)
                attach(node, pos)
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                top = stack.pop()
                if stack:
                    stack[-1].deepest = max(stack[-1].deepest, top.deepest)
                if top.anchor is not None:
                    levels = top.deepest - top.depth + 1
                    anchors[top.anchor] = (top.node, count - top.start, levels)
                    opened.discard(top.anchor)
                attach(top.node, (top.node.line, top.node.column))
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                pos = (event.start_mark.line + 1, event.start_mark.column + 1)
                count += 1
                if count > limits.MAX_YAML_NODES:
                    raise fail(pos, _too_many())
                if len(stack) >= limits.MAX_YAML_DEPTH:
                    raise fail(pos, _too_deep())
                if event.tag is not None and event.tag not in _COLLECTION_TAGS:
                    raise fail(pos, _tag_refused(event.tag))
                if kind is yaml.SequenceStartEvent:
                    node = Node([], *pos)
                else:
                    node = Node({}, *pos, keys={})
                if event.anchor is not None:
                    _check_anchor(event.anchor, anchors, opened, pos, fail)
                    opened.add(event.anchor)
                depth = len(stack) + 1
                stack.append(_Open(node, event.anchor, count, depth, depth))
            elif kind is yaml.AliasEvent:
                pos = (event.start_mark.line + 1, event.start_mark.column + 1)
                name = event.anchor
                if name in opened:
                    raise fail(
                        pos,
                        f"recursive alias *{excerpt(name, quote=False)}: it names a value "
                        "that contains it",
                    )
                if name not in anchors:
                    raise fail(pos, f"unknown alias *{excerpt(name, quote=False)}")
                node, size, levels = anchors[name]
                count += size
                if count > limits.MAX_YAML_NODES:
                    raise fail(
                        pos,
                        f"aliases expand the script to more than {limits.MAX_YAML_NODES} "
                        "values (the limit)",
                    )
                if len(stack) + levels > limits.MAX_YAML_DEPTH:
                    raise fail(pos, _too_deep())
                if stack:
                    stack[-1].deepest = max(stack[-1].deepest, len(stack) + levels)
                attach(node, pos)
            elif kind is yaml.DocumentStartEvent:
                if done:
                    pos = (event.start_mark.line + 1, event.start_mark.column + 1)
                    raise fail(pos, "a script is one YAML document; found a second one")
                done = True
            elif kind is yaml.StreamEndEvent:
                break
    finally:
        loader.dispose()
    return root
