"""Channel rounding under the width multiplier alpha, for one alpha or a numpy array of them.

Each rule is written once with numpy's elementwise functions, which also take Python numbers;
`_exact` turns a 0-d result back into a Python int, so one configuration stays in exact Python
integers while a sweep gets int64 arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ROUNDING = ("truncate", "divisor", "nearest")


def _exact(value: Any) -> Any:
    """A numpy result as an int array, or as a Python int when it is a single value."""
    array = np.asarray(value).astype(np.int64)
    return int(array) if array.ndim == 0 else array


def make_divisible(value: Any, divisor: Any = 8, min_value: Any = None) -> Any:
    """Round to the nearest multiple of `divisor`, at least `min_value` (default: divisor), and
    never below 90 % of `value`: the channel rounding of the MobileNetV2/V3 reference code."""
    floor = divisor if min_value is None else min_value
    rounded = np.maximum(floor, np.trunc(np.add(value, divisor / 2)) // divisor * divisor)
    return _exact(np.where(rounded < 0.9 * np.asarray(value), rounded + divisor, rounded))


@dataclass(frozen=True, slots=True)
class WidthRule:
    """How alpha scales a channel count written in a spec (docs/spec-format.md, `width`)."""

    multiplier: float = 1.0
    round: str = "nearest"
    divisor: int = 8
    min: int = 1

    def apply(self, channels: Any, alpha: Any) -> Any:
        """Scale channel counts by alpha; where alpha = 1 they stay as written."""
        if not isinstance(channels, np.ndarray) and not isinstance(alpha, np.ndarray):
            if alpha == 1.0:
                return channels  # exact, however large
            if abs(channels) > 2**53:  # float arithmetic would not be exact
                return self._exact_scalar(int(channels), alpha)
        value = np.multiply(channels, alpha)
        if self.round == "truncate":
            scaled = np.maximum(np.trunc(value), self.min)
        elif self.round == "divisor":
            scaled = make_divisible(value, self.divisor, self.min)
        else:
            scaled = np.maximum(np.rint(value), self.min)  # half to even, as Python's round
        return _exact(np.where(np.equal(alpha, 1.0), channels, scaled))

    def _exact_scalar(self, channels: int, alpha: float) -> int:
        """The same rules in exact rational arithmetic, for counts past float precision."""
        import math
        from fractions import Fraction

        value = Fraction(channels) * Fraction(alpha)
        if self.round == "truncate":
            return max(math.trunc(value), self.min)
        if self.round == "nearest":
            return max(round(value), self.min)
        d = self.divisor
        rounded = max(self.min, math.trunc(value + Fraction(d, 2)) // d * d)
        return rounded + d if rounded < Fraction(9, 10) * value else rounded
