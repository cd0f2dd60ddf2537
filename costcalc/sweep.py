"""Sweeps: the metrics of one network over a grid of configurations at once.

A grid has four kinds of axis: spec arguments (`--set t=4:8:1`; each combination is its own
expansion, since arguments decide structure), batch, width multiplier and resolution. Within one
expansion the shape pass takes alpha as a column (K, 1) and the input's height and width as a
row (1, R): channel counts are computed once per width, spatial sizes once per resolution, and
only the counts that need both per configuration, through the same op rules as a single report
(shapes.shape_graph groups configurations whose structure differs). The metrics are the
report's declared metrics (report.measure), so a sweep and `analyze` cannot disagree.

The grid is cut into chunks (rectangles of widths x resolutions, every batch); a chunk is a pure
function of (job, chunk), so chunks run in this process, in local processes (`workers=`) or on
a Dask cluster (`run_chunk` with dask.delayed or dask.bag, `combine` on the results). A filter
(`where=`) and a Pareto front (`pareto=`) are applied chunk by chunk: a sweep never holds more
than one chunk plus what it keeps.

Configuration order (the flat index): arguments outer (in the order given), then batch, then
width, then resolution (inner).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np

from .deployment import ModelSize, Transfer, as_roofline, as_size, as_transfer, parse_density
from .errors import CostcalcError, SpecError, did_you_mean
from .expand import MAX_ALPHA, build_graph
from .expr import ExprError, evaluate, names_in
from .metrics import Settings, Training
from .ops import Input, Shape
from .report import METRICS, analyze, as_hardware, check_metric_keys, measure, measured
from .shapes import shape_graph
from .spec import Spec, load_spec

# Counts are int64 in a sweep. The largest configuration of each expansion is first counted with
# Python ints; above this bound a sweep refuses rather than risk a silent wrap-around (2**63 /
# 1000: room for configurations whose structure, and so whose counts, differ a little from the
# largest one).
INT64_SAFE = 2**63 // 1000
DEFAULT_KEYS = ("macs", "params", "peak_activation_bytes")
DEFAULT_CHUNK = 2**18
MAX_CONFIGS = 10**8
AXIS_NAMES = ("width", "resolution", "height", "input_width", "batch")


# ---------------------------------------------------------------------------------------------
# Axes: lists and inclusive ranges


def parse_values(text: str, what: str, integer: bool = False) -> tuple[Any, ...]:
    """`1,0.75,0.5` or an inclusive range `0.25:2.0:0.05` (or a mix: `96:160:32,224`). Ranges
    are stepped in exact decimals, so 0.25:2.0:0.05 ends at 2.0. Integers stay ints."""
    values: list[Any] = []
    for item in text.split(","):
        item = item.strip()
        parts = item.split(":")
        try:
            numbers = [Decimal(p) for p in parts]
        except InvalidOperation:
            raise CostcalcError(f"{what}: '{item}' is not a number or a range",
                                "write a list such as 1,0.75,0.5 or an inclusive range "
                                "start:stop:step such as 0.25:2.0:0.05") from None
        if not all(n.is_finite() for n in numbers) or len(parts) not in (1, 3):
            raise CostcalcError(f"{what}: '{item}' is not a number or a range start:stop:step",
                                "a range has three parts, e.g. 96:320:8 (inclusive end)")
        if len(parts) == 3:
            start, stop, step = numbers
            if step <= 0:
                raise CostcalcError(f"{what}: range '{item}' has step {step}",
                                    "the step must be positive")
            if stop < start:
                raise CostcalcError(f"{what}: range '{item}' is empty (stop < start)",
                                    "write start:stop:step with start <= stop")
            count = int((stop - start) // step) + 1
            if count > MAX_CONFIGS:
                raise CostcalcError(f"{what}: range '{item}' has {count:,} values",
                                    "use a larger step")
            numbers = [start + k * step for k in range(count)]
        values += [_number(n) for n in numbers]
    if integer and any(not isinstance(v, int) for v in values):
        raise CostcalcError(f"{what}: '{text}' must be whole numbers")
    return tuple(values)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() and "." not in str(value) \
        and "e" not in str(value).lower() else float(value)


def parse_sizes(text: str) -> tuple[tuple[int, int], ...]:
    """Resolutions: `224,192,160`, a range `96:320:8`, or HxW items such as `224x160`."""
    sizes: list[tuple[int, int]] = []
    for item in text.split(","):
        if "x" in item.lower():
            h, _, w = item.lower().partition("x")
            pair = parse_values(h, "--resolution", True) + parse_values(w, "--resolution", True)
            if len(pair) != 2:
                raise CostcalcError(f"--resolution: '{item}' is not HxW",
                                    "write HxW such as 224x160")
            sizes.append((pair[0], pair[1]))
        else:
            sizes += [(v, v) for v in parse_values(item, "--resolution", True)]
    return tuple(sizes)


# ---------------------------------------------------------------------------------------------
# The grid and its chunks


class LargestInvalid(CostcalcError):
    """The largest configuration, which bounds a sweep's counts for the int64 check, is
    invalid."""


@dataclass(frozen=True, slots=True)
class Grid:
    """The axes of a sweep. `args` are (name, values) pairs of spec arguments; `settings` are
    (name, values) pairs of deployment settings (SETTING_AXES: weight bits, density, ...),
    which change what is measured but not the graph."""

    alphas: tuple[float, ...]
    sizes: tuple[tuple[int, int], ...]
    batches: tuple[int, ...] = (1,)
    args: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    settings: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    @property
    def shape(self) -> tuple[int, ...]:
        return (*(len(v) for _, v in self.args), *(len(v) for _, v in self.settings),
                len(self.batches), len(self.alphas), len(self.sizes))

    @property
    def points(self) -> int:
        """Measurement settings per graph and configuration: settings combinations x batches."""
        n = len(self.batches)
        for _, values in self.settings:
            n *= len(values)
        return n

    @property
    def folded(self) -> tuple[int, ...]:
        """`shape` with the settings axes and the batch folded into one axis of `points` (the
        same flat order): an expansion's configurations are (point, width, resolution)."""
        return (*(len(v) for _, v in self.args), self.points, len(self.alphas),
                len(self.sizes))

    @property
    def named_axes(self) -> tuple[tuple[str, tuple[Any, ...]], ...]:
        """The argument and settings axes, outer first."""
        return self.args + self.settings

    def setting_points(self) -> list[tuple[dict[str, Any], int]]:
        """Each point's settings-axis values and batch, in flat order (batch innermost)."""
        names = [n for n, _ in self.settings]
        return [(dict(zip(names, values, strict=True)), batch)
                for values in itertools.product(*(v for _, v in self.settings))
                for batch in self.batches]

    def __len__(self) -> int:
        n = 1
        for k in self.shape:
            n *= k
        return n

    def combos(self) -> list[dict[str, Any]]:
        names = [n for n, _ in self.args]
        return [dict(zip(names, values, strict=True))
                for values in itertools.product(*(v for _, v in self.args))]

    def decode(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """The axis values of configurations given by flat index."""
        *axis_idx, b, i, j = np.unravel_index(index, self.shape)
        sizes = np.asarray(self.sizes, dtype=np.int64).reshape(-1, 2)
        out = {"width": np.asarray(self.alphas, dtype=float)[i], "height": sizes[j, 0],
               "input_width": sizes[j, 1],
               "batch": np.asarray(self.batches, dtype=np.int64)[b]}
        out["resolution"] = out["height"]
        for (name, values), k in zip(self.named_axes, axis_idx, strict=True):
            out[name] = np.asarray(values)[k]
        return out


@dataclass(frozen=True, slots=True)
class Chunk:
    """Part of one expansion (`combo`, an index into Grid.combos()): every batch at the widths
    rows[0]:rows[1] x resolutions cols[0]:cols[1], or, for a sample, the given flat indices."""

    combo: int
    rows: tuple[int, int] = (0, 0)
    cols: tuple[int, int] = (0, 0)
    points: tuple[int, ...] | None = None

    def __len__(self) -> int:
        if self.points is not None:
            return len(self.points)
        return (self.rows[1] - self.rows[0]) * (self.cols[1] - self.cols[0])


@dataclass(frozen=True, slots=True)
class Job:
    """Everything a chunk needs: a pure description, picklable to other processes."""

    spec: Spec
    grid: Grid
    settings: tuple[Settings, ...]  # one per point: settings-axis combination x batch
    keys: tuple[str, ...]
    variant: str | None
    chunks: tuple[Chunk, ...]
    configs: int  # how many configurations the chunks cover

    def __len__(self) -> int:
        return self.configs


@dataclass(frozen=True, slots=True)
class ChunkResult:
    index: np.ndarray  # flat configuration indices of the valid configurations
    totals: Mapping[str, np.ndarray]  # metric key -> one value per configuration of `index`
    invalid: int = 0
    first_invalid: tuple[int, str] | None = None  # (flat index, error)
    structures: frozenset[tuple[int, tuple[str, ...]]] = frozenset()


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Totals per kept configuration: configuration i has width multiplier alpha[i], input
    height[i] x width[i], batch[i] and the spec arguments args[name][i]; totals maps a metric
    key to an int64 array (or a float array for a ratio). Rows are in grid order (arguments,
    batch, widths, resolutions innermost); `index` is each row's flat index in the grid."""

    network: str
    alpha: np.ndarray
    height: np.ndarray
    width: np.ndarray
    totals: Mapping[str, np.ndarray]
    structures: int  # how many different graphs the configurations produced
    batch: np.ndarray = field(default_factory=lambda: np.ones(0, dtype=np.int64))
    args: Mapping[str, np.ndarray] = field(default_factory=dict)
    index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    configs: int = 0  # configurations swept (the grid, or the sample)
    invalid: int = 0  # configurations skipped as invalid
    first_invalid: str = ""
    grid: Grid | None = None

    def __len__(self) -> int:
        return len(self.alpha)


# ---------------------------------------------------------------------------------------------
# Planning, running, combining


# What each family of metrics needs before a sweep can measure it (report.FAMILIES).
FAMILY_NEEDS = {
    "energy": ("a hardware profile with energies", "give --hardware with a profile that has "
               "compute and memory tables, e.g. horowitz45nm (hardware= in Python: a profile "
               "name or make_hardware(...))"),
    "size": ("a model size", "give --weight-bits, --density, --storage or --index-bits "
             "(size= in Python)"),
    "transfer": ("a packet payload", "give --pdu BYTES (transfer= in Python)"),
    "latency": ("a roofline", "give --hardware with a profile that has peak_macs_per_s and "
                "bandwidth_bytes_per_s, or --peak and --bandwidth (latency= in Python)"),
    "netscope": ("Netscope's counting profile", "give --count netscope (count= in Python)"),
    "training": ("an optimizer", "give --training sgd, momentum or adam, or a list such as "
                 "sgd,adam (training= in Python, or an optimizer axis)"),
}
# Deployment settings a sweep can take as axes, and the settings family each belongs to. The
# optimizer's values are names (sgd, momentum, adam); the others' are numbers.
SETTING_AXES = {"weight_bits": "size", "index_bits": "size", "density": "size",
                "pdu": "transfer", "efficiency": "latency", "optimizer": "training"}
TEXT_AXES = frozenset({"optimizer"})


def point_settings(values: Mapping[str, Any], batch: int, dtype: str, params: str,
                   hardware: Any = None, size: Any = None, transfer: Any = None,
                   latency: Any = None, count: str = "costcalc",
                   weight_dtype: str | None = None, act_dtype: str | None = None,
                   training: Training | str | None = None) -> Settings:
    """The Settings of one sweep point: the fixed settings (as `analyze` takes them) with the
    settings axes' values in place. A density axis value applies to every layer (overriding
    the spec's `density:` and any bare --density) and keeps the named ones. A model size
    without weight bits stores the weights at their dtype, as in `analyze`. An optimizer
    axis value replaces `training`."""
    chosen = Settings(batch, dtype, params, weight_dtype=weight_dtype, act_dtype=act_dtype)
    bits = chosen.weight_bits  # a size without weight bits stores the weights' dtype
    widths = {k: values[k] for k in ("weight_bits", "index_bits") if k in values}
    if widths or "density" in values:  # the axes' values first: a base may be valid only so
        size = replace(size, **widths) if isinstance(size, ModelSize) else \
            as_size({**(size or {}), **widths}, bits)
        assert size is not None
        if "density" in values:
            size = replace(size, density=(("", parse_density(values["density"])),
                                          *((n, d) for n, d in size.density if n)))
    size, transfer, latency = as_size(size, bits), as_transfer(transfer), as_roofline(latency)
    if "pdu" in values:
        transfer = Transfer(values["pdu"], transfer.cut if transfer else None)
    if "efficiency" in values:
        if latency is None:
            raise CostcalcError("an efficiency axis needs a roofline", FAMILY_NEEDS["latency"][1])
        latency = replace(latency, efficiency=float(values["efficiency"]))
    if "optimizer" in values:
        training = str(values["optimizer"])
    return replace(chosen, hardware=as_hardware(hardware), size=size, transfer=transfer,
                   latency=latency, count=count,
                   training=Training(training) if isinstance(training, str) else training)


def plan(spec: Spec | str | Path, grid: Grid, *, dtype: str = "fp32",
         params: str = "framework", variant: str | None = None,
         keys: Sequence[str] | None = None, chunk: int = DEFAULT_CHUNK,
         sample: int | None = None, seed: int | None = None,
         max_configs: int = MAX_CONFIGS, hardware: Any = None, size: Any = None,
         transfer: Any = None, latency: Any = None, count: str = "costcalc",
         weight_dtype: str | None = None, act_dtype: str | None = None,
         training: Training | str | None = None) -> Job:
    """Check a sweep's settings and cut its grid (or a random sample of it) into chunks.
    With `hardware` (as `analyze` takes it) the energy and traffic metrics can be swept too;
    with `size`, `transfer`, `latency`, `count` or `training` (an optimizer) the deployment
    and training families, as `analyze` measures them; `grid.settings` sweeps their
    SETTING_AXES. `weight_dtype` and `act_dtype` override `dtype` as `analyze`'s do."""
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    keys = tuple(DEFAULT_KEYS if keys is None else keys)
    check_metric_keys(keys)
    for name, values in grid.settings:
        if name not in SETTING_AXES:
            raise CostcalcError(f"unknown settings axis '{name}'",
                                did_you_mean(name, SETTING_AXES))
        if not values:
            raise CostcalcError(f"settings axis '{name}' has no values")
    chosen = as_hardware(hardware)
    settings = tuple(point_settings(values, b, dtype, params, chosen, size, transfer, latency,
                                    count, weight_dtype, act_dtype, training)
                     for values, b in grid.setting_points())
    known = {m.key: m.family for m in METRICS}
    if unmeasured := [k for k in keys if k not in {m.key for m in measured(settings[0])}]:
        family = known[unmeasured[0]]
        need, fix = FAMILY_NEEDS[family]
        raise CostcalcError(f"{', '.join(unmeasured)} need {need}", fix)
    if not grid.alphas or any(not 0 < a <= MAX_ALPHA for a in grid.alphas):
        raise CostcalcError(f"a sweep needs widths in (0, {MAX_ALPHA}]",
                            "give widths such as 0.25:1.0:0.05")
    if not grid.sizes or min(min(s) for s in grid.sizes) < 1:
        raise CostcalcError("a sweep needs positive resolutions")
    if not grid.batches or min(grid.batches) < 1:
        raise CostcalcError("a sweep needs batches of at least 1")
    for name, values in grid.args:
        if name not in spec.args:
            raise CostcalcError(f"{spec.file}: unknown argument '{name}'",
                                did_you_mean(name, spec.args) if spec.args else
                                "this spec declares no arguments")
        if not values:
            raise CostcalcError(f"argument '{name}' has no values")
    if chunk < 1:
        raise CostcalcError(f"chunk must be at least 1, got {chunk}")
    total = len(grid) if sample is None else min(sample, len(grid))
    if sample is not None and sample < 1:
        raise CostcalcError(f"sample must be at least 1, got {sample}")
    if total > max_configs:
        raise CostcalcError(f"the sweep has {total:,} configurations, more than the limit of "
                            f"{max_configs:,}", "narrow the axes, use --sample N, or confirm "
                            "with --yes (max_configs= in Python)")
    # the int64 bound at the largest training state too (Adam's), when training is measured
    largest = max(settings, key=lambda s: -1 if s.training is None else s.training.state_buffers)
    for combo in grid.combos():
        _check_int64(spec, grid, combo, largest, variant)
    chunks = _chunks(grid, chunk) if sample is None else _sample(grid, chunk, total, seed)
    return Job(spec, grid, settings, keys, variant, chunks, total)


def _chunks(grid: Grid, chunk: int) -> tuple[Chunk, ...]:
    k, r = len(grid.alphas), len(grid.sizes)
    per_config = grid.points
    cols = min(r, max(1, chunk // per_config))
    rows = min(k, max(1, chunk // (per_config * cols)))
    return tuple(Chunk(c, (i, min(i + rows, k)), (j, min(j + cols, r)))
                 for c in range(len(grid.combos())) for i in range(0, k, rows)
                 for j in range(0, r, cols))


def _sample(grid: Grid, chunk: int, n: int, seed: int | None) -> tuple[Chunk, ...]:
    """n distinct configurations drawn uniformly (numpy's default generator and `seed`), in
    grid order, cut into chunks within each expansion."""
    picked = np.sort(np.random.default_rng(seed).choice(len(grid), n, replace=False))
    per_combo = len(grid) // len(grid.combos())
    out = []
    for combo in range(len(grid.combos())):
        mine = picked[(picked >= combo * per_combo) & (picked < (combo + 1) * per_combo)]
        out += [Chunk(combo, points=tuple(int(p) for p in mine[i:i + chunk]))
                for i in range(0, len(mine), chunk)]
    return tuple(out)


def run_chunk(job: Job, chunk: Chunk) -> ChunkResult:
    """The job's metrics at every configuration of one chunk (a pure function of both)."""
    grid = job.grid
    combo = grid.combos()[chunk.combo]
    graph = build_graph(job.spec, args=combo, variant=job.variant)
    base = graph.layers[0].op
    assert isinstance(base, Input)
    alphas = np.asarray(grid.alphas, dtype=float)
    sizes = np.asarray(grid.sizes, dtype=np.int64).reshape(-1, 2)
    nb = grid.points  # measurement settings: settings-axis combinations x batches
    if chunk.points is None:
        (i0, i1), (j0, j1) = chunk.rows, chunk.cols
        alpha = alphas[i0:i1, None]
        h, w = sizes[j0:j1, 0][None, :], sizes[j0:j1, 1][None, :]
        local = (i1 - i0, j1 - j0)
        rows, cols = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1), indexing="ij")
        flat = [np.ravel_multi_index((*_combo_index(grid, chunk.combo), b, rows.ravel(),
                                      cols.ravel()), grid.folded) for b in range(nb)]
    else:
        points = np.asarray(chunk.points, dtype=np.int64)
        *_, b_idx, i, j = np.unravel_index(points, grid.folded)
        alpha, h, w = alphas[i], sizes[j, 0], sizes[j, 1]
        local = (len(points),)
        flat = [points[b_idx == b] for b in range(nb)]
    invalid: list[tuple[int, str]] = []
    index = np.arange(int(np.prod(local))).reshape(local)
    groups = _shape_all(graph, base.channels, alpha, h, w, index, invalid)
    n = index.size
    valid = np.ones(n, dtype=bool)
    for bad, _ in invalid:
        valid[bad] = False
    per_batch: list[dict[str, np.ndarray]] = []
    for settings in job.settings:
        out: dict[str, np.ndarray] = {}
        for group, where in groups:
            values = measure(group.graph, group.shapes, settings, keys=job.keys).totals
            for key, value in values.items():
                dtype = float if np.asarray(value).dtype.kind == "f" else np.int64
                column = out.setdefault(key, np.zeros(n, dtype=dtype))
                column[where] = np.broadcast_to(value, where.shape)
        for key in job.keys:
            out.setdefault(key, np.zeros(n, dtype=np.int64))
        per_batch.append(out)
    keep_index: list[np.ndarray] = []
    keep_totals: dict[str, list[np.ndarray]] = {key: [] for key in job.keys}
    for b in range(nb):  # local configurations at batch b, in the order of flat[b]
        mine = np.arange(n) if chunk.points is None else np.flatnonzero(b_idx == b)
        keep_index.append(flat[b][valid[mine]])
        for key in job.keys:
            keep_totals[key].append(per_batch[b][key][mine[valid[mine]]])
    bad_flat = _flat_invalid(invalid, flat, None if chunk.points is None else b_idx)
    structures = frozenset((chunk.combo, tuple(layer.name for layer in g.graph.layers))
                           for g, _ in groups)
    return ChunkResult(np.concatenate(keep_index),
                       {k: np.concatenate(v) for k, v in keep_totals.items()},
                       len(bad_flat), min(bad_flat) if bad_flat else None, structures)


def _flat_invalid(invalid: list[tuple[int, str]], flat: list[np.ndarray],
                  batch_of: np.ndarray | None) -> list[tuple[int, str]]:
    """Invalid local configurations as flat grid indices (a grid chunk's configuration is
    invalid at every batch; a sample's point has one batch)."""
    out = []
    for local, message in invalid:
        if batch_of is None:
            out += [(int(f[local]), message) for f in flat]
        else:
            b = int(batch_of[local])
            position = int(np.count_nonzero(batch_of[:local] == b))
            out.append((int(flat[b][position]), message))
    return out


def _combo_index(grid: Grid, combo: int) -> tuple[int, ...]:
    shape = tuple(len(v) for _, v in grid.args)
    return tuple(int(i) for i in np.unravel_index(combo, shape)) if shape else ()


def _shape_all(graph: Any, channels: int, alpha: Any, h: Any, w: Any, index: np.ndarray,
               invalid: list[tuple[int, str]]) -> list[tuple[Any, np.ndarray]]:
    """Shaped groups and the local indices each covers. Where a configuration is invalid (a
    layer's output would not be positive, channels a group count does not divide), the block
    is halved along its longest axis until each invalid configuration stands alone: each costs
    about two shape passes per halving level, so many invalid configurations are slow."""
    try:
        groups = shape_graph(graph, Shape(channels, h, w), alpha)
    except SpecError:
        if index.size == 1:  # the scalar pass says it with the configuration's own numbers
            try:
                shape_graph(graph, Shape(channels, *(int(np.ravel(v)[0]) for v in (h, w))),
                            float(np.ravel(alpha)[0]))
            except SpecError as scalar:
                exc = scalar
            first = exc.problems[0]
            invalid.append((int(index.flat[0]), f"{first.file}:{first.line}: {first.what}"))
            return []
        axis = int(np.argmax(index.shape))
        half = index.shape[axis] // 2
        parts = []
        for part in (slice(0, half), slice(half, None)):
            def cut(v: Any, part: slice = part) -> Any:
                if np.ndim(v) and v.shape[axis] > 1:
                    return v[(slice(None),) * axis + (part,)]
                return v
            parts += _shape_all(graph, channels, cut(alpha), cut(h), cut(w), cut(index),
                                invalid)
        return parts
    flat = index.reshape(-1)
    return [(g, flat[g.select]) for g in groups]


def _check_int64(spec: Spec, grid: Grid, combo: Mapping[str, Any], settings: Settings,
                 variant: str | None) -> None:
    alpha = max(grid.alphas)
    size = max(grid.sizes, key=lambda s: s[0] * s[1])
    batch = max(grid.batches)
    try:
        largest = analyze(spec, width=alpha, resolution=size, batch=batch,
                          dtype=settings.dtype, params=settings.params, args=combo,
                          variant=variant, weight_dtype=settings.weight_dtype,
                          act_dtype=settings.act_dtype, training=settings.training)
    except SpecError as exc:
        raise LargestInvalid(f"the largest configuration (width {alpha:g}, {size[0]}x{size[1]}"
                            f"{_args_text(combo)}) is invalid, so the int64 bound cannot be "
                            f"checked:\n{exc}", "sweep a range whose largest width and "
                            "resolution are valid") from None
    # every integer total, those JSON nests (training, size, transfer, netscope) included
    top = max(int(v) for v in largest.totals.values.values() if isinstance(v, int))
    if top > INT64_SAFE:
        raise CostcalcError(f"{spec.file}: counts reach {top:.3e} at width {alpha:g}, "
                            f"{size[0]}x{size[1]}, batch {batch}{_args_text(combo)}: too large "
                            "for a vectorized sweep", "sweep smaller settings, or use "
                            "`costcalc report` (exact integers) for this one")


def _args_text(combo: Mapping[str, Any]) -> str:
    return "".join(f", {k}={v}" for k, v in combo.items())


def describe(grid: Grid, index: int) -> str:
    """One configuration in words: `width 0.5, 160x160, batch 1, t=6`."""
    axes = grid.decode(np.asarray([index]))
    text = (f"width {axes['width'][0]:g}, {axes['height'][0]}x{axes['input_width'][0]}, "
            f"batch {axes['batch'][0]}")
    return text + "".join(f", {name}={axes[name][0]}" for name, _ in grid.named_axes)


# ---------------------------------------------------------------------------------------------
# Filters and Pareto fronts


def check_where(where: str, keys: Sequence[str], grid: Grid) -> tuple[str, ...]:
    """The metrics a --where expression needs (checked: known names, boolean result)."""
    allowed = {m.key for m in METRICS} | set(AXIS_NAMES) | {n for n, _ in grid.named_axes
                                                             if n not in TEXT_AXES}
    try:
        used = names_in(where)
    except ExprError as exc:
        raise CostcalcError(f"--where: {exc.what}", exc.fix) from None
    for name in sorted(used):
        if name in TEXT_AXES:
            raise CostcalcError(f"--where: '{name}' is a name, not a number: the test compares "
                                "numbers", f"sweep the {name}s you want instead (--training "
                                "sgd,adam)")
        if name not in allowed:
            raise CostcalcError(f"--where: unknown name '{name}' in '{where}'",
                                did_you_mean(name, allowed))
    probe = {name: np.ones(2, dtype=np.int64) for name in allowed}
    result = _evaluate_where(where, probe)
    if np.asarray(result).dtype != bool:
        raise CostcalcError(f"--where: '{where}' is not a true/false test",
                            "compare metrics, e.g. 'macs < 300e6 and params < 3e6'")
    return tuple(sorted(used & {m.key for m in METRICS}))


def _evaluate_where(where: str, names: Mapping[str, Any]) -> Any:
    try:
        return evaluate(where, names)
    except ExprError as exc:
        raise CostcalcError(f"--where: {exc.what}", exc.fix) from None


def pareto_front(values: Sequence[np.ndarray]) -> np.ndarray:
    """Indices of the non-dominated points when every objective is minimized: no other point
    is at most as large in every objective and smaller in one. Equal points are all kept."""
    n = len(values[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if len(values) == 2:
        a, b = values
        order = np.lexsort((b, a))
        a_s, b_s = a[order], b[order]
        start = np.r_[0, np.flatnonzero(a_s[1:] != a_s[:-1]) + 1]  # first of each equal a
        group = np.repeat(start, np.diff(np.r_[start, n]))
        best = np.minimum.accumulate(b_s)
        prior = np.where(group > 0, best[np.maximum(group - 1, 0)], np.inf)
        keep = (b_s < prior) & (b_s == b_s[group])
        return np.sort(order[keep])
    stacked = np.stack([np.asarray(v, dtype=float) for v in values], axis=1)
    order = np.lexsort(stacked.T[::-1])
    front: list[int] = []
    for i in order:  # in lexicographic order a point can only be dominated by earlier ones
        if front:
            kept = stacked[front]
            if np.any(np.all(kept <= stacked[i], axis=1) & np.any(kept < stacked[i], axis=1)):
                continue
        front.append(int(i))
    return np.sort(np.asarray(front, dtype=np.int64))


@dataclass
class _Reducer:
    """What a sweep keeps across chunks: rows passing `where`, or the running Pareto front."""

    job: Job
    where: str | None
    pareto: tuple[str, ...]
    on_invalid: str
    index: list[np.ndarray] = field(default_factory=list)
    totals: dict[str, list[np.ndarray]] = field(default_factory=dict)
    invalid: int = 0
    first_invalid: tuple[int, str] | None = None
    structures: set[Any] = field(default_factory=set)

    def add(self, result: ChunkResult) -> None:
        self.invalid += result.invalid
        if result.first_invalid and (self.first_invalid is None
                                     or result.first_invalid < self.first_invalid):
            self.first_invalid = result.first_invalid
        self.structures |= result.structures
        index, totals = result.index, dict(result.totals)
        if self.where is not None and len(index):
            names = {**self.job.grid.decode(index), **totals}
            keep = np.broadcast_to(_evaluate_where(self.where, names), index.shape)
            index, totals = index[keep], {k: v[keep] for k, v in totals.items()}
        self.index.append(index)
        for key, value in totals.items():
            self.totals.setdefault(key, []).append(value)
        if self.pareto:
            self._compact()

    def _compact(self) -> None:
        index = np.concatenate(self.index)
        totals = {k: np.concatenate(v) for k, v in self.totals.items()}
        keep = pareto_front([totals[k] for k in self.pareto])
        self.index = [index[keep]]
        self.totals = {k: [v[keep]] for k, v in totals.items()}

    def result(self) -> SweepResult:
        job = self.job
        if self.invalid and self.on_invalid == "error":
            assert self.first_invalid is not None
            at, message = self.first_invalid
            raise CostcalcError(f"{self.invalid:,} of {job.configs:,} configurations are "
                                f"invalid; the first, at {describe(job.grid, at)}:\n{message}",
                                "narrow the axes, or skip them with --on-invalid skip")
        index = np.concatenate(self.index) if self.index else np.zeros(0, dtype=np.int64)
        order = np.argsort(index, kind="stable")
        index = index[order]
        totals = {k: (np.concatenate(self.totals[k]) if self.totals.get(k) else
                      np.zeros(0, dtype=np.int64))[order] for k in job.keys}
        axes = job.grid.decode(index)
        first = "" if self.first_invalid is None else \
            f"{describe(job.grid, self.first_invalid[0])}: {self.first_invalid[1]}"
        return SweepResult(job.spec.name, axes["width"], axes["height"], axes["input_width"],
                           totals, len(self.structures), axes["batch"],
                           {n: axes[n] for n, _ in job.grid.named_axes}, index, job.configs,
                           self.invalid, first, job.grid)


def combine(job: Job, results: Iterable[ChunkResult], *, where: str | None = None,
            pareto: Sequence[str] = (), on_invalid: str = "error") -> SweepResult:
    """The SweepResult of a job from its chunks' results (in any order), filtered by `where`
    and reduced to the Pareto front of the `pareto` metrics (each minimized)."""
    if on_invalid not in ("skip", "error"):
        raise CostcalcError(f"on_invalid must be skip or error, got '{on_invalid}'")
    reducer = _Reducer(job, where, tuple(pareto), on_invalid)
    for result in results:
        reducer.add(result)
    return reducer.result()


def run(job: Job, *, where: str | None = None, pareto: Sequence[str] = (),
        on_invalid: str = "error", workers: int = 1,
        progress: Callable[[int], None] | None = None) -> SweepResult:
    """Run a planned job chunk by chunk (in `workers` local processes when above 1), keeping
    only what `where` and `pareto` select; `progress(n)` is called after each chunk of n
    configurations."""
    if workers < 1:
        raise CostcalcError(f"workers must be at least 1, got {workers}")
    if where is not None:
        missing = set(check_where(where, job.keys, job.grid)) - set(job.keys)
        if missing:
            raise ValueError(f"plan the job with the metrics --where needs: {sorted(missing)}")
    if set(pareto) - set(job.keys):
        raise ValueError("plan the job with the Pareto metrics among its keys")
    if len(pareto) == 1:
        raise CostcalcError("a Pareto front needs two metrics or more", "e.g. --pareto "
                            "macs,params")

    def report(results: Iterator[ChunkResult]) -> Iterator[ChunkResult]:
        for chunk, result in zip(job.chunks, results, strict=True):
            if progress is not None:
                progress(len(chunk) * job.grid.points if chunk.points is None
                         else len(chunk))
            yield result

    if workers == 1:
        return combine(job, report(run_chunk(job, c) for c in job.chunks), where=where,
                       pareto=pareto, on_invalid=on_invalid)
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    with ProcessPoolExecutor(workers) as pool:
        return combine(job, report(pool.map(partial(run_chunk, job), job.chunks)),
                       where=where, pareto=pareto, on_invalid=on_invalid)


def needed_keys(keys: Sequence[str], grid: Grid, where: str | None = None,
                pareto: Sequence[str] = ()) -> tuple[str, ...]:
    """The metrics to compute: `keys`, then those `pareto` and `where` use."""
    check_metric_keys(keys)
    check_metric_keys(pareto or keys)
    used = check_where(where, keys, grid) if where is not None else ()
    return tuple(dict.fromkeys((*keys, *pareto, *used)))


def default_widths(spec: Spec, variant: str | None = None) -> tuple[float, ...]:
    """The width a spec (or its variant) is reported at, when a sweep does not vary it."""
    chosen = spec.variants.get(variant) if variant else None
    return (chosen.width if chosen is not None and chosen.width is not None
            else spec.width.multiplier,)


def default_sizes(spec: Spec, variant: str | None = None) -> tuple[tuple[int, int], ...]:
    """The input size a spec (or its variant) is reported at."""
    chosen = spec.variants.get(variant) if variant else None
    res = chosen.resolution if chosen is not None else None
    return (spec.size if res is None else (res, res) if isinstance(res, int)
            else (int(res[0]), int(res[1])),)


def sweep(spec: Spec | str | Path, alphas: Sequence[float] | None,
          resolutions: Sequence[int | tuple[int, int]] | None = None, *, batch: int = 1,
          dtype: str = "fp32", params: str = "framework", args: Mapping[str, Any] | None = None,
          variant: str | None = None, keys: Sequence[str] | None = None,
          batches: Sequence[int] | None = None,
          arg_axes: Mapping[str, Sequence[Any]] | None = None, chunk: int = DEFAULT_CHUNK,
          where: str | None = None, pareto: Sequence[str] = (), on_invalid: str = "error",
          sample: int | None = None, seed: int | None = None,
          max_configs: int = MAX_CONFIGS, workers: int = 1, hardware: Any = None,
          size: Any = None, transfer: Any = None, latency: Any = None, count: str = "costcalc",
          setting_axes: Mapping[str, Sequence[Any]] | None = None,
          weight_dtype: str | None = None, act_dtype: str | None = None,
          training: Training | str | None = None) -> SweepResult:
    """The metrics `keys` (default: every metric measured at these settings) of `spec` at each
    configuration of the grid alphas x resolutions (x `batches`, x every combination of
    `arg_axes`, each a spec argument's values; `args` fixes others; x every combination of
    `setting_axes`, SETTING_AXES such as weight_bits=[32, 16, 8] or optimizer=["sgd",
    "adam"]; `training` fixes the optimizer). See `plan` and `run`."""
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    alphas = default_widths(spec, variant) if alphas is None else alphas
    if resolutions is None:
        resolutions = default_sizes(spec, variant)
    sizes = tuple((r, r) if isinstance(r, int) else (int(r[0]), int(r[1])) for r in resolutions)
    fixed = tuple((k, (v,)) for k, v in (args or {}).items() if k not in (arg_axes or {}))
    axes = tuple((k, tuple(v)) for k, v in (arg_axes or {}).items())
    grid = Grid(tuple(float(a) for a in alphas), sizes,
                tuple(batches) if batches is not None else (batch,), fixed + axes,
                tuple((k, tuple(v)) for k, v in (setting_axes or {}).items()))
    deploy = {"hardware": hardware, "size": size, "transfer": transfer, "latency": latency,
              "count": count, "weight_dtype": weight_dtype, "act_dtype": act_dtype,
              "training": training}
    if keys is None:
        first = grid.setting_points()[0][0]
        keys = tuple(m.key for m in measured(point_settings(first, 1, dtype, params, **deploy)))
    keys = tuple(keys)
    needed = needed_keys(keys, grid, where, pareto)
    job = plan(spec, grid, dtype=dtype, params=params, variant=variant, keys=needed,
               chunk=chunk, sample=sample, seed=seed, max_configs=max_configs, **deploy)
    result = run(job, where=where, pareto=pareto, on_invalid=on_invalid, workers=workers)
    if needed != keys:
        result = _only(result, keys)
    return result


def _only(result: SweepResult, keys: Sequence[str]) -> SweepResult:
    return replace(result, totals={k: result.totals[k] for k in keys})
