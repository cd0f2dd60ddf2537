"""Generic properties every bundled spec must have."""

from __future__ import annotations

import numpy as np
import pytest

from costcalc import analyze, build_graph, load_spec, metrics
from costcalc.bundled import bundled_specs
from costcalc.ops import Shape
from costcalc.shapes import shape_graph

SPECS = [p.stem for p in bundled_specs()]


def test_the_bundle_is_not_empty() -> None:
    assert {"mobilenet_v1", "mobilenet_v2", "squeezenet_v1_0"} <= set(SPECS)


@pytest.mark.parametrize("name", SPECS)
def test_spec_properties(name: str) -> None:
    spec = load_spec(name)
    assert spec.name and spec.source, "every spec names its network and its source"
    r = analyze(spec)
    assert all(min(row.output) > 0 for row in r.layers)
    assert sum(row.macs for row in r.layers) == r.totals.macs
    assert sum(row.params for row in r.layers) == r.totals.params
    assert sum(row.activations for row in r.layers) == r.totals.activations
    assert r.totals.flops >= 2 * r.totals.macs
    assert r.totals.peak_activation_bytes <= r.totals.activation_bytes
    # Params do not depend on the input resolution, except a fully connected layer's over a
    # spatial map (AlexNet, VGG, a fixed 7x7 pool before the classifier): its input grows.
    h, w = r.input[1], r.input[2]
    other = analyze(spec, resolution=(h + 32, w + 32))
    assert other.totals.macs > r.totals.macs
    assert len(other.layers) == len(r.layers)
    for before, after in zip(r.layers, other.layers, strict=True):
        assert before.name == after.name
        if before.kind != "fc":
            assert before.params == after.params, before.name
    # Batch scales MACs and activations, never params.
    b4 = analyze(spec, batch=4)
    assert (b4.totals.macs, b4.totals.params) == (4 * r.totals.macs, r.totals.params)


@pytest.mark.parametrize("name", SPECS)
def test_vectorized_resolution_matches_scalar(name: str) -> None:
    """One pass with numpy arrays of sizes equals one pass per size, through the same rules."""
    spec = load_spec(name)
    graph = build_graph(spec)
    first = graph.layers[0].op
    steps = np.array([0, 32, 64], dtype=np.int64)
    heights, widths = first.height + steps, first.width + steps  # the spec's aspect kept
    (shaped,) = shape_graph(graph, Shape(first.channels, heights, widths))
    vector = sum(metrics.macs(shaped.graph, shaped.shapes).values())
    for i, (h, w) in enumerate(zip(heights, widths, strict=True)):
        scalar = analyze(spec, resolution=(int(h), int(w))).totals.macs
        assert int(np.broadcast_to(vector, steps.shape)[i]) == scalar
