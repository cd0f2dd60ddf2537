"""`costcalc compare`: entries with their own settings, ratios, budgets found exactly."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from costcalc import analyze
from costcalc.cli import main
from costcalc.compare import compare, parse_entry
from costcalc.errors import CostcalcError


def run(*args: str):
    return CliRunner().invoke(main, ["--columns", "120", *args], catch_exceptions=False)


def test_entries_carry_their_settings() -> None:
    entry = parse_entry("shufflenet_v1:groups=8,width=0.5,resolution=160x128,variant=1x-g3")
    assert (entry.spec, entry.width, entry.resolution, entry.variant, dict(entry.args)) == (
        "shufflenet_v1", 0.5, (160, 128), "1x-g3", {"groups": 8})
    with pytest.raises(CostcalcError, match="not key=value"):
        parse_entry("mobilenet_v2:width")


def test_columns_and_ratios_against_the_first() -> None:
    result = run("compare", "mobilenet_v1", "mobilenet_v2:width=0.75,resolution=160",
                 "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = [r.split(",") for r in result.stdout.splitlines()]
    at = [r[0] for r in rows].index("macs")
    small = analyze("mobilenet_v2", width=0.75, resolution=160).totals.macs
    assert rows[at][1:] == [str(analyze("mobilenet_v1").totals.macs), str(small)]
    assert rows[at + 1] == ["  / first", "1.000",
                            f"{small / analyze('mobilenet_v1').totals.macs:.3f}"]


@pytest.mark.parametrize("vary", ["width", "resolution"])
def test_budget_is_the_largest_candidate_within_it(vary: str) -> None:
    """The fitted value is within the budget and the next candidate is not."""
    (column,) = compare(["mobilenet_v2"], budget={"macs": 300e6}, vary=vary).columns
    assert column.report is not None and column.report.totals.macs <= 300e6
    if vary == "width":
        assert column.fitted == 0.98
        assert analyze("mobilenet_v2", width=0.99).totals.macs > 300e6
    else:
        assert column.fitted == 220
        assert analyze("mobilenet_v2", resolution=221).totals.macs > 300e6


def test_nothing_within_the_budget_and_bad_budgets() -> None:
    data = json.loads(run("compare", "vgg16", "--budget", "macs=1", "--format",
                          "json").stdout)
    assert data["columns"][0]["fitted"] is None
    for bad, message in (("mac=1", "did you mean 'macs'"), ("macs=lots", "METRIC=NUMBER")):
        result = run("compare", "vgg16", "--budget", bad)
        assert result.exit_code == 1 and message in result.stderr


def test_budget_search_narrows_when_the_largest_candidate_is_invalid() -> None:
    """ResNet-50's spec is invalid at width 4 (the first block's shortcut becomes an identity
    between 256 and 1024 channels): the search drops the upper candidates and still finds the
    largest valid width within the budget."""
    with pytest.raises(CostcalcError):
        analyze("resnet", width=4.0)
    (column,) = compare(["resnet"], budget={"macs": 3e9}).columns
    assert column.fitted == 0.68 and column.report.totals.macs <= 3e9
    assert analyze("resnet", width=0.69).totals.macs > 3e9


# ---------------------------------------------------------------------------------------------
# Published accuracy: data from specs/papers, matched to a configuration exactly

def accuracy_rows(*args: str) -> dict[str, list[str]]:
    result = run("compare", *args, "--metric", "macs", "--format", "csv")
    assert result.exit_code == 0, result.output
    return {row[0]: row[1:] for row in (r.split(",") for r in result.stdout.splitlines())}


def test_mobilenet_v1_widths_show_table_6_top1_and_all_are_on_the_front() -> None:
    rows = accuracy_rows("mobilenet_v1", "mobilenet_v1:width=0.75", "mobilenet_v1:width=0.5",
                         "mobilenet_v1:width=0.25", "mobilenet_v1:width=0.6")
    # MobileNet v1 Table 6 (Howard et al. 2017, as the lecture deck prints it): 70.6 to 50.6
    assert rows["top-1 %"] == ["70.6", "68.4", "63.7", "50.6", "—"]
    assert rows["accuracy front"] == ["yes", "yes", "yes", "yes", "—"]
    assert rows["top-1 source"][2:4] == ["howard2017_mobilenet_v1:table6"] * 2
    # a width no paper trained has no accuracy and is not on the front
    data = json.loads(run("compare", "mobilenet_v1:width=0.6", "mobilenet_v1:resolution=160",
                          "--format", "json").stdout)
    first, second = data["columns"]
    assert (first["top1"], first["on_accuracy_front"], first["published"]) == (None, None, [])
    assert second["top1"] == 67.2 and second["published"][0]["table"] == \
        "howard2017_mobilenet_v1:table7"
    assert data["accuracy_front"] == ["mobilenet_v1:resolution=160"]


def test_every_table_printing_a_configuration_is_listed_first_in_data_order() -> None:
    """A column lists every row publishing its configuration (papers files by name, tables
    and rows in file order) and shows the first; where figures differ the others remain."""
    comparison = compare(["squeezenet_v1_0", "shufflenet_v1:variant=1x-g8"], keys=["macs"])
    squeezenet, shufflenet = ([(p.ref, p.row.label, p.accuracy.text()) for p in c.published]
                              for c in comparison.columns)
    assert squeezenet == [
        ("howard2017_mobilenet_v1:table9", "Squeezenet, Million Parameters", "57.5"),
        ("iandola2016_squeezenet:table3", "Vanilla SqueezeNet", "57.5"),
        ("zhang2018_shufflenet_v1:table6", "SqueezeNet", "57.5")]  # 42.5 % error
    # the official README's retrained model (32.0 % error) and the paper's (32.4 %)
    assert [text for *_, text in shufflenet] == ["68.0", "67.6", "67.6"]
    assert [c.top1 for c in comparison.columns] == [57.5, 68.0]


def test_table_8_front_mobilenet_beats_googlenet() -> None:
    """MobileNet v1 Table 8: 1.0 MobileNet-224 (569M, 70.6) dominates GoogLeNet (1550M, 69.8);
    VGG 16 (71.5) is the most accurate, so on the front despite its MACs."""
    comparison = compare([], keys=["macs"], paper="howard2017_mobilenet_v1:table8")
    assert [c.entry.text for c in comparison.columns] == ["mobilenet_v1", "googlenet", "vgg16"]
    assert [c.top1 for c in comparison.columns] == [70.6, 69.8, 71.5]
    assert comparison.front == (0, 2)
    # MobileNetV2 (300M MACs, 72.0, Sandler et al. Table 4) beats MobileNet v1 on both
    both = compare(["mobilenet_v2"], keys=["macs"], paper="howard2017_mobilenet_v1:table8")
    assert [c.top1 for c in both.columns] == [72.0, 70.6, 69.8, 71.5]
    assert both.front == (0,)
    # GoogLeNet: ShuffleNet's Table 6 prints another figure (31.3 % error): the footnote says so
    table = run("compare", "googlenet", "--metric", "macs").stdout
    assert "zhang2018_shufflenet_v1:table6 prints 68.7 (error 31.3)" in table


def test_a_variant_that_only_sets_a_width_is_that_width() -> None:
    (by_width, by_variant) = compare(["mnasnet_a1:width=0.75", "mnasnet_a1:variant=0.75-224"],
                                     keys=["macs"]).columns
    assert by_width.top1 == by_variant.top1 == 73.3 and by_width.top5 == 91.3


def test_paper_tables_list_their_configurations_in_every_format() -> None:
    rows = accuracy_rows("--paper", "zhang2018_shufflenet_v1:table5")
    # ShuffleNet Table 5 prints classification error: accuracy = 100 - error
    assert rows["top-1 %"] == ["70.6", "73.7", "68.4", "71.5", "63.7", "67.6", "50.6", "58.4"]
    assert rows["accuracy front"] == ["no", "yes", "no", "yes", "no", "yes", "no", "yes"]
    markdown = run("compare", "--paper", "howard2017_mobilenet_v1:table9", "--format",
                   "markdown").stdout
    assert "| top-1 % | 60.2 [1] | 57.5 [2] | 57.2 [3] |" in markdown
    assert "| accuracy front | yes | no | no |" in markdown  # 76M MACs and the best top-1
    assert "- [2] squeezenet_v1_0: 57.5, Howard et al. 2017, Table 9" in markdown
    table = run("compare", "--paper", "howard2017_mobilenet_v1:table9").stdout
    assert "60.2 [1]" in table and "accuracy front" in table and "not computed" in table


def test_budget_columns_match_accuracy_at_the_fitted_width() -> None:
    """Under a budget the configuration is the fitted one: 0.75 (325.4M MACs) has Table 6's
    68.4, 0.72 (299.8M) has no published accuracy."""
    (column,) = compare(["mobilenet_v1"], keys=["macs"], budget={"macs": 300e6}).columns
    assert column.fitted == 0.72 and column.top1 is None
    (column,) = compare(["mobilenet_v1"], keys=["macs"], budget={"macs": 330e6}).columns
    assert column.fitted == 0.75 and column.top1 == 68.4


@pytest.mark.parametrize("paper, message", [
    ("howard2017_mobilenet_v1:tabel8", "did you mean 'howard2017_mobilenet_v1:table8'"),
    ("howard2017_mobilenet_v1", "name one table, FILE:TABLE"),
    ("howard2017_mobilenet_v1:table2", "the table gives no published accuracy"),
])
def test_bad_paper_tables_are_errors(paper: str, message: str) -> None:
    result = run("compare", "--paper", paper)
    assert result.exit_code == 1 and message in result.stderr, result.output
    assert "Traceback" not in result.output


def papers_file(tmp_path, rows: str):
    from costcalc.papers import load_tables

    path = tmp_path / "claims.yaml"
    path.write_text("paper: test\ntables:\n  t:\n    title: T\n    rows:\n" + rows)
    return load_tables([path])


V1 = "spec: mobilenet_v1, metric: totals.macs, scale: 1.0e6, published: 569"


@pytest.mark.parametrize("rows, message", [
    (f"      - {{{V1}, accuracy: {{top1: 170.6}}}}\n", "must be a percentage (0 to 100)"),
    (f"      - {{{V1}, accuracy: {{top1: 70.6, top1_err: 29.4}}}}\n", "both 'top1' and"),
    (f"      - {{{V1}, accuracy: {{top_1: 70.6}}}}\n", "did you mean 'top1'"),
    (f"      - {{{V1}, accuracy: 70.6}}\n", "'accuracy' must be a mapping"),
    ("      - {formula: separable, metric: graph.std_macs, published: 462, scale: 1.0e6,\n"
     "         accuracy: {top1: 1}}\n", "belongs to a network's row"),
    (f"      - {{{V1}, accuracy: {{top1: 70.6}}}}\n"
     f"      - {{{V1}, settings: {{width: 1.0, params: paper}}, accuracy: {{top1: 70.7}}}}\n",
     "line 6 gives 70.6"),
])
def test_bad_accuracy_data_is_a_located_error(tmp_path, rows: str, message: str) -> None:
    from costcalc.errors import SpecError

    with pytest.raises(SpecError, match=re.escape(message)):
        papers_file(tmp_path, rows)


def test_accuracy_is_carried_never_audited(tmp_path) -> None:
    """A row's status is its cost's: a wrong accuracy cannot fail it, and a mismatching
    cost is still a mismatch with an accuracy beside it."""
    from costcalc.papers import Evaluator

    (table,) = papers_file(tmp_path, f"""\
      - {{{V1}, accuracy: {{top1_err: 29.4, top5: 89.9}}}}
      - {{spec: mobilenet_v1, settings: {{width: 0.5}}, metric: totals.macs, scale: 1.0e6,
         published: 600, accuracy: {{top1: 63.7}}}}
""")
    good, bad = (Evaluator().evaluate(row) for row in table.rows)
    assert (good.status, bad.status) == ("match", "mismatch")
    assert good.row.accuracy.value("top1") == 70.6 and good.row.accuracy.value("top5") == 89.9
    assert good.row.accuracy.describe() == "70.6 (error 29.4) / top-5 89.9"
    comparison = compare(["mobilenet_v1", "mobilenet_v1:width=0.5"], keys=["macs"],
                         tables=[table])
    assert [c.top1 for c in comparison.columns] == [70.6, 63.7] and comparison.front == (0, 1)


def test_tables_show_accuracy_beside_the_cost() -> None:
    from costcalc.tables import generate

    documents = generate().documents
    table6 = documents["howard2017_mobilenet_v1.table6.md"]
    assert "| published top-1 % |" in table6 and "| match | 50.6 |" in table6
    assert "not computed: the status audits the cost figure only" in table6
    assert "published top-1" not in documents["howard2017_mobilenet_v1.table2.md"]
    assert "| 73.7 (error 26.3) |" in documents["zhang2018_shufflenet_v1.table5.md"]


def test_a_spec_file_of_the_same_name_is_not_the_papers_network(tmp_path) -> None:
    """Accuracy belongs to the bundled spec the papers rows name: a copy given by path is
    another network as far as the data knows (it may have been edited)."""
    from costcalc.bundled import resolve

    copy = tmp_path / "mobilenet_v1.yaml"
    copy.write_text(resolve("mobilenet_v1").read_text())
    bundled, by_path = compare(["mobilenet_v1", str(copy)], keys=["macs"]).columns
    assert bundled.report.totals.macs == by_path.report.totals.macs
    assert (bundled.top1, by_path.top1) == (70.6, None)


def test_mobilenet_v3_table_3_front_is_the_v3_models() -> None:
    """MobileNetV3 Table 3: every V3 model beats MnasNet-A1 and MobileNetV2 on MACs and
    published top-1 together (the paper's claim), so only the V3s are on the front."""
    comparison = compare([], keys=["macs"], paper="howard2019_mobilenet_v3:table3")
    assert [c.top1 for c in comparison.columns] == [75.2, 73.3, 67.4, 65.4, 75.2, 72.0, 60.8]
    assert [comparison.columns[i].entry.text for i in comparison.front] == [
        "mobilenet_v3_large", "mobilenet_v3_large:width=0.75", "mobilenet_v3_small",
        "mobilenet_v3_small:width=0.75"]


# ---------------------------------------------------------------------------------------------
# Settings shared by every spec (report's options) and each spec's own, which win

def compare_json(*args: str) -> dict:
    result = run("compare", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


KEYS = "macs,params,weight_bytes,activation_bytes"


def totals(**settings) -> dict[str, int]:
    values = analyze("mobilenet_v1", **settings).totals.values
    return {k: values[k] for k in KEYS.split(",")}


@pytest.mark.parametrize("option, settings, changed", [
    (["--params", "paper"], {"params": "paper"}, {"params", "weight_bytes"}),  # bytes of those
    (["--weight-dtype", "int8"], {"weight_dtype": "int8"}, {"weight_bytes"}),
    (["--act-dtype", "fp16"], {"act_dtype": "fp16"}, {"activation_bytes"}),
    (["--dtype", "int8"], {"dtype": "int8"}, {"weight_bytes", "activation_bytes"}),
    (["--batch", "4"], {"batch": 4}, {"macs", "activation_bytes"}),
    (["--width", "0.5"], {"width": 0.5}, set(KEYS.split(","))),
    (["--resolution", "160"], {"resolution": 160}, {"macs", "activation_bytes"}),
])
def test_each_shared_option_changes_the_figures_it_should(option: list[str], settings: dict,
                                                          changed: set[str]) -> None:
    """Every column is `costcalc report` at the options: each option changes what it counts
    and nothing else (int8 weights: weight bytes, not MACs; batch 4: MACs x 4, params not)."""
    data = compare_json("mobilenet_v1", "mobilenet_v1:width=0.25", *option, "--metric", KEYS)
    base = totals()
    for column, width in zip(data["columns"], (None, 0.25), strict=True):
        at = {} if width is None else {"width": width}
        assert column["totals"] == totals(**{**settings, **at}), (option, column["entry"])
    got = data["columns"][0]["totals"]
    assert {k for k in base if got[k] != base[k]} == changed
    if option == ["--batch", "4"]:
        assert got["macs"] == 4 * base["macs"] == 2_274_961_408
    if option == ["--weight-dtype", "int8"]:
        assert got["weight_bytes"] == base["params"] == 4_231_976  # one byte a param


def test_configuration_options_change_the_published_accuracy_counting_ones_do_not() -> None:
    """--width and --resolution choose the configuration, so the top-1 and the front follow
    (MobileNet v1 Tables 6 and 7); --batch and the dtypes only count, and the front compares
    MACs per image."""
    assert [c["top1"] for c in compare_json("mobilenet_v1", "--width", "0.5")["columns"]] == \
        [63.7]
    assert [c["top1"] for c in compare_json("mobilenet_v1", "--resolution", "160")["columns"]] \
        == [67.2]
    data = compare_json("mobilenet_v1", "mobilenet_v2", "--batch", "8", "--dtype", "int8")
    assert [c["top1"] for c in data["columns"]] == [70.6, 72.0]
    assert data["accuracy_front"] == ["mobilenet_v2"]
    # a batch per column: MobileNetV2 at batch 16 has more MACs in total, fewer per image
    mixed = compare_json("mobilenet_v2:batch=16", "mobilenet_v1", "--metric", "macs")
    assert mixed["columns"][0]["totals"]["macs"] > mixed["columns"][1]["totals"]["macs"]
    assert mixed["accuracy_front"] == ["mobilenet_v2:batch=16"]
    table = run("compare", "mobilenet_v1", "--width", "0.5", "--batch", "4").stdout
    assert "63.7 [1]" in table and "howard2017_mobilenet_v1:table6" in table


def test_a_specs_own_settings_win_key_by_key() -> None:
    data = compare_json("mobilenet_v1", "mobilenet_v1:width=0.75,batch=2,dtype=fp16",
                        "--width", "0.5", "--batch", "4", "--weight-dtype", "int8",
                        "--metric", KEYS)
    first, second = (c["totals"] for c in data["columns"])
    assert first == totals(width=0.5, batch=4, weight_dtype="int8")
    # its width, batch and dtype; the shared --weight-dtype, which it does not set, still holds
    assert second == totals(width=0.75, batch=2, dtype="fp16", weight_dtype="int8")
    assert [c["top1"] for c in data["columns"]] == [63.7, 68.4]
    # spec arguments merge name by name: --set groups=3 holds where the entry gives none
    both = compare(["shufflenet_v1", "shufflenet_v1:groups=8"], keys=["params"],
                   args={"groups": 3, "classes": 10})
    assert [c.report.overrides for c in both.columns] == [{"groups": 3, "classes": 10},
                                                          {"groups": 8, "classes": 10}]
    assert [c.report.totals.params for c in both.columns] == [
        analyze("shufflenet_v1", args={"groups": g, "classes": 10}).totals.params
        for g in (3, 8)]


def test_paper_columns_keep_their_configuration_and_take_the_counting_settings() -> None:
    data = compare_json("--paper", "howard2017_mobilenet_v1:table6", "--width", "0.3",
                        "--batch", "2", "--weight-dtype", "int8", "--metric", KEYS)
    assert [c["top1"] for c in data["columns"]] == [70.6, 68.4, 63.7, 50.6]
    for column, width in zip(data["columns"], (1.0, 0.75, 0.5, 0.25), strict=True):
        assert column["totals"] == totals(width=width, batch=2, weight_dtype="int8")


def test_budgets_search_at_the_shared_settings() -> None:
    """The budget bounds the totals as shown: at batch 2 twice MobileNetV2's 300M MACs fit
    the width that 300M fits at batch 1; int8 weights fit an 8 MB weight budget at width
    1.62, fp32 weights at 0.52."""
    (batch1,) = compare(["mobilenet_v2"], budget={"macs": 300e6}).columns
    (batch2,) = compare(["mobilenet_v2"], budget={"macs": 600e6}, batch=2).columns
    assert batch1.fitted == batch2.fitted == 0.98 and batch2.report.batch == 2
    limit = 8e6
    fp32, int8 = (compare(["mobilenet_v2"], ["weight_bytes"], {"weight_bytes": limit},
                          weight_dtype=w).columns[0] for w in ("fp32", "int8"))
    assert (fp32.fitted, int8.fitted) == (0.52, 1.62)
    assert int8.report.totals.weight_bytes <= limit < analyze(
        "mobilenet_v2", width=round(int8.fitted + 0.01, 2), weight_dtype="int8"
    ).totals.weight_bytes


@pytest.mark.parametrize("args, message", [
    (["mobilenet_v2", "--weight-dtype", "int7"], "--weight-dtype: unknown dtype 'int7'"),
    (["mobilenet_v2", "--act-dtype", "fp64"], "--act-dtype: unknown dtype 'fp64'"),
    (["mobilenet_v2", "mobilenet_v1:dtype=foo"], "'mobilenet_v1:dtype=foo': dtype: unknown "
                                                 "dtype 'foo'"),
    (["mobilenet_v1:weight_dtype=int3x"], "'mobilenet_v1:weight_dtype=int3x': weight_dtype: "
                                          "unknown dtype"),
    (["mobilenet_v1:params=papr"], "did you mean 'paper'"),
    (["mobilenet_v1:batch=0"], "'mobilenet_v1:batch=0': batch: batch must be a whole number"),
    (["mobilenet_v1:batch=1.5"], "must be whole numbers"),
    (["mobilenet_v1", "--set", "groups=3"], "--set: mobilenet_v1.yaml ('mobilenet_v1') has no "
                                             "argument 'groups'"),
    (["mobilenet_v1:widht=0.5"], "'widht' is neither a setting nor an argument of "
                                 "mobilenet_v1.yaml\n  fix: did you mean 'width'?"),
    (["mobilenet_v1", "--variant", "nope"], "unknown variant 'nope'"),
])
def test_bad_settings_are_located_errors(tmp_path, args: list[str], message: str) -> None:
    out = tmp_path / "out.json"
    result = run("compare", *args, "-o", str(out))
    assert result.exit_code == 1 and message in result.stderr, result.output
    assert "Traceback" not in result.output and not out.exists()


def test_click_typed_options_are_usage_errors_as_in_report() -> None:
    for option in (["--batch", "0"], ["--params", "papr"], ["--width", "-1"],
                   ["--resolution", "abc"]):
        result = run("compare", "mobilenet_v1", *option)
        report = run("report", "mobilenet_v1", *option)
        assert result.exit_code == report.exit_code == 2, option
        assert f"Invalid value for '{option[0]}'" in result.stderr


def test_the_table_and_json_say_what_each_column_was_computed_at() -> None:
    """A shared --batch and --weight-dtype, and a SPEC's own dtype, are rows of the table and
    `settings` of each JSON column (else a batch-4 column's MACs would read as per image)."""
    runner = CliRunner()
    args = ["compare", "mobilenet_v1", "mobilenet_v2:dtype=fp16", "--batch", "4",
            "--weight-dtype", "int8"]
    table = runner.invoke(main, ["--columns", "120", *args], catch_exceptions=False).output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in table.splitlines() if line.startswith("│")}
    assert rows["batch"] == ["4", "4"]
    assert rows["dtype (weights / acts)"] == ["int8 / fp32", "int8 / fp16"]
    assert rows["input"] == ["3x224x224", "3x224x224"]
    assert rows["params convention"] == ["framework", "framework"]
    data = json.loads(runner.invoke(main, [*args, "--format", "json"]).stdout)
    assert [c["settings"] for c in data["columns"]] == [
        {"input": [3, 224, 224], "batch": 4, "weight_dtype": "int8", "act_dtype": "fp32",
         "params": "framework"},
        {"input": [3, 224, 224], "batch": 4, "weight_dtype": "int8", "act_dtype": "fp16",
         "params": "framework"}]
