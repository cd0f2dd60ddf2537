"""Latency: a roofline per layer (metric visitors, the `latency` family of `report.METRICS`) and
a least-squares calibration against measured times (docs/deploy.md, "Latency").

Roofline, per layer over the batch (the network input takes no time):

    compute_ms = MACs / (peak x efficiency),  memory_ms = bytes moved / bandwidth,
    latency_ms = max(compute_ms, memory_ms),  compute_bound = 1 when compute_ms >= memory_ms

with the bytes a layer moves when it runs alone (its kernels once, every input and its output at
the dtype: the arithmetic-intensity convention of docs/conventions.md).

Calibration fits time = sum_k c_k x_k by least squares (numpy), one coefficient per kind of
work k chosen with `fit` (FEATURES): MACs, pooled elements (a pooling layer's outputs x its
window), bytes moved, and the output elements of every other layer. Points are layers of one
network (CSV header `layer,ms`) or whole networks (`network,ms`, a bundled spec, `spec@variant`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import CostcalcError, Problem, SpecError, did_you_mean
from .metrics import Context, _moved_bytes, buckets, macs
from .ops import Dim, Input, Pool, as_pair, maximum

FEATURES = ("macs", "pooled", "bytes", "elements")
FEATURE_TEXT = {"macs": "per MAC", "pooled": "per pooled element", "bytes": "per byte moved",
                "elements": "per output element of other layers"}
FEATURE_FORMAT = {"macs": "count", "pooled": "count", "bytes": "bytes", "elements": "count"}


def _roofline(ctx: Context):
    roofline = ctx.settings.latency
    assert roofline is not None, "latency metrics are measured only with a Roofline"
    return roofline


def _times(ctx: Context) -> Mapping[str, tuple[float, float]]:
    if "latency" not in ctx.cache:
        device = _roofline(ctx)
        moved = _moved_bytes(ctx)
        counts = macs(ctx.graph, ctx.shapes)
        types = buckets(ctx.graph, ctx.shapes) if device.by_type else {}
        out = {}
        for layer in ctx.graph.layers:
            if isinstance(layer.op, Input):
                out[layer.name] = (0.0, 0.0)
                continue
            fraction = device.fraction(types.get(layer.name, ""))
            out[layer.name] = (1e3 * ctx.batch * counts[layer.name]
                               / (device.peak_macs_per_s * fraction),
                               1e3 * moved[layer.name] / device.bandwidth_bytes_per_s)
        ctx.cache["latency"] = out
    return ctx.cache["latency"]


def compute_ms(ctx: Context) -> dict[str, float]:
    return {name: c for name, (c, _) in _times(ctx).items()}


def memory_ms(ctx: Context) -> dict[str, float]:
    return {name: m for name, (_, m) in _times(ctx).items()}


def latency_ms(ctx: Context) -> dict[str, Dim]:
    return {name: maximum(c, m) for name, (c, m) in _times(ctx).items()}


def compute_bound(ctx: Context) -> dict[str, Dim]:
    """1 where the compute time bounds the layer, 0 where memory does (or it takes no time);
    elementwise over a sweep's arrays."""
    out: dict[str, Dim] = {}
    for name, (c, m) in _times(ctx).items():
        bound = (np.asarray(c) >= m) & (np.asarray(c) > 0)
        out[name] = bound.astype(np.int64) if bound.ndim else int(bound)
    return out


# ---------------------------------------------------------------------------------------------
# Calibration


def layer_features(graph, shapes, batch: int = 1,
                   bits: int | tuple[int, int] = 32) -> dict[str, dict[str, int]]:
    """The amount of each kind of work every layer does (FEATURES), over the batch; `bits` is
    the element width, or (weights', activations')."""
    from .metrics import Settings

    wb, ab = (bits, bits) if isinstance(bits, int) else bits
    ctx = Context(graph, shapes, Settings(batch, f"{ab}bit", weight_dtype=f"{wb}bit"),
                  {layer.name: layer.op.params(tuple(shapes[s] for s in layer.inputs),
                                               shapes[layer.name]) for layer in graph.layers})
    moved = _moved_bytes(ctx)
    counts = macs(graph, shapes)
    out = {}
    for layer in graph.layers:
        y = shapes[layer.name]
        work = dict.fromkeys(FEATURES, 0)
        if not isinstance(layer.op, Input):
            work["macs"] = batch * counts[layer.name]
            work["bytes"] = moved[layer.name]
            if isinstance(layer.op, Pool):
                x = shapes[layer.inputs[0]]
                kh, kw = (x.h, x.w) if layer.op.global_ else as_pair(layer.op.kernel)
                work["pooled"] = batch * y.numel * kh * kw
            elif not counts[layer.name]:
                work["elements"] = batch * y.numel
        out[layer.name] = work
    return out


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    measured_ms: float
    predicted_ms: float
    held_out: bool
    line: int
    work: Mapping[str, int]  # the point's work of each fitted feature (FEATURES)

    @property
    def error_pct(self) -> float:
        return 100 * (self.predicted_ms - self.measured_ms) / self.measured_ms


@dataclass(frozen=True, slots=True)
class Fit:
    """A least-squares fit: ms per unit of each feature, and every point's prediction."""

    features: tuple[str, ...]
    coefficients: tuple[float, ...]  # ms per unit of each feature
    points: tuple[Point, ...]
    clock_ratio: float = 1.0  # predictions of held-out points at a clock this many times faster

    def error_pct(self, held_out: bool) -> float:
        """The total's error over the fitted or the held-out points, in percent."""
        chosen = [p for p in self.points if p.held_out == held_out]
        measured = sum(p.measured_ms for p in chosen)
        return 100 * (sum(p.predicted_ms for p in chosen) - measured) / measured

    def mean_abs_error_pct(self, held_out: bool) -> float:
        chosen = [abs(p.error_pct) for p in self.points if p.held_out == held_out]
        return sum(chosen) / len(chosen)


def read_times(path: str | Path) -> tuple[str, list[tuple[str, float, int]]]:
    """A times CSV: header `layer,ms` or `network,ms`, then one row per point. Returns the kind
    (layer or network) and (name, ms, line) rows; every problem is reported with its line."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CostcalcError(f"{file}: cannot read: {exc}") from None
    rows = [r for r in csv.reader(io.StringIO(text))]
    lines = [(i + 1, r) for i, r in enumerate(rows) if r and not r[0].lstrip().startswith("#")]
    if not lines or [c.strip() for c in lines[0][1]] not in (["layer", "ms"], ["network", "ms"]):
        raise CostcalcError(f"{file}:1: a times CSV starts with the header `layer,ms` or "
                            "`network,ms`", "then one row per point, e.g. `conv1,55`")
    kind = lines[0][1][0].strip()
    problems, out, seen = [], [], {}
    for line, row in lines[1:]:
        if len(row) != 2:
            problems.append(Problem(file, line, f"expected 2 fields ({kind},ms), got {len(row)}"))
            continue
        name, text_ms = row[0].strip(), row[1].strip()
        if not name:
            problems.append(Problem(file, line, f"a row without a {kind} name",
                                    f"write `{kind},ms` rows such as `conv1,55`"))
            continue
        try:
            ms = float(text_ms)
        except ValueError:
            ms = math.nan
        if not math.isfinite(ms) or ms < 0:
            problems.append(Problem(file, line, f"'{name}': the time {text_ms!r} is not a "
                                    "non-negative number of milliseconds",
                                    "leave out points the source prints as '<1'"))
        elif name in seen:
            problems.append(Problem(file, line, f"'{name}' is listed twice (line {seen[name]})",
                                    "give each point one row"))
        else:
            seen[name] = line
            out.append((name, ms, line))
    if problems:
        raise SpecError(problems)
    return kind, out


TimedPoint = tuple[str, Mapping[str, int], float, int]  # name, work, ms, line


def fit(train: Sequence[TimedPoint], features: Sequence[str], holdout: Iterable[str] = (),
        predict: Sequence[TimedPoint] = (), file: str = "times",
        clock_ratio: float = 1.0) -> Fit:
    """Least squares of ms on the chosen features over `train` without the `holdout` points.
    Held-out points are predicted at the same clock; `predict` points (another measurement) at
    a clock `clock_ratio` times faster (the fitted times divided by the ratio)."""
    unknown = [f for f in features if f not in FEATURES]
    if unknown or not features:
        name = unknown[0] if unknown else ""
        raise CostcalcError(f"unknown fit feature '{name}'", did_you_mean(name, FEATURES))
    if not clock_ratio > 0:
        raise CostcalcError(f"--clock-ratio must be positive, got {clock_ratio!r}")
    names = {p[0] for p in train}
    held = set(holdout)
    for name in sorted(held - names):
        raise CostcalcError(f"--holdout {name}: {file} has no point named '{name}'",
                            did_you_mean(name, names))
    fitted = [p for p in train if p[0] not in held]
    if len(fitted) < len(features):
        raise CostcalcError(f"{file}: {len(fitted)} point(s) to fit {len(features)} "
                            f"coefficient(s)", "give at least as many timed points as "
                            "coefficients, or fit fewer features (--fit)")
    a = np.array([[float(work[f]) for f in features] for _, work, _, _ in fitted])
    b = np.array([ms for _, _, ms, _ in fitted])
    for j, feature in enumerate(features):
        if not a[:, j].any():
            raise CostcalcError(f"{file}: no fitted point does any '{feature}' work, so its "
                                "coefficient cannot be fitted", "drop it from --fit, or time "
                                "a layer that does it")
    coefficients, *_ = np.linalg.lstsq(a, b, rcond=None)

    def predicted(work: Mapping[str, int]) -> float:
        return float(sum(c * work[f] for c, f in zip(coefficients, features, strict=True)))

    def done(work: Mapping[str, int]) -> dict[str, int]:
        return {f: int(work[f]) for f in features}

    out = [Point(name, ms, predicted(work), name in held, line, done(work))
           for name, work, ms, line in train]
    out += [Point(name, ms, predicted(work) / clock_ratio, True, line, done(work))
            for name, work, ms, line in predict]
    return Fit(tuple(features), tuple(float(c) for c in coefficients), tuple(out), clock_ratio)


def timed_points(kind: str, rows: Sequence[tuple[str, float, int]], file: str, graph=None,
                 shapes=None, batch: int = 1, bits: int | tuple[int, int] = 32) -> list[TimedPoint]:
    """The work behind each timed row: a layer of `graph` (kind `layer`), or a bundled network
    `spec` or `spec@variant` at the batch (kind `network`: its layers' work summed)."""
    if kind == "layer":
        work = layer_features(graph, shapes, batch, bits)
        problems = [Problem(file, line, f"'{name}': {graph.name} has no layer of that name",
                            did_you_mean(name, work)) for name, _, line in rows
                    if name not in work]
        if problems:
            raise SpecError(problems)
        return [(name, work[name], ms, line) for name, ms, line in rows]
    from .report import _pipeline  # report declares this module's metrics: import late

    out = []
    for name, ms, line in rows:
        spec, _, variant = name.partition("@")
        try:
            g, s = _pipeline(spec, None, None, None, variant or None)
        except CostcalcError as exc:
            raise CostcalcError(f"{file}:{line}: '{name}': {exc.what}", exc.fix) from None
        total = dict.fromkeys(FEATURES, 0)
        for values in layer_features(g, s, batch, bits).values():
            for feature in FEATURES:
                total[feature] += values[feature]
        out.append((name, total, ms, line))
    return out
