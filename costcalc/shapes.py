"""The shape pass: every layer's fields evaluated and its output shape inferred, in graph order.

One pass serves one configuration (Python ints) or many at once: alpha and the input's height
and width may be numpy arrays, and every dimension then becomes an int64 array through the same
op rules. The arrays broadcast together (numpy's rules): 1-D arrays of one length are a list of
configurations, while alpha of shape (K, 1) and height and width of shape (1, R) are a K x R
grid in which channel counts are computed once per alpha (shape (K, 1)), spatial sizes once per
resolution ((1, R)), and only their products per configuration. A layer condition that holds
for some configurations and not for others splits them: each group of configurations with the
same structure is shaped on its own, and `shape_graph` returns one `Shaped` per group. A
condition that varies along one grid axis only (say, a residual that depends on alpha) splits
that axis and keeps the group a grid; one that varies along several flattens the group to a
list of configurations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from .dims import Context, is_known, resolve
from .errors import Problem, ShapeError, SpecError, capped
from .graph import Graph, Layer
from .ops import Input, OpBase, Shape


@dataclass(frozen=True, slots=True)
class Shaped:
    """A graph with every field evaluated (layers whose conditions fail are gone, references
    to them point at their bypass) and every layer's output shape. `select` holds the indices
    of the configurations it covers (flat, C-order indices into the broadcast shape of the
    configuration arrays), or is None for a single configuration. It has the group's own
    broadcast shape: a dim of the group broadcasts to `select.shape`."""

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
        if layer.residual_line:
            raise SpecError(_residual_mismatch(layer, xs, file)) from None
        raise SpecError(Problem(file, layer.line, f"'{layer.name}': {exc.what}", exc.fix)) from None


def _residual_mismatch(layer: Layer, xs: tuple[Shape, ...], file: str) -> Problem:
    """A block's residual that cannot merge its input with its output, located at the call
    whose arguments made them differ."""
    block = layer.name.rsplit(".", 1)[0]
    what = "adds" if layer.kind == "add" else "concatenates"
    return Problem(file, layer.line, f"'{block}': the residual (line {layer.residual_line}) "
                   f"{what} the block input {xs[0]} to its output {xs[1]}",
                   "give the residual a `shortcut:` that maps the input to the output's shape "
                   "(e.g. `shortcut: [conv: {out: c_out, kernel: 1, stride: s}]`), or a `when:` "
                   "that is false for this call")


def shape_graph(graph: Graph, input_shape: Shape | None = None,
                alpha: Any = None) -> tuple[Shaped, ...]:
    """Evaluate and shape `graph` at alpha (default: the graph's width) and `input_shape`
    (default: the spec's input). Arrays among alpha and input_shape's c, h and w must broadcast
    together; configuration i is flat (C-order) index i of their broadcast shape: with 1-D
    arrays of one length, configuration i takes element i of each."""
    alpha = graph.width if alpha is None else alpha
    dims = (alpha, *(() if input_shape is None else
                     (input_shape.c, input_shape.h, input_shape.w)))
    try:
        shape = np.broadcast_shapes(*(np.shape(v) for v in dims))
    except ValueError:
        raise ValueError("configuration arrays must broadcast together, got shapes "
                         f"{[np.shape(v) for v in dims]}") from None
    if not shape:
        return (_shape(graph, input_shape, alpha, None),)
    if 0 in shape:
        raise ValueError("no configurations: an empty configuration array")
    alpha, input_shape = _promote(alpha, len(shape)), _promote(input_shape, len(shape))
    index = np.arange(int(np.prod(shape))).reshape(shape)
    groups = _groups(graph, input_shape, alpha, index)
    return tuple(sorted(groups, key=lambda g: int(g.select.flat[0])))  # type: ignore[union-attr]


def _groups(graph: Graph, input_shape: Shape | None, alpha: Any,
            index: np.ndarray) -> list[Shaped]:
    try:
        return [_shape(graph, input_shape, alpha, index)]
    except _Split as split:
        mask = np.broadcast_to(split.mask, index.shape)
        varying = [a for a in range(index.ndim) if index.shape[a] > 1 and
                   not (mask == mask.take([0], axis=a)).all()]
        if len(varying) > 1:  # the structure depends on several axes: a list of configurations
            input_shape, alpha = _flat(input_shape, index.shape), _flat(alpha, index.shape)
            index, mask, axis = index.ravel(), mask.ravel(), 0
        else:
            (axis,) = varying
            mask = mask[tuple(slice(None) if a == axis else 0 for a in range(index.ndim))]
        groups = []
        for keep in (np.flatnonzero(mask), np.flatnonzero(~mask)):
            groups += _groups(graph, _take(input_shape, axis, keep), _take(alpha, axis, keep),
                              index.take(keep, axis=axis))
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


def _promote(value: Any, ndim: int) -> Any:
    """Arrays given as many dimensions as the broadcast shape (numpy aligns them on the right),
    so that a grid axis means the same axis of every array."""
    if isinstance(value, Shape):
        return Shape(*(_promote(v, ndim) for v in (value.c, value.h, value.w)))
    if isinstance(value, np.ndarray) and value.ndim:
        return value.reshape((1,) * (ndim - value.ndim) + value.shape)
    return value


def _flat(value: Any, shape: tuple[int, ...]) -> Any:
    if isinstance(value, Shape):
        return Shape(*(_flat(v, shape) for v in (value.c, value.h, value.w)))
    if isinstance(value, np.ndarray) and value.ndim:
        return np.broadcast_to(value, shape).ravel()
    return value


def _take(value: Any, axis: int, keep: np.ndarray) -> Any:
    """The configurations `keep` (indices along `axis`); an axis of length 1 is broadcast and
    stays as it is."""
    if isinstance(value, Shape):
        return Shape(*(_take(v, axis, keep) for v in (value.c, value.h, value.w)))
    if isinstance(value, np.ndarray) and value.ndim and value.shape[axis] > 1:
        return value.take(keep, axis=axis)
    return value


def notes(graph: Graph) -> tuple[Problem, ...]:
    """Settings that are legal but usually mistakes (`costcalc validate` prints them as notes):
    pooling windows that overlap, and output channels that change with the width multiplier."""
    from .dims import Scaled
    from .expand import output_layers
    from .ops import Pool

    (here,) = shape_graph(graph)
    overlapping: dict[tuple[str, str], list[Layer]] = {}  # one note per kernel and stride
    for layer in here.graph.layers:
        if isinstance(layer.op, Pool) and layer.op.overlaps(here.shapes[layer.name]):
            key = (_pair_text(layer.op.kernel), _pair_text(layer.op.stride))
            overlapping.setdefault(key, []).append(layer)
    found = [Problem(graph.file, pools[0].line, f"note: pooling windows overlap (kernel "
                     f"{kernel}, stride {stride}) in "
                     + capped([f"'{layer.name}'" for layer in pools]),
                     "legal (AlexNet's 3x3/2 pooling does it on purpose), but usually a "
                     "forgotten stride: without `stride` a pool's stride is its kernel")
             for (kernel, stride), pools in overlapping.items()]
    other = graph.width / 2
    try:
        (there,) = shape_graph(graph, alpha=other)
    except SpecError:
        return tuple(found)  # a width at which the network does not build: no comparison
    last = graph.layers[-1].name
    c1, c2 = here.shapes[last].c, there.shapes[last].c
    if c1 != c2:
        scaled = [graph.layers[i] for i in output_layers(graph.layers)
                  if isinstance(getattr(graph.layers[i].op, "out", None), Scaled)]
        for layer in scaled or [graph.layers[-1]]:
            found.append(Problem(graph.file, layer.line, f"note: the network's output "
                                 f"channels change with the width multiplier ({c1} at width "
                                 f"{graph.width:g}, {c2} at width {other:g})"
                                 + (f": '{layer.name}' is scaled" if scaled else ""),
                                 "usually a mistake (the classes do not thin with alpha): "
                                 "remove its `scale:`, the layers that set the output are "
                                 "not scaled by default" if scaled else
                                 "usually a mistake: give the output layer's `out` as a "
                                 "number"))
    return tuple(sorted(found, key=lambda p: p.line))


def _pair_text(value: Any) -> str:
    return f"{value[0]}x{value[1]}" if isinstance(value, tuple) else str(value)
