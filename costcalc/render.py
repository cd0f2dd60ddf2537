"""Renderers: a Report to a rich table, Markdown, CSV or JSON text. No computation here."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from .errors import CostcalcError
from .report import Metric, Report

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
    """Decimal SI suffix with two decimals: 300774272 -> '300.77 M'."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {suffix}{unit}"
    return f"{value:g} {unit}".rstrip()


def binary(nbytes: int) -> str:
    """Bytes with a binary suffix: 4993696 -> '4.76 MiB'."""
    for factor, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if nbytes >= factor:
            return f"{nbytes / factor:.2f} {suffix}"
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


def to_table(report: Report, columns: int | None = None) -> str:
    console = Console(file=io.StringIO(), width=columns or 110, color_system=None,
                      highlight=False, force_terminal=False)
    for line in header_lines(report):
        console.print(line, soft_wrap=True)
    layers = Table(title="per layer", title_justify="left")
    for i, name in enumerate(layer_columns(report)):
        layers.add_column(name, justify="right" if i >= 3 else "left", no_wrap=i != 0)
    for cells in layer_cells(report):
        layers.add_row(*cells)
    console.print(layers)
    totals = Table(title="totals", title_justify="left")
    for name in ("metric", "exact", "approx"):
        totals.add_column(name, justify="left" if name == "metric" else "right")
    for row in totals_rows(report):
        totals.add_row(*row)
    console.print(totals)
    share = Table(title="by layer type (MobileNet v1 Table 2)", title_justify="left")
    for i, name in enumerate(BREAKDOWN_COLUMNS):
        share.add_column(name, justify="left" if i == 0 else "right")
    for cells in breakdown_cells(report):
        share.add_row(*cells)
    console.print(share)
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
