"""The safe expression evaluator."""

from __future__ import annotations

import pytest

from costcalc.expr import ExprError, evaluate, make_divisible


@pytest.mark.parametrize("text, value", [
    ("c_in * t", 96), ("s == 1 and c_in == c", False), ("c // 4 + 1", 9), ("-t + 1", -5),
    ("max(1280, 1280 * alpha)", 1280), ("1 if t != 1 else 0", 1), ("not s == 2", True),
    ("2 ** 3", 8), ("1e-3", 0.001), ("round(2.6)", 3), ("make_divisible(34 * 0.35)", 16),
    ("1 < s <= 2", False),
])
def test_evaluates(text: str, value: object) -> None:
    names = {"c_in": 16, "t": 6, "s": 1, "c": 32, "alpha": 0.5}
    assert evaluate(text, names) == value


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('true')", "is not an allowed call"),
    ("c_in.__class__", "is not allowed"),
    ("[1, 2]", "is not allowed"),
    ("lambda: 1", "is not allowed"),
    ("'text'", "is not a number"),
    ("c_in +", "cannot parse"),
    ("c_n * 2", "unknown name 'c_n'"),
    ("2 ** 1000", "more than 100 digits"),
    ("1 // 0", "division by zero"),
    ("x" * 600, "longer than"),
])
def test_rejects(text: str, message: str) -> None:
    with pytest.raises(ExprError) as info:
        evaluate(text, {"c_in": 16})
    assert message in str(info.value)


def test_unknown_name_suggests() -> None:
    with pytest.raises(ExprError) as info:
        evaluate("c_ni", {"c_in": 1})
    assert info.value.fix == "did you mean 'c_in'?"


@pytest.mark.parametrize("value, expected", [(16 * 0.35, 8), (32 * 0.35, 16), (320 * 0.35, 112),
                                             (1280 * 1.4, 1792), (96 * 0.75, 72), (3.0, 8)])
def test_make_divisible_matches_reference_rounding(value: float, expected: int) -> None:
    assert make_divisible(value, 8) == expected
