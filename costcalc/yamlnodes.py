"""YAML with line numbers: safe semantics, duplicate keys rejected, every value located.

The document is built from the parser's event stream (libyaml's when installed) by an
iterative composer, so that nesting depth and alias expansion are counted while the document
is read: a deeply nested file or a "billion laughs" of aliases is refused as soon as it passes
its limit (costcalc.limits), before the work is done, and nothing here recurses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

from . import limits
from .errors import Problem, SpecError

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # PyYAML without libyaml
    _Loader = yaml.SafeLoader


@dataclass(frozen=True, slots=True)
class Node:
    """A YAML value and the 1-based line it starts on. Mappings hold dict[str, Node]."""

    value: Any
    line: int


def as_float(value: Any) -> float | None:
    """A finite number, also from YAML text such as 1.0e6 or 1e12 (YAML 1.1 reads an exponent
    without a decimal point and a sign as a string); None for anything else. For files whose
    numbers are data (papers, hardware profiles); a spec's text goes through its expressions."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.SafeLoader("")
_COLLECTION_TAGS = {yaml.MappingStartEvent: (None, "tag:yaml.org,2002:map"),
                    yaml.SequenceStartEvent: (None, "tag:yaml.org,2002:seq")}


def _scalar(event: yaml.ScalarEvent) -> Any:
    """A scalar's Python value under safe_load's rules; ValueError for a tag it cannot read."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    make = _CONSTRUCTOR.yaml_constructors.get(tag)
    if make is None:
        raise ValueError(f"unknown tag {tag}")
    try:
        return make(_CONSTRUCTOR, node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        raise ValueError(str(exc).splitlines()[0]) from None


_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9_]*)")


def _yaml11_surprise(event: yaml.ScalarEvent, value: Any) -> str | None:
    """YAML 1.1 reads some plain numbers in ways nobody writing a spec means: `010` is octal 8,
    `1:30` is sexagesimal 90. Such a plain scalar is an error, with what to write instead."""
    if event.style not in (None, "") or event.tag not in (None, "!"):
        return None  # quoted or tagged: the writer chose
    text = event.value
    if isinstance(value, int) and not isinstance(value, bool) and not _DECIMAL.fullmatch(text) \
            and not text.lower().lstrip("+-").startswith(("0x", "0b")):
        return f"YAML 1.1 reads {text} as {value} (octal or base 60)"
    if isinstance(value, float) and ":" in text:
        return f"YAML 1.1 reads {text} as {value} (base 60)"
    return None


class _Open:
    """A mapping or list being read: its items, and for a mapping the pending key."""

    __slots__ = ("anchor", "items", "key", "key_line", "line", "size")

    def __init__(self, items: Any, line: int, anchor: str | None):
        self.items, self.line, self.anchor = items, line, anchor
        self.key: Any = None
        self.key_line = 0
        self.size = 1


def parse_yaml(text: str, file: str) -> Node:
    bound = limits.current()
    if len(text) > bound.max_file_bytes:  # characters; load_spec checks bytes first
        raise SpecError(Problem(file, 0, f"the spec has {len(text):,} characters, more than "
                                f"the limit max_file_bytes = {bound.max_file_bytes:,}",
                                limits.fix("max_file_bytes")))
    problems: list[Problem] = []
    try:
        root = _compose(text, file, problems, bound)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = f"YAML syntax error: {exc.problem or exc.context}"
        raise SpecError(Problem(file, line, what, "check indentation, colons and brackets")) \
            from None
    except yaml.YAMLError as exc:
        raise SpecError(Problem(file, 0, f"YAML error: {str(exc).splitlines()[0]}")) from None
    if problems:
        raise SpecError(problems)
    if root is None:
        raise SpecError(Problem(file, 1, "the spec is empty",
                                "start with `version: 1`, `name:`, `input:` and `layers:`"))
    return root


def _compose(text: str, file: str, problems: list[Problem],
             bound: limits.Limits) -> Node | None:
    anchors: dict[str, tuple[Node, int]] = {}
    stack: list[_Open] = []
    root: Node | None = None
    documents = 0
    added = 0  # nodes that aliases add
    scalars: dict[tuple[Any, ...], tuple[Any, str | None, str | None]] = {}

    def fail(line: int, what: str, name: str) -> SpecError:
        return SpecError(Problem(file, line, what, limits.fix(name)))

    for event in yaml.parse(text, Loader=_Loader):
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise SpecError(Problem(file, line, "the file holds more than one YAML "
                                        "document", "remove the `---` separator"))
            continue
        node: Node | None = None
        size = 1
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            if event.tag not in _COLLECTION_TAGS[type(event)]:
                problems.append(Problem(file, line, f"YAML tag {event.tag} is not allowed "
                                        "here", "remove the YAML tag (the text after ! or !!)"))
            if len(stack) >= bound.max_yaml_depth:
                raise fail(line, f"the YAML nests deeper than {bound.max_yaml_depth} levels "
                           "(limit max_yaml_depth)", "max_yaml_depth")
            is_map = isinstance(event, yaml.MappingStartEvent)
            stack.append(_Open({} if is_map else [], line, event.anchor))
            if event.anchor is not None:
                anchors.pop(event.anchor, None)  # an alias to it inside is recursive
            continue
        if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            done = stack.pop()
            node, size = Node(done.items, done.line), done.size
            if done.anchor is not None:
                anchors[done.anchor] = (node, size)
        elif isinstance(event, yaml.ScalarEvent):
            # Large specs repeat the same few scalars: each distinct one is read once.
            memo = (event.value, event.tag, event.style, event.implicit)
            verdict = scalars.get(memo)
            if verdict is None:
                try:
                    value = _scalar(event)
                    verdict = (value, _yaml11_surprise(event, value), None)
                except ValueError as exc:
                    verdict = (None, None, str(exc))
                scalars[memo] = verdict
            value, surprise, error = verdict
            if error is not None:
                problems.append(Problem(file, line, f"cannot read the value {event.value!r} "
                                        f"tagged {event.tag}: {error}",
                                        "remove the YAML tag (the text after ! or !!)"))
            if surprise is not None:
                problems.append(Problem(file, line, surprise, "write the number in decimal "
                                        f"(e.g. {value}), or quote it to mean the text"))
            node = Node(value, line)
            if event.anchor is not None:
                anchors[event.anchor] = (node, 1)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                if any(o.anchor == event.anchor for o in stack):
                    raise SpecError(Problem(file, line, f"the alias *{event.anchor} refers to "
                                            "the value that contains it",
                                            "YAML aliases cannot be recursive"))
                raise SpecError(Problem(file, line, f"unknown alias *{event.anchor}",
                                        "define the anchor (&name) before using it"))
            node, size = anchors[event.anchor]
            added += size
            if added > bound.max_alias_nodes:
                raise fail(line, f"YAML aliases expand to more than "
                           f"{bound.max_alias_nodes:,} nodes (limit max_alias_nodes)",
                           "max_alias_nodes")
        else:
            continue  # stream and document ends
        _attach(node, size, stack, event, file, problems)
        if not stack:
            root = node
    return root


def _attach(node: Node, size: int, stack: list[_Open], event: Any, file: str,
            problems: list[Problem]) -> None:
    if not stack:
        return
    parent = stack[-1]
    parent.size += size
    if isinstance(parent.items, list):
        parent.items.append(node)
        return
    if parent.key is None:  # this node is a key
        if isinstance(event, yaml.ScalarEvent):
            parent.key, parent.key_line = event.value, node.line
        else:
            problems.append(Problem(file, node.line, "mapping keys must be plain names"))
            parent.key, parent.key_line = _BAD_KEY, node.line
        return
    key, parent.key = parent.key, None
    if key is _BAD_KEY:
        return
    if key in parent.items:
        problems.append(Problem(file, parent.key_line, f"duplicate key '{key}' (first on line "
                                f"{parent.items[key].line})", "remove one of them"))
        return
    # A mapping entry is located at its key, where a reader looks for it.
    parent.items[key] = Node(node.value, parent.key_line)


_BAD_KEY = object()


def plain(node: Node) -> Any:
    """The Python value of a node, lines dropped."""
    if isinstance(node.value, dict):
        return {k: plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [plain(v) for v in node.value]
    return node.value
