"""`costcalc sweep` through click's CliRunner: outputs, and bad input (exit 1, nothing
written)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from costcalc import analyze
from costcalc.cli import main


def invoke(*args: str):
    return CliRunner().invoke(main, ["--columns", "120", *args], catch_exceptions=False)


def run(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_mobilenet_v1_tables_6_and_7_are_one_grid() -> None:
    """Table 6 (width) x Table 7 (resolution) as one width x resolution grid of MACs."""
    out = run("sweep", "mobilenet_v1", "--width", "1,0.75,0.5,0.25", "--resolution",
              "224,192,160,128", "--metric", "macs")
    assert "macs by width (rows) and resolution (columns)" in out
    row = next(line for line in out.splitlines() if line.startswith("│   0.5 "))
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert cells == ["0.5", *(f"{analyze('mobilenet_v1', width=0.5, resolution=r).totals.macs:,}"
                             for r in (224, 192, 160, 128))]
    assert cells[3] == "76,524,800"  # Table 9's 0.50 MobileNet-160: 76 million mult-adds


def test_long_table_csv_and_json() -> None:
    args = ["sweep", "mobilenet_v2", "--width", "0.5:1.0:0.25", "--resolution", "128,160x128"]
    rows = list(csv.DictReader(io.StringIO(run(*args, "--format", "csv"))))
    assert [(r["width"], r["resolution"]) for r in rows] == [
        ("0.5", "128"), ("0.5", "160x128"), ("0.75", "128"), ("0.75", "160x128"),
        ("1.0", "128"), ("1.0", "160x128")]
    assert list(rows[0]) == ["width", "resolution", "macs", "params", "peak_activation_bytes"]
    last = analyze("mobilenet_v2", resolution=(160, 128)).totals
    assert (int(rows[-1]["macs"]), int(rows[-1]["params"])) == (last.macs, last.params)
    data = json.loads(run(*args, "--format", "json", "--metric", "flops"))
    assert data["configurations"] == 6 and data["rows"][-1]["flops"] == last.flops
    markdown = run(*args, "--format", "markdown", "--metric", "macs")
    assert "| width | 128 | 160x128 |" in markdown


def test_where_pareto_sample_and_sets() -> None:
    data = json.loads(run("sweep", "mobilenet_v2", "--width", "0.35:1.4:0.05", "--resolution",
                          "96:224:32", "--where", "macs < 100e6 and resolution >= 160",
                          "--format", "json"))
    assert data["rows"] and all(r["macs"] < 100e6 and r["resolution"] >= 160
                                for r in data["rows"])
    front = json.loads(run("sweep", "resnet_cifar", "--set", "n=1:9:2", "--pareto",
                           "macs,peak_activation_bytes", "--metric", "params", "--format",
                           "json"))
    assert [r["n"] for r in front["rows"]] == [1]  # the shallowest is cheapest in both
    sample = json.loads(run("sweep", "mobilenet_v1", "--width", "0.25:1.0:0.01",
                            "--resolution", "96:224:1", "--sample", "5", "--seed", "7",
                            "--format", "json"))
    assert sample["configurations"] == 5 and len(sample["rows"]) == 5


@pytest.mark.parametrize(("args", "message"), [
    (["--width", "1:0.5:0.1"], "is empty"),
    (["--width", "0.5:1:0"], "step"),
    (["--width", "0,0.5"], "widths in (0, 16]"),
    (["--resolution", "8,224", "--metric", "macs"], "1 of 2 configurations are invalid"),
    (["--metric", "macs,parms"], "did you mean 'params'"),
    (["--set", "clases=1,2"], "did you mean 'classes'"),
    (["--set", "classes"], "use NAME=VALUES"),
    (["--where", "macs < 1e6 and paramz < 1"], "did you mean 'params'"),
    (["--where", "macs * 2"], "not a true/false test"),
    (["--width", "0.25:2.0:0.05", "--resolution", "96:320:8", "--max-configs", "1000"],
     "more than the limit"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--pareto", "macs"], "two metrics"),
    (["--training", "adma", "--metric", "training_bytes"], "did you mean 'adam'"),
    (["--training", ",", "--metric", "training_bytes"], "use sgd, momentum or adam"),
    (["--metric", "training_bytes"], "training_bytes need an optimizer"),
    (["--training", "sgd,adam", "--where", "optimizer == 1"], "is a name, not a number"),
])
def test_bad_input_exits_1_and_writes_nothing(tmp_path: Path, args: list[str],
                                              message: str) -> None:
    out = tmp_path / "out.csv"
    result = invoke("sweep", "vgg16" if "8,224" in args else "mobilenet_v1", *args,
                    "-o", str(out))
    assert result.exit_code == 1, result.output
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_yes_lifts_the_limit_and_skip_keeps_the_valid() -> None:
    out = run("sweep", "mobilenet_v1", "--width", "0.5,1", "--max-configs", "1", "--yes",
              "--format", "csv")
    assert len(out.splitlines()) == 3
    skipped = run("sweep", "vgg16", "--resolution", "8,32", "--on-invalid", "skip")
    assert "1 invalid configurations skipped; first: width 1, 8x8" in skipped


def test_workers_give_the_same_output() -> None:
    args = ["sweep", "mobilenet_v2", "--width", "0.35:1.4:0.35", "--resolution", "96:224:64",
            "--chunk", "3", "--format", "csv"]
    assert run(*args, "--workers", "2") == run(*args)


def test_progress_goes_to_stderr_only() -> None:
    args = ["sweep", "mobilenet_v1", "--width", "0.5,1", "--chunk", "1", "--format", "csv"]
    quiet, shown = invoke(*args), invoke(*args, "--progress")
    assert quiet.exit_code == shown.exit_code == 0
    assert shown.stdout == quiet.stdout and quiet.stderr == ""


def test_training_memory_sweeps_as_report_gives_it() -> None:
    """`--training adam` over widths x resolutions x batches: each row is `costcalc report
    --training adam` at that point (totals.training.total_bytes); `--training sgd,adam` is an
    axis (a column), and only the optimizer state differs between its rows."""
    rows = json.loads(run("sweep", "mobilenet_v2", "--width", "1,0.5", "--resolution",
                          "224,160", "--batch", "8,32", "--training", "adam", "--metric",
                          "training_bytes", "--format", "json"))["rows"]
    assert [(r["batch"], r["width"], r["resolution"]) for r in rows] == [
        (b, w, r) for b in (8, 32) for w in (1.0, 0.5) for r in (224, 160)]
    for row in rows:
        report = json.loads(run("report", "mobilenet_v2", "--width", str(row["width"]),
                                "--resolution", str(row["resolution"]), "--batch",
                                str(row["batch"]), "--training", "adam", "--format", "json",
                                "--summary"))
        assert row["training_bytes"] == report["totals"]["training"]["total_bytes"]
    assert rows[0]["training_bytes"] == 683_014_272  # width 1, 224, batch 8
    both = list(csv.DictReader(io.StringIO(run(
        "sweep", "mobilenet_v2", "--batch", "8", "--training", "sgd,adam", "--metric",
        "training_bytes,optimizer_state_bytes,saved_activation_bytes", "--format", "csv"))))
    assert [r["optimizer"] for r in both] == ["sgd", "adam"]
    sgd, adam = ({k: int(v) for k, v in r.items() if k.endswith("bytes")} for r in both)
    assert sgd["optimizer_state_bytes"] == 0 and sgd["saved_activation_bytes"] == \
        adam["saved_activation_bytes"]
    assert adam["training_bytes"] - sgd["training_bytes"] == adam["optimizer_state_bytes"] \
        == 28_038_976  # two fp32 moments for each of MobileNetV2's 3,504,872 trainable params
