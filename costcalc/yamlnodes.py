"""YAML with line numbers: safe semantics, duplicate keys rejected, every value located."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from .errors import Problem, SpecError


@dataclass(frozen=True, slots=True)
class Node:
    """A YAML value and the 1-based line it starts on. Mappings hold dict[str, Node]."""

    value: Any
    line: int


_MAX_NODES = 200_000  # aliases can make a tiny file expand enormously ("billion laughs")


def parse_yaml(text: str, file: str) -> Node:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = f"YAML syntax error: {exc.problem or exc.context}"
        raise SpecError(Problem(file, line, what, "check indentation, colons and brackets")) \
            from None
    except yaml.YAMLError as exc:
        raise SpecError(Problem(file, 0, f"YAML error: {exc}")) from None
    if root is None:
        raise SpecError(Problem(file, 1, "the spec is empty",
                                "start with `version: 1`, `name:`, `input:` and `layers:`"))
    problems: list[Problem] = []
    budget = [_MAX_NODES]
    node = _convert(root, file, problems, budget)
    if problems:
        raise SpecError(problems)
    return node


def _convert(node: yaml.Node, file: str, problems: list[Problem], budget: list[int]) -> Node:
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(Problem(file, node.start_mark.line + 1,
                                f"the document has more than {_MAX_NODES} nodes",
                                "avoid deeply nested YAML aliases"))
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader.construct_scalar(yaml.SafeLoader(""), key_node) \
                if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                problems.append(Problem(file, key_node.start_mark.line + 1,
                                        "mapping keys must be plain names"))
                continue
            if key in out:
                problems.append(Problem(file, key_node.start_mark.line + 1,
                                        f"duplicate key '{key}' (first on line {out[key].line})",
                                        "remove one of them"))
                continue
            value = _convert(value_node, file, problems, budget)
            # A mapping entry is located at its key, where a reader looks for it.
            out[key] = Node(value.value, key_node.start_mark.line + 1)
        return Node(out, line)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(item, file, problems, budget) for item in node.value], line)
    try:
        return Node(yaml.SafeLoader("").construct_object(node), line)
    except (yaml.YAMLError, ValueError, TypeError) as exc:  # a bad tag: !!int x, !custom
        problems.append(Problem(file, line, f"cannot read the value {node.value!r} tagged "
                                f"{node.tag}: {str(exc).splitlines()[0]}",
                                "remove the YAML tag (the text after ! or !!)"))
        return Node(None, line)


def plain(node: Node) -> Any:
    """The Python value of a node, lines dropped."""
    if isinstance(node.value, dict):
        return {k: plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [plain(v) for v in node.value]
    return node.value
