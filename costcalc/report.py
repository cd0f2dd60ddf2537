"""A Report: every metric of one network at one setting, ready to render."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import metrics
from .errors import CostcalcError
from .expand import build_graph
from .graph import Graph
from .shapes import shape_graph
from .spec import Spec, load_spec

DTYPE_BITS = {"fp32": 32, "fp16": 16, "bf16": 16, "int8": 8, "int4": 4}
BUCKETS = ("conv 1x1", "depthwise", "conv kxk", "fc", "other")

MAC_CONVENTION = ("1 MAC = one multiply-accumulate of a conv or FC layer (the papers' "
                  "mult-adds); FLOPs = 2 x MACs + other arithmetic")
PARAM_CONVENTION_TEXT = {
    "framework": "all trainable: weights + biases + batch-norm gamma/beta (BN running "
                 "statistics are buffers)",
    "paper": "what the source paper counted: {roles}",
    "deploy": "inference: weights + biases, batch norm folded into the preceding layer's bias",
}


def dtype_bits(dtype: str) -> int:
    """Bits per element: fp32, fp16, bf16, int8, int4, or any width written `<n>bit`."""
    if dtype in DTYPE_BITS:
        return DTYPE_BITS[dtype]
    match = re.fullmatch(r"(\d+)bits?", dtype)
    if match and 1 <= int(match.group(1)) <= 64:
        return int(match.group(1))
    raise CostcalcError(f"unknown dtype '{dtype}'\n  fix: use fp32, fp16, bf16, int8, int4 or "
                        "a bit width such as 6bit")


def nbytes(elements: int, bits: int) -> int:
    """Whole bytes for `elements` values of `bits` each (exact integer arithmetic)."""
    return -(-elements * bits // 8)


@dataclass(frozen=True, slots=True)
class LayerRow:
    name: str
    kind: str
    bucket: str
    output: tuple[int, int, int]
    macs: int
    flops: int
    params: int  # under the report's convention
    weights: int
    biases: int
    bn: int  # batch norm gamma and beta
    activations: int  # output elements, whole batch
    activation_bytes: int
    line: int


@dataclass(frozen=True, slots=True)
class Share:
    bucket: str
    macs: int
    params: int
    macs_pct: float
    params_pct: float


@dataclass(frozen=True, slots=True)
class Totals:
    macs: int
    flops: int
    params: int
    weights: int
    biases: int
    bn: int
    bn_buffers: int
    activations: int
    activation_bytes: int
    peak_activation_bytes: int
    block_memory_bytes: int
    weight_bytes: int


@dataclass(frozen=True, slots=True)
class Report:
    network: str
    source: str
    file: str
    input: tuple[int, int, int]
    batch: int
    width: float
    dtype: str
    bits: int
    params_convention: str
    paper_params: tuple[str, ...] | None
    layers: tuple[LayerRow, ...]
    totals: Totals
    breakdown: tuple[Share, ...]

    @property
    def resolution(self) -> int | list[int]:
        h, w = self.input[1:]
        return h if h == w else [h, w]

    def conventions(self) -> dict[str, str]:
        roles = ", ".join(self.paper_params or ())
        return {
            "macs": MAC_CONVENTION,
            "params": self.params_convention,
            "params_rule": PARAM_CONVENTION_TEXT[self.params_convention].format(roles=roles),
            "activations": "output elements of every layer, input included, times batch; peak = "
                           "largest live set under the sequential schedule",
            "dtype": self.dtype,
            "batch": f"{self.batch} (totals cover the whole batch; params do not scale)",
        }

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON contract (DESIGN.md), plus a few extra keys."""
        t = self.totals
        per_image = {"macs": t.macs // self.batch, "flops": t.flops // self.batch,
                     "activations": t.activations // self.batch}
        return {
            "network": self.network,
            "source": self.source,
            "input": list(self.input),
            "batch": self.batch,
            "width": self.width,
            "resolution": self.resolution,
            "conventions": self.conventions(),
            "totals": {
                "macs": t.macs, "flops": t.flops, "params": t.params,
                "activations": t.activations,
                "peak_activation_bytes": t.peak_activation_bytes,
                "weight_bytes": t.weight_bytes,
                "activation_bytes": t.activation_bytes,
                "block_memory_bytes": t.block_memory_bytes,
                "params_by_role": {"weights": t.weights, "biases": t.biases, "bn": t.bn,
                                   "bn_buffers": t.bn_buffers},
            },
            "per_image": per_image,
            "breakdown": [{"bucket": s.bucket, "macs": s.macs, "params": s.params,
                           "macs_pct": s.macs_pct, "params_pct": s.params_pct}
                          for s in self.breakdown],
            "layers": [{"name": r.name, "kind": r.kind, "bucket": r.bucket,
                        "output": list(r.output), "macs": r.macs, "flops": r.flops,
                        "params": r.params, "weights": r.weights, "biases": r.biases,
                        "bn": r.bn, "activations": r.activations,
                        "activation_bytes": r.activation_bytes, "line": r.line}
                       for r in self.layers],
        }


def analyze(spec: Spec | Graph | str | Path, width: float | None = None,
            resolution: int | tuple[int, int] | None = None, batch: int = 1,
            dtype: str = "fp32", params: str = "framework",
            args: Mapping[str, Any] | None = None, variant: str | None = None) -> Report:
    """Every metric of a network at one setting."""
    if batch < 1:
        raise CostcalcError(f"batch must be at least 1, got {batch}")
    bits = dtype_bits(dtype)
    if isinstance(spec, Graph):
        graph = spec
    else:
        spec = spec if isinstance(spec, Spec) else load_spec(spec)
        graph = build_graph(spec, width, resolution, args, variant)
    (shaped,) = shape_graph(graph)  # one configuration: one structure
    graph, shapes = shaped.graph, shaped.shapes
    macs = metrics.macs(graph, shapes)
    flops = metrics.flops(graph, shapes)
    counts = metrics.param_counts(graph, shapes)
    pars = metrics.params(graph, counts, params)
    acts = metrics.activations(graph, shapes)
    bucket = metrics.buckets(graph, shapes)

    rows = tuple(
        LayerRow(layer.name, layer.kind, bucket[layer.name],
                 (shapes[layer.name].c, shapes[layer.name].h, shapes[layer.name].w),
                 batch * macs[layer.name], batch * flops[layer.name], pars[layer.name],
                 counts[layer.name].weights, counts[layer.name].biases, counts[layer.name].bn,
                 batch * acts[layer.name], nbytes(batch * acts[layer.name], bits), layer.line)
        for layer in graph.layers)
    total_params = sum(pars.values())
    totals = Totals(
        macs=sum(r.macs for r in rows),
        flops=sum(r.flops for r in rows),
        params=total_params,
        weights=sum(r.weights for r in rows),
        biases=sum(r.biases for r in rows),
        bn=sum(r.bn for r in rows),
        bn_buffers=sum(c.buffers for c in counts.values()),
        activations=sum(r.activations for r in rows),
        activation_bytes=nbytes(batch * sum(acts.values()), bits),
        peak_activation_bytes=nbytes(batch * metrics.peak_live(graph, shapes), bits),
        block_memory_bytes=nbytes(batch * metrics.block_memory(graph, shapes), bits),
        weight_bytes=nbytes(total_params, bits),
    )
    input_shape = shapes[graph.layers[0].name]
    return Report(graph.name, graph.source, graph.file,
                  (input_shape.c, input_shape.h, input_shape.w), batch, graph.width, dtype, bits,
                  params, graph.paper_params, rows, totals, _breakdown(rows, totals))


def _breakdown(rows: tuple[LayerRow, ...], totals: Totals) -> tuple[Share, ...]:
    """Shares of MACs and params per layer bucket (MobileNet v1 Table 2)."""
    shares = []
    for bucket in BUCKETS:
        macs = sum(r.macs for r in rows if r.bucket == bucket)
        params = sum(r.params for r in rows if r.bucket == bucket)
        if macs or params:
            shares.append(Share(bucket, macs, params,
                                100 * macs / totals.macs if totals.macs else 0.0,
                                100 * params / totals.params if totals.params else 0.0))
    return tuple(shares)
