"""Every bundled network's counts, pinned exactly: what the engine computes from each spec.

The published figures themselves are data (specs/papers/*.yaml); `test_tables.py` checks all of
their rows once per run. Here each spec's totals, shapes and structure are pinned as integers,
so that a change to a spec or to the engine shows up as a concrete number.
"""

from __future__ import annotations

from typing import Any

import pytest

import costcalc
from costcalc import build_graph, load_spec
from costcalc.report import LayerRow, Report

_REPORTS: dict[str, Report] = {}


def report(spec: str, **settings: Any) -> Report:
    """analyze(spec, **settings), once per run (reports are immutable, so sharing is safe)."""
    key = repr((spec, sorted(settings.items())))
    if key not in _REPORTS:
        _REPORTS[key] = costcalc.analyze(spec, **settings)
    return _REPORTS[key]


def totals(spec: str, **settings: Any):
    return report(spec, **settings).totals


def rows(spec: str, **settings: Any) -> dict[str, LayerRow]:
    return {row.name: row for row in report(spec, **settings).layers}


def block(spec: str, name: str, **settings: Any) -> list[LayerRow]:
    """The layer `name` and every layer inside it (`name.*`), in order."""
    return [row for row in report(spec, **settings).layers
            if row.name == name or row.name.startswith(name + ".")]


def block_output(spec: str, name: str, **settings: Any) -> tuple[int, ...]:
    return block(spec, name, **settings)[-1].output


def kinds(spec: str, kind: str, **settings: Any) -> int:
    return sum(1 for row in report(spec, **settings).layers if row.kind == kind)


def shares(r: Report) -> dict[str, tuple[float, float]]:
    return {s.bucket: (round(s.macs_pct, 2), round(s.params_pct, 2)) for s in r.breakdown}


# ---------------------------------------------------------------------------------------------
# Totals, table-driven


# (spec, settings, MACs, params under the settings' convention)
TOTALS = [
    ("mobilenet_v1", {"params": "paper"}, 568_740_352, 4_209_088),  # conv + FC weights only
    ("mobilenet_v1", {"params": "paper", "width": 0.75}, 325_400_448, 2_568_144),
    ("mobilenet_v1", {"params": "paper", "width": 0.5}, 149_497_088, 1_319_648),
    ("mobilenet_v1", {"params": "paper", "width": 0.25}, 41_030_272, 463_600),
    # resolution does not change params
    ("mobilenet_v1", {"params": "paper", "resolution": 192}, 418_121_728, 4_209_088),
    ("mobilenet_v1", {"params": "paper", "resolution": 160}, 290_675_200, 4_209_088),
    ("mobilenet_v1", {"params": "paper", "resolution": 128}, 186_400_768, 4_209_088),
    ("mobilenet_v1", {"params": "paper", "variant": "shallow"}, 307_323_392, 2_875_328),
    ("mobilenet_v1", {"params": "paper", "variant": "full-conv"}, 4_867_293_184, 29_281_120),
    # slim README grid: 1001 classes, weights + logits bias
    ("mobilenet_v2", {"params": "paper", "width": 1.4, "args": {"classes": 1001}},
     582_197_616, 6_062_633),
    ("mobilenet_v2", {"params": "paper", "width": 1.3, "args": {"classes": 1001}},
     509_376_224, 5_344_201),
    ("mobilenet_v2", {"params": "paper", "width": 1.0, "args": {"classes": 1001}},
     300_775_552, 3_472_041),
    ("mobilenet_v2", {"params": "paper", "width": 0.75, "args": {"classes": 1001}},
     209_071_072, 2_611_065),
    ("mobilenet_v2", {"params": "paper", "width": 0.5, "args": {"classes": 1001}},
     97_133_120, 1_951_417),
    ("mobilenet_v2", {"params": "paper", "width": 0.35, "args": {"classes": 1001}},
     59_287_088, 1_664_329),
    ("cifar10_micro", {}, 12_298_240, 89_578),
    ("resnet_cifar", {"variant": "20"}, 40_551_040, 269_722),
    ("resnet_cifar", {"variant": "32"}, 68_862_592, 464_154),
    ("resnet_cifar", {"variant": "44"}, 97_174_144, 658_586),
    ("resnet_cifar", {"variant": "56"}, 125_485_696, 853_018),
    ("resnet_cifar", {"variant": "110"}, 252_887_680, 1_727_962),
    ("resnet_cifar", {"variant": "1202"}, 2_829_238_912, 19_421_274),
    ("resnet", {"variant": "18"}, 1_814_073_344, 11_689_512),
    ("resnet", {"variant": "34"}, 3_663_761_408, 21_797_672),
    ("resnet", {"variant": "50"}, 3_857_973_248, 25_557_032),
    ("resnet", {"variant": "101"}, 7_570_194_432, 44_549_160),
    ("resnet", {"variant": "152"}, 11_282_415_616, 60_192_808),
    ("resnet", {"variant": "50-v1.5"}, 4_089_184_256, 25_557_032),
    ("resnet", {"variant": "101-v1.5"}, 7_801_405_440, 44_549_160),
    ("resnet", {"variant": "152-v1.5"}, 11_513_626_624, 60_192_808),
    ("resnext50_32x4d", {}, 4_230_479_872, 25_028_904),
    ("wide_resnet50_2", {}, 11_398_021_120, 68_883_240),
    ("densenet121", {}, 2_834_161_664, 7_978_856),
    ("alexnet", {}, 724_406_816, 60_965_224),
    ("alexnet", {"variant": "torchvision"}, 714_188_480, 61_100_840),
    ("vgg16", {}, 15_470_264_320, 138_357_544),
    ("nin", {}, 1_100_188_800, 7_595_176),
    ("simplenet", {}, 1_882_817_280, 6_415_848),
    ("simplenet", {"variant": "nodrp"}, 1_894_155_008, 6_410_728),
    ("effnet", {}, 5_640_192, 151_146),
    ("flattened", {}, 8_781_824, 35_072),
    ("flattened", {"variant": "baseline"}, 37_748_736, 147_584),
]


@pytest.mark.parametrize("spec, settings, macs, params", TOTALS)
def test_totals(spec: str, settings: dict, macs: int, params: int) -> None:
    t = totals(spec, **settings)
    assert (t.macs, t.params) == (macs, params)


@pytest.mark.parametrize("resolution, macs", [
    (192, 221_317_888), (160, 154_084_480), (128, 99_075_328), (96, 56_290_432)])
def test_mobilenet_v2_slim_resolutions(resolution: int, macs: int) -> None:
    assert totals("mobilenet_v2", resolution=resolution, args={"classes": 1001}).macs == macs


# (spec, variant, MACs, framework params = weights + biases + BN gamma/beta, weights + biases)
FRAMEWORK_TOTALS = [
    ("shufflenet_v1", "1x-g1", 143_078_976, 1_530_936, 1_516_248),
    ("shufflenet_v1", "1x-g2", 140_836_512, 1_732_848, 1_712_448),
    ("shufflenet_v1", "1x-g3", 137_460_672, 1_864_728, 1_840_248),
    ("shufflenet_v1", "1x-g4", 134_339_776, 1_967_344, 1_939_600),
    ("shufflenet_v1", "1x-g8", 138_365_952, 2_433_768, 2_394_600),
    ("shufflenet_v1", "0.25x-g3", 11_009_808, 304_902, 298_782),
    ("shufflenet_v1", "0.5x-g3", 37_589_856, 717_324, 705_084),
    ("shufflenet_v1", "0.5x-g4", 37_943_936, 777_592, 763_640),
    ("shufflenet_v1", "0.5x-g8", 40_469_760, 1_010_448, 990_864),
    ("shufflenet_v1", "1.5x-g3", 292_443_552, 3_441_168, 3_404_448),
    ("shufflenet_v1", "1.5x-g8", 290_188_800, 4_268_952, 4_210_200),
    ("shufflenet_v1", "2x-g3", 524_045_184, 5_449_776, 5_400_816),
    ("shufflenet_v1", "2x-g8", 521_942_016, 6_521_232, 6_442_896),
    ("shufflenet_v2", "0.5x", 40_476_448, 1_365_792, 1_357_840),
    ("shufflenet_v2", "1x", 145_814_296, 2_278_760, 2_262_580),
    ("shufflenet_v2", "1.5x", 298_970_656, 3_506_720, 3_483_280),
    ("shufflenet_v2", "2x", 590_783_000, 7_402_600, 7_368_884),
    ("shufflenet_v2", "torchvision-x0_5", 40_476_448, 1_366_792, 1_358_840),
    ("shufflenet_v2", "torchvision-x1_0", 144_907_992, 2_278_604, 2_262_424),
    ("shufflenet_v2", "torchvision-x1_5", 295_759_392, 3_503_624, 3_480_184),
    ("shufflenet_v2", "torchvision-x2_0", 583_253_464, 7_393_996, 7_360_280),
    ("mnasnet_a1", None, 311_579_072, 3_887_038, 3_853_550),
    ("mnasnet_a1", "1.4-224", 586_317_952, 6_105_992, 6_059_976),
    ("mnasnet_a1", "0.75-224", 223_448_480, 2_912_278, 2_885_446),
    ("mnasnet_a1", "0.5-224", 103_162_992, 2_082_006, 2_063_606),
    ("mnasnet_a1", "0.35-224", 61_681_920, 1_747_018, 1_733_002),
    ("efficientnet_b0", "b0", 385_814_752, 5_288_548, 5_246_532),
    ("efficientnet_b0", "b1", 686_802_832, 7_794_184, 7_732_136),
    ("efficientnet_b0", "b2", 993_561_872, 9_109_994, 9_042_426),
    ("efficientnet_b0", "b3", 1_827_141_392, 12_233_232, 12_145_936),
    ("mixnet_s", None, 239_173_360, 4_134_606, 4_102_414),
    ("mixnet_m", None, 339_172_672, 5_014_382, 4_972_670),
    ("mixnet_m", "l", 555_251_792, 7_329_252, 7_274_980),
    # torchvision's MNASNet (B1 variant): num_params exactly, _ops 0.104 / 0.215 / 0.314 / 0.526
    ("mnasnet_b1", "0.5", 104_455_968, 2_218_512, 2_197_888),
    ("mnasnet_b1", "0.75", 215_493_104, 3_170_208, 3_140_400),
    ("mnasnet_b1", "1.0", 314_415_872, 4_383_312, 4_345_392),
    ("mnasnet_b1", "1.3", 526_362_432, 6_282_256, 6_233_440),
    ("se_resnet50", None, 3_860_488_192, 28_088_024, 28_034_904),
    ("preresnet200", None, 15_007_481_856, 64_672_808, 64_497_832),
    ("preresnet200", "101", 7_801_405_440, 44_548_136, 44_443_816),
    ("preresnet200", "152", 11_513_626_624, 60_191_784, 60_041_384),
    ("bn_inception", None, 2_032_600_064, 11_295_240, 11_275_208),
    ("bn_inception", "se", 2_033_239_424, 11_931_622, 11_911_590),
    ("dlbench_fcn", "fcn-5", 117_964_800, 117_997_696, 117_997_696),
    ("dlbench_fcn", "fcn-8", 130_547_712, 130_586_752, 130_586_752),
    ("dlbench_lstm", "lstm-32", 115_474_432, 6_182_672, 6_182_672),
    ("dlbench_lstm", "lstm-64", 230_948_864, 6_182_672, 6_182_672),
    ("fcn8s_vgg16", "voc", 181_529_034_048, 134_489_759, 134_489_759),
    ("fcn8s_vgg16", "cityscapes", 181_418_830_144, 134_456_985, 134_456_985),
    ("dilation_vgg16", "frontend-voc", 591_900_180_480, 134_346_581, 134_346_581),
    ("dilation_vgg16", "frontend-cityscapes", 591_866_626_048, 134_338_387, 134_338_387),
    ("dilation_vgg16", "context-voc", 619_757_494_272, 141_149_720, 141_149_720),
    ("segnet_vgg16", None, 163_074_539_520, 29_455_125, 29_439_253),
    ("deeplab_v2_vgg16", None, 80_120_358_592, 37_877_652, 37_877_652),
    ("deeplab_v2_resnet101", None, 75_135_808_704, 44_048_532, 43_943_188),
    ("pspnet_resnet101", "cityscapes", 516_405_924_032, 65_707_475, 65_596_627),
    # The parameters of these five equal the released Caffe prototxts' layers summed by hand
    # (convolution and deconvolution weights and biases, BN scale and shift, PReLU slopes):
    # pspnet101_VOC2012_473, TimoSaemann/ENet enet_deploy, fyu/dilation dilation10_cityscapes,
    # and hszhao/ICNet icnet_cityscapes_bnnomerge (its input Scale layer left out).
    ("pspnet_resnet101", "voc", 516_414_218_432, 65_708_501, 65_597_653),
    ("enet", None, 4_006_920_192, 372_551, 363_815),
    ("dilation_vgg16", "context-cityscapes", 592_007_798_784, 134_373_043, 134_373_043),
    ("icnet", None, 29_811_584_064, 6_699_987, 6_671_443),  # icnet_cityscapes_bnnomerge
    # torchvision's resnet101 without its FC (42,500,160) + three 1x1 scorers (75,327) + the
    # three bilinear deconvolutions (2 x 21 x 21 x 4 x 4 + 21 x 21 x 16 x 16 = 127,008).
    ("fcn8s_resnet101", None, 40_088_227_840, 42_702_495, 42_597_151),
]


@pytest.mark.parametrize("spec, variant, macs, framework, weights_biases", FRAMEWORK_TOTALS)
def test_framework_totals(spec: str, variant: str | None, macs: int, framework: int,
                          weights_biases: int) -> None:
    t = totals(spec, variant=variant)
    assert (t.macs, t.params, t.weights + t.biases) == (macs, framework, weights_biases)


# spec, variant, MACs, params (framework, paper, deploy), weights, biases, BN gamma+beta
ROLE_TOTALS = [
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
                          "biases", "bn"), ROLE_TOTALS)
def test_role_totals(spec, variant, macs, framework, paper, deploy, weights, biases, bn) -> None:
    t = report(spec, variant=variant).to_dict()["totals"]
    assert t["macs"] == macs
    assert t["params"] == framework
    assert t["params_by_role"] == {"weights": weights, "biases": biases, "bn": bn,
                                   "bn_buffers": bn}
    assert totals(spec, variant=variant, params="paper").params == paper
    assert totals(spec, variant=variant, params="deploy").params == deploy


# ---------------------------------------------------------------------------------------------
# SqueezeNet v1.0 (+ Table 3's bypass variants), v1.1, SqueezeNext


SQUEEZENET_TABLE1 = {  # layer: (output c, h, w; "#parameter before pruning")
    "conv1": ((96, 111, 111), 14_208), "maxpool1": ((96, 55, 55), 0),
    "fire2": ((128, 55, 55), 11_920), "fire3": ((128, 55, 55), 12_432),
    "fire4": ((256, 55, 55), 45_344), "maxpool4": ((256, 27, 27), 0),
    "fire5": ((256, 27, 27), 49_440), "fire6": ((384, 27, 27), 104_880),
    "fire7": ((384, 27, 27), 111_024), "fire8": ((512, 27, 27), 188_992),
    "maxpool8": ((512, 13, 13), 0), "fire9": ((512, 13, 13), 197_184),  # the paper: 13x12
    "conv10": ((1000, 13, 13), 513_000), "avgpool10": ((1000, 1, 1), 0),
}


def test_squeezenet_v1_0_table1() -> None:
    for name, (shape, params) in SQUEEZENET_TABLE1.items():
        members = block("squeezenet_v1_0", name, params="paper")
        assert members[-1].output == shape, name
        assert sum(row.params for row in members) == params, name
    r = report("squeezenet_v1_0", params="paper")
    assert r.totals.params == 1_248_424
    assert r.input == (3, 227, 227)


@pytest.mark.parametrize("variant", ["simple-bypass", "complex-bypass"])
def test_squeezenet_v1_0_bypass_keeps_table1_shapes(variant: str) -> None:
    got = {name: block_output("squeezenet_v1_0", name, variant=variant)
           for name in SQUEEZENET_TABLE1}
    assert got == {name: shape for name, (shape, _) in SQUEEZENET_TABLE1.items()}


def test_squeezenet_v1_0_counts() -> None:
    t = totals("squeezenet_v1_0", params="paper")
    assert (t.macs, t.params, t.weights, t.biases, t.bn) == (832_667_936, 1_248_424,
                                                             1_244_448, 3_976, 0)
    assert totals("squeezenet_v1_0", variant="prototxt").macs == 861_339_936
    assert totals("squeezenet_v1_0", variant="224").macs == 818_924_576


def test_squeezenet_v1_0_simple_bypass_is_free() -> None:
    plain = totals("squeezenet_v1_0")
    simple = totals("squeezenet_v1_0", variant="simple-bypass")
    assert (simple.macs, simple.params) == (plain.macs, plain.params) == (832_667_936, 1_248_424)
    assert kinds("squeezenet_v1_0", "add") == 0
    adds = [row.name for row in report("squeezenet_v1_0", variant="simple-bypass").layers
            if row.kind == "add"]
    assert adds == ["fire3.add", "fire5.add", "fire7.add", "fire9.add"]
    # the element-wise adds: 128*55*55 + 256*27*27 + 384*27*27 + 512*13*13
    assert simple.flops - plain.flops == 940_288


def test_squeezenet_v1_0_complex_bypass() -> None:
    t = totals("squeezenet_v1_0", variant="complex-bypass", params="paper")
    # 1x1 convs with bias on fire2/4/6/8: 96->128, 128->256, 256->384, 384->512
    assert t.params - 1_248_424 == 341_248
    assert (t.macs, t.params) == (1_183_953_184, 1_589_672)
    shortcuts = [row.name for row in report("squeezenet_v1_0", variant="complex-bypass").layers
                 if ".shortcut." in row.name and row.kind == "conv"]
    assert shortcuts == [f"fire{i}.shortcut.conv" for i in (2, 4, 6, 8)]
    assert kinds("squeezenet_v1_0", "add", variant="complex-bypass") == 8


def test_squeezenet_v1_1() -> None:
    t = totals("squeezenet_v1_1", params="paper")
    assert (t.macs, t.params, t.weights, t.biases) == (387_747_520, 1_235_496, 1_231_552,
                                                       3_944)
    assert totals("squeezenet_v1_1", variant="224").macs == 349_151_936
    assert block_output("squeezenet_v1_1", "conv1") == (64, 113, 113)
    assert block_output("squeezenet_v1_1", "maxpool1") == (64, 56, 56)
    assert block_output("squeezenet_v1_1", "maxpool3") == (128, 28, 28)
    assert block_output("squeezenet_v1_1", "maxpool5") == (256, 14, 14)
    assert block_output("squeezenet_v1_1", "conv10") == (1000, 14, 14)  # no pad on v1.1's conv10


@pytest.mark.parametrize("variant, macs, macs_224, weights, bn", [
    ("1.0-23", 277_999_808, 268_976_832, 705_728, 11_552),
    ("23v5", 224_916_480, 222_046_464, 915_648, 14_368),
    ("2.0", 742_070_464, 719_066_816, 2_339_008, 22_720),
    ("2.0-23v5", 702_592_000, 697_960_192, 3_194_560, 28_352),
    ("G", 224_191_552, 216_810_688, 531_520, 11_552),
])
def test_squeezenext(variant: str, macs: int, macs_224: int, weights: int, bn: int) -> None:
    t = totals("squeezenext", variant=variant)
    assert (t.macs, t.weights, t.biases, t.bn, t.params) == (macs, weights, 0, bn,
                                                             weights + bn)
    assert totals("squeezenext", variant=variant, resolution=224).macs == macs_224
    # every prototxt has 111 convolutions, 21 eltwise adds and one FC
    assert kinds("squeezenext", "conv", variant=variant) == 111
    assert kinds("squeezenext", "add", variant=variant) == 21


def test_squeezenext_shapes_and_groups() -> None:
    assert block_output("squeezenext", "conv1") == (64, 111, 111)
    assert block_output("squeezenext", "pool1") == (64, 55, 55)
    assert [block_output("squeezenext", f"stage{i}_{n}") for i, n in ((1, 6), (2, 6), (3, 8))] \
        == [(32, 55, 55), (64, 28, 28), (128, 14, 14)]
    assert block_output("squeezenext", "stage4") == (256, 7, 7)
    graph = build_graph(load_spec("squeezenext"), variant="G")
    grouped = [layer for layer in graph.layers if getattr(layer.op, "groups", 1) == 2]
    assert len(grouped) == 63  # "1.0-G-SqNxt-23": 3 convs in each of 21 blocks


# ---------------------------------------------------------------------------------------------
# MobileNet v1, v2, v3


def test_mobilenet_v1_table2_shares() -> None:
    r = report("mobilenet_v1", params="paper")
    # Table 2; the paper prints 1.19 % for the full conv, the arithmetic gives 1.91 %.
    assert shares(r) == {"conv 1x1": (94.86, 74.59), "depthwise": (3.06, 1.06),
                         "conv kxk": (1.91, 0.02), "fc": (0.18, 24.33)}
    assert r.layers[-1].output == (1000, 1, 1)


def test_mobilenet_v1_variants_structure() -> None:
    assert kinds("mobilenet_v1", "conv", variant="shallow") == 27 - 10
    assert block_output("mobilenet_v1", "separable7", variant="shallow") == (1024, 7, 7)
    assert kinds("mobilenet_v1", "conv", variant="full-conv") == 1 + 13
    assert block_output("mobilenet_v1", "separable13", variant="full-conv") == (1024, 7, 7)


def test_mobilenet_v2_1_0_224() -> None:
    t = totals("mobilenet_v2")
    assert (t.macs, t.params) == (300_774_272, 3_504_872)  # framework: BN affine, FC bias
    assert (t.weights, t.biases, t.bn) == (3_469_760, 1_000, 34_112)
    assert totals("mobilenet_v2", params="paper").params == 3_470_760


def test_mobilenet_v2_reference_code_conventions() -> None:
    # t = 1: no expansion conv, so the first block is dw 3x3 on 32 channels + 1x1 to 16.
    first = [row for row in report("mobilenet_v2").layers
             if row.name.startswith("bottleneck1.") and row.kind == "conv"]
    assert [row.output for row in first] == [(32, 112, 112), (16, 112, 112)]
    # Last conv stays 1280 below alpha = 1 and scales above it (make_divisible).
    last = {w: [row for row in report("mobilenet_v2", width=w).layers
                if row.kind == "conv"][-2].output[0] for w in (0.5, 1.0, 1.4)}
    assert last == {0.5: 1280, 1.0: 1280, 1.4: 1792}


def test_mobilenet_v3_large() -> None:
    t = totals("mobilenet_v3_large")
    assert (t.macs, t.weights, t.biases, t.bn, t.params) == (216_589_760, 5_451_272, 7_360,
                                                             24_400, 5_483_032)
    assert totals("mobilenet_v3_large", params="paper").params == 5_458_632
    # torchvision mobilenet_v3_large(width_mult=0.75) has 3,377,576 parameters
    assert totals("mobilenet_v3_large", width=0.75).params == 3_377_576
    assert kinds("mobilenet_v3_large", "mul") == 8  # SE blocks in Table 1
    assert kinds("mobilenet_v3_large", "add") == 10


def test_mobilenet_v3_large_first_bneck_has_no_expansion() -> None:
    layers = rows("mobilenet_v3_large")
    assert "bneck1.expand" not in layers and "bneck2.expand" in layers
    assert layers["bneck4.se_reduce"].output == (24, 1, 1)  # make_divisible(72 / 4, 8)
    assert layers["bneck15.se_reduce"].output == (240, 1, 1)


@pytest.mark.parametrize("variant, macs, weights, biases, params", [
    (None, 56_510_400, 2_525_832, 4_912, 2_542_856),
    ("table2-head", 56_913_856, 2_929_288, 5_168, 2_946_568),
    ("table2", 57_079_744, 3_095_176, 5_888, 3_113_176),
])
def test_mobilenet_v3_small(variant: str | None, macs: int, weights: int, biases: int,
                            params: int) -> None:
    t = totals("mobilenet_v3_small", variant=variant)
    assert (t.macs, t.weights, t.biases, t.params) == (macs, weights, biases, params)


def test_mobilenet_v3_small_width() -> None:
    # torchvision mobilenet_v3_small(width_mult=0.75) has 1,653,920 parameters
    assert totals("mobilenet_v3_small", width=0.75).params == 1_653_920
    assert kinds("mobilenet_v3_small", "mul") == 9
    assert kinds("mobilenet_v3_small", "mul", variant="table2") == 10


# ---------------------------------------------------------------------------------------------
# ShuffleNet v1/v2, MnasNet, EfficientNet, MixNet


def test_paper_convention_per_spec() -> None:
    """ShuffleNet v2's '# of Weights' is weights only; the TF-trained nets count BN too."""
    assert totals("shufflenet_v2", variant="1x", params="paper").params == 2_262_580
    for spec in ("mnasnet_a1", "efficientnet_b0", "mixnet_s", "mixnet_m", "shufflenet_v1"):
        assert totals(spec, params="paper").params == totals(spec).params


def test_shufflenet_v1_table1_excludes_the_fc() -> None:
    """Table 1's 143/140/137/133/137 are the conv layers only: the FC adds c_out x 1000."""
    conv_only = [sum(row.macs for row in block("shufflenet_v1", "features", variant=f"1x-g{g}"))
                 for g in (1, 2, 3, 4, 8)]
    assert conv_only == [142_502_976, 140_036_512, 136_500_672, 133_251_776, 136_829_952]
    assert totals("shufflenet_v1", variant="1x-g8").macs - conv_only[-1] == 1536 * 1000


STAGES = ("features.stage2", "features.stage3", "features.stage4")


def test_shufflenet_v1_width_rounding() -> None:
    """Stage widths are rounded to multiples of 4g: the official widths stay, 0.5x g=4 changes."""
    def widths(variant: str) -> list[int]:
        return [block_output("shufflenet_v1", s, variant=variant)[0] for s in STAGES]

    assert widths("1.5x-g8") == [576, 1152, 2304]
    assert widths("0.5x-g3") == [120, 240, 480]
    assert widths("0.5x-g4") == [144, 272, 544]


def test_shufflenet_v1_units() -> None:
    """Stage 2's first 1x1 is dense; stride-2 units concat an avg-pool shortcut (24 + 216)."""
    layers = rows("shufflenet_v1", variant="1x-g3")
    first = "features.stage2.unit1"
    assert layers[f"{first}.gconv1"].params == 24 * 60  # not grouped
    assert layers["features.stage3.unit1.gconv1"].params == 240 * 120 // 3
    assert layers[f"{first}.gconv2"].output == (216, 28, 28)
    assert layers[f"{first}.shortcut.pool1"].output == (24, 28, 28)
    assert layers[f"{first}.concat"].output == (240, 28, 28)


def test_shufflenet_v2_torchvision_differs_in_stage2_first_unit() -> None:
    """torchvision's stride-2 branches are both out/2 wide; the official left branch keeps its
    input width. Only stage 2's first unit differs (later units have in = out/2), plus the FC
    bias."""
    def params(variant: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in report("shufflenet_v2", variant=variant).layers:
            key = ".".join(row.name.split(".")[:2])
            out[key] = out.get(key, 0) + row.params
        return out

    official, tv = params("1x"), params("torchvision-x1_0")
    differs = sorted(k for k in official if official[k] != tv[k])
    assert differs == ["fc", "stage2.unit1"]
    assert tv["fc"] - official["fc"] == 1000
    assert tv["stage2.unit1"] - official["stage2.unit1"] == -1156


def test_se_reduce_is_relative_to_the_block_input() -> None:
    """EfficientNet and MnasNet: SE squeeze = max(1, int(block input x ratio))."""
    eff = rows("efficientnet_b0")
    assert eff["stage2.se_reduce"].output == (8, 1, 1)  # 32 x 0.25
    assert eff["stage3_1.se_reduce"].output == (4, 1, 1)  # 16 x 0.25, expanded width 96
    assert eff["stage3_1.se_expand.sigmoid"].output == (96, 1, 1)
    mnas = rows("mnasnet_a1")
    assert mnas["stage3_1.se_reduce"].output == (6, 1, 1)  # 24 x 0.25
    assert "stage2_1.se_reduce" not in mnas  # no SE in that stage


def test_mixnet_mdconv_and_grouped_pointwise() -> None:
    """k3.5.7.9.11 on 720 channels: 144 each; a1.1/p1.1 are 2-group 1x1 convs."""
    layers = rows("mixnet_s")
    assert layers["block10.dw"].params == 144 * (9 + 25 + 49 + 81 + 121)
    assert layers["block10.dw"].macs == 144 * (9 + 25 + 49 + 81 + 121) * 7 * 7  # stride 2
    assert layers["block2.expand"].params == 16 * 96 // 2
    assert layers["block2.project"].params == 96 * 24 // 2
    assert layers["block4.project"].params == 144 * 40  # p1: dense


# ---------------------------------------------------------------------------------------------
# Xception, GoogLeNet, Inception v3/v4, Inception-ResNet-v2, NASNet-A


SHAPES = [
    # Xception Figure 5: 299 -> 149 -> 147, entry flow /2 three times, exit flow /2
    ("xception", "conv1.relu", (32, 149, 149)),
    ("xception", "conv2.relu", (64, 147, 147)),
    ("xception", "entry1.add", (128, 74, 74)),
    ("xception", "entry3.add", (728, 19, 19)),
    ("xception", "middle_8.add", (728, 19, 19)),
    ("xception", "exit1.add", (1024, 10, 10)),
    ("xception", "exit_sep2.relu_out", (2048, 10, 10)),
    # ENet Table 1 (at 512x1024, so every width is twice the table's 512x512 one)
    ("enet", "initial.prelu", (16, 256, 512)),
    ("enet", "bottleneck1_0.prelu", (64, 128, 256)),
    ("enet", "bottleneck2_0.prelu", (128, 64, 128)),
    ("enet", "bottleneck2_3.main_a", (32, 62, 130)),  # 5x1 with pad 1 on both axes
    ("enet", "bottleneck3_8.prelu", (128, 64, 128)),
    ("enet", "bottleneck4_0.unpool", (64, 128, 256)),  # bottleneck2_0.pool's indices
    ("enet", "bottleneck4_0.relu", (64, 128, 256)),
    ("enet", "bottleneck5_0.relu", (16, 256, 512)),
    ("enet", "fullconv", (19, 512, 1024)),
    # GoogLeNet Table 1
    ("googlenet", "pool2", (192, 28, 28)),
    ("googlenet", "inception_3a.concat", (256, 28, 28)),
    ("googlenet", "inception_4a.concat", (512, 14, 14)),
    ("googlenet", "inception_4d.concat", (528, 14, 14)),
    ("googlenet", "inception_5a.concat", (832, 7, 7)),
    ("googlenet", "avgpool", (1024, 1, 1)),
    # Inception v3 (released graph)
    ("inception_v3", "maxpool_3a", (64, 73, 73)),
    ("inception_v3", "conv2d_4a.relu", (192, 71, 71)),
    ("inception_v3", "maxpool_5a", (192, 35, 35)),
    ("inception_v3", "mixed_5b.concat", (256, 35, 35)),
    ("inception_v3", "mixed_5d.concat", (288, 35, 35)),
    ("inception_v3", "mixed_6a.concat", (768, 17, 17)),
    ("inception_v3", "mixed_6e.concat", (768, 17, 17)),
    ("inception_v3", "mixed_7a.concat", (1280, 8, 8)),
    ("inception_v3", "mixed_7c.concat", (2048, 8, 8)),
    # Inception-ResNet-v2 (released graph)
    ("inception_resnet_v2", "mixed_5b", (320, 35, 35)),
    ("inception_resnet_v2", "block35_10.relu", (320, 35, 35)),
    ("inception_resnet_v2", "mixed_6a", (1088, 17, 17)),
    ("inception_resnet_v2", "block17_20.relu", (1088, 17, 17)),
    ("inception_resnet_v2", "mixed_7a", (2080, 8, 8)),
    ("inception_resnet_v2", "block8_10.add", (2080, 8, 8)),
    ("inception_resnet_v2", "conv2d_7b.relu", (1536, 8, 8)),
    # NASNet-A mobile: stem cells, 3 stacks of 4 normal cells (6F), reduction cells (4F)
    ("nasnet_a_mobile", "conv0.bn", (32, 111, 111)),
    ("nasnet_a_mobile", "stem0", (44, 56, 56)),
    ("nasnet_a_mobile", "stem1", (88, 28, 28)),
    ("nasnet_a_mobile", "cell3", (264, 28, 28)),
    ("nasnet_a_mobile", "reduction0", (352, 14, 14)),
    ("nasnet_a_mobile", "cell7", (528, 14, 14)),
    ("nasnet_a_mobile", "reduction1", (704, 7, 7)),
    ("nasnet_a_mobile", "cell11", (1056, 7, 7)),
]


@pytest.mark.parametrize(("spec", "layer", "shape"), SHAPES)
def test_layer_shapes(spec: str, layer: str, shape: tuple[int, int, int]) -> None:
    assert rows(spec)[layer].output == shape  # exactly this row, not its block


def test_inception_v3_aux_head_is_torchvisions_inception_aux() -> None:
    # 768->128 1x1 + BN, 128->768 5x5 + BN, FC 768->1000 with bias
    aux = totals("inception_v3", variant="torchvision_aux").params
    assert aux - totals("inception_v3").params == 3_326_696
    assert rows("inception_v3", variant="torchvision_aux")["aux_conv1.relu"].output == (768, 1, 1)


def test_googlenet_table1_layer_counts() -> None:
    # Table 1 rows recomputed from the listed filters (weights only, the paper's convention)
    by_layer: dict[str, int] = {}
    for row in report("googlenet", params="paper").layers:
        top = row.name.split(".")[0]
        by_layer[top] = by_layer.get(top, 0) + row.params
    assert by_layer["conv1"] == 9_408  # 7x7x3x64; Table 1 prints 2.7K = (7+7)x3x64
    assert by_layer["conv2"] == 114_688
    assert by_layer["inception_4c"] == 509_440  # Table 1 prints 463K
    assert by_layer["inception_5a"] == 1_042_432  # Table 1 prints 1072K
    assert by_layer["fc"] == 1_024_000


def test_keras_totals_follow_from_roles() -> None:
    """Keras counts BN moving mean/variance too; its Inception v3 and Inception-ResNet-v2 batch
    norms have no gamma (scale=False). The engine's roles give Keras's totals exactly."""
    x = totals("xception")
    assert x.weights + x.biases + x.bn + x.bn_buffers == 22_910_480
    n = totals("nasnet_a_mobile")
    assert n.weights + n.biases + n.bn + n.bn_buffers == 5_326_716
    for spec, total in (("inception_v3", 23_851_784), ("inception_resnet_v2", 55_873_736)):
        r = totals(spec)
        assert r.weights + r.biases + r.bn // 2 + r.bn_buffers == total


# ---------------------------------------------------------------------------------------------
# Classic CNNs, ResNets, the deck's microcontroller network


def test_cifar10_micro_table() -> None:
    """The deck's microcontroller table: output sizes and conv params (Caffe ceil pooling)."""
    layers = rows("cifar10_micro")
    names = ("conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "fc4")
    assert [layers[n].output for n in names] == [
        (32, 32, 32), (32, 16, 16), (32, 16, 16), (32, 8, 8), (64, 8, 8), (64, 4, 4),
        (10, 1, 1)]
    assert [layers[n].params for n in ("conv1", "conv2", "conv3")] == [2432, 25_632, 51_264]
    # The table's FC cell (10,240) is the weights alone; with its 10 biases the layer has 10,250.
    assert layers["fc4"].macs == 10_240 and layers["fc4"].params == 10_250
    # The "Operations" column is 2 x MACs for conv and FC: 4.9 M, 13.1 M, 6.6 M, 20 K.
    assert [2 * layers[n].macs for n in ("conv1", "conv2", "conv3", "fc4")] \
        == [4_915_200, 13_107_200, 6_553_600, 20_480]


def test_resnet_cifar_option_a_shortcut_is_free() -> None:
    """Option A: the widening shortcut has no params and no MACs; ResNet-1202 needs BN for 19.4M
    (weights + biases alone are 19.33M)."""
    r = report("resnet_cifar", variant="1202")
    shortcut = [row for row in r.layers if ".shortcut." in row.name]
    assert len(shortcut) == 4  # subsample + channel padding in stages 2 and 3
    assert sum(row.params + row.macs for row in shortcut) == 0
    assert r.totals.weights + r.totals.biases == 19_331_642


def test_v1_5_moves_the_stride_only() -> None:
    v1, v15 = totals("resnet", variant="50"), totals("resnet", variant="50-v1.5")
    assert v1.params == v15.params
    assert v15.macs - v1.macs == 231_211_008  # about 6 %


def test_alexnet_paper_shapes() -> None:
    layers = rows("alexnet")
    assert (layers["conv1"].output, layers["conv2"].output, layers["pool5"].output) == (
        (96, 55, 55), (256, 27, 27), (256, 6, 6))


def test_se_resnet50_adds_only_the_excitation_fcs() -> None:
    """Per block two 1x1 convs C -> C/16 -> C with biases: 2 C²/16 weights, C/16 + C biases."""
    se, plain = totals("se_resnet50"), totals("resnet", variant="50")
    blocks = [(256, 3), (512, 4), (1024, 6), (2048, 3)]
    weights = sum(n * 2 * c * c // 16 for c, n in blocks)
    biases = sum(n * (c // 16 + c) for c, n in blocks)
    assert (weights, biases) == (2_514_944, 16_048)
    assert se.macs - plain.macs == weights  # on 1x1 maps: one MAC per weight
    assert se.params - plain.params == weights + biases


def test_preresnet200_unit_layout() -> None:
    """preresnet.lua: the first stage's units have no leading BN-ReLU, all others do; a BN on
    each projection shortcut; one final BN before pooling."""
    names = list(rows("preresnet200"))
    assert sum(1 for n in names if n.endswith(".bn0")) == 24 + 36 + 3
    assert not any(n.startswith("conv2_") and n.endswith(".bn0") for n in names)
    assert [n for n in names if n.endswith("proj.bn")] == [
        f"conv{i}_1.shortcut.proj.bn" for i in (2, 3, 4, 5)]
    assert block_output("preresnet200", "final_bn") == (2048, 7, 7)


def test_bn_inception_module_widths() -> None:
    """Figure 5's output depths; the stride-2 modules pass their pooled input through."""
    widths = {m: block_output("bn_inception", f"inception_{m}.concat")[0]
              for m in ("3a", "3b", "3c", "4a", "4b", "4c", "4d", "4e", "5a", "5b")}
    assert widths == {"3a": 256, "3b": 320, "3c": 576, "4a": 576, "4b": 576, "4c": 608,
                      "4d": 608, "4e": 1056, "5a": 1024, "5b": 1024}
    assert block_output("bn_inception", "inception_4e") == (1056, 7, 7)
    # SE-BN-Inception: one SE block per module, C -> C/16 -> C with biases
    se = totals("bn_inception", variant="se").macs - totals("bn_inception").macs
    assert se == sum(2 * c * c // 16 for c in widths.values()) == 639_360


def test_dlbench_lstm_counts_per_step() -> None:
    """Embedding 10,000 x 256, nn.LSTM(256, 256, 2) with two bias vectors per gate set, and a
    per-step linear layer to the vocabulary; MACs scale with the steps, params do not."""
    layers = rows("dlbench_lstm")
    assert layers["embed"].params == 2_560_000 and layers["embed"].macs == 0
    assert layers["lstm"].params == 2 * (4 * 256 * 512 + 2 * 4 * 256) == 1_052_672
    assert layers["lstm"].macs == 2 * 4 * 256 * 512 * 32
    assert layers["pred"].params == 256 * 10_000 + 10_000
    assert layers["pred"].output == (10_000, 32, 1)
    assert totals("dlbench_lstm", variant="lstm-64").macs == 2 * totals("dlbench_lstm").macs


def test_fcn8s_skip_alignment() -> None:
    """FCN-8s at 500x500: the deconvolutions give 34, 70 and 568; the crops (offsets 5, 9, 31)
    align pool4's and pool3's scores and the output to them and to the input."""
    layers = rows("fcn8s_vgg16")
    assert [layers[n].output for n in ("upscore2", "score_pool4c", "upscore_pool4",
                                       "score_pool3c", "upscore8", "score")] == [
        (21, 34, 34), (21, 34, 34), (21, 70, 70), (21, 70, 70), (21, 568, 568), (21, 500, 500)]
    # upscore8: 16 x 16 x 21 x 21 weights, MACs on its 70 x 70 input grid
    assert layers["upscore8"].params == 112_896
    assert layers["upscore8"].macs == 112_896 * 70 * 70


def test_segnet_unpooling_mirrors_the_encoder() -> None:
    layers = rows("segnet_vgg16")
    for i, size in zip(range(5, 0, -1), (32, 64, 128, 256, 512), strict=True):
        assert layers[f"upsample{i}"].output[1:] == (size, size)
        assert layers[f"upsample{i}"].params == layers[f"upsample{i}"].macs == 0
    assert layers["prob"].output == (21, 512, 512)


def test_pspnet_pyramid_pooling() -> None:
    """Bins 1, 2, 3, 6 on the 90x90 conv5_x map (PyTorch's adaptive windows), each reduced to
    512 and upsampled back: 2048 + 4 x 512 channels."""
    layers = rows("pspnet_resnet101")
    assert [layers[f"ppm.{i}.bin{b}.pool"].output for i, b in enumerate((1, 2, 3, 6), 2)] == [
        (2048, 1, 1), (2048, 2, 2), (2048, 3, 3), (2048, 6, 6)]
    assert block_output("pspnet_resnet101", "ppm") == (4096, 90, 90)
    assert layers["ppm.5.bin6.conv"].params == 2048 * 512
    assert layers["interp"].output == (19, 720, 720)
