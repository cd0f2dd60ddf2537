"""Width and resolution sweeps: one vectorized pass equals one `analyze` per configuration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costcalc import analyze, load_spec
from costcalc.bundled import bundled_specs
from costcalc.errors import CostcalcError
from costcalc.sweep import sweep

SPECS = [p.stem for p in bundled_specs()]
ALPHAS = st.lists(st.integers(10, 200).map(lambda k: k / 100), min_size=1, max_size=3,
                  unique=True)


def assert_sweep_equals_reports(name: str, alphas: list[float], sizes: list[int]) -> int:
    """The sweep equals one report per configuration; where a configuration is invalid (say,
    channels that groups do not divide at that width) the sweep fails as its report does."""
    try:
        reports = [analyze(name, width=a, resolution=s) for a in alphas for s in sizes]
    except CostcalcError:
        with pytest.raises(CostcalcError):
            sweep(name, alphas, sizes)
        return 0
    result = sweep(name, alphas, sizes)
    assert len(result) == len(reports)
    for i, report in enumerate(reports):
        alpha, size = float(result.alpha[i]), int(result.height[i])
        assert (report.width, report.input[1]) == (alpha, size)
        for metric in report.metrics:
            expected = getattr(report.totals, metric.key)
            got = result.totals[metric.key][i]
            if isinstance(expected, int):
                assert int(got) == expected, (name, alpha, size, metric.key)
            else:
                assert float(got) == pytest.approx(expected, rel=1e-12), (name, metric.key)
    return result.structures


@pytest.mark.parametrize("name", SPECS)
@settings(max_examples=1, deadline=None)
@given(alphas=ALPHAS, grow=st.booleans())
def test_vectorized_width_and_resolution_equal_scalar(name: str, alphas: list[float],
                                                      grow: bool) -> None:
    """Every bundled spec, random widths, its own resolution and 32 pixels more: every
    declared metric of the vectorized sweep equals scalar `analyze`, exactly."""
    base = load_spec(name).size[0]
    assert_sweep_equals_reports(name, alphas, [base, base + 32] if grow else [base])


def test_configurations_with_different_structures_are_grouped() -> None:
    """MobileNetV3-Small's first bottleneck drops its expansion conv where make_divisible(
    exp * alpha, 8) equals the block's input channels, which depends on alpha: the sweep shapes
    each structure separately and still equals every scalar report."""
    alphas = [0.35, 0.5, 0.75, 1.0, 1.25]
    structures = {tuple(r.name for r in analyze("mobilenet_v3_small", width=a).layers)
                  for a in alphas}
    assert len(structures) > 1, "the example must really change structure with alpha"
    assert assert_sweep_equals_reports("mobilenet_v3_small", alphas, [224]) == len(structures)


def test_sweep_refuses_counts_beyond_int64() -> None:
    with pytest.raises(CostcalcError, match="too large for a vectorized sweep"):
        sweep("vgg16", [16.0], [4096], batch=1000)


def test_sweep_rejects_bad_settings() -> None:
    with pytest.raises(CostcalcError, match="widths in"):
        sweep("mobilenet_v1", [0.0])
    with pytest.raises(CostcalcError, match="positive resolutions"):
        sweep("mobilenet_v1", [1.0], [0])


def test_sweep_totals_are_int64_arrays() -> None:
    result = sweep("mobilenet_v1", [0.25, 0.5, 0.75, 1.0], [128, 160, 192, 224])
    assert result.totals["macs"].dtype == np.int64
    # MobileNet v1 Table 6 and 7 at alpha = 0.5, 160: 77 M mult-adds (the papers files check
    # the published figures; here the grid order is pinned: alphas outer, resolutions inner).
    index = [0.25, 0.5, 0.75, 1.0].index(0.5) * 4 + [128, 160, 192, 224].index(160)
    assert result.totals["macs"][index] == analyze("mobilenet_v1", width=0.5,
                                                   resolution=160).totals.macs
