"""`costcalc compare`: entries with their own settings, ratios, budgets found exactly."""

from __future__ import annotations

import json

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
