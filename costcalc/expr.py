"""A small safe evaluator for spec expressions such as `c_in * t` or `s == 1 and c_in == c`.

The expression is parsed with `ast` and walked node by node; only numbers, names, arithmetic,
comparisons, boolean logic, `x if cond else y` and a few pure functions are allowed. Nothing
reaches `eval`.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from .errors import CostcalcError

Number = int | float | bool


class ExprError(CostcalcError):
    """An expression that cannot be evaluated; the spec loader adds file and line."""

    def __init__(self, what: str, fix: str = ""):
        self.what, self.fix = what, fix
        super().__init__(what)


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round to the nearest multiple of `divisor`, at least `min_value`, never below 90 % of
    `value` (the channel rounding of the MobileNetV2/V3 reference code)."""
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


FUNCTIONS: dict[str, Callable[..., Number]] = {
    "make_divisible": make_divisible,
    "min": min,
    "max": max,
    "round": round,
    "int": int,
    "ceil": math.ceil,
    "floor": math.floor,
    "abs": abs,
}
_MAX_LEN = 500
_MAX_EXPONENT = 64


def evaluate(text: str, names: Mapping[str, Number]) -> Number:
    """Evaluate `text` with `names` bound; raise ExprError on anything outside the grammar."""
    if len(text) > _MAX_LEN:
        raise ExprError(f"expression longer than {_MAX_LEN} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ExprError(f"cannot parse expression '{text}'",
                        "use numbers, names, + - * / // %, comparisons, and/or/not") from None
    return _Evaluator(text, names).visit(tree.body)


class _Evaluator:
    def __init__(self, text: str, names: Mapping[str, Number]):
        self.text, self.names = text, names

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise ExprError(f"'{ast.unparse(node)}' is not allowed in an expression",
                            "use numbers, names, + - * / // %, comparisons, and/or/not, "
                            "min/max/round/int/ceil/floor/abs")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Number:
        if isinstance(node.value, bool | int | float):
            return node.value
        raise ExprError(f"'{node.value!r}' is not a number in expression '{self.text}'")

    def visit_Name(self, node: ast.Name) -> Number:
        if node.id in ("true", "True"):
            return True
        if node.id in ("false", "False"):
            return False
        if node.id not in self.names:
            import difflib

            close = difflib.get_close_matches(node.id, list(self.names), n=1)
            fix = f"did you mean '{close[0]}'?" if close else (
                "known names: " + ", ".join(sorted(self.names)) if self.names else "")
            raise ExprError(f"unknown name '{node.id}' in expression '{self.text}'", fix)
        return self.names[node.id]

    def visit_BinOp(self, node: ast.BinOp) -> Number:
        fn = _BINARY.get(type(node.op))
        if fn is None:
            return self.visit(node.op)
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise ExprError(f"exponent {right} too large in expression '{self.text}'")
        try:
            return fn(left, right)
        except ZeroDivisionError:
            raise ExprError(f"division by zero in expression '{self.text}'") from None

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Number:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
        if isinstance(node.op, ast.Not):
            return not value
        return self.visit(node.op)

    def visit_BoolOp(self, node: ast.BoolOp) -> Number:
        if isinstance(node.op, ast.And):
            result: Any = True
            for value in node.values:
                result = self.visit(value)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = self.visit(value)
            if result:
                return result
        return result

    def visit_Compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            fn = _COMPARE.get(type(op))
            if fn is None:
                return self.visit(op)
            right = self.visit(right_node)
            if not fn(left, right):
                return False
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Number:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Call(self, node: ast.Call) -> Number:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise ExprError(f"'{ast.unparse(node)}' is not an allowed call",
                            "allowed functions: " + ", ".join(FUNCTIONS))
        args = [self.visit(arg) for arg in node.args]
        try:
            return FUNCTIONS[node.func.id](*args)
        except (TypeError, ValueError) as exc:
            raise ExprError(f"{ast.unparse(node)}: {exc}") from None
