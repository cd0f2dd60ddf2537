"""Issue 3, network zoo (part A2): ShuffleNet v1/v2, MnasNet-A1, EfficientNet-B0, MixNet-S/M.

The counts our specs compute are pinned exactly, and every row of their papers files is
reproduced (match) or explained."""

from __future__ import annotations

import pytest

from costcalc import analyze
from costcalc.papers import Evaluator, load_tables
from costcalc.spec import bundled_dir

# (spec, variant, MACs, framework params = weights + biases + BN gamma/beta, weights + biases)
TOTALS = [
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
]


@pytest.mark.parametrize("spec, variant, macs, framework, weights_biases", TOTALS)
def test_totals(spec: str, variant: str | None, macs: int, framework: int,
                weights_biases: int) -> None:
    t = analyze(spec, variant=variant).totals
    assert (t.macs, t.params, t.weights + t.biases) == (macs, framework, weights_biases)


def test_paper_convention_per_spec() -> None:
    """ShuffleNet v2's '# of Weights' is weights only; the TF-trained nets count BN too."""
    assert analyze("shufflenet_v2", variant="1x", params="paper").totals.params == 2_262_580
    for spec in ("mnasnet_a1", "efficientnet_b0", "mixnet_s", "mixnet_m", "shufflenet_v1"):
        r = analyze(spec)
        assert analyze(spec, params="paper").totals.params == r.totals.params


def _features_macs(variant: str) -> int:
    r = analyze("shufflenet_v1", variant=variant)
    return sum(row.macs for row in r.layers if row.name.startswith("features."))


def test_shufflenet_v1_table1_excludes_the_fc() -> None:
    """Table 1's 143/140/137/133/137 are the conv layers only: the FC adds c_out x 1000."""
    conv_only = [_features_macs(f"1x-g{g}") for g in (1, 2, 3, 4, 8)]
    assert conv_only == [142_502_976, 140_036_512, 136_500_672, 133_251_776, 136_829_952]
    assert [round(m / 1e6) for m in conv_only] == [143, 140, 137, 133, 137]
    total = analyze("shufflenet_v1", variant="1x-g8").totals.macs
    assert total - conv_only[-1] == 1536 * 1000


def _outputs(spec: str, variant: str | None, names: tuple[str, ...]) -> list[tuple[int, ...]]:
    rows = analyze(spec, variant=variant).layers
    return [[row.output for row in rows if row.name == n or row.name.startswith(n + ".")][-1]
            for n in names]


STAGES = ("features.stage2", "features.stage3", "features.stage4")


def test_shufflenet_v1_width_rounding() -> None:
    """Stage widths are rounded to multiples of 4g: the official widths stay, 0.5x g=4 changes."""
    assert [o[0] for o in _outputs("shufflenet_v1", "1.5x-g8", STAGES)] == [576, 1152, 2304]
    assert [o[0] for o in _outputs("shufflenet_v1", "0.5x-g3", STAGES)] == [120, 240, 480]
    assert [o[0] for o in _outputs("shufflenet_v1", "0.5x-g4", STAGES)] == [144, 272, 544]


def test_shufflenet_v1_units() -> None:
    """Stage 2's first 1x1 is dense; stride-2 units concat an avg-pool shortcut (24 + 216)."""
    rows = {row.name: row for row in analyze("shufflenet_v1", variant="1x-g3").layers}
    first = "features.stage2.unit1"
    assert rows[f"{first}.gconv1"].params == 24 * 60  # not grouped
    assert rows["features.stage3.unit1.gconv1"].params == 240 * 120 // 3
    assert rows[f"{first}.gconv2"].output == (216, 28, 28)
    assert rows[f"{first}.shortcut.pool1"].output == (24, 28, 28)
    assert rows[f"{first}.concat"].output == (240, 28, 28)


def test_shufflenet_v2_torchvision_differs_in_stage2_first_unit() -> None:
    """torchvision's stride-2 branches are both out/2 wide; the official left branch keeps its
    input width. Only stage 2's first unit differs (later units have in = out/2), plus the FC
    bias."""
    def params(variant: str) -> dict[str, int]:
        r = analyze("shufflenet_v2", variant=variant)
        out: dict[str, int] = {}
        for row in r.layers:
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
    eff = {row.name: row for row in analyze("efficientnet_b0").layers}
    assert eff["stage2.se_reduce"].output == (8, 1, 1)  # 32 x 0.25
    assert eff["stage3_1.se_reduce"].output == (4, 1, 1)  # 16 x 0.25, expanded width 96
    assert eff["stage3_1.se_expand.sigmoid"].output == (96, 1, 1)
    mnas = {row.name: row for row in analyze("mnasnet_a1").layers}
    assert mnas["stage3_1.se_reduce"].output == (6, 1, 1)  # 24 x 0.25
    assert "stage2_1.se_reduce" not in mnas  # no SE in that stage


def test_mixnet_mdconv_and_grouped_pointwise() -> None:
    """k3.5.7.9.11 on 720 channels: 144 each; a1.1/p1.1 are 2-group 1x1 convs."""
    rows = {row.name: row for row in analyze("mixnet_s").layers}
    assert rows["block10.dw"].params == 144 * (9 + 25 + 49 + 81 + 121)
    assert rows["block10.dw"].macs == 144 * (9 + 25 + 49 + 81 + 121) * 7 * 7  # stride 2
    assert rows["block2.expand"].params == 16 * 96 // 2
    assert rows["block2.project"].params == 96 * 24 // 2
    assert rows["block4.project"].params == 144 * 40  # p1: dense


MY_PAPERS = ("ma2018_shufflenet_v2.yaml", "tan2019_mnasnet.yaml", "tan2019_efficientnet.yaml",
             "tan2019_mixnet.yaml", "shufflenet_v1_readme.yaml", "torchvision_a2.yaml")
ROWS = [(t.file, t.id, row) for t in load_tables([bundled_dir("papers") / f for f in MY_PAPERS])
        for row in t.rows]
EVALUATOR = Evaluator()


@pytest.mark.parametrize("file, table, row", ROWS,
                         ids=[f"{f}:{t}:{r.label}" for f, t, r in ROWS])
def test_papers_rows(file: str, table: str, row) -> None:
    result = EVALUATOR.evaluate(row)
    assert result.status in ("match", "explained"), (file, table, row.label, result.computed)


def test_torchvision_rows_are_exact() -> None:
    rows = [row for f, t, row in ROWS if f == "torchvision_a2.yaml" and t == "params"]
    assert len(rows) == 8
    assert all(EVALUATOR.evaluate(row).status == "match" and row.tolerance == 0 for row in rows)
