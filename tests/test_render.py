"""Renderers: every format has one, an unknown format is an error, formula text."""

from __future__ import annotations

import csv
import io
import json

import pytest

import costcalc
from costcalc.errors import CostcalcError
from costcalc.formula import evaluate_formula
from costcalc.render import RENDERERS, Format, FormulaFormat, render, render_formula

# What each format's text must look like; a new Format member without an entry fails below.
LOOKS_RIGHT = {
    Format.table: lambda text: "┏" in text and "per layer" in text,
    Format.markdown: lambda text: text.startswith("# SqueezeNet v1.0") and "\n## Totals\n" in text,
    Format.csv: lambda text: next(csv.reader(io.StringIO(text)))[:2] == ["name", "kind"],
    Format.json: lambda text: json.loads(text)["network"] == "SqueezeNet v1.0",
}


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_has_its_own_renderer(fmt: Format) -> None:
    report = costcalc.analyze("squeezenet_v1_0")
    assert fmt in RENDERERS
    text = render(report, fmt, columns=110)
    assert LOOKS_RIGHT[fmt](text), fmt
    assert render(report, fmt.value, columns=110) == text
    others = [render(report, f, columns=110) for f in Format if f is not fmt]
    assert text not in others


def test_an_unknown_format_is_an_error_not_json() -> None:
    report = costcalc.analyze("squeezenet_v1_0")
    with pytest.raises(CostcalcError, match="unknown format 'yaml'\n  fix: use one of table"):
        render(report, "yaml")
    with pytest.raises(CostcalcError, match="unknown format 'csv'"):
        render_formula(evaluate_formula("separable"), "csv")


def test_formula_formats() -> None:
    result = evaluate_formula("separable")
    text = render_formula(result, FormulaFormat.text)
    assert text.splitlines()[0].startswith("separable: ")
    assert "462,422,016" in text and text.endswith("all agree with the graph count\n")
    assert json.loads(render_formula(result, "json"))["formula"] == "separable"
