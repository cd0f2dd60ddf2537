"""A small safe evaluator for spec expressions such as `c_in * t` or `s == 1 and c_in == c`.

The expression is parsed with `ast` and walked node by node; only numbers, names, arithmetic,
comparisons, boolean logic, `x if cond else y` and a few pure functions are allowed. Nothing
reaches `eval`.

Names may be bound to numpy arrays (one value per configuration of a sweep): then `and`, `or`,
`not`, chained comparisons and `x if cond else y` work elementwise, and the functions are
numpy's. A name bound to an `Unknown` (a channel count known only in the shape pass) makes the
evaluation raise `Unresolved` as soon as its value is needed; `False and ...` never needs it.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import limits
from .errors import CostcalcError
from .width import _exact, make_divisible

Number = Any  # int, float, bool, or a numpy array of them


class ExprError(CostcalcError):
    """An expression that cannot be evaluated; the spec loader adds file and line."""


class Unknown:
    """Base of values that are known only in the shape pass (see dims.py)."""


class Unresolved(Exception):
    """The expression needs a value that is not known yet (an `Unknown` name)."""


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_DIVISIONS = (ast.Div, ast.FloorDiv, ast.Mod)
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def _is_array(*values: Any) -> bool:
    return any(isinstance(v, np.ndarray) for v in values)


def _to_int(fn: Callable[[Any], Any], python: Callable[[Any], Any]) -> Callable[..., Any]:
    """int, round, ceil, floor: Python's on numbers, numpy's (then int64) on arrays."""

    def call(value: Any, *rest: Any) -> Any:
        if not _is_array(value, *rest):
            return python(value, *rest)
        if rest:
            raise TypeError("takes one argument when sweeping")
        return _exact(fn(value)) if value.dtype.kind == "f" else value

    return call


def _extreme(fn: Callable[[Any, Any], Any], python: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        return functools.reduce(fn, args) if _is_array(*args) else python(*args)

    return call


FUNCTIONS: dict[str, Callable[..., Number]] = {
    "make_divisible": make_divisible,
    "min": _extreme(np.minimum, min),
    "max": _extreme(np.maximum, max),
    "round": _to_int(np.rint, round),
    "int": _to_int(np.trunc, int),
    "ceil": _to_int(np.ceil, math.ceil),
    "floor": _to_int(np.floor, math.floor),
    "abs": lambda value: np.abs(value) if _is_array(value) else abs(value),
}
_HINT = "use numbers, names, + - * / // %, comparisons, and/or/not"


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> ast.expr:
    """The expression's syntax tree (cached: spec expressions are evaluated many times)."""
    bound = limits.current()
    if len(text) > bound.max_expression_chars:
        raise ExprError(f"expression longer than {bound.max_expression_chars} characters "
                        "(limit max_expression_chars)", limits.fix("max_expression_chars"))
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        raise ExprError(f"cannot parse expression '{text}'", _HINT) from None
    if _depth(tree) > bound.max_expression_depth:
        raise ExprError(f"expression nests deeper than {bound.max_expression_depth} levels "
                        "(limit max_expression_depth)", limits.fix("max_expression_depth"))
    return tree


def _depth(tree: ast.AST) -> int:
    """The nesting depth of a syntax tree, without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _check_size(value: Any, text: str) -> Any:
    """Refuse a result that is not finite or has more digits than max_int_digits."""
    digits = limits.current().max_int_digits
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise ExprError(f"expression '{text}' gives a value that is not finite")
        return value
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        raise ExprError(f"expression '{text}' gives {value}, not a finite number")
    if isinstance(value, int | float | np.number) and not isinstance(value, bool) \
            and abs(value) >= 10 ** digits:
        raise ExprError(f"expression '{text}' gives a number of more than {digits} digits "
                        "(limit max_int_digits)", limits.fix("max_int_digits"))
    return value


def _power_too_large(left: Any, right: Any) -> bool:
    """Whether left ** right would pass max_int_digits, judged before computing it."""
    base = np.max(np.abs(left)) if isinstance(left, np.ndarray) else abs(left)
    exponent = np.max(right) if isinstance(right, np.ndarray) else right
    if base <= 1 or exponent <= 0:
        return False
    return float(exponent) * math.log10(float(base)) >= limits.current().max_int_digits


# `channels(NAME)` reads the output channels of the layer NAME (looked up as `inputs:` names
# are), not a number: the caller binds it under the key channels_key(NAME).
CHANNELS = "channels"


def channels_key(layer: str) -> str:
    return f"{CHANNELS}({layer})"


def _channels_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
        and node.func.id == CHANNELS


def _layer_name(node: ast.AST) -> str | None:
    """The layer a `channels()` argument names: `x`, or dotted, `b.x` (a layer inside the
    block instance b); None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (outer := _layer_name(node.value)) is not None:
        return f"{outer}.{node.attr}"
    return None


def _in_channels(tree: ast.AST) -> set[int]:
    """The ids of the nodes that spell a `channels()` argument (a layer, not names to read)."""
    return {id(part) for node in ast.walk(tree) if _channels_call(node) for arg in node.args
            for part in ast.walk(arg)}


@functools.lru_cache(maxsize=4096)
def names_in(text: str) -> frozenset[str]:
    """The names an expression reads (true/false and called functions excluded); a
    `channels(x)` reads the name channels_key('x')."""
    tree = parse(text)
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    layers = _in_channels(tree)
    return frozenset({node.id for node in ast.walk(tree) if isinstance(node, ast.Name)
                      and id(node) not in called and id(node) not in layers}
                     - {"true", "True", "false", "False"}) | frozenset(
        channels_key(str(_layer_name(node.args[0]))) for node in ast.walk(tree)
        if _channels_call(node))


_OPERATORS = (*_BINARY, *_COMPARE, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or)
_NODES = (ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare,
          ast.IfExp, ast.Call)


def check_syntax(text: str) -> None:
    """Raise the ExprError that evaluating `text` would raise for its form alone (syntax,
    disallowed nodes and calls, non-numbers), whatever values its names turn out to have."""
    tree = parse(text)
    layers = _in_channels(tree)
    for node in ast.walk(tree):
        if id(node) in layers:
            continue
        if isinstance(node, ast.Call):
            _check_call(node)
        elif isinstance(node, ast.Constant):
            _check_constant(node, text)
        elif not isinstance(node, _NODES + _OPERATORS):
            raise _not_allowed(node, text)


def _not_allowed(node: ast.AST, text: str) -> ExprError:
    shown = ast.unparse(node) if isinstance(node, ast.expr) else text
    return ExprError(f"'{shown}' is not allowed in an expression",
                     f"{_HINT}, min/max/round/int/ceil/floor/abs")


def _check_call(node: ast.Call) -> None:
    if _channels_call(node):
        if len(node.args) != 1 or _layer_name(node.args[0]) is None or node.keywords:
            raise ExprError(f"'{ast.unparse(node)}': {CHANNELS}() takes one layer name",
                            f"e.g. {CHANNELS}(expand)")
        return
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
        raise ExprError(f"'{ast.unparse(node)}' is not an allowed call",
                        "allowed functions: " + ", ".join([*FUNCTIONS, CHANNELS]))


def _check_constant(node: ast.Constant, text: str) -> None:
    if isinstance(node.value, str | bytes) or not isinstance(node.value, bool | int | float):
        raise ExprError(f"'{node.value!r}' is not a number in expression '{text}'")


def evaluate(text: str, names: Mapping[str, Number]) -> Number:
    """Evaluate `text` with `names` bound; raise ExprError on anything outside the grammar,
    Unresolved when it needs the value of an `Unknown`."""
    tree = parse(text)
    try:
        return _Evaluator(text, names).visit(tree)
    except (OverflowError, ZeroDivisionError, ArithmeticError) as exc:
        raise ExprError(f"cannot evaluate '{text}': {exc}") from None


class _Evaluator:
    def __init__(self, text: str, names: Mapping[str, Number]):
        self.text, self.names = text, names

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise _not_allowed(node, self.text)
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Number:
        _check_constant(node, self.text)
        return _check_size(node.value, self.text)

    def visit_Name(self, node: ast.Name) -> Number:
        if node.id in ("true", "True"):
            return True
        if node.id in ("false", "False"):
            return False
        if node.id not in self.names:
            from .errors import did_you_mean

            fix = did_you_mean(node.id, self.names) if self.names else ""
            raise ExprError(f"unknown name '{node.id}' in expression '{self.text}'", fix)
        value = self.names[node.id]
        if isinstance(value, Unknown):
            raise Unresolved(node.id)
        return value

    def visit_BinOp(self, node: ast.BinOp) -> Number:
        fn = _BINARY.get(type(node.op))
        if fn is None:
            return self.visit(node.op)
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow) and _power_too_large(left, right):
            raise ExprError(f"'{ast.unparse(node)}' gives a number of more than "
                            f"{limits.current().max_int_digits} digits in expression "
                            f"'{self.text}' (limit max_int_digits)",
                            limits.fix("max_int_digits"))
        if isinstance(node.op, _DIVISIONS) and np.any(np.equal(right, 0)):
            raise ExprError(f"division by zero in expression '{self.text}'")
        return _check_size(fn(left, right), self.text)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Number:
        value = _check_size(self.visit(node.operand), self.text)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
        if isinstance(node.op, ast.Not):
            return np.logical_not(value) if _is_array(value) else not value
        return self.visit(node.op)

    def visit_BoolOp(self, node: ast.BoolOp) -> Number:
        is_and = isinstance(node.op, ast.And)
        combine = np.logical_and if is_and else np.logical_or
        result: Any = None
        for index, value_node in enumerate(node.values):
            value = self.visit(value_node)
            result = value if index == 0 or not _is_array(result, value) else combine(result,
                                                                                      value)
            if not _is_array(result) and (not result if is_and else result):
                return result  # Python's short circuit: the rest is never evaluated
        return result

    def visit_Compare(self, node: ast.Compare) -> Any:
        left = self.visit(node.left)
        result: Any = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            fn = _COMPARE.get(type(op))
            if fn is None:
                return self.visit(op)
            right = self.visit(right_node)
            result = np.logical_and(result, fn(left, right)) if _is_array(left, right) \
                else result and fn(left, right)
            if not _is_array(result) and not result:
                return False
            left = right
        return result

    def visit_IfExp(self, node: ast.IfExp) -> Number:
        test = self.visit(node.test)
        if _is_array(test):
            return np.where(test, self.visit(node.body), self.visit(node.orelse))
        return self.visit(node.body) if test else self.visit(node.orelse)

    def visit_Call(self, node: ast.Call) -> Number:
        _check_call(node)
        if _channels_call(node):
            layer = str(_layer_name(node.args[0]))
            key = channels_key(layer)
            if key not in self.names:
                raise ExprError(f"unknown layer '{layer}' in '{self.text}'")
            if isinstance(self.names[key], Unknown):
                raise Unresolved(key)
            return self.names[key]
        args = [self.visit(arg) for arg in node.args]
        if node.func.id == "make_divisible" and len(args) > 1 and np.any(np.less_equal(args[1],
                                                                                        0)):
            raise ExprError(f"{ast.unparse(node)}: the divisor must be positive")
        try:
            return _check_size(FUNCTIONS[node.func.id](*args), self.text)
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise ExprError(f"{ast.unparse(node)}: {exc}") from None
