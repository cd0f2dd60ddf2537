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
from .report import METRICS, Metric, Report

if TYPE_CHECKING:  # formula is imported on use (the CLI's `formula` command)
    from .formula import Formula, FormulaResult


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
    return [
        f"{report.network}  ({report.source})" if report.source else report.network,
        f"input {c}x{h}x{w} | batch {report.batch} | width {report.width:g} | dtype "
        f"{report.dtype} ({report.bits}-bit) | params: {report.params_convention}",
        f"MACs: {conv['macs']}",
        f"params ({report.params_convention}): {conv['params_rule']}",
        *(f"{m.label}: {m.convention}" for m in METRICS if m.convention),
    ]


def _exact(value: Any, fmt: str) -> str:
    if fmt == "percent":
        return f"{value:.2f} %"
    if fmt == "ratio":
        return f"{value:.3f}"
    return f"{value:,}"


def _approx(value: Any, m: Metric) -> str:
    if m.fmt == "count":
        return si(value)
    if m.fmt == "bytes":
        return binary(value)
    if m.fmt == "ratio":
        return f"{value:.1f} {m.unit}"
    return ""


def totals_rows(report: Report) -> list[tuple[str, str, str]]:
    """One row per metric shown in the totals, in METRICS order; a group shares one row."""
    values = report.totals.values
    rows: list[tuple[str, list[str], str]] = []  # label, exact value(s), approx
    groups: dict[str, list[str]] = {}
    for m in METRICS:
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
                         _approx(values[m.key], m)))
        if "per_image_row" in m.shows and report.batch > 1:
            per_image = report.per_image()[m.key]
            rows.append((f"  {m.label} per image", [_exact(per_image, m.fmt)],
                         _approx(per_image, m)))
    return [(label, " / ".join(exact), approx) for label, exact, approx in rows]


def _shown(where: str, per_layer: bool = False) -> list[Metric]:
    return [m for m in METRICS if where in m.shows and (m.layer is not None or not per_layer)]


LAYER_COLUMNS = ("layer", "kind", "output", *(m.column for m in _shown("columns", True)))


def layer_cells(report: Report) -> list[tuple[str, ...]]:
    shown = _shown("columns", True)
    return [(r.name, r.kind if r.bucket == "other" else r.bucket, "x".join(map(str, r.output)),
             *(_exact(r.values[m.key], m.fmt) for m in shown)) for r in report.layers]


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
    _print_table(console, "per layer", LAYER_COLUMNS, layer_cells(report), 3, True)
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
             "## Layers", _md_table(LAYER_COLUMNS, layer_cells(report), left=3)]
    return "\n\n".join(parts) + "\n"


def to_csv(report: Report, columns: int | None = None) -> str:
    shown = _shown("csv", True)
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
