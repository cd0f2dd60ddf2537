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


def _cells(text: str) -> list[list[str]]:
    """Every body and heading row of every box table in `text`, cell by cell (stripped)."""
    return [[c.strip() for c in line.strip()[1:-1].split(line.strip()[0])]
            for line in text.splitlines() if line.strip()[:1] in ("│", "┃")]


SWEEPS = {  # a complete width x resolution grid, a long table, a long table with an argument
    "grid": ("mobilenet_v1", dict(alphas=[1, 0.75, 0.5, 0.25], resolutions=[224, 192, 160, 128],
                                  keys=["macs"])),
    "long": ("mobilenet_v2", dict(alphas=[1, 0.5], resolutions=[224, 160],
                                  keys=["macs", "params", "peak_activation_bytes",
                                        "activations"])),
    "args": ("resnet_cifar", dict(alphas=[1, 0.5], resolutions=[32], keys=["macs", "params"],
                                  arg_axes={"n": [1, 5, 9]})),
}


@pytest.fixture(scope="module")
def sweeps() -> dict:
    from costcalc.sweep import sweep

    return {name: sweep(spec, **kw) for name, (spec, kw) in SWEEPS.items()}


@pytest.mark.parametrize("name", list(SWEEPS))
def test_a_sweep_table_keeps_every_digit_at_every_width(sweeps: dict, name: str) -> None:
    """From 30 to 120 columns every value is printed whole, once, exactly as computed (and
    every heading whole): a table too wide is split into stacked tables under a note, and one
    still too wide says so, as the report's rows do (wider than asked, nothing cut)."""
    from costcalc.render import render_sweep, sweep_columns

    result = sweeps[name]
    keys = SWEEPS[name][1]["keys"]
    expected = sorted(f"{int(v):,}" for k in keys for v in result.totals[k])
    axes = 1 if name == "grid" else len(sweep_columns(result))
    headings = {"width", "224", "192", "160", "128"} if name == "grid" else \
        {*sweep_columns(result), *keys}
    whole = render_sweep(result, keys, "table", 500)
    assert "split into" not in whole and "asked" not in whole
    notes = set()
    for width in range(30, 121):
        text = render_sweep(result, keys, "table", width)
        rows = _cells(text)
        assert sorted(c for row in rows if row[0] not in headings for c in row[axes:]) \
            == expected, width
        assert {c for row in rows if row[0] in headings for c in row} == headings, width
        tables = text.count("┏")
        lines = text.splitlines()
        drawn = max(len(line) for line in lines if line[:1] in ("┏", "┃", "│", "└"))
        split = f"split into {tables} tables" if tables > 1 else ""
        if drawn > width:
            note = f"{split}{': ' if split else ''}needs {drawn} columns to show every digit " \
                f"({width} asked)"
        elif tables > 1:
            note = f"{split} to fit {width} columns"
            # split only when needed: the whole table is wider than asked
            assert max(len(line) for line in whole.splitlines()) > width
            assert max(len(line) for line in lines) <= width, width
        else:
            note = ""
            boxes = [line for line in whole.splitlines() if line[:1] in ("┏", "┃", "│", "└")]
            assert [line for line in lines if line[:1] in ("┏", "┃", "│", "└")] == boxes
        # the note, on the line before the first table (wrapped at the width, as the header is)
        before = "\n".join(lines[:next(i for i, line in enumerate(lines) if "┏" in line)])
        if note and len(note) <= max(width, drawn):  # one line, no wider than the tables
            assert note in lines, (width, note)
        flat = " ".join(before.split())
        assert (note in flat and flat.index(note) > flat.index("multiply-accumulate") if note
                else "split into" not in flat and "asked" not in flat), (width, note, before)
        notes.add(note.split(" to fit")[0])
    # each sweep goes through several layouts over the range
    assert len(notes) >= 3, notes


def test_the_grid_at_60_columns_is_two_even_tables(sweeps: dict) -> None:
    """costcalc --columns 60 sweep mobilenet_v1 --width 1,0.75,0.5,0.25 --resolution
    224,192,160,128 --metric macs: 224 and 192, then 160 and 128 (not 3 + 1), every digit."""
    from costcalc.render import render_sweep

    text = render_sweep(sweeps["grid"], ["macs"], "table", 60)
    heads = [row for row in _cells(text) if row[0] == "width"]
    assert heads == [["width", "224", "192"], ["width", "160", "128"]]
    assert "│     1 │ 568,740,352 │ 418,121,728 │" in text
    assert "│   0.5 │  76,524,800 │  49,160,192 │" in text  # Table 9's 0.50 MobileNet-160
    assert max(len(line) for line in text.splitlines()) <= 60


def _totals_labels(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.rstrip() == "totals"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("└"))
    return [line.split("│")[1].strip() for line in lines[start + 4:end]]


def test_no_totals_label_wraps_at_80_columns_for_any_bundled_spec() -> None:
    """Every bundled spec and each of its variants at 80 columns: the totals table has one
    line per row, each with its whole label (a wrapped label would add a line holding only a
    label's end, with empty number cells)."""
    from costcalc.bundled import bundled_specs
    from costcalc.render import View, totals_rows
    from costcalc.spec import load_spec

    checked = 0
    for path in bundled_specs():
        for variant in (None, *load_spec(path.stem).variants):
            report = costcalc.analyze(path.stem, variant=variant)
            text = render(report, "table", 80, View(summary=True))
            labels = [label.strip() for label, _, _ in totals_rows(report, 80)]
            assert _totals_labels(text) == labels, (path.stem, variant)
            checked += 1
    assert checked > 100
    # and at 40 columns the labels still wrap (nothing is cut), so the check above can fail
    report = costcalc.analyze("resnet", variant="152")
    narrow = _totals_labels(render(report, "table", 40, View(summary=True)))
    assert len(narrow) > len(totals_rows(report))


def test_energy_totals_fit_80_columns_by_showing_groups_one_row_per_part() -> None:
    """An energy report's joined groups ("DRAM weights / inputs / outputs": three 13-digit
    values) made the totals 110 columns wide and wrapped every label at 80. Too wide, the
    groups show one row per part, the widest first, until the table fits: every bundled spec
    at 80 columns has one line per row, no line over 80, and each part's value equals the
    joined one; at 200 columns the groups stay joined."""
    from costcalc.bundled import bundled_specs
    from costcalc.render import View, totals_rows

    for path in bundled_specs():
        report = costcalc.analyze(path.stem, hardware="horowitz45nm")
        text = render(report, "table", 80, View(summary=True))
        rows = totals_rows(report, 80)
        assert _totals_labels(text) == [label.strip() for label, _, _ in rows], path.stem
        totals = text[text.index("totals"):text.index("by layer type")]
        assert max(len(line) for line in totals.splitlines()) <= 80, path.stem
    wide = dict((label.strip(), exact) for label, exact, _ in totals_rows(report, 200))
    narrow = dict((label.strip(), exact) for label, exact, _ in totals_rows(report, 80))
    assert wide["DRAM weights / inputs / outputs"] == " / ".join(
        narrow[f"DRAM {part} energy"] for part in ("weights", "inputs", "outputs"))
    assert "DRAM weights energy" not in wide


def test_a_comparison_keeps_every_digit_at_every_width() -> None:
    """costcalc compare at 40 to 120 columns: every cell of every configuration's column
    whole and once (rich used to cut '3,857,973,248' to '3,857…' at 40); the metric labels
    wrap first, then the configurations stack under a note."""
    from costcalc.compare import compare
    from costcalc.render import compare_rows, render_compare

    comparison = compare(["mobilenet_v1", "resnet", "squeezenet_v1_0"])
    names, rows = compare_rows(comparison)
    expected = sorted(c for row in rows for c in row[1:])
    layouts = set()
    for width in range(40, 121):
        text = render_compare(comparison, "table", width)
        cells = _cells(text)
        heads = [row for row in cells if row[0] == "metric"]
        assert sorted(c for row in heads for c in row[1:]) == sorted(names[1:]), width
        body = [row for row in cells if row[0] != "metric"]
        assert sorted(c for row in body for c in row[1:] if c) == expected, width
        boxes = [line for line in text.splitlines() if line[:1] in ("┏", "┃", "│", "└")]
        assert max(map(len, boxes)) <= width, width
        split = len(heads) > 1
        assert (f"split into {len(heads)} tables to fit {width} columns" in text) == split
        layouts.add((len(heads), any(not any(row[1:]) for row in body)))  # labels wrapped
    assert {(1, False), (1, True), (2, True)} <= layouts, layouts
