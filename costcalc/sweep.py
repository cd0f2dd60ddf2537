"""Sweeps: every metric of one network over a grid of width multipliers and resolutions at once.

The network is expanded once; the shape pass takes alpha, height and width as numpy arrays (one
element per configuration) and evaluates every dimension through the same op rules as a single
report, grouping configurations whose structure differs (shapes.shape_graph). The metrics are
the report's declared metrics (report.measure), so a sweep and `analyze` cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CostcalcError
from .expand import build_graph
from .metrics import Settings
from .ops import Input, Shape
from .report import analyze, measure
from .shapes import shape_graph
from .spec import Spec, load_spec

# Counts are int64 in a sweep. The largest configuration is first counted with Python ints;
# above this bound a sweep refuses rather than risk a silent wrap-around (2**63 / 1000: room for
# configurations whose structure, and so whose counts, differ a little from the largest one).
INT64_SAFE = 2**63 // 1000


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Totals per configuration: configuration i has width multiplier alpha[i] and input
    height[i] x width[i]; totals maps a metric key to an int64 array (or a float array for a
    ratio), in the order of the grid (alphas outer, resolutions inner)."""

    network: str
    alpha: np.ndarray
    height: np.ndarray
    width: np.ndarray
    totals: Mapping[str, np.ndarray]
    structures: int  # how many different graphs the configurations produced

    def __len__(self) -> int:
        return len(self.alpha)


def sweep(spec: Spec | str | Path, alphas: Sequence[float],
          resolutions: Sequence[int | tuple[int, int]] | None = None, *, batch: int = 1,
          dtype: str = "fp32", params: str = "framework", args: Mapping[str, Any] | None = None,
          variant: str | None = None) -> SweepResult:
    """Every declared metric of `spec` at each (alpha, resolution) of the grid."""
    settings = Settings(batch, dtype, params)
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    graph = build_graph(spec, args=args, variant=variant)
    base = graph.layers[0].op
    assert isinstance(base, Input)
    sizes = [(r, r) if isinstance(r, int) else (int(r[0]), int(r[1]))
             for r in (resolutions or [(base.height, base.width)])]
    if not alphas or any(not 0 < a <= 16 for a in alphas) or min(min(s) for s in sizes) < 1:
        raise CostcalcError("a sweep needs widths in (0, 16] and positive resolutions")
    _check_int64(spec, max(alphas), max(sizes, key=lambda s: s[0] * s[1]), batch, dtype,
                 params, args, variant)
    alpha = np.repeat(np.asarray(alphas, dtype=float), len(sizes))
    height = np.tile(np.asarray([s[0] for s in sizes], dtype=np.int64), len(alphas))
    width = np.tile(np.asarray([s[1] for s in sizes], dtype=np.int64), len(alphas))
    totals: dict[str, np.ndarray] = {}
    groups = shape_graph(graph, Shape(base.channels, height, width), alpha)
    for group in groups:
        values = measure(group.graph, group.shapes, settings).totals
        for key, value in values.items():
            column = totals.setdefault(key, np.zeros(len(alpha), dtype=np.asarray(value).dtype))
            column[group.select] = value
    return SweepResult(graph.name, alpha, height, width, totals, len(groups))


def _check_int64(spec: Spec, alpha: float, size: tuple[int, int], batch: int, dtype: str,
                 params: str, args: Mapping[str, Any] | None, variant: str | None) -> None:
    largest = analyze(spec, width=alpha, resolution=size, batch=batch, dtype=dtype,
                      params=params, args=args, variant=variant)
    top = max(int(v) for v in largest.to_dict()["totals"].values() if isinstance(v, int))
    if top > INT64_SAFE:
        raise CostcalcError(f"{spec.file}: counts reach {top:.3e} at width {alpha:g}, "
                            f"{size[0]}x{size[1]}, batch {batch}: too large for a vectorized "
                            "sweep", "sweep smaller settings, or use `costcalc report` (exact "
                            "integers) for this one")
