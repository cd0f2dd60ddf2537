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

from . import deploy, energy, latency, metrics, netscope, training
from .deployment import ModelSize, Roofline, Transfer, as_roofline, as_size, as_transfer
from .errors import CostcalcError, did_you_mean
from .expand import build_graph, check_width
from .graph import Graph
from .hardware import LEVELS, OPERANDS, Hardware, make_hardware
from .metrics import Settings, Training, dtype_bits, nbytes  # noqa: F401  (dtype_bits, nbytes: API)
from .ops import BUCKETS, OPS, Dim, Geometry, Input, Shape, maximum
from .shapes import shape_graph
from .spec import Spec, load_spec

# The JSON's layout (docs/reports.md): 2 made resolution always [h, w], width always a float,
# `conventions` data (the prose moved to `notes`), and added per-layer inputs, kernel, stride,
# groups and the totals' non_trainable_params and all_params
JSON_VERSION = 2

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
# as the convention counts them (BN: its gamma and beta); non-trainable: the BN running
# statistics. Short enough that no totals label wraps at 80 columns (tests/test_render.py)
WEIGHTS_ROW = "  weights / biases / BN"
NON_TRAINABLE_ROW = "  non-trainable / all"
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
# Transfer; latency: a Roofline; netscope: count=netscope; training: a Training (each only
# with its settings)
FAMILIES = ("core", "energy", "size", "transfer", "latency", "netscope", "training")


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
    convention: str = ""  # what it counts, if the header must say: header line, JSON notes
    family: str = "core"  # the per-layer columns show the family of the report's view
    field: str = ""  # its name in --fields (default: key)

    def __post_init__(self) -> None:  # a bad declaration is a bug: fail at import
        if self.fmt not in FORMATS or not self.shows <= SHOWS or self.family not in FAMILIES:
            raise ValueError(f"metric '{self.key}': unknown fmt, shows or family")
        if isinstance(self.total, str) and (self.total not in ("sum", "max") or not self.layer):
            raise ValueError(f"metric '{self.key}': total '{self.total}' needs layer values")

    @property
    def total_path(self) -> str:
        return self.json or self.key

    @property
    def name(self) -> str:
        """What --fields calls it."""
        return self.field or self.key

    @property
    def heading(self) -> str:
        """Its per-layer column heading."""
        return self.column or self.label


CORE_METRICS: tuple[Metric, ...] = (
    Metric("macs", "MAC", "count", "MACs", layer=metrics.per_batch(metrics.macs), column="MACs",
           shows=frozenset({"columns", "totals", "csv", "per_image", "per_image_row"})),
    Metric("flops", "FLOP", "count", "FLOPs", layer=metrics.per_batch(metrics.flops),
           column="FLOPs", shows=frozenset({"totals", "csv", "per_image"})),
    Metric("params", "param", "count", "params ({params})", layer=metrics.convention_params,
           column="params", shows=frozenset({"columns", "totals", "csv"})),
    Metric("weights", "param", "count", "weights", layer=metrics.role("weights"),
           json="params_by_role.weights", shows=frozenset({"totals"}), group=WEIGHTS_ROW),
    Metric("biases", "param", "count", "biases", layer=metrics.role("biases"),
           json="params_by_role.biases", shows=frozenset({"totals"}), group=WEIGHTS_ROW),
    Metric("bn", "param", "count", "BN gamma,beta", layer=metrics.role("bn"),
           json="params_by_role.bn", shows=frozenset({"totals"}), group=WEIGHTS_ROW),
    Metric("bn_buffers", "element", "count", "BN running statistics", total=metrics.bn_buffers,
           json="params_by_role.bn_buffers"),  # the model's, whatever the convention
    Metric("non_trainable_params", "element", "count", "non-trainable (BN running statistics)",
           total=metrics.non_trainable, shows=frozenset({"totals"}), group=NON_TRAINABLE_ROW),
    Metric("all_params", "element", "count", "params + non-trainable", total=metrics.all_params,
           shows=frozenset({"totals"}), group=NON_TRAINABLE_ROW),
    Metric("weight_bytes", "B", "bytes", "weight bytes", total=metrics.weight_bytes,
           shows=frozenset({"totals"})),
    Metric("activations", "element", "count", "activations (sum of outputs)",
           layer=metrics.per_batch(metrics.activations), column="act", field="act",
           shows=frozenset({"totals", "csv", "per_image"})),
    Metric("activation_bytes", "B", "bytes", "activation bytes (sum)",
           layer=metrics.activation_bytes, total=metrics.total_activation_bytes,
           column="act bytes", field="act_bytes", shows=frozenset({"columns", "totals", "csv"})),
    Metric("peak_activation_bytes", "B", "bytes", "peak live activation bytes",
           total=metrics.peak_activation_bytes, shows=frozenset({"totals"})),
    Metric("block_memory_bytes", "B", "bytes", "block memory bytes",
           total=metrics.block_memory_bytes, shows=frozenset({"totals"})),
    Metric("arithmetic_intensity", "MAC/B", "ratio", "arithmetic intensity",
           layer=metrics.arithmetic_intensity, total=metrics.total_arithmetic_intensity,
           column="MACs/B", field="intensity", shows=frozenset({"columns", "totals", "csv"}),
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
           Metric("energy_compute", "", "energy", "compute (arithmetic)",
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

NETSCOPE_CONVENTION = ("Netscope's rules (costcalc/netscope.py, from dgschwend/netscope's "
                       "analyzer): MACC, "
                       "COMP, ADD, DIV, EXP, params and activations per layer, over the batch; "
                       "a batchnorm counts as Caffe's BatchNorm + Scale pair")
NETSCOPE_LABELS = {"macc": "MACC", "comp": "COMP", "add": "ADD", "div": "DIV", "exp": "EXP",
                   "params": "params", "activations": "activations"}
NETSCOPE_METRICS: tuple[Metric, ...] = tuple(
    Metric(f"netscope_{c}", "", "count", f"Netscope {label}", layer=netscope.category(c),
           json=f"netscope.{c}", column=label, shows=frozenset({"columns", "totals", "csv"}),
           convention=NETSCOPE_CONVENTION if c == "macc" else "", family="netscope")
    for c, label in NETSCOPE_LABELS.items())

TRAINING_METRICS: tuple[Metric, ...] = (
    Metric("train_weight_bytes", "B", "bytes", "training: weights (+ BN running statistics)",
           total=training.weight_bytes, json="training.weight_bytes",
           shows=frozenset({"totals"}), family="training"),
    Metric("gradient_bytes", "B", "bytes", "training: gradients", total=training.gradient_bytes,
           json="training.gradient_bytes", shows=frozenset({"totals"}), family="training"),
    Metric("optimizer_state_bytes", "B", "bytes", "training: optimizer state",
           total=training.optimizer_state_bytes, json="training.optimizer_state_bytes",
           shows=frozenset({"totals"}), family="training"),
    Metric("saved_activation_bytes", "B", "bytes", "training: activations saved for backward",
           layer=training.saved_activation_bytes, total=training.total_saved_activation_bytes,
           json="training.saved_activation_bytes", column="saved B",
           shows=frozenset({"totals", "csv"}), family="training"),
    Metric("training_bytes", "B", "bytes", "training memory (the four above)",
           total=training.training_bytes, json="training.total_bytes",
           shows=frozenset({"totals"}), family="training"),
    Metric("torchinfo_pass_bytes", "B", "bytes", "torchinfo's forward/backward pass size",
           total=training.torchinfo_pass_bytes, json="training.torchinfo_pass_bytes",
           shows=frozenset({"totals"}), family="training"),
)

METRICS = (CORE_METRICS + _energy_metrics() + _deploy_metrics() + LATENCY_METRICS
           + NETSCOPE_METRICS + TRAINING_METRICS)


def _family_on(family: str, settings: Settings) -> bool:
    return {"core": True, "energy": settings.hardware is not None,
            "size": settings.size is not None,
            "transfer": settings.transfer is not None,
            "latency": settings.latency is not None,
            "netscope": settings.count == "netscope",
            "training": settings.training is not None}[family]


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


Pair = tuple[int, int]


@dataclass(frozen=True, slots=True)
class LayerRow:
    """One layer: its op kind (the spec's op name), its breakdown bucket, its input and output
    shapes (C, H, W), its window (kernel and stride as (h, w), groups; None where the kind has
    none) and its metric values."""

    name: str
    kind: str
    bucket: str
    output: tuple[int, int, int]
    line: int
    values: Mapping[str, Any]  # metric key -> value, for METRICS with per-layer values
    inputs: tuple[tuple[int, int, int], ...] = ()
    kernel: Pair | None = None
    stride: Pair | None = None
    groups: int | None = None

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
    dtype: str  # what --dtype gave; `weight_dtype` and `act_dtype` are what each counts at
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
    def weight_dtype(self) -> str:
        return self.settings.weights

    @property
    def act_dtype(self) -> str:
        return self.settings.acts

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
    def resolution(self) -> list[int]:
        """The input's [height, width], always a pair."""
        return list(self.input[1:])

    def conventions(self) -> dict[str, Any]:
        """What every number counts, as data (JSON `conventions`): each convention by the name
        docs/conventions.md defines it under, and the settings it was applied at."""
        s = self.settings
        out: dict[str, Any] = {
            "macs": "mult-add",
            "flops": "2-macs-plus-other",
            "params": self.params_convention,
            "params_roles": list(self.counted_roles),
            "non_trainable": "bn-running-statistics" if self.params_convention != "deploy"
            else "none-folded",
            "activations": "sum-of-outputs",
            "peak_activations": "sequential-liveness",
            "block_memory": "block-inputs-outputs",
            "weight_dtype": s.weights, "weight_bits": s.weight_bits,
            "act_dtype": s.acts, "act_bits": s.act_bits,
            "compute_dtype": s.compute_dtype,
            "batch": self.batch,
            "totals": "whole-batch",
        }
        if s.hardware is not None:
            hw = s.hardware
            out["hardware"] = {"profile": hw.profile.name, "energy_unit": hw.profile.unit,
                               "sram_bytes": hw.sram_bytes, "weight_reuse": hw.weight_reuse,
                               "reuse": hw.reuse, "rf_per_mac": list(hw.rf_per_mac),
                               "fuse": hw.fuse}
        if s.size is not None:
            out["storage"] = {"weight_bits": s.size.weight_bits, "storage": s.size.storage,
                              "index_bits": s.size.index_bits,
                              "density": {name or "*": str(d) for name, d in s.size.density}}
        if s.transfer is not None:
            out["split"] = {"pdu": s.transfer.pdu, "cut": s.transfer.cut}
        if s.latency is not None:
            r = s.latency
            out["roofline"] = {"peak_macs_per_s": r.peak_macs_per_s,
                               "bandwidth_bytes_per_s": r.bandwidth_bytes_per_s,
                               "efficiency": r.efficiency,
                               "efficiency_by_type": dict(r.by_type), "device": r.name or None}
        if s.count != "costcalc":
            out["count"] = s.count
        if unpriced := self.unpriced_layers():
            out["unpriced"] = {"layers": unpriced, "totals": "lower-bound"}
        if s.training is not None:
            out["training"] = {"optimizer": s.training.optimizer,
                               "state_buffers": s.training.state_buffers,
                               "master_weights": False}
        return out

    @property
    def counted_roles(self) -> tuple[str, ...]:
        """The param roles the params convention counts."""
        if self.params_convention == "paper":
            return tuple(self.paper_params or ())
        return ("weights", "biases", "bn")

    def notes(self) -> dict[str, str]:
        """What every number counts, in words (the header's lines, JSON `notes`)."""
        roles = ", ".join(self.paper_params or ())
        return {
            "macs": MAC_CONVENTION,
            "params": PARAM_CONVENTION_TEXT[self.params_convention].format(roles=roles),
            "activations": ACTIVATION_CONVENTION,
            "batch": f"{self.batch} (totals cover the whole batch; params do not scale)",
            **{m.key: m.convention for m in self.metrics if m.convention},
            **self._hardware_notes(),
            **self._deploy_notes(),
            **self._unpriced_notes(),
        }

    def unpriced_layers(self) -> list[str]:
        """The layers whose kind has no cost rule (ops.Unpriced): their zeros make every
        total a lower bound."""
        return [r.name for r in self.layers if OPS[r.kind].unpriced]

    def _unpriced_notes(self) -> dict[str, str]:
        names = self.unpriced_layers()
        if not names:
            return {}
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return {"unpriced": f"{len(names)} layer(s) with no cost rule counted as zero ({shown}): "
                            "every total is a lower bound"}

    def _hardware_notes(self) -> dict[str, str]:
        hardware = self.settings.hardware
        if hardware is None:
            return {}
        return {"hardware": hardware.describe(), "energy_unit": hardware.profile.unit}

    def _deploy_notes(self) -> dict[str, str]:
        out = {}
        if self.settings.size is not None:
            out["storage"] = self.settings.size.describe()
        if self.settings.transfer is not None:
            out["split"] = self.settings.transfer.describe()
        if self.settings.latency is not None:
            out["roofline"] = self.settings.latency.describe()
        if self.settings.training is not None:
            out["training"] = self.settings.training.describe()
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
        """The stable JSON contract (docs/reports.md, "JSON"); JSON_VERSION says which."""
        totals: dict[str, Any] = {}
        for m in self.metrics:
            *groups, key = m.total_path.split(".")
            node = totals
            for group in groups:
                node = node.setdefault(group, {})
            node[key] = self.totals.values[m.key]
        return {
            "json_version": JSON_VERSION,
            "network": self.network,
            "source": self.source,
            "spec": self.file,
            "variant": self.variant,
            "args": dict(self.args),
            "overrides": dict(self.overrides),
            "input": list(self.input),
            "batch": self.batch,
            "width": float(self.width),
            "resolution": self.resolution,
            "conventions": self.conventions(),
            "notes": self.notes(),
            "totals": totals,
            "per_image": self.per_image(),
            "breakdown": [{"bucket": s.bucket, "macs": s.macs, "params": s.params,
                           "macs_pct": s.macs_pct, "params_pct": s.params_pct}
                          for s in self.breakdown],
            "layers": [{"name": r.name, "kind": r.kind, "bucket": r.bucket,
                        "inputs": [list(x) for x in r.inputs], "output": list(r.output),
                        "kernel": _listed(r.kernel), "stride": _listed(r.stride),
                        "groups": r.groups, **r.values, "line": r.line}
                       for r in self.layers],
        }


def _listed(pair: Pair | None) -> list[int] | None:
    return None if pair is None else list(pair)


def analyze(spec: Spec | Graph | str | Path, width: float | None = None,
            resolution: int | tuple[int, int] | None = None, batch: int = 1,
            dtype: str = "fp32", params: str = "framework",
            args: Mapping[str, Any] | None = None, variant: str | None = None,
            hardware: Hardware | str | Mapping[str, Any] | None = None,
            size: ModelSize | Mapping[str, Any] | None = None,
            transfer: Transfer | Mapping[str, Any] | None = None,
            latency: Roofline | Mapping[str, Any] | None = None,
            count: str = "costcalc", training: Training | str | None = None,
            weight_dtype: str | None = None, act_dtype: str | None = None) -> Report:
    """Every metric of a network at one setting. With `hardware` (a Hardware, a profile name or
    path, or a mapping of make_hardware's arguments) traffic and energy are measured too; with
    `size` (a ModelSize or its fields) the model size; with `transfer` (a Transfer or its
    fields: pdu, cut) the split-computing transfer; with `latency` (a Roofline or its fields)
    the roofline latency; with `count="netscope"` the counts by Netscope's rules; with
    `training` (an optimizer name, sgd | momentum | adam, or a Training) the training memory
    at the batch (costcalc/training.py).

    `dtype` is the element type of both weights and activations; `weight_dtype` (weight bytes,
    weights moved, model size when `size` gives no weight_bits) and `act_dtype` (activation
    bytes, traffic, transfer) override it for one of them."""
    chosen = Settings(batch, dtype, params, weight_dtype=weight_dtype, act_dtype=act_dtype)
    settings = replace(chosen, hardware=as_hardware(hardware),
                       size=as_size(size, chosen.weight_bits),
                       transfer=as_transfer(transfer), latency=as_roofline(latency),
                       count=count,
                       training=Training(training) if isinstance(training, str) else training)
    if not isinstance(spec, Graph | Spec):
        spec = load_spec(spec)
    graph, shapes = _pipeline(spec, width, resolution, args, variant)
    measured = measure(graph, shapes, settings)
    bucket = metrics.buckets(graph, shapes)
    rows = tuple(
        LayerRow(name=layer.name, kind=layer.kind, bucket=bucket[layer.name],
                 output=_dims(shapes[layer.name]), line=layer.line,
                 values={key: values[layer.name] for key, values in measured.layers.items()},
                 inputs=tuple(_dims(shapes[src]) for src in layer.inputs),
                 **_geometry(layer.op.geometry(tuple(shapes[src] for src in layer.inputs))))
        for layer in graph.layers)
    totals = Totals(measured.totals)
    return Report(graph.name, graph.source, graph.file, _dims(shapes[graph.layers[0].name]),
                  batch, graph.width, dtype, dtype_bits(dtype), params, graph.paper_params, rows,
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


def _geometry(geometry: Geometry) -> dict[str, Any]:
    kernel, stride, groups = geometry
    return {"kernel": None if kernel is None else (int(kernel[0]), int(kernel[1])),
            "stride": None if stride is None else (int(stride[0]), int(stride[1])),
            "groups": None if groups is None else int(groups)}


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
