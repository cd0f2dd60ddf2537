"""Metric visitors: param conventions, peak memory, MobileNetV2's block measure."""

from __future__ import annotations

import textwrap

from costcalc import analyze
from costcalc.spec import parse_spec


def net(body: str):
    return parse_spec("version: 1\nname: T\ninput: {channels: 2, size: 4}\n"
                      + textwrap.dedent(body))


def test_param_conventions() -> None:
    spec = net("""
        paper_params: [weights]
        layers:
          - conv: {out: 3, kernel: 1, bias: false, norm: batchnorm}
          - conv: {out: 5, kernel: 1, bias: true, norm: batchnorm}
          - batchnorm:
        """)
    framework = analyze(spec).totals
    assert (framework.weights, framework.biases, framework.bn) == (2 * 3 + 3 * 5, 5, 6 + 10 + 10)
    assert framework.params == 21 + 5 + 26
    assert analyze(spec, params="paper").totals.params == 21
    # deploy: BN after a bias-free conv becomes its bias (3); after a biased conv it folds into
    # the existing bias (0); a BN after another BN keeps its scale and shift (10).
    assert analyze(spec, params="deploy").totals.params == 21 + 5 + 3 + 0 + 10


def test_peak_live_frees_tensors_after_last_use_and_runs_inplace_ops_in_place() -> None:
    spec = net("""
        layers:
          - conv: {name: a, out: 4, kernel: 1}
          - act: {fn: relu}
          - conv: {name: b, out: 8, kernel: 1}
          - add: {inputs: [a, b], when: false}
          - conv: {out: 1, kernel: 1}
        """)
    r = analyze(spec, dtype="int8")
    # input 32 + a 64 -> relu in place -> b 128 with a alive (64 + 128) -> conv 16 with b.
    assert r.totals.peak_activation_bytes == 64 + 128
    assert r.totals.activation_bytes == 32 + 64 + 64 + 128 + 16


def test_block_memory_counts_a_block_as_one_operation() -> None:
    spec = net("""
        blocks:
          wide:
            layers:
              - conv: {out: 100, kernel: 1}
              - conv: {out: 2, kernel: 1}
            residual: true
        layers:
          - wide:
        """)
    r = analyze(spec, dtype="8bit")
    # The block reads its 2x4x4 input and writes 2x4x4; the 100-channel inner tensor is never
    # materialized in MobileNetV2's measure, while peak live memory holds it.
    assert r.totals.block_memory_bytes == 32 + 32
    assert r.totals.peak_activation_bytes == 32 + 1600 + 32


def test_dtype_and_batch_scale_bytes() -> None:
    spec = net("layers:\n  - conv: {out: 4, kernel: 1, bias: false}\n")
    fp32, fp16 = analyze(spec), analyze(spec, dtype="fp16", batch=3)
    assert fp32.totals.weight_bytes == 8 * 4 and fp16.totals.weight_bytes == 8 * 2
    assert fp16.totals.activation_bytes == 3 * (32 + 64) * 2
    assert analyze(spec, dtype="4bit").totals.weight_bytes == 4


def test_arithmetic_intensity_of_mobilenet_v1_by_hand() -> None:
    r = analyze("mobilenet_v1")
    conv1 = r.layers[1]
    # conv1: 3x3, 3 -> 32 channels, stride 2, 224 -> 112. MACs = 112*112 * 3*3*3 * 32.
    # bytes (fp32) = 4 * (864 kernel weights + 3*224*224 input + 32*112*112 output)
    #              = 4 * (864 + 150,528 + 401,408) = 2,211,200.
    assert (conv1.name, conv1.macs, conv1.weights) == ("conv1", 10_838_016, 864)
    assert conv1.arithmetic_intensity == 10_838_016 / 2_211_200  # 4.9014
    # The network is a chain, so every layer's input is the previous layer's output: all inputs
    # = all outputs 15,281,616 - the last output 1,000 (softmax). bytes = 4 * (4,209,088 kernel
    # weights + 15,280,616 inputs + 15,281,616 outputs) = 139,085,280.
    assert (r.totals.weights, r.totals.activations) == (4_209_088, 15_281_616)
    assert r.totals.arithmetic_intensity == 568_740_352 / 139_085_280  # 4.0891
    assert r.totals.arithmetic_intensity != sum(row.arithmetic_intensity for row in r.layers)
    # Batch 2: MACs and activations double, the weights are read once.
    two = analyze("mobilenet_v1", batch=2).totals.arithmetic_intensity
    assert two == 2 * 568_740_352 / (4 * (4_209_088 + 2 * (15_280_616 + 15_281_616)))
