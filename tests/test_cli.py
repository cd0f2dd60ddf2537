"""The command line, through click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from costcalc.cli import main


def run(*args: str) -> str:
    result = CliRunner().invoke(main, ["--columns", "110", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_contract() -> None:
    data = json.loads(run("report", "mobilenet_v2.yaml", "--format", "json"))
    assert {"json_version", "network", "input", "batch", "width", "resolution", "conventions",
            "notes", "totals", "layers"} <= set(data)
    assert (data["json_version"], data["network"], data["input"], data["batch"], data["width"],
            data["resolution"]) == (2, "MobileNetV2", [3, 224, 224], 1, 1.0, [224, 224])
    conventions = data["conventions"]  # data: names and settings, the prose is in notes
    assert (conventions["macs"], conventions["params"], conventions["weight_dtype"],
            conventions["act_dtype"], conventions["act_bits"]) == ("mult-add", "framework",
                                                                   "fp32", "fp32", 32)
    assert data["notes"]["macs"].startswith("1 MAC = one multiply-accumulate")
    totals = data["totals"]
    assert {k: totals[k] for k in ("macs", "params")} == {"macs": 300_774_272,
                                                          "params": 3_504_872}
    for key in ("flops", "activations", "peak_activation_bytes", "weight_bytes"):
        assert isinstance(totals[key], int) and totals[key] > 0
    assert totals["weight_bytes"] == 4 * totals["params"]
    layer = data["layers"][1]
    assert {"name", "kind", "output", "macs", "params", "activations"} <= set(layer)
    assert (layer["name"], layer["kind"], layer["output"]) == ("conv1", "conv", [32, 112, 112])
    assert sum(row["macs"] for row in data["layers"]) == totals["macs"]


def test_report_options_change_the_numbers() -> None:
    base = json.loads(run("report", "mobilenet_v1", "--format", "json"))
    small = json.loads(run("report", "mobilenet_v1", "--format", "json", "--width", "0.5",
                           "--resolution", "160", "--batch", "2", "--dtype", "int8",
                           "--params", "paper"))
    assert (small["width"], small["resolution"], small["batch"]) == (0.5, [160, 160], 2)
    assert small["totals"]["macs"] == 2 * 76_524_800  # Table 9's 0.50 MobileNet-160: 76
    assert small["per_image"]["macs"] == 76_524_800
    assert small["totals"]["weight_bytes"] == small["totals"]["params"]  # int8: 1 byte
    assert small["totals"]["macs"] < base["totals"]["macs"]
    rect = json.loads(run("report", "mobilenet_v1", "--format", "json", "--resolution",
                          "224x160"))
    assert rect["input"] == [3, 224, 160] and rect["resolution"] == [224, 160]


def test_csv_and_markdown() -> None:
    text = run("report", "squeezenet_v1_0", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert "TOTAL" not in text  # data rows only: a column's sum is the total
    total = json.loads(run("report", "squeezenet_v1_0", "--format", "json"))["totals"]
    assert sum(int(r["params"]) for r in rows) == total["params"] == 1_248_424
    assert sum(int(r["macs"]) for r in rows) == total["macs"]
    assert abs(sum(float(r["macs_pct"]) for r in rows) - 100) < 1e-9
    with_total = list(csv.DictReader(io.StringIO(run("report", "squeezenet_v1_0", "--format",
                                                     "csv", "--csv-total"))))
    assert with_total[:-1] == rows and with_total[-1]["name"] == "TOTAL"
    assert int(with_total[-1]["params"]) == 1_248_424
    md = run("report", "squeezenet_v1_0", "--format", "markdown")
    assert md.startswith("# SqueezeNet v1.0") and "| fire2.squeeze | conv | 16x55x55 |" in md


def test_table_report_header_states_conventions(golden) -> None:
    text = run("report", "mobilenet_v2.yaml")
    head = text.splitlines()[:4]
    assert head[1] == "spec mobilenet_v2.yaml | args classes=1000"
    assert head[2] == ("input 3x224x224 | batch 1 | width 1 | dtype fp32 (32-bit) | "
                       "params: framework")
    assert head[3].startswith("MACs: 1 MAC = one multiply-accumulate")
    golden("mobilenet_v2_report.txt", text)


def test_squeezenet_golden(golden) -> None:
    golden("squeezenet_v1_0_paper.txt", run("report", "squeezenet_v1_0", "--params", "paper"))


def test_output_file_is_written_whole(tmp_path) -> None:
    out = tmp_path / "r.json"
    assert run("report", "mobilenet_v1", "--format", "json", "-o", str(out)) == ""
    assert json.loads(out.read_text())["totals"]["macs"] == 568_740_352


def test_list_and_validate() -> None:
    listing = run("list").splitlines()
    assert listing[0].split() == ["name", "network", "input", "MACs", "params", "variants"]
    v2 = next(line for line in listing if line.startswith("mobilenet_v2 "))
    assert v2.split()[1:] == ["MobileNetV2", "3x224x224", "300.77", "M", "3.50", "M", "5"]
    assert max(len(line) for line in listing) <= 110
    assert "Sandler et al. 2018" not in "\n".join(listing)
    narrow = run("list", "--long", "--columns", "80").splitlines()
    assert "    source: Sandler et al. 2018, arXiv 1801.04381, Table 2" in narrow
    assert max(len(line) for line in narrow if not line.startswith("    source:")) <= 80
    assert run("validate", "squeezenet_v1_0").startswith("ok: SqueezeNet v1.0")


def test_python_dash_m() -> None:
    done = subprocess.run([sys.executable, "-m", "costcalc", "validate", "mobilenet_v1"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: MobileNetV1")


def test_cli_docs_are_generated_from_the_commands() -> None:
    """docs/cli.md drifts when a command or option changes: regenerate it with
    `python -m costcalc.clidocs > docs/cli.md`."""
    from costcalc.clidocs import render_cli_docs

    path = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
    assert path.read_text(encoding="utf-8") == render_cli_docs()


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_summary_golden(golden) -> None:
    text = run("--columns", "80", "report", "resnet", "--variant", "152", "--summary")
    assert "per layer" not in text and "\ntotals" in text and "by layer type" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    golden("resnet152_summary_80.txt", text)


def test_depth_golden(golden) -> None:
    text = run("--columns", "80", "report", "resnet", "--variant", "152", "--depth", "1")
    assert "per block (depth 1)" in text and "conv2_1.conv1" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    golden("resnet152_depth1_80.txt", text)


def test_top_k_ranks_rows_with_their_share() -> None:
    data = json.loads(run("report", "resnet", "--variant", "152", "--top", "5", "--sort",
                          "params", "--format", "json"))
    layers = sorted(data["layers"], key=lambda r: -r["params"])[:5]
    rows = data["rows"]["rows"]
    assert [r["name"] for r in rows] == [r["name"] for r in layers]
    assert rows[0]["params_pct"] == 100 * rows[0]["params"] / data["totals"]["params"]
    assert (data["rows"]["by"], data["rows"]["sort"], data["rows"]["top"]) == \
        ("layer", "params", 5)
    table = run("report", "resnet", "--variant", "152", "--depth", "1", "--top", "5")
    assert "top 5 blocks by MACs (depth 1)" in table
    body = table.split("top 5 blocks")[1].splitlines()[4:9]
    assert [line.split("│")[1].strip() for line in body] == \
        ["conv3_1", "conv4_1", "conv5_1", "conv2_1", "conv2_2"]
    acts = list(csv.DictReader(io.StringIO(run("report", "mobilenet_v1", "--top", "3",
                                               "--sort", "act", "--format", "csv"))))
    assert [int(r["activations"]) for r in acts] == sorted(
        (r["activations"] for r in json.loads(run("report", "mobilenet_v1", "--format",
                                                  "json"))["layers"]), reverse=True)[:3]


def test_the_header_and_json_say_what_was_computed() -> None:
    head = run("report", "resnet_cifar", "--set", "n=18").splitlines()
    assert "spec resnet_cifar.yaml | set n=18 | args n=18 classes=10" in head
    data = json.loads(run("report", "shufflenet_v1", "--variant", "2x-g3", "--format", "json"))
    assert (data["spec"], data["variant"], data["overrides"]) == ("shufflenet_v1.yaml",
                                                                  "2x-g3", {})
    assert data["args"]["groups"] == 3
    md = run("report", "resnet", "--variant", "18", "--format", "markdown")
    assert "- spec resnet.yaml | variant 18 | args b2=2 b3=2 b4=2 b5=2 bottleneck=0" in md


@pytest.mark.parametrize("name, fmt", [("r.json", "json"), ("r.csv", "csv"),
                                       ("r.md", "markdown"), ("r.txt", "table")])
def test_output_extension_chooses_the_format(tmp_path, name: str, fmt: str) -> None:
    out = tmp_path / name
    assert run("report", "squeezenet_v1_0", "-o", str(out)) == ""
    assert out.read_text() == run("report", "squeezenet_v1_0", "--format", fmt)
    explicit = tmp_path / ("x" + name)  # --format wins over the extension
    run("report", "squeezenet_v1_0", "--format", "csv", "-o", str(explicit))
    assert explicit.read_text() == run("report", "squeezenet_v1_0", "--format", "csv")


def _closed_pipe_run(*args: str) -> subprocess.CompletedProcess:
    """Run costcalc with standard output a pipe whose reading end is already closed."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "costcalc", *args], stdout=write,
                              stderr=subprocess.PIPE, text=True, check=False)
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [("list",), ("show", "resnet", "--yaml")])
def test_a_closed_pipe_exits_0_quietly(args: tuple[str, ...]) -> None:
    done = _closed_pipe_run(*args)
    assert (done.returncode, done.stderr) == (0, "")


def test_no_arguments_print_help_and_h_works() -> None:
    bare = invoke()
    assert bare.exit_code == 0 and bare.stdout.startswith("Usage: ")
    assert "report" in bare.stdout
    assert invoke("-h").stdout == bare.stdout
    short = invoke("report", "-h")
    assert short.exit_code == 0 and "--summary" in short.stdout and "--columns" in short.stdout


def _widest(text: str, title: str) -> int:
    return max(len(line) for line in text.split(title)[1].splitlines())


@pytest.mark.parametrize("columns", ["80", "200"])
def test_the_table_follows_columns(columns: str) -> None:
    """COLUMNS (as a terminal sets it), --columns after the subcommand or before it: the same
    table, at most that wide; at 80 the optional columns go first and names stay whole."""
    from_env = invoke("report", "mobilenet_v1", env={"COLUMNS": columns})
    after = invoke("report", "mobilenet_v1", "--columns", columns)
    before = invoke("--columns", columns, "report", "mobilenet_v1")
    assert from_env.exit_code == after.exit_code == before.exit_code == 0
    assert from_env.stdout == after.stdout == before.stdout
    text = from_env.stdout
    assert max(len(line.rstrip()) for line in text.splitlines()) <= int(columns)
    header = text.split("per layer")[1].splitlines()[2]
    if columns == "80":
        assert "MACs/B" not in header and "act bytes" not in header and "MACs %" in header
        assert "separable13.conv2.relu" in text and "…" not in text
    else:
        assert "MACs/B" in header and "act bytes" in header and "kind" in header


def test_a_pipe_keeps_a_stable_width() -> None:
    plain = invoke("report", "mobilenet_v1", env={"COLUMNS": ""})
    assert plain.stdout == invoke("report", "mobilenet_v1", "--columns", "110").stdout


def test_show_prints_arguments_variants_and_the_file() -> None:
    text = run("show", "resnet")
    from costcalc.bundled import resolve

    path = resolve("resnet")
    assert f"file: {path}" in text and "input: 3x224x224" in text
    assert "  b4          6" in text and "  classes     1000" in text
    assert "  152: b2=3 b3=8 b4=36 b5=3" in text
    assert run("show", "resnet", "--yaml") == path.read_text(encoding="utf-8")
    none = run("show", "cifar10_micro")
    assert "variants: none" in none
    missing = invoke("show", "resnet50")
    assert missing.exit_code == 1 and "no bundled spec" in missing.stderr
