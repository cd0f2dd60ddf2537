"""ONNX export checked by a real runtime: every layer's output shape from onnxruntime equals
costcalc's inferred shape, and the initializers' element counts equal costcalc's params."""

from __future__ import annotations

import numpy as np
import pytest

import costcalc
from costcalc.bundled import bundled_specs
from costcalc.errors import CostcalcError
from costcalc.shapes import shape_graph

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from costcalc.onnx_export import export_graph, parameter_counts  # noqa: E402

# Every op kind and spatial rule at least once, in about five seconds: Caffe ceil-mode pooling
# and concat (SqueezeNet), TF 'same' padding, depthwise and ReLU6 (MobileNetV2), shuffle and
# groups (ShuffleNet v1), split (v2), mixed kernels, swish and SE products (MixNet-S),
# hard-swish/sigmoid (MobileNetV3-Small), option-A zero padding (CIFAR ResNet), LRN (GoogLeNet),
# 1x3 and 3x1 kernels with asymmetric strides (EffNet), flatten + FC (the CIFAR-10 micro net).
FAST = ["squeezenet_v1_0", "mobilenet_v2", "shufflenet_v1", "shufflenet_v2", "mixnet_s",
        "mobilenet_v3_small", "resnet_cifar", "googlenet", "effnet", "cifar10_micro"]
ZOO = [p.stem for p in bundled_specs()]


def run_model(model, shaped) -> dict[str, tuple[int, ...]]:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    first = shaped.shapes[shaped.graph.layers[0].name]
    outputs = session.run(None, {shaped.graph.layers[0].name:
                                 np.zeros((1, first.c, first.h, first.w), np.float32)})
    return {o.name: tuple(v.shape) for o, v in zip(session.get_outputs(), outputs, strict=True)}


def check_spec(name: str, **settings) -> None:
    spec = costcalc.load_spec(name)
    (shaped,) = shape_graph(costcalc.build_graph(spec, **settings))
    model = export_graph(shaped.graph, shaped.shapes)
    onnx.checker.check_model(model)
    ran = run_model(model, shaped)
    expected = {layer.name: (1, shaped.shapes[layer.name].c, shaped.shapes[layer.name].h,
                             shaped.shapes[layer.name].w) for layer in shaped.graph.layers[1:]}
    assert ran == expected
    report = costcalc.analyze(spec, **settings)
    assert parameter_counts(model) == {"params": report.totals.params,
                                       "buffers": report.totals.bn_buffers}


@pytest.mark.parametrize("name", FAST)
def test_runtime_shapes_and_params_equal_costcalc(name: str) -> None:
    check_spec(name)


def test_a_width_and_resolution_export() -> None:
    check_spec("mobilenet_v2", width=0.35, resolution=160)


@pytest.mark.onnx_zoo
@pytest.mark.parametrize("name", ZOO)
def test_every_bundled_spec_runs_with_costcalcs_shapes(name: str) -> None:
    """The whole zoo (about a minute): `pytest tests/test_onnx.py --onnx-zoo`, run by CI."""
    check_spec(name)


def test_seeded_weights_are_reproducible_and_counted_the_same() -> None:
    (shaped,) = shape_graph(costcalc.build_graph(costcalc.load_spec("cifar10_micro")))
    first, again = (export_graph(shaped.graph, shaped.shapes, seed=7) for _ in range(2))
    assert first.SerializeToString() == again.SerializeToString()
    zeros = export_graph(shaped.graph, shaped.shapes)
    assert parameter_counts(first) == parameter_counts(zeros)
    assert first.SerializeToString() != zeros.SerializeToString()


def test_an_op_without_an_exporter_is_named() -> None:
    from dataclasses import dataclass

    from costcalc.graph import Graph, Layer
    from costcalc.ops import Input, OpBase

    @dataclass(frozen=True, slots=True)
    class Mystery(OpBase):
        kind = "mystery"
        zero = frozenset({"params", "macs", "other_ops"})

    graph = Graph("G", "", "g.yaml", (Layer("input", Input(3, 8, 8), (), 1),
                                      Layer("m", Mystery(), ("input",), 2)))
    (shaped,) = shape_graph(graph)
    with pytest.raises(CostcalcError, match="g.yaml: no ONNX exporter for mystery"):
        export_graph(shaped.graph, shaped.shapes)
