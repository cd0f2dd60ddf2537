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


def deck_cell(value: int, unit: float) -> float:
    """Netscope's display: two decimals of the SI unit (reference/netscope-rules.md)."""
    return round(value / unit, 2)


def test_deck_googlenet_is_the_preset_at_227_and_batch_10() -> None:
    """presets/googlenet.prototxt declares 10 x 3 x 227 x 227: every column of the deck's row."""
    t = analyze("googlenet", batch=10, resolution=227, count="netscope").totals
    assert [deck_cell(t.netscope_macc, 1e9), deck_cell(t.netscope_comp, 1e6),
            deck_cell(t.netscope_add, 1e6), deck_cell(t.netscope_div, 1e6),
            deck_cell(t.netscope_activations, 1e6)] == [16.04, 161.07, 8.83, 16.64, 102.19]
    lrn = t.netscope_macc - analyze("googlenet", batch=10, resolution=227).totals.macs
    assert lrn == 41_587_200  # the two LRNs' windows, 5 MACC per input element


def test_deck_inception_v3_preset_pools_mixed_10_with_max() -> None:
    """The Inception v3 row's COMP and ADD: mixed_7c's 3x3 average-pool branch counted as a
    MAX pool (the preset's mixed_10) moves its window operations from ADD to COMP."""
    r = analyze("inception_v3", count="netscope")
    pool = {row.name: row for row in r.layers}["mixed_7c.concat.4.pool"]
    moved = pool.netscope_add
    assert moved == 3 * 3 * 2048 * 8 * 8 == 1_179_648
    assert deck_cell(r.totals.netscope_comp + moved, 1e6) == 16.53
    assert deck_cell(r.totals.netscope_add - moved, 1e6) == 25.94


def test_deck_inception_resnet_v2_has_bn_on_the_up_projections() -> None:
    """A BatchNorm + Scale after each residual block's 1x1 up-projection gives the ADD, DIV
    and Activations cells, and keeps MACC and COMP."""
    r = analyze("inception_resnet_v2", count="netscope")
    ups = [row for row in r.layers if row.name.rsplit(".", 1)[-1] == "up"]
    extra = sum(row.activations for row in ups)
    assert len(ups) == 40 and extra == 11_539_840
    t = r.totals
    assert [deck_cell(t.netscope_macc + extra, 1e9), deck_cell(t.netscope_comp, 1e6),
            deck_cell(t.netscope_add + extra, 1e6), deck_cell(t.netscope_div + extra, 1e6),
            round((t.netscope_activations + 2 * extra) / 1e6, 1)] == \
        [13.18, 31.57, 38.81, 25.06, 117.8]


def test_deck_nin_at_227_and_one_more_softmax() -> None:
    """NIN's MACC and COMP match at 227 only; ADD and DIV are one softmax over 1,000 classes
    at batch 10 more than ours."""
    at = {res: analyze("nin", batch=10, resolution=res, count="netscope").totals
          for res in (224, 227)}
    assert deck_cell(at[224].netscope_macc, 1e9) != 11.06
    assert (deck_cell(at[227].netscope_macc, 1e9), deck_cell(at[227].netscope_comp, 1e6)) == \
        (11.06, 28.93)
    softmax = 1000 * 10
    assert (at[227].netscope_add + softmax, at[227].netscope_div + softmax) == (380_000, 20_000)
    # Activations stay unexplained (a not-reproduced row): neither the second softmax nor
    # Netscope's pre-2017-05-31 double count of the input blob gives the printed 38.79M.
    acts = at[227].netscope_activations
    assert deck_cell(acts + softmax, 1e6) != 38.79
    assert deck_cell(acts + 10 * 3 * 227 * 227, 1e6) == 39.23


def test_deck_simplenet_is_the_nodrp_graph() -> None:
    """The paper's comparison table counted SimpNet_nodrp.prototxt (no BN on cccp4-cccp6, no
    pool after cccp4), not the released deploy.prototxt. Totals counted independently from
    the two prototxts by Netscope's rules."""
    released = analyze("simplenet", count="netscope").totals
    nodrp = analyze("simplenet", variant="nodrp", count="netscope").totals
    cols = ("macc", "comp", "add", "div", "activations", "params")
    assert [getattr(released, f"netscope_{c}") for c in cols] == \
        [1_884_368_128, 1_886_208, 1_551_848, 1_551_848, 6_497_067, 6_415_848]
    assert [getattr(nodrp, f"netscope_{c}") for c in cols] == \
        [1_895_651_328, 1_824_256, 1_497_320, 1_497_320, 6_381_611, 6_410_728]
    printed = {"macc": (1.9, 1e9), "comp": (1.82, 1e6), "add": (1.5, 1e6), "div": (1.5, 1e6),
               "activations": (6.38, 1e6)}
    assert {c: deck_cell(getattr(nodrp, f"netscope_{c}"), unit) for c, (_, unit)
            in printed.items()} == {c: cell for c, (cell, _) in printed.items()}
    assert deck_cell(released.netscope_comp, 1e6) != 1.82


def test_deck_squeezenet_div_cannot_come_with_its_add() -> None:
    """Every Netscope layer that divides also adds at least half as much, and the printed ADD
    (226K) leaves room for at most 5 more: DIV is at most 1,010, never 1.51M."""
    t = analyze("squeezenet_v1_0", variant="prototxt", count="netscope").totals
    assert t.netscope_add == 226_000 and t.netscope_div == 1000
    slack = 226_005 - t.netscope_add  # the largest ADD that still prints 226K, exclusive
    assert t.netscope_div + 2 * slack <= 1010
