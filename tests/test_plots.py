"""Plots: each kind renders a valid, deterministic image whose data are the report's numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import costcalc
from costcalc import plots
from costcalc.cli import main
from costcalc.errors import CostcalcError
from costcalc.hardware import make_hardware

pytest.importorskip("matplotlib")

MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".svg": b"<?xml", ".pdf": b"%PDF"}


def assert_image(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(MAGIC[path.suffix]) and len(data) > 5_000, path


@pytest.mark.parametrize("suffix", [".png", ".svg"])  # .pdf: the sweep plot below
def test_pareto_draws_the_reports_and_is_deterministic(tmp_path: Path, suffix: str) -> None:
    reports = [costcalc.analyze(s) for s in ("mobilenet_v1", "squeezenet_v1_0",
                                             "shufflenet_v2")]
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    drawn = plots.pareto(reports, first)
    plots.pareto(reports, second)
    assert_image(first)
    assert first.read_bytes() == second.read_bytes()
    assert list(drawn.series["points"].values()) == [(r.totals.macs, r.totals.params)
                                                     for r in reports]
    # ShuffleNet v2 (fewest MACs) and SqueezeNet (fewest params) are the front; MobileNet is
    # beaten by ShuffleNet v2 on both.
    assert [label.split(" x")[0] for label in drawn.series["front"]] == [
        "SqueezeNet v1.0", "ShuffleNet v2"]


def test_layers_energy_and_sweep_plots(tmp_path: Path) -> None:
    report = costcalc.analyze("mobilenet_v2")
    drawn = plots.layers(report, tmp_path / "l.png")
    assert drawn.series["macs"] == [r.macs for r in report.layers[1:]]
    hw = make_hardware("horowitz45nm")
    energy = [costcalc.analyze(s, batch=2, hardware=hw) for s in ("squeezenet_v1_0",
                                                                  "mobilenet_v2")]
    drawn = plots.energy(energy, tmp_path / "e.svg")
    assert drawn.series["energy_dram"] == [r.totals.energy_dram / 2 for r in energy]
    result = costcalc.sweep("mobilenet_v1", [1.0, 0.5], [224, 160])
    drawn = plots.sweep_heatmap(result, "macs", [1.0, 0.5], [224, 160], tmp_path / "s.pdf")
    assert drawn.series["grid"][1][1] == costcalc.analyze("mobilenet_v1", width=0.5,
                                                          resolution=160).totals.macs
    for name in ("l.png", "e.svg", "s.pdf"):
        assert_image(tmp_path / name)


def test_plot_commands_and_errors(tmp_path: Path) -> None:
    ok = CliRunner().invoke(main, ["plot", "layers", "squeezenet_v1_0", "-o",
                                   str(tmp_path / "x.png")])
    assert ok.exit_code == 0, ok.output
    assert_image(tmp_path / "x.png")
    bad = CliRunner().invoke(main, ["plot", "layers", "squeezenet_v1_0", "-o",
                                    str(tmp_path / "x.gif")])
    assert bad.exit_code == 1 and "unknown image format '.gif'" in bad.stderr
    missing = CliRunner().invoke(main, ["plot", "pareto", "mobilenet_v1", "-o",
                                        str(tmp_path / "no" / "p.png")])
    assert missing.exit_code == 1 and "the directory does not exist" in missing.stderr
    with pytest.raises(CostcalcError, match="an energy plot needs a hardware profile"):
        plots.energy([costcalc.analyze("mobilenet_v1")], tmp_path / "e.png")
    with pytest.raises(CostcalcError, match="nothing to plot"):
        plots.pareto([], tmp_path / "p.png")
    assert not any(p.suffix == ".gif" for p in tmp_path.iterdir())


def test_pareto_against_published_top1_draws_the_papers_numbers(tmp_path: Path) -> None:
    """`--y top1`: MACs per image against the published top-1 of each configuration, the
    same figures `costcalc compare` shows (MobileNet v1 Table 6 and MobileNetV2 Table 4),
    the front the same as compare's; a configuration without a published top-1 is left out
    and named."""
    from costcalc.compare import compare

    comparison = compare(["mobilenet_v2", "mobilenet_v2:width=0.5"], ["macs"],
                         paper="howard2017_mobilenet_v1:table6")
    reports = [c.report for c in comparison.columns]
    top1 = [c.top1 for c in comparison.columns]
    assert top1 == [72.0, None, 70.6, 68.4, 63.7, 50.6]
    drawn = plots.pareto(reports, tmp_path / "a.svg", accuracy=top1)
    plots.pareto(reports, tmp_path / "b.svg", accuracy=top1)
    assert_image(tmp_path / "a.svg")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert list(drawn.series["points"].values()) == [
        (r.totals.macs, a) for r, a in zip(reports, top1, strict=True) if a is not None]
    assert drawn.series["left_out"] == ["MobileNetV2 x0.5 @224"]
    front = [comparison.columns[i].report for i in comparison.front]
    assert drawn.series["front"] == [f"{r.network} x{r.width:g} @{r.input[1]}" for r in front]
    # MobileNetV2 (300.8M MACs, 72.0) beats 1.0 and 0.75 MobileNet (568.7M / 70.6 and
    # 325.4M / 68.4); 0.5 and 0.25 have fewer MACs than it, so they stay on the front
    assert drawn.series["front"] == ["MobileNetV2 x1 @224", "MobileNetV1 x0.5 @224",
                                     "MobileNetV1 x0.25 @224"]


def test_pareto_top1_command_and_its_errors(tmp_path: Path) -> None:
    ok = CliRunner().invoke(main, ["plot", "pareto", "--y", "top1", "--paper",
                                   "howard2017_mobilenet_v1:table7", "mobilenet_v1:width=0.5",
                                   "-o", str(tmp_path / "p.png")])
    assert ok.exit_code == 0, ok.output
    assert_image(tmp_path / "p.png")
    for args, message in ((["resnet"], "no published top-1 for any of these configurations"),
                          (["--paper", "howard2017_mobilenet_v1:table2"],
                           "the table gives no published accuracy"),
                          (["--paper", "sandler2018_mobilenet_v2:tabel4"],
                           "did you mean 'sandler2018_mobilenet_v2:table4'")):
        bad = CliRunner().invoke(main, ["plot", "pareto", "--y", "top1", *args, "-o",
                                        str(tmp_path / "q.png")])
        assert bad.exit_code == 1 and message in bad.stderr, bad.output
    assert not (tmp_path / "q.png").exists()


def test_pareto_shared_settings_reach_a_spec_with_its_own(tmp_path: Path,
                                                            monkeypatch) -> None:
    """`--resolution 160` applies to every SPEC, `mobilenet_v1:width=0.5` included (it used
    to be dropped for a SPEC that carried a setting); the SPEC's own width wins."""
    seen = []
    monkeypatch.setattr(plots, "pareto", lambda reports, output, accuracy=None:
                        seen.extend((r.network, r.width, r.input) for r in reports))
    ok = CliRunner().invoke(main, ["plot", "pareto", "mobilenet_v1:width=0.5", "mobilenet_v2",
                                   "--resolution", "160", "--width", "0.75", "-o",
                                   str(tmp_path / "p.png")], catch_exceptions=False)
    assert ok.exit_code == 0, ok.output
    assert seen == [("MobileNetV1", 0.5, (3, 160, 160)), ("MobileNetV2", 0.75, (3, 160, 160))]


def test_roofline_draws_every_layer_on_the_devices_roofs(tmp_path: Path) -> None:
    from costcalc.deployment import Roofline

    device = Roofline(1e12, 25.6e9, 0.5, "test device")
    report = costcalc.analyze("mobilenet_v2", dtype="int8", latency=device)
    drawn = plots.roofline(report, tmp_path / "r.png")
    assert_image(tmp_path / "r.png")
    rows = [r for r in report.layers if r.macs > 0]
    assert drawn.series["names"] == [r.name for r in rows]
    assert drawn.series["intensity"] == [r.arithmetic_intensity for r in rows]
    assert drawn.series["attained"] == [1e3 * r.macs / r.latency_ms for r in rows]
    peak, bandwidth = 1e12 * 0.5, 25.6e9
    assert (drawn.series["peak"], drawn.series["bandwidth"]) == (peak, bandwidth)
    # the latency model's times put each layer on the roof, min(peak, bandwidth x intensity),
    # compute-bound exactly right of the ridge
    for x, y, bound in zip(drawn.series["intensity"], drawn.series["attained"],
                           drawn.series["compute_bound"], strict=True):
        assert y == pytest.approx(min(peak, bandwidth * x), rel=1e-12)
        assert bound == (x >= peak / bandwidth)
    assert 0 < sum(drawn.series["compute_bound"]) < len(rows)  # int8: both sides of the ridge


def test_energy_by_layer_stacks_each_layers_parts(tmp_path: Path) -> None:
    report = costcalc.analyze("squeezenet_v1_0", batch=4, dtype="16bit",
                              hardware=make_hardware("eyeriss"))
    drawn = plots.energy([report], tmp_path / "e.svg", by_layer=True)
    assert_image(tmp_path / "e.svg")
    rows = report.layers[1:]
    assert drawn.series["names"] == [r.name for r in rows]
    for i, r in enumerate(rows):
        parts = [drawn.series[p][i] for p in plots.ENERGY_PARTS]
        assert parts == [r.values[p] / 4 for p in plots.ENERGY_PARTS]
        assert sum(parts) == pytest.approx(r.energy / 4, rel=1e-12)
    with pytest.raises(CostcalcError, match="by layer draws one network, got 2"):
        plots.energy([report, report], tmp_path / "x.png", by_layer=True)


def test_plots_as_inline_svg_for_a_page() -> None:
    drawn = plots.layers(costcalc.analyze("cifar10_micro"), None)
    assert drawn.svg.startswith("<svg") and "cost per layer</text>" in drawn.svg
    assert "<?xml" not in drawn.svg and "dc:date" not in drawn.svg


@pytest.mark.parametrize("args, message", [
    (["roofline", "mobilenet_v2"], "plot roofline: no device given"),
    (["roofline", "mobilenet_v2", "--hardware", "horowitz45nm"],
     "profile horowitz45nm (horowitz45nm.yaml) has no peak_macs_per_s and bandwidth"),
    (["roofline", "mobilenet_v2", "--peak", "1e12"], "no device given"),
    (["roofline", "mobilenet_v2", "--peak", "1e12", "--bandwidth", "-3"],
     "bandwidth (bytes/s) must be a positive number"),
    (["roofline", "tests/no_macs.yaml", "--peak", "1e12", "--bandwidth", "1e10"],
     "nothing to plot: no layer of NoMacs has MACs"),
    (["energy", "mobilenet_v2", "alexnet", "--by-layer"],
     "an energy plot by layer draws one network, got 2"),
])
def test_bad_plot_input_exits_1_and_writes_nothing(tmp_path: Path, args: list[str],
                                                   message: str, monkeypatch) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "no_macs.yaml").write_text(
        "version: 1\nname: NoMacs\ninput: {channels: 3, size: 8}\nlayers:\n"
        "  - pool: {op: max, kernel: 2, stride: 2}\n")
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["plot", *args, "-o", "out.png"])
    assert r.exit_code == 1 and message in r.stderr, r.output
    assert "Traceback" not in r.stderr
    r = CliRunner().invoke(main, ["plot", *args, "-o", "out.gif"])
    assert r.exit_code == 1 and "unknown image format" in r.stderr, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tests"]


def test_roofline_with_a_profile_that_has_rates(tmp_path: Path) -> None:
    from costcalc.hardware import bundled_profiles

    text = bundled_profiles()[0].read_text()
    profile = tmp_path / "device.yaml"
    profile.write_text(text + "\npeak_macs_per_s: 2.0e+11\nbandwidth_bytes_per_s: 1.0e+10\n")
    out = tmp_path / "r.svg"
    r = CliRunner().invoke(main, ["plot", "roofline", "squeezenet_v1_0", "--hardware",
                                  str(profile), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert_image(out)
    assert "ridge: 20 MAC/B" in out.read_text()


def test_per_layer_bars_are_one_step_artist() -> None:
    """A run of unit-wide bars is one filled step outline (not one rectangle per layer):
    layer i spans i - 0.5 .. i + 0.5, equal neighbours share a step."""
    plt = plots._pyplot()
    fig, ax = plt.subplots()
    patch = plots.layer_bars(ax, [3, 3, 0, 5, 5, 5, 1])
    values, edges, baseline = patch.get_data()
    assert list(values) == [3, 0, 5, 1] and list(edges) == [-0.5, 1.5, 2.5, 5.5, 6.5]
    assert baseline == 0 and list(ax.patches) == [patch] and patch.get_fill()
    plt.close(fig)


def _spy_bars(monkeypatch) -> list:
    drawn: list = []
    real = plots.layer_bars

    def spy(ax, values, **style):
        drawn.append((ax, real(ax, values, **style)))
        return drawn[-1][1]

    monkeypatch.setattr(plots, "layer_bars", spy)
    return drawn


def _heights(patch) -> list[float]:
    """The per-layer tops a step artist draws, one per layer."""
    values, edges, _ = patch.get_data()
    return list(np.repeat(values, np.diff(edges).astype(int)))


def test_per_layer_plots_draw_one_artist_per_series_with_the_reports_values(
        monkeypatch) -> None:
    drawn = _spy_bars(monkeypatch)
    report = costcalc.analyze("squeezenet_v1_0", hardware=make_hardware("horowitz45nm"))
    layers = plots.layers(report, None)
    assert [_heights(p) for _, p in drawn] == [layers.series[k] for k in
                                               ("macs", "params", "activation_bytes")]
    assert all(list(ax.patches) == [p] for ax, p in drawn)  # one artist per panel
    assert layers.svg.count("fill: #1f77b4") == 3  # and one SVG path per panel
    drawn.clear()
    energy = plots.energy([report], None, by_layer=True)
    ax = drawn[0][0]
    assert len(drawn) == len(ax.patches) == len(plots.ENERGY_PARTS)
    # painted from the whole stack down: each part's top is the sum of the parts up to it
    tops = np.cumsum([energy.series[p] for p in plots.ENERGY_PARTS], axis=0)
    by_label = {p.get_label(): p for _, p in drawn}
    for part, top in zip(plots.ENERGY_PARTS, tops, strict=True):
        assert _heights(by_label[part.removeprefix("energy_")]) == pytest.approx(top)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["compute", "rf", "sram", "dram"]
    assert [tuple(h.get_facecolor()) for h in legend.legend_handles] == [
        tuple(by_label[t].get_facecolor()) for t in ("compute", "rf", "sram", "dram")]
