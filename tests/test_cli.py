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


# ---------------------------------------------------------------------------------------------
# Choosing columns (--fields), units, dtypes (issue 14, items 4 and 11)

ALL_FIELDS = "in,out,kernel,stride,groups,macs,flops,params,act,pct"


def _section(text: str, title: str) -> list[str]:
    """The lines of the table titled `title`: header row first, then the data rows."""
    lines = text.split("\n" + title, 1)[1].splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("└"))
    return [line for line in lines[2:end] if line.startswith(("┃", "│"))]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip("┃│").split(line[0])]


@pytest.mark.parametrize("columns", ["80", "200"])
def test_fields_choose_the_columns_at_any_width(columns: str) -> None:
    """The columns --fields names, in its order, all kept at 80 and at 200 columns (the table
    is then wider than 80 rather than dropping what was asked for); names stay whole."""
    text = invoke("report", "mobilenet_v2", "--fields", ALL_FIELDS, "--top", "2",
                  env={"COLUMNS": columns}).stdout
    header, conv2, expand = _section(text, "top 2 layers by MACs")
    assert _cells(header) == ["layer", "input", "output", "kernel", "stride", "groups", "MACs",
                              "FLOPs", "params", "act", "MACs %", "FLOPs %", "params %",
                              "act %"]
    assert _cells(conv2) == ["conv2", "320x7x7", "1280x7x7", "1x1", "1x1", "1", "20,070,400",
                             "40,140,800", "409,600", "62,720", "6.67", "6.40", "11.69", "0.32"]
    assert _cells(expand)[:6] == ["bottleneck2.conv1", "16x112x112", "96x112x112", "1x1",
                                  "1x1", "1"]
    small = invoke("report", "mobilenet_v2", "--fields", "kernel,groups,macs,pct",
                   env={"COLUMNS": columns}).stdout
    rows = {_cells(r)[0]: _cells(r) for r in _section(small, "per layer")[1:]}
    assert rows["bottleneck2.conv2"] == ["bottleneck2.conv2", "3x3", "96", "2,709,504", "0.90"]
    assert rows["pool1"][1:3] == ["7x7", ""]  # global pooling: the whole map, no groups
    assert max(len(line) for line in small.split("per layer")[1].splitlines()) <= int(columns)


@pytest.mark.parametrize("columns", ["80", "200"])
def test_the_kind_column_is_the_op_kind(columns: str) -> None:
    """kind is the op (JSON's kind), the bucket is the breakdown's (JSON's bucket); at 80 the
    default table drops the kind column first, so it is asked for there."""
    text = invoke("report", "mobilenet_v1", env={"COLUMNS": columns}).stdout
    if columns == "200":
        rows = {_cells(r)[0]: _cells(r) for r in _section(text, "per layer")[1:]}
        assert {r[1] for r in rows.values()} == {"input", "conv", "batchnorm", "act", "pool",
                                                 "fc", "softmax"}
        assert rows["separable1.conv1"][1] == rows["separable1.conv2"][1] == "conv"
    breakdown = [_cells(r)[0] for r in _section(text, "by layer type")[1:]]
    assert breakdown == ["conv 1x1", "depthwise", "conv kxk", "fc", "other"]  # the buckets
    bucket = invoke("report", "mobilenet_v1", "--fields", "kind,bucket,macs",
                    env={"COLUMNS": columns}).stdout
    rows = {_cells(r)[0]: _cells(r) for r in _section(bucket, "per layer")[1:]}
    assert rows["separable1.conv1"][1:3] == ["conv", "depthwise"]
    assert "(MobileNetV2 measure)" not in text and "Table 2" not in text


def test_units_human_and_the_same_columns_in_markdown_and_csv() -> None:
    args = ("report", "mobilenet_v2", "--fields", "in,kernel,macs,act_bytes,pct", "--top", "2")
    table = run(*args, "--units", "human")
    # pct: the shares of the metrics whose total is their sum (not act bytes: rounded once)
    assert _cells(_section(table, "top 2 layers by MACs")[1]) == [
        "conv2", "320x7x7", "1x1", "20.1M", "245.0KiB", "6.67"]
    md = run(*args, "--units", "human", "--format", "markdown").splitlines()
    head = md.index("| layer | input | kernel | MACs | act bytes | MACs % |")
    assert md[head + 2] == "| conv2 | 320x7x7 | 1x1 | 20.1M | 245.0KiB | 6.67 |"
    rows = list(csv.DictReader(io.StringIO(run(*args, "--units", "human", "--format", "csv"))))
    assert list(rows[0]) == ["name", "in", "kernel", "macs", "activation_bytes", "macs_pct"]
    assert (rows[0]["in"], rows[0]["macs"]) == ("320x7x7", "20070400")  # CSV stays exact
    out = list(csv.DictReader(io.StringIO(run("report", "mobilenet_v2", "--fields",
                                              "out,groups", "--format", "csv"))))
    assert list(out[0]) == ["name", "c", "h", "w", "groups"] and out[0]["groups"] == ""
    data = json.loads(run(*args, "--format", "json"))  # JSON keeps everything
    assert {"inputs", "kernel", "stride", "groups", "flops"} <= set(data["layers"][1])
    top = data["rows"]["rows"][0]
    assert (top["name"], top["inputs"], top["kernel"], top["groups"]) == (
        "conv2", [[320, 7, 7]], [1, 1], 1) and "flops" in top


def test_fields_with_depth_keep_what_a_block_has() -> None:
    text = run("report", "mobilenet_v2", "--depth", "1", "--top", "2", "--fields",
               "kind,kernel,out,layers,macs,pct")
    header, first, _ = _section(text, "top 2 blocks by MACs (depth 1)")
    assert _cells(header) == ["block", "output", "layers", "MACs", "MACs %"]
    assert _cells(first) == ["bottleneck2", "24x56x56", "8", "29,202,432", "9.71"]


def test_bad_fields_and_a_list_given_to_columns() -> None:
    bad = invoke("report", "mobilenet_v2", "--fields", "in,kernal")
    assert bad.exit_code == 1 and bad.stderr.startswith(
        "--fields: unknown column 'kernal'\n  fix: did you mean 'kernel'? the columns: kind, "
        "bucket, in, out,")
    empty = invoke("report", "mobilenet_v2", "--fields", ",")
    assert empty.exit_code == 1 and "no column named" in empty.stderr
    listed = invoke("report", "mobilenet_v2", "--columns", "in,out")
    assert listed.exit_code == 2
    assert "'in,out' is not a width: --columns N sets the table width; choose the columns " \
           "with --fields in,out" in listed.stderr
    assert invoke("report", "mobilenet_v2", "--columns", "80", "--fields", "macs").exit_code == 0
    units = invoke("report", "mobilenet_v2", "--units", "si")
    assert units.exit_code == 2


def test_weight_and_activation_dtypes_on_the_command_line() -> None:
    text = run("report", "mobilenet_v1", "--weight-dtype", "int8", "--act-dtype", "fp16",
               "--summary")
    assert text.splitlines()[2].startswith(
        "input 3x224x224 | batch 1 | width 1 | weights int8 (8-bit), activations fp16 (16-bit)")
    data = json.loads(run("report", "mobilenet_v1", "--dtype", "fp16", "--weight-dtype", "int8",
                          "--format", "json"))
    c, t = data["conventions"], data["totals"]
    assert (c["weight_dtype"], c["weight_bits"], c["act_dtype"], c["act_bits"],
            c["compute_dtype"]) == ("int8", 8, "fp16", 16, "fp16")
    assert t["weight_bytes"] == t["params"] and t["activation_bytes"] == 2 * t["activations"]
    fp8 = json.loads(run("report", "mobilenet_v1", "--dtype", "e4m3", "--format", "json"))
    assert fp8["totals"]["activation_bytes"] == fp8["totals"]["activations"]
    bad = invoke("report", "mobilenet_v1", "--act-dtype", "fp7")
    assert bad.exit_code == 1 and "unknown dtype 'fp7'" in bad.stderr


def test_sweep_takes_weight_and_activation_dtypes() -> None:
    rows = list(csv.DictReader(io.StringIO(run(
        "sweep", "mobilenet_v1", "--width", "0.5,1", "--resolution", "224", "--weight-dtype",
        "int8", "--act-dtype", "fp16", "--metric", "weight_bytes,activation_bytes",
        "--format", "csv"))))
    for row in rows:
        t = json.loads(run("report", "mobilenet_v1", "--width", row["width"], "--weight-dtype",
                           "int8", "--act-dtype", "fp16", "--format", "json"))["totals"]
        assert (int(row["weight_bytes"]), int(row["activation_bytes"])) == (
            t["weight_bytes"], t["activation_bytes"])
    assert [int(r["weight_bytes"]) for r in rows][1] == 4_231_976  # 1 byte per param
