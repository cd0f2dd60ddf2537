"""What a deployment report assumes: how the weights are stored, and where a network is split.

`ModelSize` is the storage a model-size report prices (docs/deploy.md): the bits per weight,
per-layer densities after pruning, dense or Deep Compression's sparse format (Han, Mao, Dally
2016, section 2: a codebook per layer, b-bit codes, relative indices with filler entries) and
the index width. `Transfer` is a split-computing setting: the payload size of one packet and the
layer after which the device stops. Both are checked when made, like `Settings`; the visitors
that use them are in `deploy.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .errors import CostcalcError, did_you_mean

STORAGE = ("dense", "sparse")
MAX_WEIGHT_BITS = 32
MAX_CODEBOOK_BITS = 16  # a codebook of 2^b fp32 entries: 256 KiB per layer at 16 bits
MAX_INDEX_BITS = 16
BIAS_BITS = 32  # biases (and unfolded batch norm) stay fp32, as Deep Compression stores them


def _whole(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CostcalcError(f"{what} must be a whole number from {low} to {high}, got "
                            f"{value!r}")
    return value


def parse_density(text: Any) -> Fraction:
    """A density in (0, 1]: `0.35`, `35%` or `1/3`, kept exact (a Fraction)."""
    raw = str(text).strip()
    try:
        value = Fraction(raw[:-1]) / 100 if raw.endswith("%") else Fraction(raw)
    except (ValueError, ZeroDivisionError):
        value = None
    if isinstance(text, bool) or value is None or not 0 < value <= 1:
        raise CostcalcError(f"density {text!r} is not in (0, 1]",
                            "write the fraction of weights kept, e.g. 0.35, 35% or 1/3 "
                            "(1 = unpruned)")
    return value


def parse_densities(items: Iterable[str] | Mapping[str, Any]) -> tuple[tuple[str, Fraction], ...]:
    """`0.35` (every layer) and `NAME=0.2` (a layer, or every layer inside a block: `fire2`
    covers `fire2.squeeze`, ...), from the command line or a mapping (papers rows)."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(items, Mapping):
        pairs = [(str(k), v) for k, v in items.items()]
    else:
        for item in items:
            name, sep, value = str(item).rpartition("=")
            if sep and not name.strip():
                raise CostcalcError(f"--density '{item}': no layer name before '='",
                                    "write NAME=DENSITY, e.g. conv10=0.2, or a bare 0.35 for "
                                    "every layer")
            pairs.append((name.strip(), value))
    out: dict[str, Fraction] = {}
    for name, value in pairs:
        key = "" if name in ("", "*") else name
        if key in out:
            raise CostcalcError(f"density given twice for {key or 'every layer'}",
                                "give each layer or block one density")
        out[key] = parse_density(value)
    return tuple(out.items())


@dataclass(frozen=True, slots=True)
class Density:
    """One density declaration: the fraction of weights kept in a layer, or in every weighted
    layer inside a block (`name`; "" = every layer), with its precedence and where it was
    written. `level` 0 is the command line (or a papers row, the API), 1 a spec's variant, 2
    the spec's top-level `density:`; a layer takes the lowest level that names it or a block
    around it, and within a level the longest name. `file`/`line`: where a spec wrote it."""

    name: str
    value: Fraction
    level: int = 0
    file: str = ""
    line: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.value, Fraction) or not 0 < self.value <= 1:
            raise CostcalcError(f"bad density entry {(self.name, self.value)!r}",
                                "build densities with deployment.parse_density")

    def covers(self, layer: str) -> bool:
        return not self.name or layer == self.name or layer.startswith(self.name + ".")

    @property
    def where(self) -> str:
        """How an error names this declaration: `--density NAME=...` or the spec's line."""
        return f"--density {self.name or '*'}=..." if self.level == 0 else "density"


@dataclass(frozen=True, slots=True)
class ModelSize:
    """How the weights are stored (docs/deploy.md, "Model size").

    weight_bits  bits per stored weight (dense) or per code (sparse: a codebook index)
    density      (layer or block name, fraction kept); "" applies to every layer; the longest
                 matching name wins. These override a spec's `density:` (Density, level 0);
                 layers no declaration names keep every weight
    storage      dense: every weight at weight_bits, zeros included; sparse: Deep
                 Compression's format (codebook, codes, relative indices, fillers)
    index_bits   width of a relative index (sparse): a gap above 2^index_bits takes fillers
    """

    weight_bits: int = 32
    density: tuple[tuple[str, Fraction], ...] = ()
    storage: str = "dense"
    index_bits: int = 4

    def __post_init__(self) -> None:
        _whole(self.weight_bits, "--weight-bits", 1, MAX_WEIGHT_BITS)
        _whole(self.index_bits, "--index-bits", 1, MAX_INDEX_BITS)
        if self.storage not in STORAGE:
            raise CostcalcError(f"unknown storage '{self.storage}'",
                                did_you_mean(self.storage, STORAGE))
        if self.storage == "sparse" and self.weight_bits > MAX_CODEBOOK_BITS:
            raise CostcalcError(f"sparse storage codes each weight as an index into a codebook "
                                f"of 2^b fp32 entries; b = {self.weight_bits} is too wide",
                                f"use --weight-bits {MAX_CODEBOOK_BITS} or fewer, or "
                                "--storage dense")
        for name, value in self.density:
            if not isinstance(name, str) or not isinstance(value, Fraction) \
                    or not 0 < value <= 1:
                raise CostcalcError(f"bad density entry {(name, value)!r}",
                                    "build densities with deployment.parse_densities")

    def describe(self) -> str:
        kept = ", ".join(f"{name or 'all'}={float(d):g}" for name, d in self.density) or "none"
        if self.storage == "dense":
            fmt = f"dense, {self.weight_bits}-bit weights (pruned zeros stored)"
        else:
            fmt = (f"sparse (Deep Compression): per layer a codebook of 2^{self.weight_bits} "
                   f"fp32 entries, {self.weight_bits}-bit codes, {self.index_bits}-bit relative "
                   f"indices, expected fillers under i.i.d. pruning, a 4-byte entry count")
        return f"{fmt}; biases and other params fp32; pruning: {kept}"


@dataclass(frozen=True, slots=True)
class Transfer:
    """Split computing: packets of `pdu` payload bytes; the device runs the layers up to and
    including `cut` (None: the whole network) and sends what crosses the cut."""

    pdu: int
    cut: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.pdu, bool) or not isinstance(self.pdu, int) or self.pdu < 1:
            raise CostcalcError(f"--pdu must be a whole number of bytes of at least 1, got "
                                f"{self.pdu!r}")

    def describe(self) -> str:
        where = f"after {self.cut}" if self.cut else "after the last layer (all on device)"
        return (f"packets of {self.pdu:,} payload bytes, ceil per tensor; cut {where}: the "
                "tensors produced up to the cut and read after it are sent")


def as_size(value: ModelSize | Mapping[str, Any] | None,
            weight_bits: int | None = None) -> ModelSize | None:
    """A ModelSize from itself or a mapping (papers rows, the API): weight_bits, density (a
    number, or a mapping of name to density), storage, index_bits. A mapping without
    weight_bits stores the weights at `weight_bits` when given (the weight dtype's width)."""
    if value is None or isinstance(value, ModelSize):
        return value
    keys = {"weight_bits", "density", "storage", "index_bits"}
    if not isinstance(value, Mapping) or set(value) - keys:
        raise CostcalcError(f"size settings take {', '.join(sorted(keys))}, got {value!r}")
    args = dict(value)
    if weight_bits is not None:
        args.setdefault("weight_bits", weight_bits)
    density = args.pop("density", ())
    if not isinstance(density, Mapping):
        density = [str(density)] if not isinstance(density, list | tuple) else density
    return ModelSize(density=parse_densities(density), **args)


def as_transfer(value: Transfer | Mapping[str, Any] | None) -> Transfer | None:
    if value is None or isinstance(value, Transfer):
        return value
    keys = {"pdu", "cut"}
    if not isinstance(value, Mapping) or set(value) - keys or "pdu" not in value:
        raise CostcalcError(f"transfer settings take pdu (required) and cut, got {value!r}")
    return Transfer(**value)


@dataclass(frozen=True, slots=True)
class Roofline:
    """A device for the roofline latency model (docs/deploy.md, "Latency"): peak MACs per
    second, memory bandwidth in bytes per second, and the fraction of the peak a layer
    reaches, in (0, 1]: `efficiency` for every layer times its type's entry of `by_type`
    (layer type as ops.BUCKETS, a device profile's `efficiency:`; a type not listed: 1)."""

    peak_macs_per_s: float
    bandwidth_bytes_per_s: float
    efficiency: float = 1.0
    name: str = ""
    by_type: tuple[tuple[str, float], ...] = ()

    def fraction(self, bucket: str) -> float:
        """The fraction of the peak a layer of this type reaches."""
        return self.efficiency * dict(self.by_type).get(bucket, 1.0)

    def __post_init__(self) -> None:
        for what, value in (("peak MAC/s", self.peak_macs_per_s),
                            ("bandwidth (bytes/s)", self.bandwidth_bytes_per_s)):
            if isinstance(value, bool) or not isinstance(value, int | float) or \
                    not value > 0 or value == float("inf"):
                raise CostcalcError(f"{what} must be a positive number, got {value!r}")
        if isinstance(self.efficiency, bool) or not isinstance(self.efficiency, int | float) \
                or not 0 < self.efficiency <= 1:
            raise CostcalcError(f"--efficiency must be in (0, 1], got {self.efficiency!r}")
        from .ops import BUCKETS

        for bucket, fraction in self.by_type:
            if bucket not in BUCKETS:
                raise CostcalcError(f"efficiency: unknown layer type '{bucket}'",
                                    did_you_mean(bucket, BUCKETS))
            if isinstance(fraction, bool) or not isinstance(fraction, int | float) \
                    or not 0 < fraction <= 1:
                raise CostcalcError(f"efficiency: {bucket} must be in (0, 1], got {fraction!r}")

    def describe(self) -> str:
        name = f"{self.name}: " if self.name else ""
        types = "".join(f", {bucket} x {fraction:g}" for bucket, fraction in self.by_type)
        return (f"{name}peak {self.peak_macs_per_s:.4g} MAC/s x efficiency {self.efficiency:g}"
                f"{types}, bandwidth {self.bandwidth_bytes_per_s:.4g} B/s; time = max(MACs / "
                "(peak x efficiency), bytes moved / bandwidth), bytes = weights + inputs + "
                "output")


def as_roofline(value: Roofline | Mapping[str, Any] | None) -> Roofline | None:
    if value is None or isinstance(value, Roofline):
        return value
    keys = {"peak_macs_per_s", "bandwidth_bytes_per_s", "efficiency", "name", "by_type"}
    if not isinstance(value, Mapping) or set(value) - keys:
        raise CostcalcError(f"latency settings take {', '.join(sorted(keys))}, got {value!r}")
    by_type = value.get("by_type") or {}
    if not isinstance(by_type, Mapping):
        raise CostcalcError(f"latency by_type takes a mapping of layer type to fraction, got "
                            f"{by_type!r}")
    return Roofline(**{**value, "by_type": tuple(by_type.items())})


def device_roofline(profile: Any, peak: float | None, bandwidth: float | None,
                    efficiency: float = 1.0, command: str = "latency",
                    optional: bool = False, alternative: str = "") -> Roofline | None:
    """The Roofline a command runs at: a hardware profile's peak MAC/s and bandwidth (bundled
    name, file, or a loaded `hardware.Profile`), each overridden by `peak` / `bandwidth`. When
    a rate is missing: None if `optional`, else an error naming what is missing
    (`alternative`: another way out)."""
    from .hardware import load_profile

    device = load_profile(profile) if isinstance(profile, str) else profile
    peak = peak if peak is not None else device and device.peak_macs_per_s
    bandwidth = bandwidth if bandwidth is not None else device and device.bandwidth_bytes_per_s
    if peak is None or bandwidth is None:
        if optional:
            return None
        missing = " and ".join(n for n, v in (("peak_macs_per_s", peak),
                                               ("bandwidth_bytes_per_s", bandwidth)) if v is None)
        where = f"profile {device.name} ({device.file}) has no {missing}" if device else \
            "no device given"
        raise CostcalcError(f"{command}: {where}", "pass --hardware with a profile that has "
                            "peak_macs_per_s and bandwidth_bytes_per_s, or --peak and "
                            f"--bandwidth{alternative}")
    return Roofline(peak, bandwidth, efficiency, device.name if device else "",
                    tuple((device.efficiency or {}).items()) if device else ())
