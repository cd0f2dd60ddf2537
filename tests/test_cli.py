"""The command line, through click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from costcalc.cli import main


def run(*args: str) -> str:
    result = CliRunner().invoke(main, ["--columns", "110", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_contract() -> None:
    data = json.loads(run("report", "mobilenet_v2.yaml", "--format", "json"))
    assert {"network", "input", "batch", "width", "resolution", "conventions", "totals",
            "layers"} <= set(data)
    assert (data["network"], data["input"], data["batch"], data["width"],
            data["resolution"]) == ("MobileNetV2", [3, 224, 224], 1, 1.0, 224)
    assert {"macs", "params", "dtype"} <= set(data["conventions"])
    assert data["conventions"]["params"] == "framework" and data["conventions"]["dtype"] == "fp32"
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
    assert (small["width"], small["resolution"], small["batch"]) == (0.5, 160, 2)
    assert small["totals"]["macs"] == 2 * 76_524_800  # Table 9's 0.50 MobileNet-160: 76
    assert small["per_image"]["macs"] == 76_524_800
    assert small["totals"]["weight_bytes"] == small["totals"]["params"]  # int8: 1 byte
    assert small["totals"]["macs"] < base["totals"]["macs"]
    rect = json.loads(run("report", "mobilenet_v1", "--format", "json", "--resolution",
                          "224x160"))
    assert rect["input"] == [3, 224, 160] and rect["resolution"] == [224, 160]


def test_csv_and_markdown() -> None:
    rows = list(csv.DictReader(io.StringIO(run("report", "squeezenet_v1_0", "--format", "csv"))))
    assert rows[-1]["name"] == "TOTAL" and int(rows[-1]["params"]) == 1_248_424
    assert sum(int(r["macs"]) for r in rows[:-1]) == int(rows[-1]["macs"])
    md = run("report", "squeezenet_v1_0", "--format", "markdown")
    assert md.startswith("# SqueezeNet v1.0") and "| fire2.squeeze | conv 1x1 |" in md


def test_table_report_header_states_conventions(golden) -> None:
    text = run("report", "mobilenet_v2.yaml")
    head = text.splitlines()[:4]
    assert head[1] == ("input 3x224x224 | batch 1 | width 1 | dtype fp32 (32-bit) | "
                       "params: framework")
    assert head[2].startswith("MACs: 1 MAC = one multiply-accumulate")
    golden("mobilenet_v2_report.txt", text)


def test_squeezenet_golden(golden) -> None:
    golden("squeezenet_v1_0_paper.txt", run("report", "squeezenet_v1_0", "--params", "paper"))


def test_output_file_is_written_whole(tmp_path) -> None:
    out = tmp_path / "r.json"
    assert run("report", "mobilenet_v1", "--format", "json", "-o", str(out)) == ""
    assert json.loads(out.read_text())["totals"]["macs"] == 568_740_352


def test_list_and_validate() -> None:
    listing = run("list")
    assert "mobilenet_v2" in listing and "Sandler et al. 2018" in listing
    assert run("validate", "squeezenet_v1_0").startswith("ok: SqueezeNet v1.0")


def test_python_dash_m() -> None:
    import subprocess
    import sys

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
