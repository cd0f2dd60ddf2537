"""The figures issue 2 pins: MobileNet v1, MobileNet v2 and SqueezeNet v1.0, exactly."""

from __future__ import annotations

import pytest

from costcalc import analyze


def shares(report) -> dict[str, tuple[float, float]]:
    return {s.bucket: (round(s.macs_pct, 2), round(s.params_pct, 2)) for s in report.breakdown}


def test_mobilenet_v1_1_0_224() -> None:
    r = analyze("mobilenet_v1", params="paper")
    assert r.totals.macs == 568_740_352
    assert r.totals.params == 4_209_088  # conv + FC weights: no biases, no BN
    # Table 2; the paper prints 1.19 % for the full conv, the arithmetic gives 1.91 %.
    assert shares(r) == {"conv 1x1": (94.86, 74.59), "depthwise": (3.06, 1.06),
                         "conv kxk": (1.91, 0.02), "fc": (0.18, 24.33)}
    assert r.layers[-1].output == (1000, 1, 1)


@pytest.mark.parametrize("width, macs, params", [
    (0.75, 325_400_448, 2_568_144), (0.5, 149_497_088, 1_319_648), (0.25, 41_030_272, 463_600)])
def test_mobilenet_v1_width_table6(width: float, macs: int, params: int) -> None:
    r = analyze("mobilenet_v1", width=width, params="paper")
    assert (r.totals.macs, r.totals.params) == (macs, params)
    # Table 6 prints the truncated millions: 325 / 149 / 41 and 2.6 / 1.3 / 0.5.
    assert int(r.totals.macs / 1e6) == {0.75: 325, 0.5: 149, 0.25: 41}[width]
    assert round(r.totals.params / 1e6, 1) == {0.75: 2.6, 0.5: 1.3, 0.25: 0.5}[width]


@pytest.mark.parametrize("res, macs, published", [
    (192, 418_121_728, 418), (160, 290_675_200, 290), (128, 186_400_768, 186)])
def test_mobilenet_v1_resolution_table7(res: int, macs: int, published: int) -> None:
    r = analyze("mobilenet_v1", resolution=res, params="paper")
    assert r.totals.macs == macs and int(macs / 1e6) == published
    assert r.totals.params == 4_209_088  # resolution does not change params


def test_mobilenet_v2_1_0_224() -> None:
    r = analyze("mobilenet_v2")
    assert r.totals.macs == 300_774_272
    assert r.totals.params == 3_504_872  # framework: BN affine and classifier bias counted
    assert (r.totals.weights, r.totals.biases, r.totals.bn) == (3_469_760, 1_000, 34_112)
    assert analyze("mobilenet_v2", params="paper").totals.params == 3_470_760


def test_mobilenet_v2_reference_code_conventions() -> None:
    # t = 1: no expansion conv, so the first block is dw 3x3 on 32 channels + 1x1 to 16.
    r = analyze("mobilenet_v2")
    first = [row for row in r.layers if row.name.startswith("bottleneck1.") and row.kind == "conv"]
    assert [row.output for row in first] == [(32, 112, 112), (16, 112, 112)]
    # Last conv stays 1280 below alpha = 1 and scales above it (make_divisible).
    last = {w: [row for row in analyze("mobilenet_v2", width=w).layers
                if row.kind == "conv"][-2].output[0] for w in (0.5, 1.0, 1.4)}
    assert last == {0.5: 1280, 1.0: 1280, 1.4: 1792}
    # slim README (1001 classes, weights + logits bias, floor of millions): 1.4 -> 582 / 6.06
    r14 = analyze("mobilenet_v2", width=1.4, params="paper", args={"classes": 1001})
    assert (r14.totals.macs, r14.totals.params) == (582_197_616, 6_062_633)


SQUEEZENET_TABLE1 = {  # layer: (output c, h, w; "#parameter before pruning")
    "conv1": ((96, 111, 111), 14_208), "maxpool1": ((96, 55, 55), 0),
    "fire2": ((128, 55, 55), 11_920), "fire3": ((128, 55, 55), 12_432),
    "fire4": ((256, 55, 55), 45_344), "maxpool4": ((256, 27, 27), 0),
    "fire5": ((256, 27, 27), 49_440), "fire6": ((384, 27, 27), 104_880),
    "fire7": ((384, 27, 27), 111_024), "fire8": ((512, 27, 27), 188_992),
    "maxpool8": ((512, 13, 13), 0), "fire9": ((512, 13, 13), 197_184),
    "conv10": ((1000, 13, 13), 513_000), "avgpool10": ((1000, 1, 1), 0),
}


def test_squeezenet_v1_0_table1() -> None:
    r = analyze("squeezenet_v1_0", params="paper")
    for name, (shape, params) in SQUEEZENET_TABLE1.items():
        rows = [row for row in r.layers if row.name == name or row.name.startswith(name + ".")]
        assert rows[-1].output == shape, name
        assert sum(row.params for row in rows) == params, name
    assert r.totals.params == 1_248_424
    assert r.input == (3, 227, 227)
