"""Energy and memory traffic: profiles as data, the traffic model's bounds, linearity, and
Han et al. 2015's DRAM example through the real visitors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from costcalc import analyze, parse_spec
from costcalc.bundled import bundled_specs
from costcalc.cli import main
from costcalc.energy import ENERGY_PARTS, PARTS
from costcalc.errors import CostcalcError
from costcalc.hardware import Access, load_profile, make_hardware, parse_size

SPECS = [p.stem for p in bundled_specs()]


def energy_report(spec, **hardware):
    dtype = hardware.pop("dtype", "fp32")
    batch = hardware.pop("batch", 1)
    return analyze(spec, dtype=dtype, batch=batch,
                   hardware=make_hardware(hardware.pop("profile", "horowitz45nm"), **hardware))


def test_han_fc_layer_dram_power() -> None:
    """Han et al. 2015: a layer of 10^9 fp32 weights fetched from DRAM once per frame, at 20
    frames/s, is (20 Hz)(1G)(640 pJ) = 12.8 W of DRAM power, through the real visitors."""
    text = ("version: 1\nname: HanFC\ninput: {channels: 1, size: [1000, 1000]}\n"
            "layers:\n  - fc: {out: 1000, bias: false}\n")
    r = analyze(parse_spec(text), hardware=make_hardware("horowitz45nm", weight_reuse=1))
    assert r.totals.params == 10**9
    assert r.totals.dram_weights_bytes == 4 * 10**9
    watts = 20 * r.totals.energy_dram_weights * 1e-12
    assert watts == pytest.approx(12.8, rel=1e-12)


def test_sizes() -> None:
    assert [parse_size(s) for s in ("524288", "512KiB", "0.5MiB", "512KB", "1.5KB", "2GiB")] \
        == [524288, 524288, 524288, 512000, 1500, 2 * 2**30]
    for bad in ("12XB", "-1KiB", "0", "0.1B", "KiB", "1e3"):
        with pytest.raises(CostcalcError, match="size"):
            parse_size(bad)


def test_parts_add_up_to_the_energy_exactly() -> None:
    r = energy_report("mobilenet_v2", batch=2)
    for row in r.layers:
        assert sum(row.values[f"energy_{p}"] for p in ENERGY_PARTS) == row.energy
        for level in ("dram", "sram", "rf"):
            assert row.values[f"{level}_bytes"] == sum(
                row.values[f"{level}_{operand}_bytes"] for operand in ("weights", "inputs",
                                                                       "outputs"))
    assert sum(r.totals.values[f"energy_{p}"] for p in ENERGY_PARTS) == r.totals.energy
    assert r.totals.energy == pytest.approx(sum(row.energy for row in r.layers), rel=1e-12)
    data = r.to_dict()
    assert data["totals"]["energy"]["total"] == r.totals.energy
    assert data["totals"]["traffic"]["dram_bytes"] == r.totals.dram_bytes
    assert data["per_image"]["energy"] == r.totals.energy / 2


def _scaled(profile, entry: str, factor: float):
    """The profile with one entry multiplied by `factor`."""
    if entry in profile.compute:
        table = {b: e * factor for b, e in profile.compute[entry].items()}
        return dataclasses.replace(profile, compute={**profile.compute, entry: table})
    accesses = tuple(dataclasses.replace(a, energy=a.energy * factor)
                     for a in profile.memory[entry])
    return dataclasses.replace(profile, memory={**profile.memory, entry: accesses})


@pytest.mark.parametrize("dtype", ["fp32", "int8"])
def test_energy_is_exactly_linear_in_every_profile_entry(dtype: str) -> None:
    profile = load_profile("horowitz45nm")
    for entry in [*profile.compute, *profile.memory]:
        e1, e2, e3 = (energy_report("cifar10_micro", profile=_scaled(profile, entry, k),
                                    dtype=dtype).totals.energy for k in (1, 2, 3))
        assert e3 - e1 == pytest.approx(2 * (e2 - e1), rel=1e-9, abs=1e-6), entry


@pytest.mark.parametrize("reuse, sram", [("ideal", None), ("none", None),
                                          ("model", "256KiB")])
def test_doubling_the_bits_doubles_every_memory_term(reuse: str, sram: str | None) -> None:
    """8-bit vs 16-bit ints: every byte count and every memory energy doubles (the model's
    SRAM doubled with them, so the same tensors stay on chip); arithmetic does not."""
    narrow = energy_report("mobilenet_v1", dtype="8bit", reuse=reuse, sram=sram)
    wide = energy_report("mobilenet_v1", dtype="16bit", reuse=reuse,
                         sram=None if sram is None else f"{2 * parse_size(sram)}")
    for a, b in zip(narrow.layers, wide.layers, strict=True):
        for level, operand in PARTS:
            assert b.values[f"{level}_{operand}_bytes"] == 2 * a.values[
                f"{level}_{operand}_bytes"]
            assert b.values[f"energy_{level}_{operand}"] == pytest.approx(
                2 * a.values[f"energy_{level}_{operand}"], rel=1e-12)
    assert wide.totals.energy_compute != 2 * narrow.totals.energy_compute


@pytest.mark.parametrize("name", SPECS)
@settings(max_examples=1, deadline=None)
@given(sram=st.sampled_from(["8KiB", "32KiB", "512KiB", "1MiB"]), batch=st.sampled_from([1, 3]),
       weight_reuse=st.sampled_from([None, 1, 2]))
def test_no_reuse_bounds_the_model_which_bounds_ideal_reuse(name, sram, batch, weight_reuse):
    """Per layer of every bundled spec: energy and DRAM traffic under --reuse none >= the
    model >= --reuse ideal."""
    reports = [energy_report(name, sram=sram, batch=batch, weight_reuse=weight_reuse,
                             reuse=reuse) for reuse in ("none", "model", "ideal")]
    for none, model, ideal in zip(*(r.layers for r in reports), strict=True):
        assert none.energy >= model.energy >= ideal.energy, none.name
        assert none.dram_bytes >= model.dram_bytes >= ideal.dram_bytes, none.name


def test_energy_command_prints_its_assumptions_and_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--columns", "120", "energy", "squeezenet_v1_0.yaml"])
    assert result.exit_code == 0, result.output
    head = result.stdout.splitlines()[:8]
    assert any(line.startswith("hardware: profile horowitz45nm (pJ) | SRAM 524,288 B | reuse "
                               "model | weights from DRAM once per batch") for line in head)
    assert "energy" in result.stdout and "DRAM" in result.stdout
    out = tmp_path / "e.json"
    result = CliRunner().invoke(main, ["energy", "squeezenet_v1_0", "--hardware", "eyeriss",
                                       "--dtype", "16bit", "--batch", "4", "--sram", "64KiB",
                                       "--reuse", "ideal", "--rf-per-mac", "1,1,1",
                                       "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["notes"]["energy_unit"] == "MAC"
    assert "SRAM 65,536 B | reuse ideal | weights from DRAM once | RF accesses per MAC " \
           "1+1+1" in data["notes"]["hardware"]
    assert data["conventions"]["hardware"] == {
        "profile": "eyeriss", "energy_unit": "MAC", "sram_bytes": 65_536, "weight_reuse": None,
        "reuse": "ideal", "rf_per_mac": [1, 1, 1], "fuse": True}
    assert data["per_image"]["energy"] == pytest.approx(data["totals"]["energy"]["total"] / 4)


def test_list_hardware() -> None:
    result = CliRunner().invoke(main, ["list", "--hardware"])
    assert result.exit_code == 0
    assert [line.split() for line in result.stdout.splitlines()] == [
        ["name", "prices", "unit", "peak", "MAC/s", "bandwidth", "B/s"],
        ["eyeriss", "energy", "MAC", "-", "-"], ["horowitz45nm", "energy", "pJ", "-", "-"],
        ["stm32f746", "latency", "-", "4.32e+08", "1.728e+09"],
        ["titan_x_maxwell", "latency", "-", "3.072e+12", "3.365e+11"]]
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    long = CliRunner().invoke(main, ["list", "--hardware", "--long"]).stdout
    assert "    source: Horowitz, \"Computing's energy problem" in long


PROFILE = """\
version: 1
name: mine
unit: pJ
compute:
  int_add: {8: 0.03}
  int_mult: {8: 0.2}
memory:
  dram: {energy: 640, bits: 32}
  sram: {energy: 5, bits: 32}
  rf: {energy: 1, bits: 32}
defaults: {sram: 64KiB}
"""


def test_a_profile_file_is_accepted_where_a_name_is(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(PROFILE)
    r = energy_report("squeezenet_v1_0", profile=str(path), dtype="int8")
    assert r.settings.hardware.profile.name == "mine"
    assert r.settings.hardware.profile.access("sram", 1) == Access(5.0, 32)


@pytest.mark.parametrize("edit, message", [
    (("energy: 640", "energy: -640"), "mine.yaml:8: memory: dram: energy must be a positive "
                                      "number, got -640"),
    (("energy: 5,", "energy: 0,"), "mine.yaml:9: memory: sram: energy must be a positive"),
    (("{8: 0.03}", "{8: lots}"), "mine.yaml:5: compute: int_add: 8 must be a positive number"),
    (("sram: 64KiB", "sram: 12XB"), "mine.yaml:11: defaults: sram: cannot read the size"),
    (("int_mult:", "int_mul:"), "mine.yaml:6: compute: unknown operation 'int_mul'"),
    (("unit: pJ\n", "unit: pJ\npeak_macs_per_s: fast\n"),
     "mine.yaml:4: peak_macs_per_s must be a positive number, got 'fast'"),
    (("unit: pJ\n", "unit: pJ\nbandwidth_bytes_per_s: 0\n"),
     "mine.yaml:4: bandwidth_bytes_per_s must be a positive number, got 0"),
])
def test_bad_profiles_are_located_errors(tmp_path: Path, edit, message) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(PROFILE.replace(*edit))
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["energy", "squeezenet_v1_0", "--hardware", str(path),
                                       "--dtype", "int8", "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[0].endswith(message) or message in result.stderr, \
        result.stderr
    assert not out.exists() and "Traceback" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--hardware", "eyris"], "eyris: no such file, and no bundled profile of that name\n"
                              "  fix: did you mean 'eyeriss'?"),
    (["--hardware", "eyeriss"], "the profile has no float_mult energy at 32 bits, which dtype "
                                "fp32 needs"),
    (["--sram", "12XB"], "sram: cannot read the size '12XB'"),
    (["--sram", "-1KiB"], "sram: cannot read the size '-1KiB'"),
    (["--sram", "4MiB"], "no SRAM entry holds 4,194,304 bytes"),
    (["--weight-reuse", "0"], "--weight-reuse must be a whole number of images of at least 1"),
    (["--rf-per-mac", "3"], "3 register-file accesses per MAC cannot be split as 1:1:2"),
    (["--rf-per-mac", "1,x,2"], "cannot read register-file accesses per MAC"),
])
def test_bad_energy_options_exit_1(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["energy", "squeezenet_v1_0", *args, "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert not out.exists() and "Traceback" not in result.stderr


def test_a_width_the_profile_cannot_price_names_the_entry_and_the_dtype(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(PROFILE)  # 8-bit entries only, and no scaling rule
    with pytest.raises(CostcalcError, match=r"mine.yaml: the profile has no int_mult energy at "
                                            r"16 bits, which dtype 16bit needs \(it lists "
                                            r"8-bit\)"):
        energy_report("squeezenet_v1_0", profile=str(path), dtype="16bit")
    scaled = energy_report("squeezenet_v1_0", dtype="int4")  # horowitz45nm states its rules
    assert scaled.settings.hardware.profile.operation("int", "mult", 4) == 0.2 / 4


def test_unreadable_profile(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00")
    result = CliRunner().invoke(main, ["energy", "squeezenet_v1_0", "--hardware", str(path)])
    assert result.exit_code == 1 and "cannot read" in result.stderr


def test_energy_table_golden(golden) -> None:
    result = CliRunner().invoke(main, ["--columns", "120", "energy", "squeezenet_v1_0",
                                       "--batch", "2"])
    assert result.exit_code == 0, result.output
    golden("energy_squeezenet_v1_0_batch2.txt", result.stdout)
