"""A Report: every metric of one network at one setting, ready to render.

METRICS declares each metric once (its visitor, how its total reduces, its JSON key, labels,
number format and outputs); `measure` computes them all, `analyze` assembles the Report.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import reduce
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from . import deploy, energy, latency, metrics, netscope
from .deployment import ModelSize, Roofline, Transfer, as_roofline, as_size, as_transfer
from .errors import CostcalcError, did_you_mean
from .expand import build_graph, check_width
from .graph import Graph
from .hardware import LEVELS, OPERANDS, Hardware, make_hardware
from .metrics import Settings, dtype_bits, nbytes  # noqa: F401  (dtype_bits, nbytes: API)
from .ops import OPS, Dim, Input, Shape, maximum
from .shapes import shape_graph
from .spec import Spec, load_spec

BUCKETS = ("conv 1x1", "depthwise", "conv kxk", "fc", "other", "unpriced")

MAC_CONVENTION = ("1 MAC = one multiply-accumulate of a conv or FC layer (the papers' "
                  "mult-adds); FLOPs = 2 x MACs + other arithmetic")
PARAM_CONVENTION_TEXT = {
    "framework": "all trainable: weights + biases + batch-norm gamma/beta (BN running "
                 "statistics are buffers)",
    "paper": "what the source paper counted: {roles}",
    "deploy": "inference: weights + biases, batch norm folded into the preceding layer's bias",
}
ACTIVATION_CONVENTION = ("output elements of every layer, input included, times batch; peak = "
                         "largest live set under the sequential schedule")
WEIGHTS_ROW = "  weights / biases / BN gamma,beta"
INTENSITY_CONVENTION = ("MACs / bytes of each layer's kernels (raw weights), inputs and "
                        "output, layers run unfused; total = all MACs / all bytes")
ENERGY_CONVENTION = ("MACs x (multiply + add) + other arithmetic x add at the dtype, plus the "
                     "bytes each layer moves at each level x that level's energy per byte "
                     "(docs/energy.md)")


DEFAULT_SETTINGS = Settings()

Reducer = Literal["sum", "max"] | Callable[[metrics.Context], Dim]
SHOWS = frozenset({"columns", "totals", "csv", "per_image", "per_image_row"})
FORMATS = frozenset({"count", "bytes", "percent", "ratio", "energy"})
# energy: measured when the settings give a hardware profile; size: a ModelSize; transfer: a
# Transfer; latency: a Roofline; netscope: count=netscope (each only with its settings)
FAMILIES = ("core", "energy", "size", "transfer", "latency", "netscope")


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric, declared once: this table drives `measure`, `Report` (its rows' and totals'
    attributes, `to_dict`) and every renderer. Every metric is in the JSON; `shows` adds:

    columns        a column of the per-layer table and Markdown (`column` is its heading)
    totals         a row of the totals table and Markdown (`label`; `{params}` = the convention)
    csv            a CSV column, per layer and in the TOTAL row
    per_image      `per_image` in the JSON: the total divided by the batch
    per_image_row  a "per image" totals row when the batch is above 1
    """

    key: str  # attribute of LayerRow / Totals, JSON key of a layer row, CSV column
    unit: str
    fmt: str  # count (SI suffix), bytes (binary suffix), percent, ratio, energy (profile unit)
    label: str
    layer: metrics.LayerVisitor | None = None  # per-layer values; None: a graph-level metric
    total: Reducer = "sum"  # of the layer values, or a graph-level visitor
    json: str = ""  # path under "totals" (dotted: nested); default: key
    column: str = ""
    shows: frozenset[str] = frozenset()
    group: str = ""  # totals rows: metrics of one group share one row, labelled by the group
    convention: str = ""  # what it counts, if the header must say: header line, JSON conventions
    family: str = "core"  # the per-layer columns show the family of the report's view

    def __post_init__(self) -> None:  # a bad declaration is a bug: fail at import
        if self.fmt not in FORMATS or not self.shows <= SHOWS or self.family not in FAMILIES:
            raise ValueError(f"metric '{self.key}': unknown fmt, shows or family")
        if isinstance(self.total, str) and (self.total not in ("sum", "max") or not self.layer):
            raise ValueError(f"metric '{self.key}': total '{self.total}' needs layer values")

    @property
    def total_path(self) -> str:
        return self.json or self.key


CORE_METRICS: tuple[Metric, ...] = (
    Metric("macs", "MAC", "count", "MACs", layer=metrics.per_batch(metrics.macs), column="MACs",
           shows=frozenset({"columns", "totals", "csv", "per_image", "per_image_row"})),
    Metric("flops", "FLOP", "count", "FLOPs", layer=metrics.per_batch(metrics.flops),
           shows=frozenset({"totals", "csv", "per_image"})),
    Metric("params", "param", "count", "params ({params})", layer=metrics.convention_params,
           column="params", shows=frozenset({"columns", "totals", "csv"})),
    Metric("weights", "param", "count", "weights", layer=metrics.role("weights"),
           json="params_by_role.weights", shows=frozenset({"totals"}), group=WEIGHTS_ROW),
    Metric("biases", "param", "count", "biases", layer=metrics.role("biases"),
           json="params_by_role.biases", shows=frozenset({"totals"}), group=WEIGHTS_ROW),
    Metric("bn", "param", "count", "BN gamma,beta", layer=metrics.role("bn"),
           json="params_by_role.bn", shows=frozenset({"totals"}), group=WEIGHTS_ROW),
    Metric("bn_buffers", "element", "count", "BN running statistics", total=metrics.bn_buffers,
           json="params_by_role.bn_buffers"),
    Metric("weight_bytes", "B", "bytes", "weight bytes", total=metrics.weight_bytes,
           shows=frozenset({"totals"})),
    Metric("activations", "element", "count", "activations (sum of outputs)",
           layer=metrics.per_batch(metrics.activations),
           shows=frozenset({"totals", "csv", "per_image"})),
    Metric("activation_bytes", "B", "bytes", "activation bytes (sum)",
           layer=metrics.activation_bytes, total=metrics.total_activation_bytes,
           column="act bytes", shows=frozenset({"columns", "totals", "csv"})),
    Metric("peak_activation_bytes", "B", "bytes", "peak live activation bytes",
           total=metrics.peak_activation_bytes, shows=frozenset({"totals"})),
    Metric("block_memory_bytes", "B", "bytes", "block memory bytes (MobileNetV2 measure)",
           total=metrics.block_memory_bytes, shows=frozenset({"totals"})),
    Metric("arithmetic_intensity", "MAC/B", "ratio", "arithmetic intensity",
           layer=metrics.arithmetic_intensity, total=metrics.total_arithmetic_intensity,
           column="MACs/B", shows=frozenset({"columns", "totals", "csv"}),
           convention=INTENSITY_CONVENTION),
)


def _energy_metrics() -> tuple[Metric, ...]:
    """Traffic and energy (costcalc.energy): one declaration per level, operand and part."""
    level_name = {"dram": "DRAM", "sram": "SRAM", "rf": "RF"}
    out = [Metric("energy", "", "energy", "energy", layer=energy.energy,
                  total=energy.total_energy, json="energy.total", column="energy",
                  shows=frozenset({"columns", "totals", "csv", "per_image", "per_image_row"}),
                  convention=ENERGY_CONVENTION, family="energy"),
           Metric("energy_share", "%", "percent", "share of the energy",
                  layer=energy.energy_share, total=lambda ctx: 100.0, json="energy.share_pct",
                  column="share", shows=frozenset({"columns"}), family="energy"),
           Metric("energy_compute", "", "energy", "compute (MACs and other arithmetic)",
                  layer=energy.energy_part("compute"), json="energy.compute",
                  column="compute", shows=frozenset({"columns", "totals", "csv"}),
                  family="energy")]
    for level in LEVELS:
        name = level_name[level]
        out.append(Metric(f"energy_{level}", "", "energy", f"{name} energy",
                          layer=energy.energy_level(level), json=f"energy.{level}",
                          column=name, shows=frozenset({"columns", "totals", "csv"}),
                          family="energy"))
        out += [Metric(f"energy_{level}_{operand}", "", "energy", f"{name} {operand} energy",
                       layer=energy.energy_part(f"{level}_{operand}"),
                       json=f"energy.{level}_{operand}", shows=frozenset({"totals", "csv"}),
                       group=f"  {name} weights / inputs / outputs", family="energy")
                for operand in OPERANDS]
    for level in LEVELS:
        name = level_name[level]
        out.append(Metric(f"{level}_bytes", "B", "bytes", f"{name} traffic",
                          layer=energy.traffic_level(level), json=f"traffic.{level}_bytes",
                          shows=frozenset({"totals", "csv"}), family="energy"))
        out += [Metric(f"{level}_{operand}_bytes", "B", "bytes", f"{name} {operand} bytes",
                       layer=energy.traffic_part(level, operand),
                       json=f"traffic.{level}_{operand}_bytes",
                       shows=frozenset({"totals", "csv"}),
                       group=f"  {name} bytes: weights / inputs / outputs", family="energy")
                for operand in OPERANDS]
    return tuple(out)


SIZE_CONVENTION = ("weights (conv and FC kernels) pruned to the density and stored at the "
                   "weight bits, dense or in Deep Compression's sparse format; the other params "
                   "of the params convention dense fp32 (docs/deploy.md)")
TRANSFER_CONVENTION = ("each layer's output over the batch at the dtype, in packets of the PDU "
                       "payload (ceil per tensor); at the cut, the tensors crossing it")


def _deploy_metrics() -> tuple[Metric, ...]:
    """Model size (the size family) and split-computing transfer (the transfer family)."""
    part = {"weights": "codes or weights", "indices": "relative indices",
            "codebook": "codebooks", "other": "biases and other params", "header": "headers"}
    size = [
        Metric("kept_weights", "param", "count", "weights kept after pruning",
               layer=deploy.kept_weights, column="kept", shows=frozenset({"columns", "totals",
                                                                           "csv"}),
               family="size"),
        Metric("params_pruned", "param", "count", "params after pruning ({params})",
               layer=deploy.params_pruned, column="params pruned",
               shows=frozenset({"columns", "totals", "csv"}), family="size"),
        Metric("stored_entries", "entry", "count", "stored weight entries",
               layer=deploy.stored_entries, column="entries",
               shows=frozenset({"columns", "totals", "csv"}), family="size"),
        Metric("filler_entries", "entry", "count", "filler entries (expected, i.i.d. pruning)",
               layer=deploy.filler_entries, shows=frozenset({"totals", "csv"}), family="size"),
        Metric("model_bytes", "B", "bytes", "model size", layer=deploy.model_bytes,
               json="size.bytes", column="size B", shows=frozenset({"columns", "totals", "csv"}),
               convention=SIZE_CONVENTION, family="size"),
        *(Metric(f"model_{p}_bytes", "B", "bytes", f"size: {label}",
                 layer=deploy.model_part(p), json=f"size.{p}_bytes",
                 shows=frozenset({"totals", "csv"}), family="size",
                 group="  codes / indices / codebooks / other params / headers (B)")
          for p, label in part.items()),
        Metric("model_mb", "MB", "ratio", "model size in MB (10^6 B)", total=deploy.model_mb,
               json="size.mb", shows=frozenset({"totals"}), family="size"),
        Metric("model_mib", "MiB", "ratio", "model size in MiB (2^20 B)",
               total=deploy.model_mib, json="size.mib", shows=frozenset({"totals"}),
               family="size"),
    ]
    transfer = [
        Metric("transfer_bytes", "B", "count", "output bytes", layer=deploy.transfer_bytes,
               total="max", json="transfer.largest_output_bytes", column="out bytes",
               shows=frozenset({"columns", "csv"}), convention=TRANSFER_CONVENTION,
               family="transfer"),
        Metric("transfer_packets", "packet", "count", "output packets",
               layer=deploy.transfer_packets, total="max", json="transfer.largest_packets",
               column="packets", shows=frozenset({"columns", "csv"}), family="transfer"),
        Metric("cut_bytes", "B", "count", "bytes sent at the cut", total=deploy.cut_bytes,
               json="transfer.cut_bytes", shows=frozenset({"totals"}), family="transfer"),
        Metric("cut_packets", "packet", "count", "packets sent at the cut",
               total=deploy.cut_packets, json="transfer.cut_packets",
               shows=frozenset({"totals"}), family="transfer"),
        Metric("cut_macs", "MAC", "count", "device MACs up to the cut", total=deploy.cut_macs,
               json="transfer.cut_macs", shows=frozenset({"totals"}), family="transfer"),
    ]
    return tuple(size + transfer)


LATENCY_METRICS: tuple[Metric, ...] = (
    Metric("latency_ms", "ms", "ratio", "latency (roofline, ms)", layer=latency.latency_ms,
           column="latency ms", shows=frozenset({"columns", "totals", "csv"}), family="latency"),
    Metric("compute_ms", "ms", "ratio", "compute time (ms)", layer=latency.compute_ms,
           column="compute ms", shows=frozenset({"columns", "totals", "csv"}), family="latency"),
    Metric("memory_ms", "ms", "ratio", "memory time (ms)", layer=latency.memory_ms,
           column="memory ms", shows=frozenset({"columns", "totals", "csv"}), family="latency"),
    Metric("compute_bound", "layer", "count", "compute-bound layers",
           layer=latency.compute_bound, column="compute-bound",
           shows=frozenset({"columns", "totals", "csv"}), family="latency"),
)

NETSCOPE_CONVENTION = ("Netscope's rules (netscope.py, reference/netscope-rules.md): MACC, "
                       "COMP, ADD, DIV, EXP, params and activations per layer, over the batch; "
                       "a batchnorm counts as Caffe's BatchNorm + Scale pair")
NETSCOPE_LABELS = {"macc": "MACC", "comp": "COMP", "add": "ADD", "div": "DIV", "exp": "EXP",
                   "params": "params", "activations": "activations"}
NETSCOPE_METRICS: tuple[Metric, ...] = tuple(
    Metric(f"netscope_{c}", "", "count", f"Netscope {label}", layer=netscope.category(c),
           json=f"netscope.{c}", column=label, shows=frozenset({"columns", "totals", "csv"}),
           convention=NETSCOPE_CONVENTION if c == "macc" else "", family="netscope")
    for c, label in NETSCOPE_LABELS.items())

METRICS = (CORE_METRICS + _energy_metrics() + _deploy_metrics() + LATENCY_METRICS
           + NETSCOPE_METRICS)


def _family_on(family: str, settings: Settings) -> bool:
    return {"core": True, "energy": settings.hardware is not None,
            "size": settings.size is not None,
            "transfer": settings.transfer is not None,
            "latency": settings.latency is not None,
            "netscope": settings.count == "netscope"}[family]


def check_metric_keys(keys: Sequence[str]) -> None:
    """Every key names a declared metric (did-you-mean otherwise), and there is at least one."""
    known = [m.key for m in METRICS]
    for key in keys:
        if key not in known:
            raise CostcalcError(f"unknown metric '{key}'", did_you_mean(key, known))
    if not keys:
        raise CostcalcError("no metric given", "name one, e.g. macs")


def measured(settings: Settings) -> tuple[Metric, ...]:
    """The metrics measured at these settings: the energy family needs a hardware profile, the
    size family a ModelSize, the transfer family a Transfer."""
    return tuple(m for m in METRICS if _family_on(m.family, settings))


@dataclass(frozen=True, slots=True)
class Measures:
    """Every declared metric: per-layer values (metric key -> layer name -> value, for the
    metrics that have them) and totals (metric key -> value)."""

    layers: Mapping[str, Mapping[str, Dim]]
    totals: Mapping[str, Dim]


def measure(graph: Graph, shapes: Mapping[str, Shape],
            settings: Settings = DEFAULT_SETTINGS,
            keys: Collection[str] | None = None) -> Measures:
    """Every metric of METRICS from a graph and its shapes, or only those named in `keys` (a
    sweep computes what it needs). The dims may be Python ints or numpy integer arrays (a
    sweep): nothing here needs a scalar."""
    if keys is not None and (unknown := set(keys) - {m.key for m in METRICS}):
        name = sorted(unknown)[0]
        raise CostcalcError(f"unknown metric '{name}'", did_you_mean(name, [m.key for m in
                                                                           METRICS]))
    ctx = metrics.Context(graph, shapes, settings, metrics.param_counts(graph, shapes))
    layers: dict[str, Mapping[str, Dim]] = {}
    totals: dict[str, Dim] = {}
    for m in measured(settings):
        if keys is not None and m.key not in keys:
            continue
        if m.layer is not None:
            layers[m.key] = m.layer(ctx)
        if m.total == "sum":
            totals[m.key] = sum(layers[m.key].values())
        elif m.total == "max":
            totals[m.key] = reduce(maximum, layers[m.key].values(), 0)
        else:
            totals[m.key] = m.total(ctx)
    return Measures(layers, totals)


def _metric_value(self: Any, key: str) -> Any:
    """Attribute access to a declared metric's value: `row.macs`, `report.totals.params`."""
    if key == "values":  # not set yet (unpickling): no recursion
        raise AttributeError(key)
    try:
        return self.values[key]
    except KeyError:
        raise AttributeError(f"{type(self).__name__} has no metric '{key}'") from None


@dataclass(frozen=True, slots=True)
class LayerRow:
    name: str
    kind: str
    bucket: str
    output: tuple[int, int, int]
    line: int
    values: Mapping[str, Any]  # metric key -> value, for METRICS with per-layer values

    __getattr__ = _metric_value


@dataclass(frozen=True, slots=True)
class Totals:
    values: Mapping[str, Any]  # metric key -> total, for every metric of METRICS

    __getattr__ = _metric_value


@dataclass(frozen=True, slots=True)
class GroupRow:
    """The layers whose names share their first `depth` dotted parts (a block or a stage),
    with the sums of the metrics declared with a sum total."""

    name: str
    layers: int  # how many layers it holds
    output: tuple[int, int, int]  # its last layer's
    values: Mapping[str, Any]

    __getattr__ = _metric_value


# `--sort` names: the metrics a report's rows can be ranked by
SORT_KEYS = {"macs": "macs", "params": "params", "act": "activations", "flops": "flops"}


@dataclass(frozen=True, slots=True)
class Share:
    bucket: str
    macs: int
    params: int
    macs_pct: float
    params_pct: float


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
    settings: Settings = DEFAULT_SETTINGS  # what the metrics were computed at
    variant: str | None = None  # the spec's named setting, if one was chosen
    # every spec argument as resolved, and those given (--set, args=); read-only mappings
    args: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    overrides: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """The metrics this report holds (the energy family only with a hardware profile)."""
        return measured(self.settings)

    @property
    def view(self) -> str:
        """The family whose per-layer columns the renderers show."""
        for family in ("energy", "latency", "size", "transfer", "netscope"):  # the first given
            if _family_on(family, self.settings):
                return family
        return "core"

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
            "activations": ACTIVATION_CONVENTION,
            "dtype": self.dtype,
            "batch": f"{self.batch} (totals cover the whole batch; params do not scale)",
            **{m.key: m.convention for m in self.metrics if m.convention},
            **self._hardware_conventions(),
            **self._deploy_conventions(),
            **self._unpriced_conventions(),
        }

    def _unpriced_conventions(self) -> dict[str, str]:
        """Layers whose kind has no cost rule (ops.Unpriced): named, with what it means."""
        names = [r.name for r in self.layers if OPS[r.kind].unpriced]
        if not names:
            return {}
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return {"unpriced": f"{len(names)} layer(s) with no cost rule counted as zero ({shown}): "
                            "every total is a lower bound"}

    def _hardware_conventions(self) -> dict[str, str]:
        hardware = self.settings.hardware
        if hardware is None:
            return {}
        return {"hardware": hardware.describe(), "energy_unit": hardware.profile.unit}

    def _deploy_conventions(self) -> dict[str, str]:
        out = {}
        if self.settings.size is not None:
            out["storage"] = self.settings.size.describe()
        if self.settings.transfer is not None:
            out["split"] = self.settings.transfer.describe()
        if self.settings.latency is not None:
            out["roofline"] = self.settings.latency.describe()
        return out

    @property
    def summed(self) -> tuple[Metric, ...]:
        """The per-layer metrics whose total is the sum of the layer values: the ones a block
        row and a share of the total are defined for."""
        return tuple(m for m in self.metrics if m.layer is not None and m.total == "sum")

    def by_depth(self, depth: int) -> tuple[GroupRow, ...]:
        """One row per distinct first `depth` parts of the dotted layer names (names are
        dotted by nesting: `conv2_1.conv1.bn` is in block `conv2_1` at depth 1), in order of
        first appearance, summing the metrics of `summed`."""
        if depth < 1:
            raise CostcalcError(f"depth must be at least 1, got {depth}", "use --depth 1 for "
                                "one row per top-level block")
        keys = [m.key for m in self.summed]
        groups: dict[str, list[LayerRow]] = {}
        for row in self.layers:
            groups.setdefault(".".join(row.name.split(".")[:depth]), []).append(row)
        return tuple(GroupRow(name, len(rows), rows[-1].output,
                              {k: sum(r.values[k] for r in rows) for k in keys})
                     for name, rows in groups.items())

    def per_image(self) -> dict[str, Any]:
        """Totals over the batch size: exact for counts, a quotient for energy."""
        values = self.totals.values
        return {m.key: values[m.key] // self.batch if isinstance(values[m.key], int)
                else values[m.key] / self.batch for m in self.metrics if "per_image" in m.shows}

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON contract (DESIGN.md), plus a few extra keys."""
        totals: dict[str, Any] = {}
        for m in self.metrics:
            *groups, key = m.total_path.split(".")
            node = totals
            for group in groups:
                node = node.setdefault(group, {})
            node[key] = self.totals.values[m.key]
        return {
            "network": self.network,
            "source": self.source,
            "spec": self.file,
            "variant": self.variant,
            "args": dict(self.args),
            "overrides": dict(self.overrides),
            "input": list(self.input),
            "batch": self.batch,
            "width": self.width,
            "resolution": self.resolution,
            "conventions": self.conventions(),
            "totals": totals,
            "per_image": self.per_image(),
            "breakdown": [{"bucket": s.bucket, "macs": s.macs, "params": s.params,
                           "macs_pct": s.macs_pct, "params_pct": s.params_pct}
                          for s in self.breakdown],
            "layers": [{"name": r.name, "kind": r.kind, "bucket": r.bucket,
                        "output": list(r.output), **r.values, "line": r.line}
                       for r in self.layers],
        }


def analyze(spec: Spec | Graph | str | Path, width: float | None = None,
            resolution: int | tuple[int, int] | None = None, batch: int = 1,
            dtype: str = "fp32", params: str = "framework",
            args: Mapping[str, Any] | None = None, variant: str | None = None,
            hardware: Hardware | str | Mapping[str, Any] | None = None,
            size: ModelSize | Mapping[str, Any] | None = None,
            transfer: Transfer | Mapping[str, Any] | None = None,
            latency: Roofline | Mapping[str, Any] | None = None,
            count: str = "costcalc") -> Report:
    """Every metric of a network at one setting. With `hardware` (a Hardware, a profile name or
    path, or a mapping of make_hardware's arguments) traffic and energy are measured too; with
    `size` (a ModelSize or its fields) the model size; with `transfer` (a Transfer or its
    fields: pdu, cut) the split-computing transfer; with `latency` (a Roofline or its fields)
    the roofline latency; with `count="netscope"` the counts by Netscope's rules."""
    settings = Settings(batch, dtype, params, as_hardware(hardware), as_size(size),
                        as_transfer(transfer), as_roofline(latency), count)
    if not isinstance(spec, Graph | Spec):
        spec = load_spec(spec)
    graph, shapes = _pipeline(spec, width, resolution, args, variant)
    measured = measure(graph, shapes, settings)
    bucket = metrics.buckets(graph, shapes)
    rows = tuple(
        LayerRow(name=layer.name, kind=layer.kind, bucket=bucket[layer.name],
                 output=_dims(shapes[layer.name]), line=layer.line,
                 values={key: values[layer.name] for key, values in measured.layers.items()})
        for layer in graph.layers)
    totals = Totals(measured.totals)
    return Report(graph.name, graph.source, graph.file, _dims(shapes[graph.layers[0].name]),
                  batch, graph.width, dtype, settings.bits, params, graph.paper_params, rows,
                  totals, _breakdown(rows, totals), settings, variant,
                  MappingProxyType(_resolved_args(spec, args, variant)),
                  MappingProxyType(dict(args or {})))


def _resolved_args(spec: Spec | Graph, args: Mapping[str, Any] | None,
                   variant: str | None) -> dict[str, Any]:
    """Every spec argument as the graph was built with it: the spec's defaults, then the
    variant's, then the given ones (build_graph has checked them). A built Graph has none."""
    if isinstance(spec, Graph):
        return {}
    chosen = spec.variants[variant].args if variant is not None else {}
    return {**spec.args, **chosen, **(args or {})}


def as_hardware(hardware: Hardware | str | Mapping[str, Any] | None) -> Hardware | None:
    """`hardware` as papers rows and the API give it: a profile name, or make_hardware's
    arguments (profile, sram, weight_reuse, reuse, rf_per_mac) as a mapping."""
    if hardware is None or isinstance(hardware, Hardware):
        return hardware
    if isinstance(hardware, str):
        return make_hardware(hardware)
    keys = {"profile", "sram", "weight_reuse", "reuse", "rf_per_mac", "fuse"}
    if set(hardware) - keys or "profile" not in hardware:
        raise CostcalcError(f"hardware settings take {', '.join(sorted(keys))} (profile "
                            f"required), got {sorted(hardware)}")
    return make_hardware(**hardware)


def evaluated_graph(spec: Spec | Graph | str | Path, width: float | None = None,
                    resolution: int | tuple[int, int] | None = None,
                    args: Mapping[str, Any] | None = None,
                    variant: str | None = None) -> tuple[Graph, Mapping[str, Shape]]:
    """The graph at one setting with every field evaluated, and its shapes (what `analyze`
    measures, and what exporters write)."""
    return _pipeline(spec, width, resolution, args, variant)


def _pipeline(spec: Spec | Graph | str | Path, width: float | None,
              resolution: int | tuple[int, int] | None, args: Mapping[str, Any] | None,
              variant: str | None) -> tuple[Graph, Mapping[str, Shape]]:
    """The graph and its shapes at one setting: load, build, shape. A built Graph takes a
    width and a resolution (both are applied in the shape pass) but not arguments or a
    variant, which decide its structure."""
    if not isinstance(spec, Graph):
        spec = spec if isinstance(spec, Spec) else load_spec(spec)
        graph = build_graph(spec, width, resolution, args, variant)
        (shaped,) = shape_graph(graph)  # one configuration: one structure
        return shaped.graph, shaped.shapes
    if args or variant is not None:
        raise CostcalcError(f"{spec.file}: a built Graph cannot take arguments or a variant: "
                            "they decide its structure", "pass the spec (a name, path or "
                            "Spec) instead, or build_graph(spec, args=..., variant=...)")
    first = spec.layers[0].op
    assert isinstance(first, Input)
    size = None if resolution is None else \
        (resolution, resolution) if isinstance(resolution, int) else resolution
    if width is not None:
        check_width(width, spec.file)
        spec = replace(spec, width=float(width))
    (shaped,) = shape_graph(spec, None if size is None else Shape(first.channels, *size))
    return shaped.graph, shaped.shapes


def _dims(shape: Shape) -> tuple[int, int, int]:
    return (shape.c, shape.h, shape.w)


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
