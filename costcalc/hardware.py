"""Hardware profiles (`specs/hardware/*.yaml`) and the assumptions an energy report makes.

A profile is data, in two parts of which it has at least one. Energies: per arithmetic
operation by number format and bit width, per access of each memory level (DRAM, SRAM, register
file) with its word size, optional SRAM entries by capacity, how missing widths are filled (the
scaling rules it states). A device's rates, for the roofline latency: peak MAC/s, memory
bandwidth and optional efficiencies by layer type. `Hardware` adds what the traffic model
assumes on top of the energies: the SRAM size, how often weights are fetched from DRAM, the
reuse mode and register-file accesses per MAC. docs/energy.md describes the format and the
model, docs/deploy.md the latency.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .bundled import bundled_dir, resolve
from .errors import CostcalcError, Problem, SpecError, did_you_mean
from .ops import BUCKETS
from .yamlnodes import Node, as_float, parse_yaml

LEVELS = ("dram", "sram", "rf")
OPERANDS = ("weights", "inputs", "outputs")
REUSE_MODES = ("model", "none", "ideal")
KINDS = ("int", "float")
OPERATIONS = ("add", "mult", "mac")
SCALING = {"linear": 1, "quadratic": 2}
ENERGY_KEYS = ("unit", "compute", "memory", "defaults")  # with "scaling" (optional)
RATE_KEYS = ("peak_macs_per_s", "bandwidth_bytes_per_s")
PROFILE_KEYS = {"version", "name", "source", "description", "scaling", "efficiency", "notes",
                *ENERGY_KEYS, *RATE_KEYS}
DEFAULT_KEYS = {"sram", "rf_per_mac"}

_SIZE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10,
               "mib": 2**20, "gib": 2**30}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def parse_size(text: str | int) -> int:
    """Bytes from `524288`, `512KiB`, `0.5MiB` or `512KB` (KB, MB, GB are decimal: 1000)."""
    if isinstance(text, int) and not isinstance(text, bool):
        value, unit = Fraction(text), ""
    else:
        match = _SIZE.fullmatch(str(text))
        if not match or match.group(2).lower() not in _SIZE_UNITS:
            raise CostcalcError(f"cannot read the size {text!r}",
                                "write bytes (524288) or a number with B, KB, MB, GB (decimal) "
                                "or KiB, MiB, GiB (binary), e.g. 512KiB")
        value, unit = Fraction(match.group(1)), match.group(2).lower()
    size = value * _SIZE_UNITS[unit]
    if size.denominator != 1 or size < 1:
        raise CostcalcError(f"the size {text!r} is not a whole number of bytes of at least 1")
    return int(size)


@dataclass(frozen=True, slots=True)
class Access:
    """Energy of one access of `bits` bits to a memory level (of `capacity` bytes, for an SRAM
    listed by capacity). Memory energy scales with bits: per byte it is constant."""

    energy: float
    bits: int
    capacity: int | None = None

    @property
    def per_byte(self) -> float:
        return self.energy * 8 / self.bits


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    source: str
    description: str
    unit: str  # "pJ", or "MAC" for a profile normalized to one MAC ("" without energies)
    file: str
    compute: Mapping[str, Mapping[int, float]]  # "int_add" -> {bits: energy}
    scaling: Mapping[str, str]  # operation -> linear | quadratic
    memory: Mapping[str, tuple[Access, ...]]  # level -> accesses (sram: by capacity)
    sram_bytes: int
    rf_per_mac: tuple[int, int, int]  # register-file accesses per MAC: weight, input, output
    peak_macs_per_s: float | None = None
    bandwidth_bytes_per_s: float | None = None
    efficiency: Mapping[str, float] | None = None  # layer type (ops.BUCKETS) -> fraction of peak

    @property
    def has_energy(self) -> bool:
        return bool(self.compute)

    @property
    def parts(self) -> str:
        """What the profile can price: energy, latency or both (`costcalc list --hardware`)."""
        has = {"energy": self.has_energy, "latency": self.peak_macs_per_s is not None}
        return "+".join(part for part, present in has.items() if present)

    def to_dict(self) -> dict[str, Any]:
        """The profile as data (papers rows read it): entries as written, and every entry per
        32-bit operation or access with its cost relative to a 32-bit int add (Han et al.
        2015's "relative cost" column; an SRAM listed by capacity gives its smallest)."""
        per_32bit: dict[str, float] = {}
        for entry, table in self.compute.items():
            if 32 in table:
                per_32bit[entry] = table[32]
        for level, accesses in self.memory.items():
            smallest = min(accesses, key=lambda a: a.capacity or 0)
            per_32bit[level] = smallest.energy * 32 / smallest.bits
        base = per_32bit.get("int_add")
        return {"name": self.name, "unit": self.unit,
                "compute": {e: {str(b): v for b, v in t.items()} for e, t in self.compute.items()},
                "per_32bit": per_32bit,
                "relative": {k: v / base for k, v in per_32bit.items()} if base else {}}

    def operation(self, kind: str, op: str, bits: int, dtype: str = "") -> float:
        """Energy of one operation at a bit width; a width the profile does not list is scaled
        from the nearest listed one by the profile's rule, and without a rule is an error
        (naming the entry and the dtype that needs it)."""
        entry = f"{kind}_{op}"
        table = self.compute.get(entry, {})
        if bits in table:
            return table[bits]
        rule = self.scaling.get(op)
        if not table or rule is None:
            have = f" (it lists {', '.join(f'{b}-bit' for b in sorted(table))})" if table else ""
            needed = f", which dtype {dtype} needs" if dtype else ""
            raise CostcalcError(f"{self.file}: the profile has no {entry} energy at {bits} bits"
                                f"{needed}{have}", f"add `compute: {entry}: {{{bits}: ...}}`, "
                                f"a `scaling: {{{op}: linear|quadratic}}` rule, or choose "
                                "another --dtype or --hardware")
        nearest = min(table, key=lambda b: (abs(b - bits), b))
        return table[nearest] * (bits / nearest) ** SCALING[rule]

    def mac(self, kind: str, bits: int, dtype: str = "") -> float:
        """One multiply-accumulate: the profile's `mac` entry, or its multiply plus its add."""
        if f"{kind}_mac" in self.compute:
            return self.operation(kind, "mac", bits, dtype)
        return self.operation(kind, "mult", bits, dtype) + self.operation(kind, "add", bits, dtype)

    def access(self, level: str, sram_bytes: int) -> Access:
        """The level's access energy; an SRAM listed by capacity uses the smallest entry that
        holds `sram_bytes`."""
        entries = self.memory[level]
        if entries[0].capacity is None:
            return entries[0]
        fitting = [a for a in entries if a.capacity is not None and a.capacity >= sram_bytes]
        if not fitting:
            largest = max(a.capacity or 0 for a in entries)
            raise CostcalcError(f"{self.file}: no SRAM entry holds {sram_bytes:,} bytes (the "
                                f"largest is {largest:,})", "choose a smaller --sram, or add a "
                                "larger SRAM entry to the profile")
        return min(fitting, key=lambda a: a.capacity or 0)


@dataclass(frozen=True, slots=True)
class Hardware:
    """A profile and the traffic model's assumptions (docs/energy.md):

    sram_bytes    on-chip buffer; a tensor stays on chip when its producer's and its
                  consumers' working sets (inputs + output) fit
    weight_reuse  images per DRAM fetch of the weights (None: once per batch)
    reuse         model (the above), none (nothing stays on chip, weights fetched every image,
                  every register-file access goes to DRAM: the no-reuse upper bound) or ideal
                  (every tensor crosses DRAM exactly once: the compulsory lower bound)
    rf_per_mac    register-file accesses per MAC for the weight, the input and the output
    fuse          elementwise in-place layers run fused with the layer before them
    """

    profile: Profile
    sram_bytes: int
    weight_reuse: int | None = None
    reuse: str = "model"
    rf_per_mac: tuple[int, int, int] = (1, 1, 2)
    fuse: bool = True

    def __post_init__(self) -> None:
        if self.reuse not in REUSE_MODES:
            raise CostcalcError(f"unknown reuse mode '{self.reuse}'",
                                did_you_mean(self.reuse, REUSE_MODES))
        if self.weight_reuse is not None and (isinstance(self.weight_reuse, bool) or not
                                              isinstance(self.weight_reuse, int)
                                              or self.weight_reuse < 1):
            raise CostcalcError(f"--weight-reuse must be a whole number of images of at least "
                                f"1, got {self.weight_reuse!r}")
        if len(self.rf_per_mac) != 3 or any(isinstance(n, bool) or not isinstance(n, int)
                                            or n < 0 for n in self.rf_per_mac):
            raise CostcalcError(f"register-file accesses per MAC must be three whole numbers "
                                f"(weight, input, output), got {self.rf_per_mac!r}")
        self.profile.access("sram", self.sram_bytes)  # a size the profile can price

    def describe(self) -> str:
        fetch = {"none": "every image", "ideal": "once"}.get(self.reuse) or (
            "once per batch" if self.weight_reuse is None else
            f"once per {self.weight_reuse} image(s)")
        w, i, o = self.rf_per_mac
        fused = "batch norm and activations fused" if self.fuse and self.reuse != "none" \
            else "every layer unfused"
        return (f"profile {self.profile.name} ({self.profile.unit}) | SRAM "
                f"{self.sram_bytes:,} B | reuse {self.reuse} | weights from DRAM {fetch} | RF "
                f"accesses per MAC {w}+{i}+{o} (weight+input+output) | {fused}")


def parse_rf_per_mac(text: str) -> tuple[int, int, int]:
    """`1,1,2` (weight, input, output), or one number N, shared as N/4, N/4, N/2 (the
    row-stationary split: read the weight, read the input, read and write the partial sum)."""
    parts = [p.strip() for p in str(text).split(",")]
    if not all(re.fullmatch(r"\d+", p) for p in parts) or len(parts) not in (1, 3):
        raise CostcalcError(f"cannot read register-file accesses per MAC {text!r}",
                            "write three whole numbers W,I,O such as 1,1,2, or one multiple "
                            "of 4")
    if len(parts) == 3:
        w, i, o = (int(p) for p in parts)
        return (w, i, o)
    n = int(parts[0])
    if n % 4:
        raise CostcalcError(f"{n} register-file accesses per MAC cannot be split as 1:1:2",
                            "write W,I,O explicitly, e.g. 1,1,1")
    return (n // 4, n // 4, n // 2)


def make_hardware(profile: str | Path | Profile, sram: str | int | None = None,
                  weight_reuse: int | None = None, reuse: str = "model",
                  rf_per_mac: str | tuple[int, int, int] | None = None,
                  fuse: bool = True) -> Hardware:
    """A Hardware from a profile name or path and the command line's assumptions; what is not
    given comes from the profile's defaults."""
    chosen = profile if isinstance(profile, Profile) else load_profile(profile)
    if not chosen.has_energy:
        raise CostcalcError(f"{chosen.file}: profile {chosen.name} gives a device's rates for "
                            "the latency model, not energies, so it cannot price energy or "
                            "memory traffic", "use it with `costcalc latency --hardware "
                            f"{chosen.name}`; for energy choose a profile with compute and "
                            "memory tables (`costcalc list --hardware`)")
    rf = chosen.rf_per_mac if rf_per_mac is None else (
        parse_rf_per_mac(rf_per_mac) if isinstance(rf_per_mac, str) else tuple(rf_per_mac))
    try:
        size = chosen.sram_bytes if sram is None else parse_size(sram)
    except CostcalcError as exc:
        raise CostcalcError(f"sram: {exc.what}", exc.fix) from None
    return Hardware(chosen, size, weight_reuse, reuse, rf, fuse)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Loading profiles


def bundled_profiles() -> list[Path]:
    return sorted(bundled_dir("hardware").glob("*.yaml"))


def load_profile(ref: str | Path) -> Profile:
    """A bundled profile by name (`horowitz45nm`) or a profile file by path."""
    path = resolve(ref, "hardware")
    file = str(path) if Path(ref).is_file() else path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CostcalcError(f"{ref}: cannot read: {exc}") from None
    return _Reader(file).profile(parse_yaml(text, file))


class _Reader:
    """Checks a profile, collecting every problem with its line."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, line: int, what: str, fix: str = "") -> None:
        self.problems.append(Problem(self.file, line, what, fix))

    def mapping(self, node: Node | None, what: str) -> dict[str, Node]:
        if node is None:
            return {}
        if not isinstance(node.value, dict):
            self.problem(node.line, f"{what} must be a mapping")
            return {}
        return node.value

    def keys(self, entries: Mapping[str, Node], allowed: set[str] | tuple[str, ...],
             what: str) -> None:
        for key, node in entries.items():
            if key not in allowed:
                self.problem(node.line, f"{what}: unknown field '{key}'",
                             did_you_mean(key, allowed))

    def positive(self, node: Node, what: str) -> float | None:
        value = as_float(node.value)
        if value is None or value <= 0:
            self.problem(node.line, f"{what} must be a positive number, got {node.value!r}")
            return None
        return value

    def bits(self, key: Any, line: int, what: str) -> int | None:
        if isinstance(key, bool) or not isinstance(key, int) or not 1 <= key <= 64:
            self.problem(line, f"{what}: a bit width must be a whole number from 1 to 64, got "
                         f"{key!r}")
            return None
        return key

    def size(self, node: Node, what: str) -> int | None:
        try:
            return parse_size(node.value)
        except CostcalcError as exc:
            self.problem(node.line, f"{what}: {exc.what}", exc.fix)
            return None

    def profile(self, root: Node) -> Profile:
        top = self.mapping(root, "the profile")
        self.keys(top, PROFILE_KEYS, "profile")
        energies = any(k in top for k in ENERGY_KEYS + ("scaling",))
        rates = {k: self.positive(top[k], k) if k in top else None for k in RATE_KEYS}
        for key in ("version", "name"):
            if key not in top:
                self.problem(1, f"profile: missing required field '{key}'")
        if energies:
            for key in ("unit", "compute", "memory"):
                if key not in top:
                    self.problem(1, f"profile: missing required field '{key}'", "an energy "
                                 "profile gives unit, compute, memory and defaults: sram "
                                 "(docs/energy.md)")
        if not energies or any(k in top for k in RATE_KEYS + ("efficiency",)):
            for key in RATE_KEYS:
                if key not in top:
                    self.problem(1, f"profile: missing '{key}'" + (
                        "" if energies else ": a profile without energies is a device for the "
                        "latency model, which needs peak_macs_per_s and bandwidth_bytes_per_s"),
                        "e.g. `peak_macs_per_s: 1.0e12` and `bandwidth_bytes_per_s: 25.6e9`")
        efficiency = self.efficiency(top.get("efficiency"))
        text = {k: str(top[k].value) if k in top else "" for k in
                ("name", "source", "description", "unit")}
        compute = self.compute(top.get("compute"))
        scaling = {}
        for op, node in self.mapping(top.get("scaling"), "scaling").items():
            if op not in OPERATIONS or node.value not in SCALING:
                self.problem(node.line, f"scaling: '{op}: {node.value}' is not a rule",
                             f"write add, mult or mac: {' or '.join(SCALING)}")
            else:
                scaling[op] = node.value
        memory = self.memory(top.get("memory"))
        defaults = self.mapping(top.get("defaults"), "defaults")
        self.keys(defaults, DEFAULT_KEYS, "defaults")
        sram = self.size(defaults["sram"], "defaults: sram") if "sram" in defaults else None
        if "sram" not in defaults and energies:
            self.problem(top["defaults"].line if "defaults" in top else 1,
                         "defaults: missing 'sram' (the on-chip buffer size)", "e.g. `sram: "
                         "512KiB`")
        rf = (1, 1, 2)
        if "rf_per_mac" in defaults:
            try:
                rf = parse_rf_per_mac(",".join(str(n.value) for n in defaults["rf_per_mac"].value)
                                      if isinstance(defaults["rf_per_mac"].value, list)
                                      else defaults["rf_per_mac"].value)
            except CostcalcError as exc:
                self.problem(defaults["rf_per_mac"].line, f"defaults: rf_per_mac: {exc.what}",
                             exc.fix)
        if self.problems:
            raise SpecError(self.problems)
        profile = Profile(text["name"], text["source"], " ".join(text["description"].split()),
                          text["unit"], self.file, compute, scaling, memory, sram or 1, rf,
                          rates["peak_macs_per_s"], rates["bandwidth_bytes_per_s"], efficiency)
        if not energies:
            return profile
        try:
            profile.access("sram", profile.sram_bytes)
        except CostcalcError as exc:
            raise SpecError(Problem(self.file, defaults["sram"].line, exc.what, exc.fix)) \
                from None
        return profile

    def efficiency(self, node: Node | None) -> dict[str, float] | None:
        """The fraction of the peak each layer type reaches, in (0, 1]; a type not listed
        reaches the whole peak."""
        if node is None:
            return None
        out = {}
        for bucket, value in self.mapping(node, "efficiency").items():
            if bucket not in BUCKETS:
                self.problem(value.line, f"efficiency: unknown layer type '{bucket}'",
                             did_you_mean(bucket, BUCKETS))
                continue
            fraction = self.positive(value, f"efficiency: {bucket}")
            if fraction is not None and fraction > 1:
                self.problem(value.line, f"efficiency: {bucket} must be in (0, 1], got "
                             f"{fraction:g}", "a fraction of peak_macs_per_s")
            elif fraction is not None:
                out[bucket] = fraction
        return out

    def compute(self, node: Node | None) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        allowed = [f"{k}_{o}" for k in KINDS for o in OPERATIONS]
        for entry, widths in self.mapping(node, "compute").items():
            if entry not in allowed:
                self.problem(widths.line, f"compute: unknown operation '{entry}'",
                             did_you_mean(entry, allowed))
                continue
            table = {}
            for key, value in self.mapping(widths, f"compute: {entry}").items():
                bits = self.bits(_int_key(key), value.line, f"compute: {entry}")
                energy = self.positive(value, f"compute: {entry}: {key}")
                if bits is not None and energy is not None:
                    table[bits] = energy
            out[entry] = table
        return out

    def memory(self, node: Node | None) -> dict[str, tuple[Access, ...]]:
        levels = self.mapping(node, "memory")
        self.keys(levels, LEVELS, "memory")
        out = {}
        for level in LEVELS:
            if level not in levels:
                if node is not None:
                    self.problem(node.line, f"memory: missing level '{level}'")
                continue
            items = levels[level].value if isinstance(levels[level].value, list) \
                else [levels[level]]
            accesses = [self.access(item, f"memory: {level}", by_capacity=level == "sram"
                                    and isinstance(levels[level].value, list)) for item in items]
            if all(a is not None for a in accesses) and accesses:
                out[level] = tuple(a for a in accesses if a is not None)
        return out

    def access(self, node: Node, what: str, by_capacity: bool) -> Access | None:
        entries = self.mapping(node, what)
        allowed = {"energy", "bits", "capacity"} if by_capacity else {"energy", "bits"}
        self.keys(entries, allowed, what)
        missing = sorted(allowed - set(entries))
        if missing:
            self.problem(node.line, f"{what}: missing {', '.join(missing)}")
            return None
        energy = self.positive(entries["energy"], f"{what}: energy")
        bits = self.bits(entries["bits"].value, entries["bits"].line, what)
        capacity = self.size(entries["capacity"], f"{what}: capacity") if by_capacity else None
        if energy is None or bits is None or (by_capacity and capacity is None):
            return None
        return Access(energy, bits, capacity)


def _int_key(key: str) -> Any:
    """Mapping keys come as text: `32` -> 32."""
    return int(key) if re.fullmatch(r"\d+", key) else key
