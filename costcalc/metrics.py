"""Metrics: one visitor per metric over a graph and its shapes.

Every visitor returns per-layer values keyed by layer name, in graph order; totals are their sums
(or, for peak memory, a maximum), so a total always equals what its layers add up to. Values are
per image and, like the ops' rules, work on Python ints and numpy arrays alike.

The report's visitors (below `Context`) read the report's settings too (batch, bits, params
convention); `report.METRICS` declares each of them once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .deployment import ModelSize, Roofline, Transfer
from .errors import CostcalcError, did_you_mean
from .graph import Graph
from .hardware import Hardware
from .ops import BatchNorm, Dim, ParamCounts, Shape, any_true, maximum

Shapes = Mapping[str, Shape]
PARAM_CONVENTIONS = ("framework", "paper", "deploy")
COUNT_PROFILES = ("costcalc", "netscope")


def _inputs(graph: Graph, shapes: Shapes):
    for layer in graph.layers:
        yield layer, tuple(shapes[src] for src in layer.inputs), shapes[layer.name]


def param_counts(graph: Graph, shapes: Shapes) -> dict[str, ParamCounts]:
    """Weights, biases, batch-norm affine terms and buffers of every layer."""
    return {layer.name: layer.op.params(xs, y) for layer, xs, y in _inputs(graph, shapes)}


def convention_roles(graph: Graph, counts: Mapping[str, ParamCounts],
                     convention: str) -> dict[str, ParamCounts]:
    """Every layer's params by role as a named convention counts them (docs/conventions.md),
    so that the roles add up to the convention's total; `buffers` are the non-trainable
    values the convention keeps (BN running statistics):

    framework: everything trainable (weights, biases, BN gamma and beta), as PyTorch counts;
               the BN running statistics are non-trainable buffers;
    paper:     only the roles the spec's source paper counted (the spec's `paper_params`),
               the others 0; the BN running statistics stay non-trainable buffers;
    deploy:    batch norm folded into the preceding conv's bias: C bias values on the BN row
               (none when that conv already has a bias); a BN with nothing to fold into keeps
               its 2C as a scale and shift (role bn). Folding absorbs the running statistics.
    """
    if convention == "framework":
        return dict(counts)
    if convention == "paper":
        if graph.paper_params is None:
            raise CostcalcError(f"{graph.file}: the spec does not say what its paper counted",
                                "add `paper_params: [weights, biases]` (the roles it counted), "
                                "or use --params framework")
        kept = graph.paper_params
        return {n: ParamCounts(*(getattr(c, role) if role in kept else 0
                                 for role in ("weights", "biases", "bn")), c.buffers)
                for n, c in counts.items()}
    if convention == "deploy":
        producers = graph.by_name()
        out = {}
        for layer in graph.layers:
            c = counts[layer.name]
            biases, bn = c.biases, 0
            if isinstance(layer.op, BatchNorm):
                producer = producers[layer.inputs[0]]
                if producer.op.folds_bn:  # any_true: the bias count may be a width array
                    biases += 0 if any_true(counts[producer.name].biases) else c.bn // 2
                else:
                    bn = c.bn
            out[layer.name] = ParamCounts(c.weights, biases, bn, 0)
        return out
    raise CostcalcError(f"unknown params convention '{convention}'",
                        did_you_mean(convention, PARAM_CONVENTIONS))


def params(graph: Graph, counts: Mapping[str, ParamCounts], convention: str) -> dict[str, Dim]:
    """Parameters per layer under a named convention: the sum of its `convention_roles`."""
    return {n: c.weights + c.biases + c.bn
            for n, c in convention_roles(graph, counts, convention).items()}


def macs(graph: Graph, shapes: Shapes) -> dict[str, Dim]:
    """Multiply-accumulates of conv and fully connected layers (1 MAC = one mult-add)."""
    return {layer.name: layer.op.macs(xs, y) for layer, xs, y in _inputs(graph, shapes)}


def flops(graph: Graph, shapes: Shapes) -> dict[str, Dim]:
    """FLOPs = 2 × MACs + every other arithmetic operation (bias, BN, activations, pooling)."""
    return {layer.name: 2 * layer.op.macs(xs, y) + layer.op.other_ops(xs, y)
            for layer, xs, y in _inputs(graph, shapes)}


def activations(graph: Graph, shapes: Shapes) -> dict[str, Dim]:
    """Output elements of every layer, the input included (Netscope's activation count)."""
    return {layer.name: shapes[layer.name].numel for layer in graph.layers}


def peak_live(graph: Graph, shapes: Shapes) -> Dim:
    """Peak elements alive under the sequential schedule: a layer's output is allocated while
    its inputs are alive, and a tensor is freed after its last consumer runs. An in-place op
    (batch norm, activation, dropout, flatten) reuses its input's buffer when it is that
    input's last consumer, as frameworks do."""
    last_use = {src: i for i, layer in enumerate(graph.layers) for src in layer.inputs}
    live: dict[str, Dim] = {}
    peak: Dim = 0
    for i, layer in enumerate(graph.layers):
        (first, *_) = layer.inputs or ("",)
        if layer.op.inplace and last_use.get(first) == i:
            live[layer.name] = live.pop(first)
        else:
            live[layer.name] = shapes[layer.name].numel
            peak = maximum(peak, sum(live.values()))
        for src in set(layer.inputs):
            if last_use[src] == i and src in live:
                del live[src]
        if layer.name not in last_use:  # a graph output: nothing consumes it
            del live[layer.name]
    return peak


def block_memory(graph: Graph, shapes: Shapes) -> Dim:
    """MobileNetV2's measure (Sandler et al. 2018, section 5.1): the maximum over operations of
    their inputs plus outputs, a whole block counting as one operation whose inner tensors are
    never materialized."""
    unit_of = {layer.name: layer.group or layer.name for layer in graph.layers}
    units: dict[str, tuple[set[str], str]] = {}  # unit -> (outside inputs, last output)
    for layer in graph.layers:
        unit = unit_of[layer.name]
        outside, _ = units.get(unit, (set(), ""))
        outside |= {src for src in layer.inputs if unit_of[src] != unit}
        units[unit] = (outside, layer.name)
    best: Dim = 0
    for outside, last in units.values():
        best = maximum(best, sum(shapes[s].numel for s in outside) + shapes[last].numel)
    return best


def buckets(graph: Graph, shapes: Shapes) -> dict[str, str]:
    """The Table 2 bucket of each layer: conv 1x1, depthwise, conv kxk, fc, or other."""
    return {layer.name: layer.op.bucket(xs) for layer, xs, _ in _inputs(graph, shapes)}


def nbytes(elements: Dim, bits: int) -> Dim:
    """Whole bytes for `elements` values of `bits` each (exact integer arithmetic)."""
    return -(-elements * bits // 8)


# ---------------------------------------------------------------------------------------------
# The report's visitors: a graph, its shapes and the report's settings in, values out


# Element types by name: (bits, arithmetic). fp8 is 1 byte in either OCP format (e4m3: 4
# exponent and 3 mantissa bits, for weights and activations; e5m2, for gradients).
DTYPES: dict[str, tuple[int, str]] = {
    "fp32": (32, "float"), "fp16": (16, "float"), "bf16": (16, "float"), "fp8": (8, "float"),
    "e4m3": (8, "float"), "e5m2": (8, "float"), "int8": (8, "int"), "int4": (4, "int"),
}
DTYPE_BITS = {name: bits for name, (bits, _) in DTYPES.items()}


def dtype_bits(dtype: str) -> int:
    """Bits per element: a name of DTYPES, or any width written `<n>bit` (an integer)."""
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype][0]
    match = re.fullmatch(r"([0-9]+)bits?", dtype) if isinstance(dtype, str) else None
    if match and 1 <= int(match.group(1)) <= 64:
        return int(match.group(1))
    raise CostcalcError(f"unknown dtype '{dtype}'", "use " + ", ".join(DTYPES)
                        + " or a bit width such as 6bit")


def dtype_kind(dtype: str) -> str:
    """The arithmetic a dtype uses: float (fp32, fp16, bf16, fp8, e4m3, e5m2) or int (int8,
    int4, `<n>bit`)."""
    dtype_bits(dtype)
    return DTYPES[dtype][1] if dtype in DTYPES else "int"


# Optimizer state buffers per trainable param (costcalc/training.py)
OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2}


@dataclass(frozen=True, slots=True)
class Training:
    """What training memory is computed for: the optimizer (its state per trainable param).
    Weights, gradients and state at the weight dtype, saved activations at the activation
    dtype; no fp32 master copy of the weights is assumed."""

    optimizer: str = "sgd"

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise CostcalcError(f"unknown optimizer '{self.optimizer}'",
                                did_you_mean(str(self.optimizer), OPTIMIZERS,
                                             "use sgd, momentum or adam"))

    @property
    def state_buffers(self) -> int:
        return OPTIMIZERS[self.optimizer]

    def describe(self) -> str:
        buffers = {0: "no state", 1: "1 buffer (velocity)", 2: "2 buffers (first and second "
                   "moments)"}[self.state_buffers]
        name = {"sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam"}[self.optimizer]
        return (f"{name}: weights (trainable params + BN running statistics), one gradient "
                f"per trainable param, optimizer state {buffers} per trainable param, at the "
                "weight dtype (no fp32 master weights assumed); activations saved for the "
                "backward pass over the batch at the activation dtype, each tensor once: "
                "conv/fc input, BN input + mean and inverse std, ReLU/sigmoid/tanh output "
                "(other activations their input), max pool input and output, mul inputs, "
                "softmax output, LRN input and output, dropout mask (costcalc/training.py, "
                "docs/reports.md)")


@dataclass(frozen=True, slots=True)
class Settings:
    """What the metrics are computed at besides the network and its shapes: the batch, the
    element types, the params convention. Checked when made, so every visitor can rely on it.

    `dtype` sets both element types; `weight_dtype` (params: weight bytes, the weights a layer
    moves) and `act_dtype` (activations: their bytes, traffic, transfer) override it when
    given. The arithmetic (energy per MAC) runs at `compute_dtype`: the wider of the two."""

    batch: int = 1
    dtype: str = "fp32"
    params: str = "framework"
    hardware: Hardware | None = None  # with it, the traffic and energy metrics are measured
    size: ModelSize | None = None  # with it, the model-size metrics (deploy.py)
    transfer: Transfer | None = None  # with it, the split-computing transfer metrics
    latency: Roofline | None = None  # with it, the roofline latency metrics
    count: str = "costcalc"  # netscope: also the Netscope-rule operation counts (netscope.py)
    training: Training | None = None  # with it, the training-memory metrics (training.py)
    weight_dtype: str | None = None  # None: dtype
    act_dtype: str | None = None  # None: dtype

    def __post_init__(self) -> None:
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1:
            raise CostcalcError(f"batch must be a whole number of at least 1, got {self.batch!r}")
        for dtype in (self.dtype, self.weights, self.acts):
            dtype_bits(dtype)
        if self.count not in COUNT_PROFILES:
            raise CostcalcError(f"unknown count profile '{self.count}'",
                                did_you_mean(self.count, COUNT_PROFILES))
        if self.params not in PARAM_CONVENTIONS:
            raise CostcalcError(f"unknown params convention '{self.params}'",
                                did_you_mean(self.params, PARAM_CONVENTIONS))

    @property
    def weights(self) -> str:
        """The weights' element type."""
        return self.dtype if self.weight_dtype is None else self.weight_dtype

    @property
    def acts(self) -> str:
        """The activations' element type."""
        return self.dtype if self.act_dtype is None else self.act_dtype

    @property
    def weight_bits(self) -> int:
        return dtype_bits(self.weights)

    @property
    def act_bits(self) -> int:
        return dtype_bits(self.acts)

    @property
    def compute_dtype(self) -> str:
        """The arithmetic's type: the wider of the weights' and the activations' (int8
        weights with fp16 activations compute in fp16); equal widths: the activations'."""
        return self.weights if self.weight_bits > self.act_bits else self.acts


@dataclass(frozen=True, slots=True)
class Context:
    """What a report visitor reads. `counts` (every layer's params by role) is computed once."""

    graph: Graph
    shapes: Shapes
    settings: Settings
    counts: Mapping[str, ParamCounts]
    cache: dict[str, Any] = field(default_factory=dict)  # a visitor's shared tables (traffic)

    @property
    def batch(self) -> int:
        return self.settings.batch

    @property
    def weight_bits(self) -> int:
        return self.settings.weight_bits

    @property
    def act_bits(self) -> int:
        return self.settings.act_bits

    @property
    def params(self) -> str:
        return self.settings.params


LayerVisitor = Callable[[Context], Mapping[str, Dim]]


def per_batch(visitor: Callable[[Graph, Shapes], Mapping[str, Dim]]) -> LayerVisitor:
    """A per-image visitor scaled to the whole batch."""

    def scaled(ctx: Context) -> dict[str, Dim]:
        return {n: ctx.batch * v for n, v in visitor(ctx.graph, ctx.shapes).items()}

    return scaled


def role(name: str) -> LayerVisitor:
    """One role of every layer's params as the report's convention counts them: weights,
    biases or bn (they add up to the params; they do not scale with batch)."""

    def values(ctx: Context) -> dict[str, Dim]:
        return {n: getattr(c, name) for n, c in
                convention_roles(ctx.graph, ctx.counts, ctx.params).items()}

    return values


def non_trainable(ctx: Context) -> Dim:
    """The non-trainable values the convention keeps: BN running statistics (none once folded,
    deploy); Keras's "Non-trainable params"."""
    return sum(c.buffers for c in convention_roles(ctx.graph, ctx.counts, ctx.params).values())


def all_params(ctx: Context) -> Dim:
    """The params plus the non-trainable values: Keras's "Total params"."""
    return sum(convention_params(ctx).values()) + non_trainable(ctx)


def convention_params(ctx: Context) -> dict[str, Dim]:
    return params(ctx.graph, ctx.counts, ctx.params)


def activation_bytes(ctx: Context) -> dict[str, Dim]:
    elements = activations(ctx.graph, ctx.shapes)
    return {n: nbytes(ctx.batch * v, ctx.act_bits) for n, v in elements.items()}


def total_activation_bytes(ctx: Context) -> Dim:
    """Rounded up once for the whole sum (sub-byte dtypes), not per layer."""
    return nbytes(ctx.batch * sum(activations(ctx.graph, ctx.shapes).values()), ctx.act_bits)


def bn_buffers(ctx: Context) -> Dim:
    return sum(c.buffers for c in ctx.counts.values())


def weight_bytes(ctx: Context) -> Dim:
    """Params under the report's convention, at the weights' dtype."""
    return nbytes(sum(convention_params(ctx).values()), ctx.weight_bits)


def peak_activation_bytes(ctx: Context) -> Dim:
    return nbytes(ctx.batch * peak_live(ctx.graph, ctx.shapes), ctx.act_bits)


def block_memory_bytes(ctx: Context) -> Dim:
    return nbytes(ctx.batch * block_memory(ctx.graph, ctx.shapes), ctx.act_bits)


def _moved_bytes(ctx: Context) -> dict[str, Dim]:
    """Bytes a layer reads and writes when it runs alone: its weights (kernels only, once per
    batch) at the weights' dtype, every input tensor and its output at the activations'
    (docs/conventions.md, arithmetic intensity); rounded up once, to whole bytes."""
    wb, ab = ctx.weight_bits, ctx.act_bits
    return {layer.name: nbytes(ctx.counts[layer.name].weights * wb
                               + ctx.batch * (sum(x.numel for x in xs) + y.numel) * ab, 1)
            for layer, xs, y in _inputs(ctx.graph, ctx.shapes)}


def arithmetic_intensity(ctx: Context) -> dict[str, Dim]:
    """MACs per byte moved, per layer."""
    moved = _moved_bytes(ctx)
    return {n: ctx.batch * v / moved[n] for n, v in macs(ctx.graph, ctx.shapes).items()}


def total_arithmetic_intensity(ctx: Context) -> Dim:
    """All MACs over all bytes moved: a ratio of sums, not a sum of ratios."""
    return (ctx.batch * sum(macs(ctx.graph, ctx.shapes).values())
            / sum(_moved_bytes(ctx).values()))
