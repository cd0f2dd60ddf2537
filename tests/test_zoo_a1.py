"""Network zoo A1: SqueezeNet v1.0 (+ bypass) / v1.1, SqueezeNext, MobileNet v1 (+ shallow,
full-conv), v2, v3 Large / Small.

Each test pins what costcalc computes (exact integers) for a spec at a setting; the published
figures themselves live in specs/papers/*.yaml and are checked by `test_paper_rows`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import costcalc
from costcalc import build_graph, load_spec
from costcalc.papers import Evaluator, load_tables
from costcalc.spec import bundled_dir


def totals(spec: str, **settings):
    return costcalc.analyze(spec, **settings).totals


def shapes(spec: str, **settings) -> dict[str, list[int]]:
    """Layer name -> output shape; a block's name maps to its last layer's output."""
    out: dict[str, list[int]] = {}
    for row in costcalc.analyze(spec, **settings).to_dict()["layers"]:
        out[row["name"]] = row["output"]
        out[row["name"].split(".")[0]] = row["output"]
    return out


def kinds(spec: str, kind: str, **settings) -> int:
    return sum(1 for row in costcalc.analyze(spec, **settings).layers if row.kind == kind)


# -- SqueezeNet v1.0 and Table 3's bypass variants


SQUEEZENET_TABLE1 = {  # Iandola et al. 2016, Table 1 output sizes (maxpool8's 13x12 is a typo)
    "conv1": [96, 111, 111], "maxpool1": [96, 55, 55], "fire2": [128, 55, 55],
    "fire3": [128, 55, 55], "fire4": [256, 55, 55], "maxpool4": [256, 27, 27],
    "fire5": [256, 27, 27], "fire6": [384, 27, 27], "fire7": [384, 27, 27],
    "fire8": [512, 27, 27], "maxpool8": [512, 13, 13], "fire9": [512, 13, 13],
    "conv10": [1000, 13, 13], "avgpool10": [1000, 1, 1],
}


@pytest.mark.parametrize("variant", [None, "simple-bypass", "complex-bypass"])
def test_squeezenet_v1_0_table1_shapes(variant):
    got = shapes("squeezenet_v1_0", variant=variant)
    assert {name: got[name] for name in SQUEEZENET_TABLE1} == SQUEEZENET_TABLE1


def test_squeezenet_v1_0_counts():
    t = totals("squeezenet_v1_0", params="paper")
    assert (t.macs, t.params, t.weights, t.biases, t.bn) == (832_667_936, 1_248_424,
                                                             1_244_448, 3_976, 0)
    assert totals("squeezenet_v1_0", variant="prototxt").macs == 861_339_936
    assert totals("squeezenet_v1_0", variant="224").macs == 818_924_576


def test_squeezenet_v1_0_simple_bypass_is_free():
    plain = totals("squeezenet_v1_0")
    simple = totals("squeezenet_v1_0", variant="simple-bypass")
    assert (simple.macs, simple.params) == (plain.macs, plain.params) == (832_667_936, 1_248_424)
    assert kinds("squeezenet_v1_0", "add") == 0
    report = costcalc.analyze("squeezenet_v1_0", variant="simple-bypass")
    adds = [row.name for row in report.layers if row.kind == "add"]
    assert adds == ["fire3.add", "fire5.add", "fire7.add", "fire9.add"]
    # the element-wise adds: 128*55*55 + 256*27*27 + 384*27*27 + 512*13*13
    assert simple.flops - plain.flops == 940_288


def test_squeezenet_v1_0_complex_bypass():
    t = totals("squeezenet_v1_0", variant="complex-bypass", params="paper")
    # 1x1 convs with bias on fire2/4/6/8: 96->128, 128->256, 256->384, 384->512
    assert t.params - 1_248_424 == 341_248
    assert (t.macs, t.params) == (1_183_953_184, 1_589_672)
    report = costcalc.analyze("squeezenet_v1_0", variant="complex-bypass")
    shortcuts = [row.name for row in report.layers if ".shortcut." in row.name
                 and row.kind == "conv"]
    assert shortcuts == [f"fire{i}.shortcut.conv" for i in (2, 4, 6, 8)]
    assert kinds("squeezenet_v1_0", "add", variant="complex-bypass") == 8


# -- SqueezeNet v1.1


def test_squeezenet_v1_1():
    t = totals("squeezenet_v1_1", params="paper")
    assert (t.macs, t.params, t.weights, t.biases) == (387_747_520, 1_235_496, 1_231_552,
                                                       3_944)
    assert totals("squeezenet_v1_1", variant="224").macs == 349_151_936
    got = shapes("squeezenet_v1_1")
    assert got["conv1"] == [64, 113, 113]
    assert got["maxpool1"] == [64, 56, 56]
    assert got["maxpool3"] == [128, 28, 28]
    assert got["maxpool5"] == [256, 14, 14]
    assert got["conv10"] == [1000, 14, 14]  # no pad on v1.1's conv10


# -- SqueezeNext (amirgholami/SqueezeNext Caffe models)


@pytest.mark.parametrize("variant, macs, macs_224, weights, bn", [
    ("1.0-23", 277_999_808, 268_976_832, 705_728, 11_552),
    ("23v5", 224_916_480, 222_046_464, 915_648, 14_368),
    ("2.0", 742_070_464, 719_066_816, 2_339_008, 22_720),
    ("2.0-23v5", 702_592_000, 697_960_192, 3_194_560, 28_352),
    ("G", 224_191_552, 216_810_688, 531_520, 11_552),
])
def test_squeezenext(variant, macs, macs_224, weights, bn):
    t = totals("squeezenext", variant=variant)
    assert (t.macs, t.weights, t.biases, t.bn, t.params) == (macs, weights, 0, bn,
                                                             weights + bn)
    assert totals("squeezenext", variant=variant, resolution=224).macs == macs_224
    # every prototxt has 111 convolutions, 21 eltwise adds and one FC
    assert kinds("squeezenext", "conv", variant=variant) == 111
    assert kinds("squeezenext", "add", variant=variant) == 21


def test_squeezenext_shapes_and_groups():
    got = shapes("squeezenext")
    assert got["conv1"] == [64, 111, 111]
    assert got["pool1"] == [64, 55, 55]
    assert [got[f"stage{i}_{n}"] for i, n in ((1, 6), (2, 6), (3, 8))] == [
        [32, 55, 55], [64, 28, 28], [128, 14, 14]]
    assert got["stage4"] == [256, 7, 7]
    graph = build_graph(load_spec("squeezenext"), variant="G")
    grouped = [layer for layer in graph.layers if getattr(layer.op, "groups", 1) == 2]
    assert len(grouped) == 63  # "1.0-G-SqNxt-23": 3 convs in each of 21 blocks


# -- MobileNet v1 and the Table 4/5 variants


def test_mobilenet_v1_default_unchanged():
    t = totals("mobilenet_v1", params="paper")
    assert (t.macs, t.params) == (568_740_352, 4_209_088)


def test_mobilenet_v1_shallow():
    t = totals("mobilenet_v1", variant="shallow", params="paper")
    assert (t.macs, t.params) == (307_323_392, 2_875_328)
    assert kinds("mobilenet_v1", "conv", variant="shallow") == 27 - 10
    assert shapes("mobilenet_v1", variant="shallow")["separable7"] == [1024, 7, 7]


def test_mobilenet_v1_full_conv():
    t = totals("mobilenet_v1", variant="full-conv", params="paper")
    assert (t.macs, t.params) == (4_867_293_184, 29_281_120)
    assert kinds("mobilenet_v1", "conv", variant="full-conv") == 1 + 13
    assert shapes("mobilenet_v1", variant="full-conv")["separable13"] == [1024, 7, 7]


# -- MobileNet v2: the default and the slim README grid (1001 classes)


def test_mobilenet_v2_default_unchanged():
    t = totals("mobilenet_v2")
    assert (t.macs, t.params, t.weights) == (300_774_272, 3_504_872, 3_469_760)


@pytest.mark.parametrize("width, macs, params", [
    (1.4, 582_197_616, 6_062_633), (1.3, 509_376_224, 5_344_201),
    (1.0, 300_775_552, 3_472_041), (0.75, 209_071_072, 2_611_065),
    (0.5, 97_133_120, 1_951_417), (0.35, 59_287_088, 1_664_329),
])
def test_mobilenet_v2_slim_widths(width, macs, params):
    t = totals("mobilenet_v2", width=width, args={"classes": 1001}, params="paper")
    assert (t.macs, t.params) == (macs, params)


@pytest.mark.parametrize("resolution, macs", [
    (192, 221_317_888), (160, 154_084_480), (128, 99_075_328), (96, 56_290_432)])
def test_mobilenet_v2_slim_resolutions(resolution, macs):
    assert totals("mobilenet_v2", resolution=resolution, args={"classes": 1001}).macs == macs


# -- MobileNet v3


def test_mobilenet_v3_large():
    t = totals("mobilenet_v3_large")
    assert (t.macs, t.weights, t.biases, t.bn, t.params) == (216_589_760, 5_451_272, 7_360,
                                                             24_400, 5_483_032)
    assert totals("mobilenet_v3_large", params="paper").params == 5_458_632
    # torchvision mobilenet_v3_large(width_mult=0.75) has 3,377,576 parameters
    assert totals("mobilenet_v3_large", width=0.75).params == 3_377_576
    assert kinds("mobilenet_v3_large", "mul") == 8  # SE blocks in Table 1
    assert kinds("mobilenet_v3_large", "add") == 10


def test_mobilenet_v3_large_first_bneck_has_no_expansion():
    names = [row.name for row in costcalc.analyze("mobilenet_v3_large").layers]
    assert "bneck1.expand" not in names and "bneck2.expand" in names
    se = {row.name: row.output for row in costcalc.analyze("mobilenet_v3_large").layers
          if row.name.endswith(".se_reduce")}
    assert se["bneck4.se_reduce"] == (24, 1, 1)  # make_divisible(72 / 4, 8)
    assert se["bneck15.se_reduce"] == (240, 1, 1)


@pytest.mark.parametrize("variant, macs, weights, biases, params", [
    (None, 56_510_400, 2_525_832, 4_912, 2_542_856),
    ("table2-head", 56_913_856, 2_929_288, 5_168, 2_946_568),
    ("table2", 57_079_744, 3_095_176, 5_888, 3_113_176),
])
def test_mobilenet_v3_small(variant, macs, weights, biases, params):
    t = totals("mobilenet_v3_small", variant=variant)
    assert (t.macs, t.weights, t.biases, t.params) == (macs, weights, biases, params)


def test_mobilenet_v3_small_width():
    # torchvision mobilenet_v3_small(width_mult=0.75) has 1,653,920 parameters
    assert totals("mobilenet_v3_small", width=0.75).params == 1_653_920
    assert kinds("mobilenet_v3_small", "mul") == 9
    assert kinds("mobilenet_v3_small", "mul", variant="table2") == 10


# -- published figures


PAPER_FILES = ["howard2019_mobilenet_v3.yaml", "squeezenet_v1_1_readme.yaml",
               "torchvision_a1.yaml", "gholami2018_squeezenext.yaml"]


def _rows():
    tables = load_tables([bundled_dir("papers") / name for name in PAPER_FILES])
    return [pytest.param(table, row, id=f"{Path(table.file).stem}:{table.id}:{row.label}")
            for table in tables for row in table.rows]


_EVALUATOR = Evaluator()


@pytest.mark.parametrize("table, row", _rows())
def test_paper_rows(table, row):
    result = _EVALUATOR.evaluate(row)
    assert result.status in ("match", "explained"), (row.label, result.computed)
    if row.tolerance == 0:  # torchvision's exact counts must match exactly
        assert result.status == "match"


def test_papers_files_not_empty():
    tables = load_tables([bundled_dir("papers") / name for name in PAPER_FILES])
    assert sum(len(table.rows) for table in tables) == 41
