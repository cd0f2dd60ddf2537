"""Model size after pruning and quantization, and transfer size for split computing, as metric
visitors (docs/deploy.md). Declared in `report.METRICS` as the `size` family (measured when the
settings carry a `ModelSize`) and the `transfer` family (a `Transfer`).

Size, per layer with weights (conv and FC kernels), at the report's params convention for the
rest (biases, batch norm: fp32, dense):

- kept weights = ceil(density x weights), exact (the density is a Fraction): SqueezeNet
  Table 1's "after pruning" counts follow this rule (fire2: ceil(0.33 x 9,216) = 3,042);
- dense: every weight at `weight_bits` (pruned zeros are stored too);
- sparse (Deep Compression, Han et al. 2016 section 2, and the format of the released
  compressed SqueezeNet, songhan/SqueezeNet_compressed, read with its decode.py): a 4-byte
  entry count, a codebook of 2^b fp32 centroids, then one b-bit code and one `index_bits`
  relative index per stored entry. A gap between kept weights above 2^index_bits is bridged
  with filler entries (stored zeros).
  A shape-only model does not know where the zeros are, so it uses the expected filler count
  under i.i.d. pruning with density d: nnz x q / (1 - q), q = (1 - d)^(2^index_bits), rounded
  to the nearest entry. Codes and indices are rounded up to whole bytes per layer.

Transfer: each layer's output tensor at the activation dtype (over the batch), and packets of
`pdu` payload bytes (ceil, per tensor). At a cut the device has run every layer up to and
including the cut layer; it sends every tensor produced by then that a later layer reads (for
a chain: the cut layer's output; with no later layer, the network's outputs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .deployment import BIAS_BITS, Density, ModelSize, Transfer
from .errors import CostcalcError, Problem, SpecError, did_you_mean
from .metrics import Context, macs, nbytes, params
from .ops import Dim, any_true

HEADER_BYTES = 4  # per stored layer: its entry count, a uint32 (the released file's header)
PARTS = ("weights", "indices", "codebook", "other", "header")


@dataclass(frozen=True, slots=True)
class Stored:
    """One layer's stored weights: counts and bytes by part."""

    kept: int  # weights left after pruning
    fillers: int  # filler entries (sparse), 0 for dense
    entries: int  # stored weight entries: kept + fillers (sparse), every weight (dense)
    other: int  # params stored dense fp32: biases, batch norm (report's convention)
    parts: Mapping[str, int]  # bytes: weights (codes), indices, codebook, other, header


def _size(ctx: Context) -> ModelSize:
    size = ctx.settings.size
    assert size is not None, "size metrics are measured only with a ModelSize"
    return size


def declared(ctx: Context, size: ModelSize) -> tuple[Density, ...]:
    """Every density declaration that applies: the settings' (command line, papers row: level
    0), then the graph's (a spec's variant, 1, and its top-level `density:`, 2)."""
    return (*(Density(name, value) for name, value in size.density), *ctx.graph.density)


def _fail(entry: Density, what: str, fix: str) -> CostcalcError:
    if entry.level == 0:
        return CostcalcError(f"{entry.where}: {what}", fix)
    return SpecError(Problem(entry.file, entry.line, f"density: {what}", fix))


def densities(ctx: Context, size: ModelSize) -> dict[str, Fraction]:
    """Each layer's density, from one mechanism for the command line and the spec: among the
    declarations that name the layer or a block around it, the lowest level (the command line
    over a variant over the spec), then the longest name. A name that matches no layer, or only
    layers without weights, is an error (located at the spec's line for a spec's)."""
    weights = {name: c.weights for name, c in ctx.counts.items()}
    names = list(weights)
    entries = declared(ctx, size)
    for entry in entries:
        matched = [n for n in names if entry.covers(n)]
        if not matched:
            blocks = {n.rsplit(".", i)[0] for n in names for i in range(n.count(".") + 1)}
            where = f"{ctx.graph.file} has" if entry.level == 0 else "the network has"
            raise _fail(entry, f"{where} no layer or block named '{entry.name}'",
                        did_you_mean(entry.name, blocks))
        if not any(any_true(weights[n]) for n in matched):
            raise _fail(entry, f"'{entry.name}' has no weights to prune",
                        "name a conv or fc layer, or a block that holds one")
    out = {}
    for name in names:
        covering = [e for e in entries if e.covers(name)]
        out[name] = min(covering, key=lambda e: (e.level, -len(e.name))).value \
            if covering else Fraction(1)
    return out


def expected_fillers(kept: int, density: Fraction, index_bits: int) -> int:
    """Filler entries for `kept` weights at `density` with relative indices of `index_bits`
    bits, in expectation under i.i.d. pruning: a run of zeros of length Z needs floor(Z / m)
    fillers (m = 2^index_bits), and P(Z >= j m) = q^j with q = (1 - d)^m, so E = q / (1 - q)
    per kept weight. Rounded to the nearest entry."""
    if density == 1 or kept == 0:
        return 0
    q = (1 - float(density)) ** (2 ** index_bits)
    return math.floor(kept * q / (1 - q) + 0.5)


def stored(ctx: Context) -> Mapping[str, Stored]:
    """Every layer's stored weights, computed once per measurement."""
    if "stored" not in ctx.cache:
        ctx.cache["stored"] = _stored(ctx)
    return ctx.cache["stored"]


def _stored(ctx: Context) -> dict[str, Stored]:
    size = _size(ctx)
    density = densities(ctx, size)
    convention = params(ctx.graph, ctx.counts, ctx.params)
    out = {}
    for name, counts in ctx.counts.items():
        w = counts.weights
        counted = ctx.params != "paper" or "weights" in (ctx.graph.paper_params or ())
        other = convention[name] - (w if counted else 0)  # biases, batch norm
        kept, fillers, entries, *coded = _elementwise(
            lambda n, d=density[name]: _store(n, d, size), w)
        parts = dict(zip(("weights", "indices", "codebook", "header"), coded, strict=True))
        parts["other"] = nbytes(other, BIAS_BITS)
        out[name] = Stored(kept, fillers, entries, other, {p: parts[p] for p in PARTS})
    return out


def _store(weights: int, density: Fraction, size: ModelSize) -> tuple[int, ...]:
    """One layer's kept weights, fillers, entries and bytes of codes, indices, codebook and
    header, from its weight count (a Python int)."""
    kept = -(-weights * density.numerator // density.denominator)  # ceil: Table 1's counts
    b, ib = size.weight_bits, size.index_bits
    if size.storage == "dense" or weights == 0:
        return kept, 0, weights, nbytes(weights, b), 0, 0, 0
    fillers = expected_fillers(kept, density, ib)
    entries = kept + fillers
    return kept, fillers, entries, nbytes(entries, b), nbytes(entries, ib), 2 ** b * 4, \
        HEADER_BYTES


def _elementwise(fn: Callable[[int], tuple[int, ...]], value: Dim) -> tuple[Dim, ...]:
    """fn of a Python int, or of every element of a sweep's integer array (int64 results of
    the same shape): the same exact arithmetic as one configuration."""
    if not isinstance(value, np.ndarray):
        return fn(value)
    rows = [fn(int(v)) for v in value.ravel()]
    return tuple(np.asarray(column, dtype=np.int64).reshape(value.shape)
                 for column in zip(*rows, strict=True))


def kept_weights(ctx: Context) -> dict[str, int]:
    return {name: s.kept for name, s in stored(ctx).items()}


def params_pruned(ctx: Context) -> dict[str, int]:
    """Params after pruning: kept weights plus the other params (SqueezeNet Table 1's column)."""
    return {name: s.kept + s.other for name, s in stored(ctx).items()}


def filler_entries(ctx: Context) -> dict[str, int]:
    return {name: s.fillers for name, s in stored(ctx).items()}


def stored_entries(ctx: Context) -> dict[str, int]:
    return {name: s.entries for name, s in stored(ctx).items()}


def model_part(part: str):
    def visitor(ctx: Context) -> dict[str, int]:
        return {name: s.parts[part] for name, s in stored(ctx).items()}

    return visitor


def model_bytes(ctx: Context) -> dict[str, int]:
    return {name: sum(s.parts.values()) for name, s in stored(ctx).items()}


def model_mb(ctx: Context) -> float:
    """The model size in MB (10^6 bytes)."""
    return sum(model_bytes(ctx).values()) / 10**6


def model_mib(ctx: Context) -> float:
    """The model size in MiB (2^20 bytes): what SqueezeNet's "4.8MB" is."""
    return sum(model_bytes(ctx).values()) / 2**20


# ---------------------------------------------------------------------------------------------
# Transfer size for split computing


def _transfer(ctx: Context) -> Transfer:
    transfer = ctx.settings.transfer
    assert transfer is not None, "transfer metrics are measured only with a Transfer"
    return transfer


def transfer_bytes(ctx: Context) -> dict[str, int]:
    """Each layer's output tensor over the batch at the activation dtype."""
    return {layer.name: nbytes(ctx.batch * ctx.shapes[layer.name].numel, ctx.act_bits)
            for layer in ctx.graph.layers}


def transfer_packets(ctx: Context) -> dict[str, int]:
    pdu = _transfer(ctx).pdu
    return {name: -(-b // pdu) for name, b in transfer_bytes(ctx).items()}


def cut_tensors(ctx: Context) -> tuple[int, tuple[str, ...]]:
    """The index of the cut layer and the tensors that cross the cut."""
    layers = ctx.graph.layers
    cut = _transfer(ctx).cut
    names = [layer.name for layer in layers]
    if cut is None:
        index = len(layers) - 1
    elif cut in names:
        index = names.index(cut)
    else:
        raise CostcalcError(f"--cut {cut}: {ctx.graph.file} has no layer named '{cut}'",
                            did_you_mean(cut, names))
    produced = set(names[:index + 1])
    crossing = {src for layer in layers[index + 1:] for src in layer.inputs if src in produced}
    if not crossing:  # nothing runs after the cut: the network's outputs are sent
        read = {src for layer in layers for src in layer.inputs}
        crossing = {n for n in names[:index + 1] if n not in read}
    return index, tuple(n for n in names if n in crossing)


def cut_bytes(ctx: Context) -> int:
    sizes = transfer_bytes(ctx)
    return sum(sizes[n] for n in cut_tensors(ctx)[1])


def cut_packets(ctx: Context) -> int:
    packets = transfer_packets(ctx)
    return sum(packets[n] for n in cut_tensors(ctx)[1])


def cut_macs(ctx: Context) -> int:
    """MACs the device runs: every layer up to and including the cut, over the batch."""
    index, _ = cut_tensors(ctx)
    counts = macs(ctx.graph, ctx.shapes)
    return ctx.batch * sum(counts[layer.name] for layer in ctx.graph.layers[:index + 1])
