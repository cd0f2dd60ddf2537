"""Comparisons: several networks (or one at several settings) side by side, and budgets.

An entry is a spec with its own settings, `mobilenet_v2:width=0.75,resolution=160`: `width`,
`resolution` (224 or HxW), `batch` and `variant` are settings, any other key is a spec argument.
A budget (`macs=300e6`) replaces each entry's width (or resolution) by the largest value within
it, found by evaluating every candidate exactly through the vectorized sweep: widths
0.01, 0.02, ... 4.00 (two decimals) or resolutions 8, 9, ... 1024 (every pixel); where the
network is invalid at the largest candidate (the sweep's int64 bound is counted there), the
upper half of the candidates is dropped until it is valid. Invalid candidates are skipped.
Nothing assumes the cost is monotone: the largest candidate that fits is the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import CostcalcError, did_you_mean
from .report import METRICS, Report, analyze, check_metric_keys
from .spec import load_spec
from .sweep import DEFAULT_KEYS, LargestInvalid, parse_values, sweep

SETTINGS = ("width", "resolution", "batch", "variant")
WIDTHS = tuple(k / 100 for k in range(1, 401))
RESOLUTIONS = tuple(range(8, 1025))
VARY = ("width", "resolution")


@dataclass(frozen=True, slots=True)
class Entry:
    """One column of a comparison: a spec and its settings, as written."""

    text: str
    spec: str
    width: float | None = None
    resolution: int | tuple[int, int] | None = None
    batch: int = 1
    variant: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)  # spec arguments


def parse_entry(text: str) -> Entry:
    """`SPEC` or `SPEC:key=value,key=value`."""
    spec, _, rest = text.partition(":")
    values: dict[str, Any] = {}
    args: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise CostcalcError(f"'{text}': '{item}' is not key=value",
                                "e.g. mobilenet_v2:width=0.75,resolution=160")
        if key == "variant":
            values[key] = value
        elif key == "resolution" and "x" in value:
            h, _, w = value.partition("x")
            values[key] = (parse_values(h, text, True)[0], parse_values(w, text, True)[0])
        else:
            (number,) = parse_values(value, f"'{text}': {key}", key in ("resolution", "batch"))
            (values if key in SETTINGS else args)[key] = number
    return Entry(text, spec, values.get("width"), values.get("resolution"),
                 values.get("batch", 1), values.get("variant"), args)


def parse_budget(items: Sequence[str]) -> dict[str, float]:
    """`macs=300e6`, `params=3e6`: a metric's largest allowed total."""
    known = [m.key for m in METRICS]
    budget: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if key not in known:
            raise CostcalcError(f"--budget: unknown metric '{key}'", did_you_mean(key, known))
        try:
            budget[key] = float(value)
        except ValueError:
            raise CostcalcError(f"--budget '{item}': use METRIC=NUMBER",
                                "e.g. --budget macs=300e6") from None
        if not sep or not np.isfinite(budget[key]) or budget[key] < 0:
            raise CostcalcError(f"--budget '{item}': use METRIC=NUMBER (a non-negative number)")
    return budget


@dataclass(frozen=True, slots=True)
class Column:
    entry: Entry
    report: Report | None  # None: nothing within the budget
    fitted: float | int | None = None  # the width or resolution the budget chose


@dataclass(frozen=True, slots=True)
class Comparison:
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    budget: Mapping[str, float]
    vary: str


def compare(entries: Sequence[str | Entry], keys: Sequence[str] | None = None,
            budget: Mapping[str, float] | None = None, vary: str = "width",
            dtype: str = "fp32", params: str = "framework") -> Comparison:
    """Every entry's report (at the largest width or resolution within `budget`, if given)."""
    if vary not in VARY:
        raise CostcalcError(f"cannot vary '{vary}'", did_you_mean(vary, VARY))
    keys = tuple(DEFAULT_KEYS if keys is None else keys)
    check_metric_keys(keys)
    if not entries:
        raise CostcalcError("nothing to compare", "name one spec or more")
    columns = []
    for item in entries:
        entry = item if isinstance(item, Entry) else parse_entry(item)
        settings = dict(batch=entry.batch, dtype=dtype, params=params, args=entry.args,
                        variant=entry.variant)
        if not budget:
            columns.append(Column(entry, analyze(entry.spec, width=entry.width,
                                                 resolution=entry.resolution, **settings)))
            continue
        fitted = _fit(entry, budget, vary, settings)
        if fitted is None:
            columns.append(Column(entry, None))
            continue
        width = fitted if vary == "width" else entry.width
        resolution = fitted if vary == "resolution" else entry.resolution
        columns.append(Column(entry, analyze(entry.spec, width=width, resolution=resolution,
                                             **settings), fitted))
    return Comparison(tuple(columns), keys, dict(budget or {}), vary)


def _fit(entry: Entry, budget: Mapping[str, float], vary: str,
         settings: Mapping[str, Any]) -> float | int | None:
    spec = load_spec(entry.spec)
    if vary == "width":
        res = entry.resolution
        grid: dict[str, Any] = {"alphas": WIDTHS, "resolutions": None if res is None else [res]}
    else:
        grid = {"alphas": None if entry.width is None else [entry.width],
                "resolutions": RESOLUTIONS}
    candidates = "alphas" if vary == "width" else "resolutions"
    while True:
        try:
            result = sweep(spec, grid["alphas"], grid["resolutions"], batch=settings["batch"],
                           dtype=settings["dtype"], params=settings["params"],
                           args=settings["args"], variant=settings["variant"],
                           keys=list(budget), on_invalid="skip")
            break
        except LargestInvalid:  # the int64 bound needs a valid largest candidate: fewer
            if len(grid[candidates]) < 2:
                raise
            grid[candidates] = grid[candidates][:len(grid[candidates]) // 2]
    fits = np.ones(len(result), dtype=bool)
    for key, limit in budget.items():
        fits &= result.totals[key] <= limit
    if not fits.any():
        return None
    chosen = np.flatnonzero(fits)[-1]  # candidates ascend: the last that fits is the largest
    return float(result.alpha[chosen]) if vary == "width" else int(result.height[chosen])
