"""Network zoo, part B1: Xception, GoogLeNet, Inception v3/v4, Inception-ResNet-v2, NASNet-A.

Each spec's counts are pinned exactly (they are what the engine computes from the layer tables);
the published figures live in specs/papers/*.yaml and every row there must be a match or an
explained difference.
"""

from __future__ import annotations

from functools import cache

import pytest

from costcalc.papers import Evaluator, load_tables
from costcalc.report import analyze
from costcalc.spec import bundled_dir

PAPER_FILES = ("chollet2017_xception", "szegedy2015_googlenet", "szegedy2016_inception_v3",
               "szegedy2017_inception_v4", "zoph2018_nasnet", "torchvision_b1")


@cache
def report(spec: str, variant: str | None = None, params: str = "framework") -> dict:
    return analyze(spec, variant=variant, params=params).to_dict()


def layer_output(spec: str, name: str, variant: str | None = None) -> list[int]:
    for row in report(spec, variant)["layers"]:
        if row["name"] == name:
            return list(row["output"])
    raise KeyError(name)


# spec, variant, MACs, params (framework, paper, deploy), weights, biases, BN gamma+beta
COUNTS = [
    ("xception", None, 8_357_403_496, 22_855_952, 22_855_952, 22_828_688,
     22_800_424, 1_000, 54_528),
    ("googlenet", None, 1_582_671_872, 6_998_552, 6_990_272, 6_998_552,
     6_990_272, 8_280, 0),
    ("googlenet", "torchvision", 1_498_376_192, 6_624_904, 6_609_344, 6_617_624,
     6_609_344, 1_000, 14_560),
    ("inception_v3", None, 5_713_216_096, 23_834_568, 23_800_136, 23_817_352,
     23_799_136, 1_000, 34_432),
    ("inception_v3", "torchvision_aux", 5_718_899_296, 27_161_264, 27_125_040, 27_143_152,
     27_123_040, 2_000, 36_224),
    ("inception_v4", None, 12_253_974_624, 42_679_816, 42_616_648, 42_648_232,
     42_615_648, 1_000, 63_168),
    ("inception_resnet_v2", None, 13_155_794_016, 55_843_464, 55_782_920, 55_813_192,
     55_736_160, 46_760, 60_544),
    ("nasnet_a_mobile", None, 563_638_816, 5_289_978, 5_289_978, 5_271_939,
     5_252_240, 1_000, 36_738),
]


@pytest.mark.parametrize(("spec", "variant", "macs", "framework", "paper", "deploy", "weights",
                          "biases", "bn"), COUNTS)
def test_counts(spec, variant, macs, framework, paper, deploy, weights, biases, bn):
    totals = report(spec, variant)["totals"]
    assert totals["macs"] == macs
    assert totals["params"] == framework
    assert totals["params_by_role"] == {"weights": weights, "biases": biases, "bn": bn,
                                        "bn_buffers": bn}
    assert report(spec, variant, "paper")["totals"]["params"] == paper
    assert report(spec, variant, "deploy")["totals"]["params"] == deploy


SHAPES = [
    # Xception Figure 5: 299 -> 149 -> 147, entry flow /2 three times, exit flow /2
    ("xception", "conv1.relu", [32, 149, 149]),
    ("xception", "conv2.relu", [64, 147, 147]),
    ("xception", "entry1.add", [128, 74, 74]),
    ("xception", "entry3.add", [728, 19, 19]),
    ("xception", "middle_8.add", [728, 19, 19]),
    ("xception", "exit1.add", [1024, 10, 10]),
    ("xception", "exit_sep2.relu_out", [2048, 10, 10]),
    # GoogLeNet Table 1
    ("googlenet", "pool2", [192, 28, 28]),
    ("googlenet", "inception_3a.concat", [256, 28, 28]),
    ("googlenet", "inception_4a.concat", [512, 14, 14]),
    ("googlenet", "inception_4d.concat", [528, 14, 14]),
    ("googlenet", "inception_5a.concat", [832, 7, 7]),
    ("googlenet", "avgpool", [1024, 1, 1]),
    # Inception v3 (released graph)
    ("inception_v3", "maxpool_3a", [64, 73, 73]),
    ("inception_v3", "conv2d_4a.relu", [192, 71, 71]),
    ("inception_v3", "maxpool_5a", [192, 35, 35]),
    ("inception_v3", "mixed_5b.concat", [256, 35, 35]),
    ("inception_v3", "mixed_5d.concat", [288, 35, 35]),
    ("inception_v3", "mixed_6a.concat", [768, 17, 17]),
    ("inception_v3", "mixed_6e.concat", [768, 17, 17]),
    ("inception_v3", "mixed_7a.concat", [1280, 8, 8]),
    ("inception_v3", "mixed_7c.concat", [2048, 8, 8]),
    # Inception-ResNet-v2 (released graph)
    ("inception_resnet_v2", "mixed_5b", [320, 35, 35]),
    ("inception_resnet_v2", "block35_10.relu", [320, 35, 35]),
    ("inception_resnet_v2", "mixed_6a", [1088, 17, 17]),
    ("inception_resnet_v2", "block17_20.relu", [1088, 17, 17]),
    ("inception_resnet_v2", "mixed_7a", [2080, 8, 8]),
    ("inception_resnet_v2", "block8_10.add", [2080, 8, 8]),
    ("inception_resnet_v2", "conv2d_7b.relu", [1536, 8, 8]),
    # NASNet-A mobile: stem cells, 3 stacks of 4 normal cells (6F), reduction cells (4F)
    ("nasnet_a_mobile", "conv0.bn", [32, 111, 111]),
    ("nasnet_a_mobile", "stem0", [44, 56, 56]),
    ("nasnet_a_mobile", "stem1", [88, 28, 28]),
    ("nasnet_a_mobile", "cell3", [264, 28, 28]),
    ("nasnet_a_mobile", "reduction0", [352, 14, 14]),
    ("nasnet_a_mobile", "cell7", [528, 14, 14]),
    ("nasnet_a_mobile", "reduction1", [704, 7, 7]),
    ("nasnet_a_mobile", "cell11", [1056, 7, 7]),
]


@pytest.mark.parametrize(("spec", "layer", "shape"), SHAPES)
def test_shapes(spec, layer, shape):
    assert layer_output(spec, layer) == shape


def test_inception_v3_aux_head_is_torchvisions_inception_aux():
    # 768->128 1x1 + BN, 128->768 5x5 + BN, FC 768->1000 with bias
    aux = report("inception_v3", "torchvision_aux")["totals"]["params"]
    assert aux - report("inception_v3")["totals"]["params"] == 3_326_696
    assert layer_output("inception_v3", "aux_conv1.relu", "torchvision_aux") == [768, 1, 1]


def test_googlenet_table1_layer_counts():
    # Table 1 rows recomputed from the listed filters (weights only, the paper's convention)
    paper = report("googlenet", None, "paper")
    by_layer: dict[str, int] = {}
    for row in paper["layers"]:
        top = row["name"].split(".")[0]
        by_layer[top] = by_layer.get(top, 0) + row["params"]
    assert by_layer["conv1"] == 9_408  # 7x7x3x64; Table 1 prints 2.7K = (7+7)x3x64
    assert by_layer["conv2"] == 114_688
    assert by_layer["inception_4c"] == 509_440  # Table 1 prints 463K
    assert by_layer["inception_5a"] == 1_042_432  # Table 1 prints 1072K
    assert by_layer["fc"] == 1_024_000


def test_keras_totals_follow_from_roles():
    """Keras counts BN moving mean/variance too; its Inception v3 and Inception-ResNet-v2 batch
    norms have no gamma (scale=False). The engine's roles give Keras's totals exactly."""
    def roles(spec):
        return report(spec)["totals"]["params_by_role"]

    x = roles("xception")
    assert x["weights"] + x["biases"] + x["bn"] + x["bn_buffers"] == 22_910_480
    n = roles("nasnet_a_mobile")
    assert n["weights"] + n["biases"] + n["bn"] + n["bn_buffers"] == 5_326_716
    for spec, total in (("inception_v3", 23_851_784), ("inception_resnet_v2", 55_873_736)):
        r = roles(spec)
        assert r["weights"] + r["biases"] + r["bn"] // 2 + r["bn_buffers"] == total


@cache
def paper_results():
    evaluator = Evaluator()
    tables = load_tables([bundled_dir("papers") / f"{name}.yaml" for name in PAPER_FILES])
    return [(table, evaluator.evaluate(row)) for table in tables for row in table.rows]


def test_paper_rows_are_matched_or_explained():
    results = paper_results()
    assert len(results) >= 50
    bad = [(t.file, r.row.line, r.row.label, r.computed) for t, r in results
           if r.status not in ("match", "explained")]
    assert not bad


EXPECTED_STATUS = {
    ("chollet2017_xception.yaml", "Xception parameter count"): "match",
    ("chollet2017_xception.yaml", "Inception V3 parameter count"): "explained",
    ("torchvision_b1.yaml", "googlenet num_params (auxiliary heads dropped with the pretrained "
     "weights)"): "match",
    ("torchvision_b1.yaml", "inception_v3 num_params (the pretrained model keeps its auxiliary "
     "head)"): "match",
    ("zoph2018_nasnet.yaml", "NASNet-A (4 @ 1056) Mult-Adds 564M"): "match",
    ("zoph2018_nasnet.yaml", "NASNet-A (4 @ 1056) parameters 5.3M"): "match",
    ("szegedy2015_googlenet.yaml", "multiply-adds at inference"): "explained",
    ("szegedy2016_inception_v3.yaml", "5 billion multiply-adds per inference"): "explained",
}


def test_expected_statuses():
    status = {(t.file, r.row.label): r.status for t, r in paper_results()}
    for key, expected in EXPECTED_STATUS.items():
        assert status[key] == expected, key


def test_exact_rows_are_exact():
    for _, r in paper_results():
        if r.row.tolerance == 0 and r.status == "match":
            assert r.computed == r.row.published
