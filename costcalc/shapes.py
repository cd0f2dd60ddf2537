"""Shape inference: a pass over the graph that gives every layer's output shape."""

from __future__ import annotations

from collections.abc import Mapping

from .errors import Problem, ShapeError, SpecError
from .graph import Graph, Layer
from .ops import Input, Shape


def infer_layer(layer: Layer, shapes: Mapping[str, Shape], file: str) -> Shape:
    """One layer's output shape; a shape error is re-raised with the layer's name and line."""
    xs = tuple(shapes[src] for src in layer.inputs)
    try:
        return layer.op.infer(xs)
    except ShapeError as exc:
        raise SpecError(Problem(file, layer.line, f"'{layer.name}': {exc.what}", exc.fix)) from None


def infer_shapes(graph: Graph, input_shape: Shape | None = None) -> dict[str, Shape]:
    """Every layer's output shape, in graph order.

    `input_shape` replaces the input layers' shape; with numpy arrays for h and w (or c) it
    evaluates many resolutions at once through the same shape rules.
    """
    shapes: dict[str, Shape] = {}
    for layer in graph.layers:
        if input_shape is not None and isinstance(layer.op, Input):
            shapes[layer.name] = input_shape
        else:
            shapes[layer.name] = infer_layer(layer, shapes, graph.file)
    return shapes
