"""Netscope's counting rules (costcalc/netscope.py), per op and against the graph."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from costcalc import analyze, parse_spec
from costcalc.cli import main
from costcalc.errors import CostcalcError

SPEC = """version: 1
name: tiny
input: {channels: 4, size: 8}
layers:
  - conv: {name: c1, out: 8, kernel: 3, pad: 1, bias: true}
  - batchnorm: {name: bn}
  - act: {name: r, fn: relu}
  - lrn: {name: n, size: 5}
  - pool: {name: p, op: max, kernel: 3, stride: 2, ceil: true}
  - conv: {name: c2, out: 8, kernel: 1, inputs: [p]}
  - add: {name: s, inputs: [p, c2]}
  - mul: {name: m, inputs: [s, c2]}
  - pool: {name: g, op: avg, global: true}
  - flatten: {name: f}
  - fc: {name: fc, out: 3, bias: true}
  - softmax: {name: sm}
"""


def rows(batch: int = 1):
    r = analyze(parse_spec(SPEC), count="netscope", batch=batch)
    return {row.name: row for row in r.layers}, r.totals


def cells(row) -> tuple[int, ...]:
    return tuple(row.values[f"netscope_{c}"] for c in
                 ("macc", "comp", "add", "div", "exp", "params", "activations"))


def test_rules_per_op() -> None:
    r, _ = rows()
    e = 8 * 8 * 8  # c1's output elements
    assert cells(r["input"]) == (0, 0, 0, 0, 0, 0, 4 * 64)
    assert cells(r["c1"]) == (3 * 3 * 4 * 8 * 64, 0, 0, 0, 0, 3 * 3 * 4 * 8 + 8, e)
    assert cells(r["bn"]) == (e, 0, e, e, 0, 16, 2 * e)  # BatchNorm + Scale
    assert cells(r["r"]) == (0, e, 0, 0, 0, 0, e)
    assert cells(r["n"]) == (5 * e, 0, e, 2 * e, e, 2, e)
    p = 8 * 4 * 4  # ceil((8 - 3) / 2) + 1 = 4
    assert cells(r["p"]) == (0, 4 * 4 * 9 * 8, 0, 0, 0, 0, p)
    assert cells(r["s"]) == (0, 0, p, 0, 0, 0, p)  # one input's elements
    assert cells(r["m"]) == (p, 0, 0, 0, 0, 0, p)  # a product, not an addition
    assert cells(r["g"]) == (0, 0, p, 0, 0, 0, 8)  # global average: E_in adds, no divide
    assert cells(r["sm"]) == (0, 0, 3, 3, 3, 0, 3)


def test_batch_multiplies_everything_but_params() -> None:
    one, t1 = rows(1)
    four, t4 = rows(4)
    for key in ("macc", "comp", "add", "div", "exp", "activations"):
        assert t4.values[f"netscope_{key}"] == 4 * t1.values[f"netscope_{key}"]
    assert t4.netscope_params == t1.netscope_params
    assert t1.netscope_activations == sum(cells(row)[-1] for row in one.values())


def test_macc_is_macs_plus_scale_and_lrn_and_product() -> None:
    for spec, kwargs in (("resnet", {"variant": "50"}), ("alexnet", {}), ("vgg16", {})):
        r = analyze(spec, count="netscope", **kwargs)
        extra = sum(row.values["netscope_macc"] - row.macs for row in r.layers)
        scale = sum(row.output[0] * row.output[1] * row.output[2] for row in r.layers
                    if row.kind == "batchnorm")
        lrn = sum(row.values["netscope_macc"] for row in r.layers if row.kind == "lrn")
        assert extra == scale + lrn


def test_unknown_kind_is_a_located_error() -> None:
    with pytest.raises(CostcalcError, match=r"shufflenet_v2.yaml:\d+: 'stage2.unit1.shuffle': "
                       "Netscope has no rule for the layer kind 'shuffle'"):
        analyze("shufflenet_v2", count="netscope")
    with pytest.raises(CostcalcError, match="activation 'hswish'"):
        analyze("mobilenet_v3_small", count="netscope")
    with pytest.raises(CostcalcError, match="did you mean 'netscope'"):
        analyze("cifar10_micro", count="netscop")


def test_cli_count_netscope() -> None:
    r = CliRunner().invoke(main, ["--columns", "150", "report", "cifar10_micro", "--count",
                                  "netscope"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "│ pool1      │ pool    │ 32x16x16 │         0 │ 73,728 │" in r.output
