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
    Format.html: lambda text: text.startswith("<!DOCTYPE html>") and "<h1" in text,
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


def test_shorten_middle_keeps_both_ends() -> None:
    from costcalc.render import shorten_middle

    assert shorten_middle("separable13.conv2.relu", 16) == "separab…nv2.relu"
    assert len(shorten_middle("separable13.conv2.relu", 16)) == 16
    assert shorten_middle("conv1", 16) == "conv1"


def test_fit_drops_optional_columns_then_shortens_names_only_when_unambiguous() -> None:
    from costcalc.render import _table_width, _widths, fit_columns

    columns = ("layer", "kind", "MACs")
    rows = [("mixed_5b.branch_pool.conv", "conv", "1,000"),
            ("mixed_5b.branch_3x3.conv", "conv", "2,000")]
    wide = _table_width(_widths(columns, rows))
    assert fit_columns(columns, rows, wide, [1]) == (columns, rows)  # it fits: unchanged
    cols, cells = fit_columns(columns, rows, wide - 1, [1])  # the optional column goes first
    assert cols == ("layer", "MACs") and [c[0] for c in cells] == [r[0] for r in rows]
    cols, cells = fit_columns(columns, rows, 30, [1])  # then the names lose their middles
    assert _table_width(_widths(cols, cells)) <= 30
    assert [c[0] for c in cells] == ["mixed_5b…pool.conv", "mixed_5b…_3x3.conv"]
    same_ends = [("stage_alpha.1.convolution", "1"), ("stage_alpha.2.convolution", "2")]
    cols, cells = fit_columns(("layer", "MACs"), same_ends, 24, [])  # would collide: whole
    assert cells == same_ends


def test_a_view_checks_its_options() -> None:
    from costcalc.render import View

    with pytest.raises(CostcalcError, match="unknown sort key 'bytes'"):
        View(sort="bytes")
    with pytest.raises(CostcalcError, match="--top must be at least 1"):
        View(top=0)


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_has_the_same_sections_in_the_same_order(fmt: Format) -> None:
    from costcalc.render import View

    report = costcalc.analyze("squeezenet_v1_0")
    full = render(report, fmt, 110)
    summary = render(report, fmt, 110, View(summary=True))
    top = render(report, fmt, 110, View(top=3, depth=1))
    if fmt is Format.table:
        order = [full.index(t) for t in ("\ntotals", "\nby layer type", "\nper layer")]
        assert order == sorted(order)
        assert "per layer" not in summary and "by layer type" in summary
        assert "top 3 blocks by MACs (depth 1)" in top and "per layer" not in top
    elif fmt is Format.markdown:
        order = [full.index(t) for t in ("## Totals", "## By layer type", "## Per layer")]
        assert order == sorted(order)
        assert "## Per layer" not in summary and "## By layer type" in summary
        assert "## Top 3 blocks by MACs (depth 1)" in top
    elif fmt is Format.html:  # tests/test_html.py checks the page itself
        order = [full.index(t) for t in ("<h2>Totals", "<h2>By layer type", "<h2>Per layer")]
        assert order == sorted(order)
        assert "<h2>Per layer" not in summary and "<h2>By layer type" in summary
        assert "<h2>Top 3 blocks by MACs (depth 1)" in top
    elif fmt is Format.csv:
        assert next(csv.reader(io.StringIO(summary))) == ["metric", "value"]
        rows = list(csv.DictReader(io.StringIO(top)))
        assert len(rows) == 3 and "layers" in rows[0] and "macs_pct" in rows[0]
    else:
        data, extra = json.loads(full), json.loads(top)
        assert set(data) <= set(extra) and set(data) == set(json.loads(summary))
        assert extra["rows"]["by"] == "block" and len(extra["rows"]["rows"]) == 3


@pytest.mark.parametrize(("name", "settings"), [
    ("squeezenet_v1_0", {}), ("mobilenet_v2", {"hardware": "horowitz45nm"}),
    ("cifar10_micro", {"size": {"density": 0.5}, "transfer": {"pdu": 116}})])
def test_every_declared_field_renders_in_every_format(name: str, settings: dict) -> None:
    """Each name --fields takes (FIELDS, the report's per-layer metrics, pct) gives the same
    columns in the table and Markdown, its CSV columns, for layers and blocks."""
    from costcalc.render import FIELDS, View, available_fields

    report = costcalc.analyze(name, **settings)
    names = available_fields(report)
    assert names[:len(FIELDS)] == [f.name for f in FIELDS] and names[-1] == "pct"
    for field in names:
        for depth in (None, 1):
            view = View(fields=(field, "macs"), depth=depth)
            table = render(report, Format.table, 400, view)
            md = render(report, Format.markdown, 400, view).splitlines()
            head = [c.strip() for c in md[-len(report.layers if depth is None else
                                                report.by_depth(1)) - 2].strip("|").split("|")]
            assert all(h in table for h in head), (field, depth)
            rows = list(csv.reader(io.StringIO(render(report, Format.csv, 400, view))))
            assert rows[0][0] == "name" and len({len(r) for r in rows}) == 1, (field, depth)
