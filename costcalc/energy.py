"""Memory traffic and energy: the shape-only model of docs/energy.md, as metric visitors.

Traffic is bytes moved per layer at each level (DRAM, SRAM, register file) for the layer's
weights, its inputs and its output, over the whole batch, under the report's `Hardware`:

- weights: read from DRAM once per `weight_reuse` images (default: once per batch), and from SRAM
  once per image; the weights a layer moves are its parameters with batch norm folded (deploy);
- activations: every layer reads its inputs and writes its output through SRAM; a tensor also
  goes through DRAM (written by its producer, read by each consumer) unless it stays on chip:
  its producer's and every consumer's working set (inputs + output) fit the SRAM. The network
  input is read from DRAM and the outputs written to it, once. With `fuse` (the default) an
  elementwise in-place layer (batch norm, activation, dropout, flatten) that is its input's one
  consumer runs fused with the producer, and the tensor between them never reaches memory;
- register file: `rf_per_mac` accesses per MAC for the weight, the input and the output;
- reuse `none` makes every tensor go through DRAM, fetches weights every image and sends the
  register-file accesses to DRAM (the no-reuse upper bound); `ideal` keeps every intermediate
  tensor on chip and fetches weights once (each tensor crosses DRAM once: the lower bound).

Weights move at the weight dtype, activations (and register-file input and output accesses) at
the activation dtype. Energy = MACs x one MAC + other arithmetic x one add, at the number
format and width of the wider of the two dtypes (int8 weights with fp16 activations compute in
fp16), plus each traffic term x its level's energy per byte: linear in every profile entry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .hardware import LEVELS, OPERANDS, Hardware
from .metrics import Context, dtype_bits, dtype_kind, macs, nbytes, params
from .ops import Dim, Input

Part = tuple[str, str]  # (level, operand)
PARTS: tuple[Part, ...] = tuple((level, operand) for level in LEVELS for operand in OPERANDS)


def _hardware(ctx: Context) -> Hardware:
    hardware = ctx.settings.hardware
    assert hardware is not None, "energy metrics are measured only with a hardware profile"
    return hardware


def _off_chip(on_chip: Dim, value: Dim) -> Dim:
    """`value` where the tensor does not stay on chip, else 0 (numbers or arrays)."""
    if isinstance(on_chip, np.ndarray):
        return np.where(on_chip, 0, value)
    return 0 if on_chip else value


def _all(flags: list[Dim]) -> Dim:
    if any(isinstance(f, np.ndarray) for f in flags):
        return np.logical_and.reduce(np.broadcast_arrays(*flags))
    return all(flags)


def traffic(ctx: Context) -> Mapping[str, Mapping[Part, Dim]]:
    """Bytes per layer and (level, operand), computed once per measurement."""
    if "traffic" not in ctx.cache:
        ctx.cache["traffic"] = _traffic(ctx)
    return ctx.cache["traffic"]


def _traffic(ctx: Context) -> dict[str, dict[Part, Dim]]:
    hw, graph, shapes, batch = _hardware(ctx), ctx.graph, ctx.shapes, ctx.batch
    wbits, abits = ctx.weight_bits, ctx.act_bits  # weights vs activations (and their partials)
    weights = params(graph, ctx.counts, "deploy")
    mac_counts = macs(graph, shapes)
    consumers: dict[str, list[str]] = {layer.name: [] for layer in graph.layers}
    for layer in graph.layers:
        for src in layer.inputs:
            consumers[src].append(layer.name)

    by_name = graph.by_name()

    def tensor_bytes(name: str) -> Dim:
        return nbytes(batch * shapes[name].numel, abits)

    fits = {layer.name: sum(tensor_bytes(src) for src in layer.inputs)
            + tensor_bytes(layer.name) <= hw.sram_bytes for layer in graph.layers}
    on_chip: dict[str, Dim] = {}
    for layer in graph.layers:
        name, readers = layer.name, consumers[layer.name]
        if isinstance(layer.op, Input) or not readers or hw.reuse == "none":
            on_chip[name] = False  # the network's input and outputs live in DRAM
        elif hw.reuse == "ideal":
            on_chip[name] = True
        else:
            on_chip[name] = _all([fits[name], *(fits[c] for c in readers)])
    # A tensor whose one consumer is an elementwise in-place layer (batch norm, activation,
    # dropout, flatten) never reaches memory when layers are fused: the two run as one.
    fused = {name: hw.fuse and hw.reuse != "none" and len(readers) == 1
             and by_name[readers[0]].op.inplace and not isinstance(by_name[name].op, Input)
             for name, readers in consumers.items()}
    if hw.reuse == "ideal":
        fetches = 1
    elif hw.reuse == "none":
        fetches = batch
    else:
        fetches = math.ceil(batch / (hw.weight_reuse or batch))
    rf_weight, rf_input, rf_output = hw.rf_per_mac
    out: dict[str, dict[Part, Dim]] = {}
    for layer in graph.layers:
        name = layer.name
        if isinstance(layer.op, Input):
            out[name] = {part: 0 for part in PARTS}
            continue
        w, mac = nbytes(weights[name], wbits), batch * mac_counts[name]
        inputs = [(0 if fused[src] else tensor_bytes(src), on_chip[src])
                  for src in by_name[name].inputs]
        output = 0 if fused[name] else tensor_bytes(name)
        t = {
            ("dram", "weights"): w * fetches,
            ("dram", "inputs"): sum(_off_chip(chip, b) for b, chip in inputs),
            ("dram", "outputs"): _off_chip(on_chip[name], output),
            ("sram", "weights"): w * batch,
            ("sram", "inputs"): sum(b for b, _ in inputs),
            ("sram", "outputs"): output,
            ("rf", "weights"): nbytes(mac * rf_weight, wbits),
            ("rf", "inputs"): nbytes(mac * rf_input, abits),
            ("rf", "outputs"): nbytes(mac * rf_output, abits),
        }
        if hw.reuse == "none":  # every register-file access goes to DRAM instead
            for operand in OPERANDS:
                t["dram", operand] = t["dram", operand] + t["rf", operand]
                t["rf", operand] = 0
        out[name] = t
    return out


def traffic_part(level: str, operand: str):
    def visitor(ctx: Context) -> dict[str, Dim]:
        return {name: t[level, operand] for name, t in traffic(ctx).items()}

    return visitor


def traffic_level(level: str):
    def visitor(ctx: Context) -> dict[str, Dim]:
        return {name: sum(t[level, o] for o in OPERANDS) for name, t in traffic(ctx).items()}

    return visitor


# ---------------------------------------------------------------------------------------------
# Energy

ENERGY_PARTS = ("compute", *(f"{level}_{operand}" for level, operand in PARTS))


def energy_parts(ctx: Context) -> Mapping[str, Mapping[str, Dim]]:
    """Energy per layer and part (compute, then level_operand), computed once."""
    if "energy" not in ctx.cache:
        ctx.cache["energy"] = _energy(ctx)
    return ctx.cache["energy"]


def _energy(ctx: Context) -> dict[str, dict[str, Dim]]:
    hw = _hardware(ctx)
    dtype = ctx.settings.compute_dtype  # the wider of the weights' and activations' types
    bits, kind = dtype_bits(dtype), dtype_kind(dtype)
    per_mac = hw.profile.mac(kind, bits, dtype)
    per_add = hw.profile.operation(kind, "add", bits, dtype)
    per_byte = {level: hw.profile.access(level, hw.sram_bytes).per_byte for level in LEVELS}
    out = {}
    for layer in ctx.graph.layers:
        xs = tuple(ctx.shapes[src] for src in layer.inputs)
        y = ctx.shapes[layer.name]
        t = traffic(ctx)[layer.name]
        parts = {"compute": ctx.batch * (layer.op.macs(xs, y) * per_mac
                                         + layer.op.other_ops(xs, y) * per_add)}
        for level, operand in PARTS:
            parts[f"{level}_{operand}"] = t[level, operand] * per_byte[level]
        out[layer.name] = parts
    return out


def energy_part(part: str):
    def visitor(ctx: Context) -> dict[str, Dim]:
        return {name: e[part] for name, e in energy_parts(ctx).items()}

    return visitor


def energy_level(level: str):
    def visitor(ctx: Context) -> dict[str, Dim]:
        return {name: sum(e[f"{level}_{o}"] for o in OPERANDS)
                for name, e in energy_parts(ctx).items()}

    return visitor


def energy(ctx: Context) -> dict[str, Dim]:
    """A layer's energy: the sum of its parts, in ENERGY_PARTS order."""
    return {name: sum(e[p] for p in ENERGY_PARTS) for name, e in energy_parts(ctx).items()}


def total_energy(ctx: Context) -> Dim:
    """The network's energy: the sum of its parts' totals, so the parts add up to it exactly."""
    totals = {p: sum(e[p] for e in energy_parts(ctx).values()) for p in ENERGY_PARTS}
    return sum(totals[p] for p in ENERGY_PARTS)


def energy_share(ctx: Context) -> dict[str, Dim]:
    """Each layer's share of the network's energy, in percent."""
    total = total_energy(ctx)
    return {name: 100 * value / total for name, value in energy(ctx).items()}
