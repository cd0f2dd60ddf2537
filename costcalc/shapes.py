"""The shape pass: every layer's fields evaluated and its output shape inferred, in graph order.

One pass serves one configuration (Python ints) or many at once: alpha and the input's height
and width may be numpy arrays, one value per configuration, and every dimension then becomes an
int64 array through the same op rules. A layer condition that holds for some configurations and
not for others splits them: each group of configurations with the same structure is shaped on
its own, and `shape_graph` returns one `Shaped` per group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from .dims import Context, is_known, resolve
from .errors import Problem, ShapeError, SpecError
from .graph import Graph, Layer
from .ops import Input, OpBase, Shape


@dataclass(frozen=True, slots=True)
class Shaped:
    """A graph with every field evaluated (layers whose conditions fail are gone, references
    to them point at their bypass) and every layer's output shape. `select` holds the indices
    of the configurations it covers, or is None for a single configuration."""

    graph: Graph
    shapes: Mapping[str, Shape]
    select: np.ndarray | None = None


class _Split(Exception):
    def __init__(self, mask: np.ndarray):
        self.mask = mask


def infer_layer(layer: Layer, shapes: Mapping[str, Shape], file: str) -> Shape:
    """One layer's output shape; a shape error is re-raised with the layer's name and line."""
    xs = tuple(shapes[src] for src in layer.inputs)
    try:
        return layer.op.infer(xs)
    except ShapeError as exc:
        raise SpecError(Problem(file, layer.line, f"'{layer.name}': {exc.what}", exc.fix)) from None


def shape_graph(graph: Graph, input_shape: Shape | None = None,
                alpha: Any = None) -> tuple[Shaped, ...]:
    """Evaluate and shape `graph` at alpha (default: the graph's width) and `input_shape`
    (default: the spec's input). Arrays among alpha, input_shape.h and input_shape.w must be
    1-D and of one length: configuration i takes element i of each."""
    alpha = graph.width if alpha is None else alpha
    sizes = {np.shape(v) for v in (alpha, *(() if input_shape is None else
                                            (input_shape.c, input_shape.h, input_shape.w)))}
    sizes.discard(())
    if len(sizes) > 1 or any(len(s) != 1 for s in sizes):
        raise ValueError(f"configuration arrays must be 1-D and of one length, got {sizes}")
    index = np.arange(sizes.pop()[0]) if sizes else None
    groups = _groups(graph, input_shape, alpha, index)
    return tuple(sorted(groups, key=lambda g: -1 if g.select is None else int(g.select[0])))


def _groups(graph: Graph, input_shape: Shape | None, alpha: Any,
            index: np.ndarray | None) -> list[Shaped]:
    try:
        return [_shape(graph, input_shape, alpha, index)]
    except _Split as split:
        assert index is not None
        groups = []
        for mask in (split.mask, ~split.mask):
            groups += _groups(graph, _take(input_shape, mask), _take(alpha, mask), index[mask])
        return groups


def _shape(graph: Graph, input_shape: Shape | None, alpha: Any,
           index: np.ndarray | None) -> Shaped:
    shapes: dict[str, Shape] = {}
    alias: dict[str, str] = {}  # a layer that does not exist -> the layer standing for it
    ctx = Context(alpha, lambda name: shapes[alias.get(name, name)].c)
    layers = []
    for layer in graph.layers:
        bypass = _bypass(layer, ctx)
        if bypass is not None:
            alias[layer.name] = alias.get(bypass, bypass)
            continue
        inputs = tuple(alias.get(src, src) for src in layer.inputs)
        op = _evaluated(layer.op, ctx)
        if op is not layer.op or inputs != layer.inputs or layer.conditions:
            layer = replace(layer, op=op, inputs=inputs, conditions=())
        if input_shape is not None and isinstance(op, Input):
            shapes[layer.name] = input_shape
        else:
            shapes[layer.name] = infer_layer(layer, shapes, graph.file)
        layers.append(layer)
    shaped = graph if len(layers) == len(graph.layers) and all(
        a is b for a, b in zip(layers, graph.layers, strict=True)) else \
        replace(graph, layers=tuple(layers))
    return Shaped(shaped, shapes, index)


def _bypass(layer: Layer, ctx: Context) -> str | None:
    """None when the layer exists; else the layer that stands for it."""
    for condition in layer.conditions:
        holds = resolve(condition.test, ctx)
        if isinstance(holds, np.ndarray) and holds.ndim:
            if not holds.any():
                return condition.bypass
            if not holds.all():
                raise _Split(holds.astype(bool))
        elif not holds:
            return condition.bypass
    return None


def _evaluated(op: OpBase, ctx: Context) -> OpBase:
    changes = {f.name: resolve(getattr(op, f.name), ctx) for f in fields(op)  # type: ignore
               if not is_known(getattr(op, f.name))}
    return replace(op, **changes) if changes else op


def _take(value: Any, mask: np.ndarray) -> Any:
    if isinstance(value, Shape):
        return Shape(_take(value.c, mask), _take(value.h, mask), _take(value.w, mask))
    return value[mask] if np.ndim(value) else value
