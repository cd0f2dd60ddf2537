"""Renderers: a Report to a rich table, Markdown, CSV or JSON text. No computation here."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .errors import CostcalcError
from .report import BUCKETS, METRICS, Metric, Report

if TYPE_CHECKING:  # formula is imported on use (the CLI's `formula` command)
    from .compare import Comparison
    from .formula import Formula, FormulaResult
    from .sweep import SweepResult


class Format(str, Enum):
    """`costcalc report --format`."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


class FormulaFormat(str, Enum):
    """`costcalc formula --format`."""

    text = "text"
    json = "json"


def si(value: float, unit: str = "") -> str:
    """Decimal SI suffix with two decimals: 300774272 -> '300.77 M'; past 10^15, scientific
    notation (computed in Decimal: an int of any size has no float overflow)."""
    if abs(value) >= 10**15:
        return f"{Decimal(value):.2e} {unit}".rstrip()
    for factor, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if abs(value) >= factor:
            return f"{Decimal(value) / factor:.2f} {suffix}{unit}"
    return f"{value:g} {unit}".rstrip()


def binary(nbytes: int) -> str:
    """Bytes with a binary suffix: 4993696 -> '4.76 MiB' (exact Decimal division)."""
    for factor, suffix in ((2**50, "PiB"), (2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"),
                           (2**10, "KiB")):
        if nbytes >= factor:
            return f"{Decimal(nbytes) / factor:,.2f} {suffix}"
    return f"{nbytes} B"


def header_lines(report: Report) -> list[str]:
    c, h, w = report.input
    conv = report.conventions()
    hardware = [f"{key.replace('_', ' ')}: {conv[key]}"
                for key in ("hardware", "storage", "split", "roofline") if key in conv]
    return [
        f"{report.network}  ({report.source})" if report.source else report.network,
        f"input {c}x{h}x{w} | batch {report.batch} | width {report.width:g} | dtype "
        f"{report.dtype} ({report.bits}-bit) | params: {report.params_convention}",
        f"MACs: {conv['macs']}",
        f"params ({report.params_convention}): {conv['params_rule']}",
        *(f"{m.label}: {m.convention}" for m in report.metrics if m.convention),
        *hardware,
    ]


def _exact(value: Any, fmt: str) -> str:
    if fmt == "percent":
        return f"{value:.2f} %"
    if fmt == "ratio":
        return f"{value:.3f}"
    if fmt == "energy":
        return f"{value:,.1f}"
    return f"{value:,}"


def energy_unit(value: float, unit: str) -> str:
    """pJ with the largest fitting prefix (12.8e12 pJ -> '12.80 J'); other units with SI."""
    if unit != "pJ":
        return si(value, f" {unit}").replace("  ", " ")
    for factor, name in ((1e12, "J"), (1e9, "mJ"), (1e6, "uJ"), (1e3, "nJ")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {name}"
    return f"{value:.2f} pJ"


def _approx(value: Any, m: Metric, report: Report) -> str:
    if m.fmt == "count":
        return si(value)
    if m.fmt == "bytes":
        return binary(value)
    if m.fmt == "ratio":
        return f"{value:.1f} {m.unit}"
    if m.fmt == "energy" and report.settings.hardware is not None:
        total = report.totals.values["energy"]
        share = f" ({100 * value / total:.1f} %)" if m.key != "energy" and total else ""
        return energy_unit(value, report.settings.hardware.profile.unit) + share
    return ""


def totals_rows(report: Report) -> list[tuple[str, str, str]]:
    """One row per metric shown in the totals, in METRICS order; a group shares one row."""
    values = report.totals.values
    rows: list[tuple[str, list[str], str]] = []  # label, exact value(s), approx
    groups: dict[str, list[str]] = {}
    for m in report.metrics:
        if "totals" not in m.shows:
            continue
        exact = _exact(values[m.key], m.fmt)
        if m.group in groups:
            groups[m.group].append(exact)
        elif m.group:
            groups[m.group] = [exact]
            rows.append((m.group, groups[m.group], ""))
        else:
            rows.append((m.label.format(params=report.params_convention), [exact],
                         _approx(values[m.key], m, report)))
        if "per_image_row" in m.shows and report.batch > 1:
            per_image = report.per_image()[m.key]
            rows.append((f"  {m.label} per image", [_exact(per_image, m.fmt)],
                         _approx(per_image, m, report)))
    return [(label, " / ".join(exact), approx) for label, exact, approx in rows]


def _shown(report: Report, where: str) -> list[Metric]:
    """Per-layer metrics shown in `where`; the columns show the report's view only."""
    return [m for m in report.metrics if where in m.shows and m.layer is not None
            and (where != "columns" or m.family == report.view)]


def layer_columns(report: Report) -> tuple[str, ...]:
    return ("layer", "kind", "output", *(m.column for m in _shown(report, "columns")))


def _column_cell(value: Any, m: Metric, report: Report) -> str:
    """A per-layer cell: exact counts; energy in its unit with a prefix, shares to 0.1 %."""
    if m.fmt == "energy" and report.settings.hardware is not None:
        return energy_unit(value, report.settings.hardware.profile.unit)
    if m.fmt == "percent" and m.family == "energy":
        return f"{value:.1f} %"
    return _exact(value, m.fmt)


def layer_cells(report: Report) -> list[tuple[str, ...]]:
    shown = _shown(report, "columns")
    return [(r.name, r.kind if r.bucket == "other" else r.bucket, "x".join(map(str, r.output)),
             *(_column_cell(r.values[m.key], m, report) for m in shown)) for r in report.layers]


def breakdown_cells(report: Report) -> list[tuple[str, ...]]:
    return [(s.bucket, _exact(s.macs, "count"), _exact(s.macs_pct, "percent"),
             _exact(s.params, "count"), _exact(s.params_pct, "percent"))
            for s in report.breakdown]


BREAKDOWN_COLUMNS = ("layer type", "MACs", "MACs share", "params", "params share")


_NAME_WIDTH = 40  # wider layer names wrap; numbers never do


def _widths(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    widths = [cell_len(c) for c in columns]
    for row in rows:
        widths = [max(w, cell_len(cell)) for w, cell in zip(widths, row, strict=True)]
    return widths


def _table_width(widths: Sequence[int]) -> int:
    return sum(widths) + 3 * len(widths) + 1  # rich's borders and padding


def _print_table(console: Console, title: str, columns: Sequence[str],
                 rows: Sequence[Sequence[str]], right_from: int, wrap_first: bool) -> None:
    """A table whose cells are printed literally (names are never read as rich markup), and
    wide enough for its numbers: the console is widened rather than digits cut (the first
    column may wrap past _NAME_WIDTH). When every cell fits on one line the box is drawn here,
    the same characters rich draws, in linear time (rich takes milliseconds per row)."""
    widths = _widths(columns, rows)
    if _table_width(widths) <= console.width and not any("\n" in c for r in rows for c in r):
        _draw(console, title, columns, rows, right_from, widths)
    else:
        _print_rich(console, title, columns, rows, right_from, wrap_first, widths)


def _print_rich(console: Console, title: str, columns: Sequence[str],
                rows: Sequence[Sequence[str]], right_from: int, wrap_first: bool,
                widths: Sequence[int]) -> None:
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(columns):
        table.add_column(name, justify="right" if i >= right_from else "left",
                         no_wrap=not (wrap_first and i == 0), overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    width = console.width
    console.width = max(width, _table_width([min(widths[0], _NAME_WIDTH), *widths[1:]]))
    console.print(table)
    console.width = width


def _draw(console: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]],
          right_from: int, widths: Sequence[int]) -> None:
    """rich's HEAVY_HEAD box with the title left-justified above it."""

    def line(cells: Sequence[str], edge: str, sep: str) -> str:
        parts = []
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
            pad = " " * (w - cell_len(cell))
            parts.append(" " + (pad + cell if i >= right_from else cell + pad) + " ")
        return edge + sep.join(parts) + edge

    def rule(left: str, fill: str, sep: str, right: str) -> str:
        return left + sep.join(fill * (w + 2) for w in widths) + right

    total = _table_width(widths)
    out = [title + " " * (total - cell_len(title)), rule("┏", "━", "┳", "┓"),
           line(columns, "┃", "┃"), rule("┡", "━", "╇", "┩")]
    out += [line(row, "│", "│") for row in rows]
    out.append(rule("└", "─", "┴", "┘"))
    console.file.write("\n".join(out) + "\n")


def to_table(report: Report, columns: int | None = None) -> str:
    console = Console(file=io.StringIO(), width=columns or 110, color_system=None,
                      highlight=False, force_terminal=False)
    for line in header_lines(report):
        console.print(Text(line), soft_wrap=True)
    _print_table(console, "per layer", layer_columns(report), layer_cells(report), 3, True)
    _print_table(console, "totals", ("metric", "exact", "approx"), totals_rows(report), 1,
                 True)
    _print_table(console, "by layer type (MobileNet v1 Table 2)", BREAKDOWN_COLUMNS,
                 breakdown_cells(report), 1, True)
    return console.file.getvalue()  # type: ignore[attr-defined]


def _md_table(columns: tuple[str, ...], rows: Sequence[tuple[str, ...]], left: int = 1) -> str:
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---" if i < left else "---:" for i in range(len(columns))) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(report: Report, columns: int | None = None) -> str:
    head = header_lines(report)
    parts = [f"# {head[0]}", "\n".join(f"- {line}" for line in head[1:]),
             "## Totals", _md_table(("metric", "exact", "approx"), totals_rows(report)),
             "## By layer type", _md_table(BREAKDOWN_COLUMNS, breakdown_cells(report)),
             "## Layers", _md_table(layer_columns(report), layer_cells(report), left=3)]
    return "\n\n".join(parts) + "\n"


def to_csv(report: Report, columns: int | None = None) -> str:
    shown = _shown(report, "csv")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "kind", "bucket", "c", "h", "w", *(m.key for m in shown)])
    for r in report.layers:
        writer.writerow([r.name, r.kind, r.bucket, *r.output, *(r.values[m.key] for m in shown)])
    writer.writerow(["TOTAL", "", "", "", "", "", *(report.totals.values[m.key] for m in shown)])
    return out.getvalue()


def to_json(report: Report, columns: int | None = None) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


Renderer = Callable[[Report, int | None], str]  # (report, table width) -> text
RENDERERS: dict[Format, Renderer] = {
    Format.table: to_table,
    Format.markdown: to_markdown,
    Format.csv: to_csv,
    Format.json: to_json,
}


def _renderer(table: Mapping[Any, Callable[..., str]], fmt: Enum | str) -> Callable[..., str]:
    """The renderer a format names in a dispatch table; an unknown format is an error."""
    names = {format_.value: render for format_, render in table.items()}
    name = fmt.value if isinstance(fmt, Enum) else fmt
    if name not in names:
        raise CostcalcError(f"unknown format '{name}'", "use one of " + ", ".join(names))
    return names[name]


def render(report: Report, fmt: Format | str, columns: int | None = None) -> str:
    """The report in one format; `columns` fixes the table's width (only the table uses it)."""
    return _renderer(RENDERERS, fmt)(report, columns)


# ---------------------------------------------------------------------------------------------
# `costcalc formula`


def formula_list(items: Sequence[Formula]) -> str:
    """Every formula: name, description, source, default arguments."""
    width = max(len(f.name) for f in items)
    lines = []
    for f in items:
        defaults = " ".join(f"{k}={v}" for k, v in f.args.items())
        lines += [f"{f.name.ljust(width)}  {f.description}",
                  f"{''.ljust(width)}  source: {f.source}", f"{''.ljust(width)}  args: {defaults}"]
    return "\n".join(lines) + "\n"


def _number(value: Any) -> str:
    """Counts exactly with separators; ratios to six significant digits."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()
                                  and abs(value) >= 1000):
        return f"{int(value):,}"
    return f"{value:.6g}"


def formula_text(result: FormulaResult) -> str:
    """A formula's closed forms next to the graph's counts, then its findings."""
    lines = [f"{result.name}: {result.description}", f"source: {result.source}",
             "args: " + " ".join(f"{k}={v}" for k, v in result.args.items())]
    lines += [f"derived: {k} = {v}" for k, v in result.derived.items()]
    rows = [("quantity", "closed form", "formula", "graph", "agree")]
    for c in result.checks:
        rows.append((c.label, c.expression, _number(c.closed),
                     "-" if c.graph is None else _number(c.graph),
                     "-" if c.agree is None else "yes" if c.agree else "NO"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        lines.append("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(r, widths, strict=True))).rstrip())
    lines += [f"finding: {line}" for line in result.findings]
    lines.append("all agree with the graph count" if result.agree else
                 "the stated formula disagrees with the graph count (see findings)")
    return "\n".join(lines) + "\n"


def formula_json(result: FormulaResult) -> str:
    return json.dumps(result.to_dict(), indent=1) + "\n"


FORMULA_RENDERERS: dict[FormulaFormat, Callable[[FormulaResult], str]] = {
    FormulaFormat.text: formula_text,
    FormulaFormat.json: formula_json,
}


def render_formula(result: FormulaResult, fmt: FormulaFormat | str) -> str:
    return _renderer(FORMULA_RENDERERS, fmt)(result)


# ---------------------------------------------------------------------------------------------
# `costcalc sweep`


def _metric(key: str) -> Metric:
    return next(m for m in METRICS if m.key == key)


def _cell(value: Any, fmt: str, exact: bool) -> Any:
    """A metric value: exact with separators (table, Markdown) or raw (CSV, JSON)."""
    if fmt == "ratio":
        return f"{float(value):.3f}" if exact else float(value)
    return f"{int(value):,}" if exact else int(value)


def sweep_columns(result: SweepResult) -> dict[str, list[Any]]:
    """The axis columns of a sweep's long table: the arguments and the batch when they vary,
    then width and resolution (224, or HxW when not square)."""
    grid = result.grid
    out: dict[str, list[Any]] = {}
    for name, values in () if grid is None else grid.args:
        if len(values) > 1:
            out[name] = result.args[name].tolist()
    if grid is not None and len(grid.batches) > 1:
        out["batch"] = result.batch.tolist()
    out["width"] = [float(a) for a in result.alpha]
    out["resolution"] = [int(h) if h == w else f"{h}x{w}"
                         for h, w in zip(result.height.tolist(), result.width.tolist(),
                                         strict=True)]
    return out


def _sweep_rows(result: SweepResult, keys: Sequence[str], exact: bool) -> tuple[list[str],
                                                                               list[list[Any]]]:
    axes = sweep_columns(result)
    names = [*axes, *keys]
    columns = [*axes.values(), *([_cell(v, _metric(k).fmt, exact) for v in result.totals[k]]
                                 for k in keys)]
    if exact:
        columns[:len(axes)] = [[f"{v:g}" if isinstance(v, float) else str(v) for v in c]
                               for c in columns[:len(axes)]]
    return names, [list(row) for row in zip(*columns, strict=True)]


def _sweep_grid(result: SweepResult, key: str) -> tuple[list[str], list[list[str]]] | None:
    """Rows width, columns resolution, when those are the only axes that vary, the grid is
    complete and one metric is shown; else None (a long table)."""
    grid = result.grid
    if grid is None or len(result) != result.configs or len(grid.batches) > 1 or \
            any(len(v) > 1 for _, v in grid.args) or len(grid.alphas) < 2 or len(grid.sizes) < 2:
        return None
    res = [str(h) if h == w else f"{h}x{w}" for h, w in grid.sizes]
    values = result.totals[key].reshape(len(grid.alphas), len(grid.sizes))
    fmt = _metric(key).fmt
    return (["width", *res],
            [[f"{a:g}", *(_cell(v, fmt, True) for v in row)]
             for a, row in zip(grid.alphas, values, strict=True)])


def sweep_header(result: SweepResult, keys: Sequence[str]) -> list[str]:
    lines = [f"{result.network}: {len(result):,} of {result.configs:,} configurations"]
    if result.invalid:
        lines.append(f"{result.invalid:,} invalid configurations skipped; first: "
                     + result.first_invalid.splitlines()[0])
    lines.append("metrics: " + ", ".join(f"{k} ({_metric(k).unit})" for k in keys)
                 + f"; {MAC_LINE}")
    return lines


MAC_LINE = "1 MAC = one multiply-accumulate"


def sweep_table(result: SweepResult, keys: Sequence[str], columns: int | None = None) -> str:
    console = Console(file=io.StringIO(), width=columns or 110, color_system=None,
                      highlight=False, force_terminal=False)
    for line in sweep_header(result, keys):
        console.print(line, soft_wrap=True)
    grid = _sweep_grid(result, keys[0]) if len(keys) == 1 else None
    names, rows = grid if grid is not None else _sweep_rows(result, keys, True)
    table = Table(title=f"{keys[0]} by width (rows) and resolution (columns)"
                  if grid is not None else None, title_justify="left")
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def sweep_markdown(result: SweepResult, keys: Sequence[str], columns: int | None = None) -> str:
    head = sweep_header(result, keys)
    grid = _sweep_grid(result, keys[0]) if len(keys) == 1 else None
    names, rows = grid if grid is not None else _sweep_rows(result, keys, True)
    return "\n\n".join([f"# {head[0]}", "\n".join(f"- {line}" for line in head[1:]),
                        _md_table(tuple(names), [tuple(r) for r in rows], left=0)]) + "\n"


def sweep_csv(result: SweepResult, keys: Sequence[str], columns: int | None = None) -> str:
    names, rows = _sweep_rows(result, keys, False)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(rows)
    return out.getvalue()


def sweep_json(result: SweepResult, keys: Sequence[str], columns: int | None = None) -> str:
    names, rows = _sweep_rows(result, keys, False)
    return json.dumps({"network": result.network, "configurations": result.configs,
                       "rows_kept": len(result), "invalid": result.invalid,
                       "first_invalid": result.first_invalid, "structures": result.structures,
                       "metrics": list(keys),
                       "rows": [dict(zip(names, row, strict=True)) for row in rows]},
                      indent=1) + "\n"


SWEEP_RENDERERS: dict[Format, Callable[..., str]] = {
    Format.table: sweep_table,
    Format.markdown: sweep_markdown,
    Format.csv: sweep_csv,
    Format.json: sweep_json,
}


def render_sweep(result: SweepResult, keys: Sequence[str], fmt: Format | str,
                 columns: int | None = None) -> str:
    """A sweep's kept configurations and the metrics `keys`: a width x resolution grid for
    one metric over a complete two-axis grid, else one row per configuration."""
    return _renderer(SWEEP_RENDERERS, fmt)(result, keys, columns)


# ---------------------------------------------------------------------------------------------
# `costcalc compare`


def _label(column: Any, vary: str) -> str:
    if column.fitted is None:
        return column.entry.text
    return f"{column.entry.text} @ {vary} {column.fitted:g}"


def compare_rows(comparison: Comparison, exact: bool = True) -> tuple[list[str], list[list[Any]]]:
    """Rows: each metric, then its ratio to the first column, then MACs by layer type."""
    columns = comparison.columns
    names = ["metric", *(_label(c, comparison.vary) for c in columns)]
    rows: list[list[Any]] = [["network", *(c.report.network if c.report else "-"
                                          for c in columns)]]
    if comparison.budget:
        rows.append(["within budget", *(f"{comparison.vary} {c.fitted:g}" if c.report else
                                        "nothing fits" for c in columns)])
    first = columns[0].report
    for key in comparison.keys:
        fmt = _metric(key).fmt
        values = [c.report.totals.values[key] if c.report else None for c in columns]
        rows.append([key, *("-" if v is None else _cell(v, fmt, exact) for v in values)])
        if len(columns) > 1 and first is not None:
            base = first.totals.values[key]
            rows.append(["  / first", *("-" if v is None or not base else
                                               f"{v / base:.3f}" for v in values)])
    for bucket in BUCKETS:
        shares = [{s.bucket: s for s in c.report.breakdown}.get(bucket) if c.report else None
                  for c in columns]
        if any(shares):
            rows.append([f"MACs in {bucket}", *("-" if s is None else
                                                _exact(s.macs_pct, "percent") for s in shares)])
    return names, rows


def compare_table(comparison: Comparison, columns: int | None = None) -> str:
    console = Console(file=io.StringIO(), width=columns or 110, color_system=None,
                      highlight=False, force_terminal=False)
    if comparison.budget:
        console.print("budget: " + ", ".join(f"{k} <= {v:g}" for k, v in
                                             comparison.budget.items())
                      + f"; the largest {comparison.vary} within it (exact search)",
                      soft_wrap=True)
    names, rows = compare_rows(comparison)
    table = Table()
    for i, name in enumerate(names):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def compare_markdown(comparison: Comparison, columns: int | None = None) -> str:
    names, rows = compare_rows(comparison)
    return _md_table(tuple(names), [tuple(r) for r in rows]) + "\n"


def compare_csv(comparison: Comparison, columns: int | None = None) -> str:
    names, rows = compare_rows(comparison, exact=False)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([names, *rows])
    return out.getvalue()


def compare_json(comparison: Comparison, columns: int | None = None) -> str:
    return json.dumps({
        "budget": dict(comparison.budget), "vary": comparison.vary,
        "metrics": list(comparison.keys),
        "columns": [{"entry": c.entry.text, "fitted": c.fitted,
                     "network": c.report.network if c.report else None,
                     "totals": {k: c.report.totals.values[k] for k in comparison.keys}
                     if c.report else None} for c in comparison.columns]}, indent=1) + "\n"


COMPARE_RENDERERS: dict[Format, Callable[..., str]] = {
    Format.table: compare_table,
    Format.markdown: compare_markdown,
    Format.csv: compare_csv,
    Format.json: compare_json,
}


def render_compare(comparison: Comparison, fmt: Format | str,
                   columns: int | None = None) -> str:
    return _renderer(COMPARE_RENDERERS, fmt)(comparison, columns)
