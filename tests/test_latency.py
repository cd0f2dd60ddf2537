"""Roofline latency and its least-squares calibration: closed forms, a fit that recovers known
coefficients, the deck's two worked examples, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from costcalc import analyze
from costcalc.cli import main
from costcalc.deployment import Roofline
from costcalc.errors import CostcalcError
from costcalc.latency import fit, layer_features, read_times, timed_points
from costcalc.report import _pipeline

CALIBRATION = Path(__file__).parent.parent / "specs" / "calibration"


def test_roofline_closed_form() -> None:
    """cifar10_micro conv1 at int8: 2,457,600 MACs at 1e9 MAC/s x 0.5 = 4.9152 ms; it moves
    2,400 weights + 3,072 input + 32,768 output bytes = 38,240 B at 1e8 B/s = 0.3824 ms."""
    r = analyze("cifar10_micro", dtype="int8", latency=Roofline(1e9, 1e8, 0.5))
    conv1 = {row.name: row for row in r.layers}["conv1"]
    assert conv1.compute_ms == pytest.approx(4.9152)
    assert conv1.memory_ms == pytest.approx(0.3824)
    assert conv1.latency_ms == pytest.approx(4.9152) and conv1.compute_bound == 1
    relu = {row.name: row for row in r.layers}["relu1"]
    assert relu.compute_bound == 0 and relu.latency_ms == relu.memory_ms > 0
    assert r.totals.latency_ms == pytest.approx(sum(row.latency_ms for row in r.layers))


def test_fit_recovers_known_coefficients() -> None:
    """Times made from 3 cycles per MAC and 10 per pooled element at 100 MHz are fitted back
    exactly, and a held-out layer is predicted exactly."""
    graph, shapes = _pipeline("cifar10_micro", None, None, None, None)
    work = layer_features(graph, shapes)
    names = ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3"]
    points = [(n, work[n], (3 * work[n]["macs"] + 10 * work[n]["pooled"]) / 1e5, i)
              for i, n in enumerate(names)]
    result = fit(points, ["macs", "pooled"], holdout=["conv3"])
    assert result.coefficients == pytest.approx((3e-5, 1e-4))
    assert all(abs(p.error_pct) < 1e-6 for p in result.points)


def deck_micro_fit():
    graph, shapes = _pipeline("cifar10_micro", None, None, None, None)
    points = []
    for name in ("deck_micro_216mhz.csv", "deck_micro_80mhz.csv"):
        kind, rows = read_times(CALIBRATION / name)
        points.append(timed_points(kind, rows, name, graph, shapes, 1, 8))
    return fit(points[0], ["macs", "pooled"], predict=points[1], clock_ratio=80 / 216)


def test_deck_microcontroller_fit_does_not_carry_across_clocks() -> None:
    """Fitted at 216 MHz: 2.82 cycles per MAC and 8.96 per pooled element; scaled to 80 MHz
    it predicts 46 % of the measured total: the 80 MHz part needs about twice the cycles per
    MAC (conv2: 79 ms x 216 = 17.1 M cycles, 427 ms x 80 = 34.2 M), not the same core."""
    result = deck_micro_fit()
    cycles = [c * 1e-3 * 216e6 for c in result.coefficients]
    assert [round(c, 2) for c in cycles] == [2.82, 8.96]
    assert round(result.error_pct(held_out=False), 1) == -7.1
    assert round(result.error_pct(held_out=True), 1) == -53.7


def resnet_fit(features: list[str]):
    kind, rows = read_times(CALIBRATION / "deck_resnet_batch16.csv")
    points = timed_points(kind, rows, "deck_resnet_batch16.csv", batch=16)
    return {p.name: p for p in fit(points, features,
                                   holdout=["resnet@101", "wide_resnet50_2",
                                            "preresnet200"]).points}


def test_deck_resnet_times_macs_alone_overpredict_wrn() -> None:
    """Fitted on ResNet-50 and -152 (batch 16): MACs alone predict WRN-50-2 28 % too slow
    (it has ResNet-152's MACs but runs in 93 ms, not 115); MACs plus bytes moved: -11 %.
    pre-ResNet-200, deeper and narrow like the fitted two, is predicted within 5 % by both."""
    macs_only = resnet_fit(["macs"])
    assert round(macs_only["wide_resnet50_2"].error_pct, 1) == 28.1
    assert round(macs_only["resnet@101"].error_pct, 1) == -3.5
    both = resnet_fit(["macs", "bytes"])
    assert round(both["wide_resnet50_2"].error_pct, 1) == -11.1
    assert round(both["resnet@101"].error_pct, 1) == -2.8
    assert (round(macs_only["preresnet200"].error_pct, 1),
            round(both["preresnet200"].error_pct, 1)) == (1.9, 4.6)


@pytest.mark.parametrize(("text", "message"), [
    ("name,ms\nconv1,3\n", "starts with the header"),
    ("layer,ms\nconv1,abc\n", "test.csv:2: 'conv1': the time 'abc' is not"),
    ("layer,ms\nconv1,-1\n", "is not a non-negative"),
    ("layer,ms\nconv1,1\nconv1,2\n", "test.csv:3: 'conv1' is listed twice"),
    ("layer,ms\nconv1,1,2\n", "expected 2 fields"),
    ("layer,ms\n,3\n", "test.csv:2: a row without a layer name"),
])
def test_bad_times_csv(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "test.csv"
    path.write_text(text)
    with pytest.raises(CostcalcError) as info:
        read_times(path)
    assert message in str(info.value)


def test_bad_calibration() -> None:
    graph, shapes = _pipeline("cifar10_micro", None, None, None, None)
    with pytest.raises(CostcalcError, match="did you mean 'conv2'"):
        timed_points("layer", [("conv22", 1.0, 2)], "t.csv", graph, shapes)
    points = timed_points("layer", [("conv1", 55.0, 2)], "t.csv", graph, shapes)
    with pytest.raises(CostcalcError, match="1 point.s. to fit 2 coefficient"):
        fit(points, ["macs", "pooled"])
    with pytest.raises(CostcalcError, match="did you mean 'macs'"):
        fit(points, ["mac"])
    with pytest.raises(CostcalcError, match="no point named 'conv9'"):
        fit(points, ["macs"], holdout=["conv9"])


def test_cli_latency() -> None:
    runner = CliRunner()
    r = runner.invoke(main, ["--columns", "120", "latency", "cifar10_micro", "--dtype", "int8",
                             "--peak", "1e9", "--bandwidth", "1e8", "--calibrate",
                             str(CALIBRATION / "deck_micro_216mhz.csv")],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "latency ms" in r.output and "roofline:" in r.output
    assert "calibration: time = " in r.output
    r = runner.invoke(main, ["latency", "cifar10_micro", "--hardware", "horowitz45nm"])
    assert r.exit_code == 1
    assert "horowitz45nm" in r.stderr and "no peak_macs_per_s and bandwidth" in r.stderr


# ---------------------------------------------------------------------------------------------
# Device profiles: a hardware profile with rates and no energies, and efficiencies by layer type

DEVICE = """\
version: 1
name: board
source: "test"
peak_macs_per_s: 1e9
bandwidth_bytes_per_s: 1.0e8
efficiency: {conv kxk: 0.5}
"""


def test_device_profile_rates_and_efficiency_by_type(tmp_path: Path) -> None:
    """`1e9` and `1.0e8` are numbers (YAML 1.1 alone would read them as text). Only the layers
    of the listed type run at half the peak: cifar10_micro's 5x5 convs (conv kxk) take twice
    their compute time, its FC and pools none extra; --efficiency multiplies on top."""
    path = tmp_path / "board.yaml"
    path.write_text(DEVICE)
    from costcalc.deployment import device_roofline

    device = device_roofline(str(path), None, None)
    assert (device.peak_macs_per_s, device.bandwidth_bytes_per_s) == (1e9, 1e8)
    plain = {row.name: row for row in analyze("cifar10_micro", dtype="int8",
                                              latency=Roofline(1e9, 1e8)).layers}
    typed = {row.name: row for row in analyze("cifar10_micro", dtype="int8",
                                              latency=device).layers}
    assert typed["conv1"].compute_ms == pytest.approx(2 * plain["conv1"].compute_ms)
    assert typed["conv1"].compute_ms == pytest.approx(2 * 2_457_600 / 1e9 * 1e3)
    fc = next(name for name, row in plain.items() if row.kind == "fc")
    assert plain[fc].compute_ms > 0
    assert typed[fc].compute_ms == pytest.approx(plain[fc].compute_ms)
    assert typed["conv1"].memory_ms == plain["conv1"].memory_ms
    quarter = device_roofline(str(path), None, None, efficiency=0.5)
    conv1 = {row.name: row for row in analyze("cifar10_micro", dtype="int8",
                                              latency=quarter).layers}["conv1"]
    assert conv1.compute_ms == pytest.approx(4 * plain["conv1"].compute_ms)
    r = CliRunner().invoke(main, ["latency", "cifar10_micro", "--dtype", "int8", "--hardware",
                                  str(path), "--format", "json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    import json

    roofline = json.loads(r.stdout)["conventions"]["roofline"]
    assert roofline["efficiency_by_type"] == {"conv kxk": 0.5}
    assert roofline["device"] == "board"


@pytest.mark.parametrize(("edit", "message"), [
    (("efficiency: {conv kxk: 0.5}", "efficiency: {conv 3x3: 0.5}"),
     "board.yaml:6: efficiency: unknown layer type 'conv 3x3'"),
    (("efficiency: {conv kxk: 0.5}", "efficiency: {fc: 1.5}"),
     "board.yaml:6: efficiency: fc must be in (0, 1], got 1.5"),
    (("efficiency: {conv kxk: 0.5}", "efficiency: {fc: 0}"),
     "board.yaml:6: efficiency: fc must be a positive number, got 0"),
    (("bandwidth_bytes_per_s: 1.0e8\n", ""),
     "board.yaml:1: profile: missing 'bandwidth_bytes_per_s': a profile without energies is a "
     "device for the latency model"),
    (("peak_macs_per_s: 1e9\n", "peak_macs_per_s: fast\n"),
     "board.yaml:4: peak_macs_per_s must be a positive number, got 'fast'"),
])
def test_bad_device_profiles_are_located_errors(tmp_path: Path, edit, message) -> None:
    path = tmp_path / "board.yaml"
    path.write_text(DEVICE.replace(*edit))
    r = CliRunner().invoke(main, ["latency", "cifar10_micro", "--hardware", str(path)])
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert message in r.stderr, r.stderr


def test_a_device_profile_prices_no_energy(tmp_path: Path) -> None:
    path = tmp_path / "board.yaml"
    path.write_text(DEVICE)
    out = tmp_path / "energy.json"
    for profile in (str(path), "titan_x_maxwell"):
        r = CliRunner().invoke(main, ["energy", "cifar10_micro", "--hardware", profile,
                                      "-o", str(out)])
        assert r.exit_code == 1 and "Traceback" not in r.stderr
        assert "gives a device's rates for the latency model, not energies" in r.stderr
        assert "costcalc latency --hardware" in r.stderr and not out.exists()


def test_bundled_devices_rates_follow_from_their_sources() -> None:
    """titan_x_maxwell: 3072 cores x one FP32 MAC x 1.0 GHz base clock (6.144 TFLOP/s, the
    cnn-benchmarks table's 6.14), 336.5 GB/s; stm32f746: 2 MACs (one SMLAD) and 8 bytes
    (64-bit DTCM/AXI) a cycle at 216 MHz."""
    from costcalc.hardware import load_profile

    titan = load_profile("titan_x_maxwell")
    assert (titan.peak_macs_per_s, titan.bandwidth_bytes_per_s) == (3072 * 1.0e9, 336.5e9)
    assert round(2 * titan.peak_macs_per_s / 1e12, 2) == 6.14
    mcu = load_profile("stm32f746")
    assert (mcu.peak_macs_per_s, mcu.bandwidth_bytes_per_s) == (2 * 216e6, 8 * 216e6)
    assert not titan.has_energy and titan.parts == "latency"


def test_deck_resnet_times_against_the_titan_x_roofline() -> None:
    """The deck's "time/batch 16" against the roofline at the Titan X (Maxwell) peak, nothing
    fitted: every measured time is above the bound (the roofline is a lower bound), at 63-79 %
    of the peak's time, and WRN-50-2's wide layers come closest to it."""
    from costcalc.deployment import device_roofline

    device = device_roofline("titan_x_maxwell", None, None)
    measured = {("resnet", "50"): 49, ("resnet", "101"): 82, ("resnet", "152"): 115,
                ("wide_resnet50_2", None): 93, ("preresnet200", None): 154}
    share = {}
    for (spec, variant), ms in measured.items():
        bound = analyze(spec, variant=variant, batch=16, latency=device).totals.latency_ms
        assert bound < ms
        share[spec + (variant or "")] = round(bound / ms, 3)
    assert share == {"resnet50": 0.633, "resnet101": 0.685, "resnet152": 0.719,
                     "wide_resnet50_2": 0.786, "preresnet200": 0.729}
    assert max(share, key=share.get) == "wide_resnet50_2"


def test_deck_microcontroller_against_the_stm32f746_peak() -> None:
    """The CIFAR-10 network at int8 on the 216 MHz bound: 12,298,240 MACs at 432e6 MAC/s,
    28.5 ms, compute-bound; the deck measures 178 ms, 16 % of the peak (about 2.8 cycles per
    MAC, as the calibration finds)."""
    from costcalc.deployment import device_roofline

    t = analyze("cifar10_micro", dtype="int8",
                latency=device_roofline("stm32f746", None, None)).totals
    assert t.macs == 12_298_240
    assert round(t.latency_ms, 1) == 28.5 and t.compute_ms > 100 * t.memory_ms
    assert round(t.latency_ms / 178, 2) == 0.16


def test_sweep_with_a_device_profile_equals_the_report(tmp_path: Path) -> None:
    """A device profile in a sweep gives the latency (efficiency by type included: MobileNetV2
    has depthwise and 1x1 layers) and no energy; each point equals `costcalc latency`."""
    import json

    path = tmp_path / "board.yaml"
    path.write_text(DEVICE.replace("{conv kxk: 0.5}", "{depthwise: 0.25, conv 1x1: 0.8}")
                    .replace("1.0e8", "1e12"))  # compute-bound, so the efficiencies show
    runner = CliRunner()
    r = runner.invoke(main, ["sweep", "mobilenet_v2", "--width", "1,0.5", "--resolution", "160",
                             "--metric", "latency_ms", "--hardware", str(path), "--format",
                             "json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    swept = {row["width"]: row["latency_ms"] for row in json.loads(r.stdout)["rows"]}
    from costcalc.deployment import device_roofline

    device = device_roofline(str(path), None, None)
    plain = Roofline(device.peak_macs_per_s, device.bandwidth_bytes_per_s)
    for width, ms in swept.items():
        assert ms == pytest.approx(analyze("mobilenet_v2", width=width, resolution=160,
                                           latency=device).totals.latency_ms, rel=1e-12)
        assert ms > analyze("mobilenet_v2", width=width, resolution=160,
                            latency=plain).totals.latency_ms
    r = runner.invoke(main, ["sweep", "mobilenet_v2", "--width", "1", "--resolution", "160",
                             "--metric", "energy", "--hardware", str(path)])
    assert r.exit_code == 1 and "a hardware profile with energies" in r.stderr


MICRO = ["latency", "cifar10_micro", "--dtype", "int8", "--calibrate",
         str(CALIBRATION / "deck_micro_216mhz.csv")]


def _latency(*args: str) -> str:
    r = CliRunner().invoke(main, ["--columns", "110", *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


def _calibration_rows(text: str) -> dict[str, list[str]]:
    lines = text[text.index("calibration: time"):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("point "))
    return {line.split()[0]: line.split()[1:] for line in lines[start:]
            if not line.startswith(("fitted:", "held out:"))}


def test_the_calibration_shows_each_points_work_in_the_chosen_units() -> None:
    """Each point's work of the fitted features (conv1: 2,457,600 MACs, pool1: 73,728 pooled
    elements at int8) is exact by default and compact under --units human, as the rows'
    counts; the times are ms to the microsecond either way."""
    exact = _calibration_rows(_latency(*MICRO))
    human = _calibration_rows(_latency(*MICRO, "--units", "human"))
    assert exact["point"] == human["point"] == ["macs", "pooled", "measured", "ms", "predicted",
                                                "ms", "residual", "ms", "error"]
    assert exact["conv1"] == ["2,457,600", "0", "55.000", "32.124", "-22.876", "-41.6%"]
    assert human["conv1"] == ["2.5M", "0", "55.000", "32.124", "-22.876", "-41.6%"]
    assert exact["pool1"][:2] == ["0", "73,728"] and human["pool1"][:2] == ["0", "73.7k"]
    graph, shapes = _pipeline("cifar10_micro", None, None, None, None)
    work = layer_features(graph, shapes, 1, 8)
    for name, cells in exact.items():
        if name != "point":
            assert cells[:2] == [f"{work[name]['macs']:,}", f"{work[name]['pooled']:,}"]


def test_calibration_work_columns_drop_to_fit_the_width() -> None:
    """The deck's ResNet times at batch 16 (--fit macs,bytes): at 110 columns the exact work
    leaves room for MACs only (240,119,709,696 for pre-ResNet-200), the human one for both
    (240.1G, 14.73GiB); at 40 columns neither, and every time is still there."""
    args = ["latency", "resnet", "--batch", "16", "--calibrate",
            str(CALIBRATION / "deck_resnet_batch16.csv"), "--fit", "macs,bytes", "--holdout",
            "preresnet200"]
    exact = _calibration_rows(_latency(*args))
    human = _calibration_rows(_latency(*args, "--units", "human"))
    assert exact["point"][:2] == ["macs", "measured"]
    assert exact["preresnet200"][0] == "240,119,709,696"
    assert human["point"][:3] == ["macs", "bytes", "measured"]
    assert human["preresnet200"][:2] == ["240.1G", "14.73GiB"]
    narrow = _calibration_rows(_latency(*args, "--columns", "40"))
    assert narrow["point"][0] == "measured"
    assert narrow["preresnet200"][0] == "154.000"
    assert all(len(line) <= 110 for line in _latency(*args).splitlines())


def test_latency_per_layer_table_takes_fields_and_units_with_the_calibration() -> None:
    """With a roofline and --calibrate, --fields chooses the per-layer columns and --units
    writes them, as in `report`, in the table and the Markdown; the calibration follows
    --units too."""
    args = [*MICRO, "--hardware", "stm32f746", "--fields", "out,latency_ms,macs"]
    table = _latency(*args, "--units", "human")
    heads = [[c.strip() for c in line.strip("┃").split("┃")] for line in table.splitlines()
             if line.startswith("┃")]
    assert heads[-1] == ["layer", "output", "latency ms", "MACs"]
    conv1 = next(line for line in table.splitlines() if line.startswith("│ conv1 "))
    assert [c.strip() for c in conv1.strip("│").split("│")] == ["conv1", "32x32x32", "5.689",
                                                                "2.5M"]
    assert _calibration_rows(table)["conv1"][0] == "2.5M"
    exact = _latency(*args)
    assert "│ 2,457,600 │" in exact and _calibration_rows(exact)["conv1"][0] == "2,457,600"
    markdown = _latency(*args, "--units", "human", "--format", "markdown")
    assert "| layer | output | latency ms | MACs |" in markdown
    assert "| conv1 | 32x32x32 | 5.689 | 2.5M |" in markdown
    assert _calibration_rows(markdown)["conv1"][0] == "2.5M"


@pytest.mark.parametrize("extra", [["--fields", "macs"], ["--top", "3"], ["--depth", "1"],
                                   ["--sort", "params"], ["--csv-total"],
                                   ["--fields", "in,macs", "--top", "2"]])
def test_calibration_alone_refuses_the_per_layer_tables_options(extra: list[str]) -> None:
    """--calibrate without a roofline prints no per-layer table: an option that only chooses
    its rows or columns is an error naming it (exit 1, no traceback), never ignored."""
    r = CliRunner().invoke(main, [*MICRO, *extra])
    assert r.exit_code == 1, r.output
    named = [a for a in extra if a.startswith("--")]
    assert r.stderr.startswith(f"{', '.join(named)}: the per-layer table's options"), \
        r.stderr
    assert "add --hardware PROFILE" in r.stderr and "Traceback" not in r.output + r.stderr
    assert r.stdout == ""
