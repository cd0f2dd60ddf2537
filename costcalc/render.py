"""Renderers: a Report to a rich table, Markdown, CSV or JSON text. No computation here."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from .errors import CostcalcError, did_you_mean
from .report import BUCKETS, METRICS, SORT_KEYS, GroupRow, LayerRow, Metric, Report

if TYPE_CHECKING:  # formula is imported on use (the CLI's `formula` command), rich on drawing
    from rich.console import Console

    from .compare import Comparison
    from .formula import Formula, FormulaResult
    from .latency import Fit
    from .spec import Spec
    from .sweep import SweepResult


class Format(str, Enum):
    """`costcalc report --format`."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"
    html = "html"


class FormulaFormat(str, Enum):
    """`costcalc formula --format`."""

    text = "text"
    json = "json"


TOTALS_COLUMNS = ("metric", "exact", "approx")

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


def _setting(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value).lower() \
        if isinstance(value, bool) else str(value)


def header_lines(report: Report) -> list[str]:
    """The network, what was computed (spec, variant, --set overrides, every argument as
    resolved, input, batch, width, dtype, hardware), then what each number counts."""
    c, h, w = report.input
    conv = report.notes()
    hardware = [f"{key.replace('_', ' ')}: {conv[key]}"
                for key in ("hardware", "storage", "split", "roofline", "training", "unpriced")
                if key in conv]
    computed = [f"spec {report.file}"]
    if report.variant is not None:
        computed.append(f"variant {report.variant}")
    if report.overrides:
        computed.append("set " + " ".join(f"{k}={_setting(v)}"
                                          for k, v in report.overrides.items()))
    if report.args:
        computed.append("args " + " ".join(f"{k}={_setting(v)}" for k, v in report.args.items()))
    s = report.settings
    dtype = f"dtype {s.weights} ({s.weight_bits}-bit)" if s.weights == s.acts else \
        f"weights {s.weights} ({s.weight_bits}-bit), activations {s.acts} ({s.act_bits}-bit)"
    return [
        f"{report.network}  ({report.source})" if report.source else report.network,
        " | ".join(computed),
        f"input {c}x{h}x{w} | batch {report.batch} | width {report.width:g} | {dtype} | "
        f"params: {report.params_convention}",
        *hardware,  # what was computed, then what the numbers count
        f"MACs: {conv['macs']}",
        f"params ({report.params_convention}): {conv['params']}",
        *(f"{m.label}: {m.convention}" for m in report.metrics if m.convention),
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


def totals_rows(report: Report, width: int | None = None) -> list[tuple[str, str, str]]:
    """One row per metric shown in the totals, in METRICS order; a group shares one row
    ("weights / biases / BN"). With a `width` the table would not fit in, groups are shown
    one row per member instead, the widest joined value first, until it fits (or none is
    left joined): a label then wraps less and no value is cut."""
    values = report.totals.values
    entries: list[tuple[str, list[Metric]]] = []  # label, the metric(s) on the row
    groups: dict[str, list[Metric]] = {}
    for m in report.metrics:
        if "totals" not in m.shows:
            continue
        if m.group in groups:
            groups[m.group].append(m)
        elif m.group:
            groups[m.group] = [m]
            entries.append((m.group, groups[m.group]))
        else:
            entries.append((m.label.format(params=report.params_convention), [m]))
        if "per_image_row" in m.shows and report.batch > 1:
            entries.append((f"  {m.label} per image", [m]))

    def row(label: str, members: list[Metric], split: bool) -> list[tuple[str, str, str]]:
        if label.endswith(" per image"):
            per_image = report.per_image()[members[0].key]
            return [(label, _exact(per_image, members[0].fmt),
                     _approx(per_image, members[0], report))]
        if len(members) == 1 and label not in groups:
            m = members[0]
            return [(label, _exact(values[m.key], m.fmt), _approx(values[m.key], m, report))]
        if split:
            return [(f"  {m.label}", _exact(values[m.key], m.fmt),
                     _approx(values[m.key], m, report)) for m in members]
        return [(label, " / ".join(_exact(values[m.key], m.fmt) for m in members), "")]

    split: set[str] = set()

    def rows() -> list[tuple[str, str, str]]:
        return [r for label, members in entries for r in row(label, members, label in split)]

    joined = sorted((label for label in groups), key=lambda label: -cell_len(
        " / ".join(_exact(values[m.key], m.fmt) for m in groups[label])))
    def table_width() -> int:
        return _table_width(_widths(TOTALS_COLUMNS, rows()))

    for label in joined:
        if width is None or table_width() <= width:
            break
        split.add(label)
    for label in reversed(joined):  # rejoin a group whose parts' labels widen the table
        if label in split:
            before = table_width()
            split.discard(label)
            if table_width() > before:
                split.add(label)
    return rows()


def _shown(report: Report, where: str) -> list[Metric]:
    """Per-layer metrics shown in `where`; the columns show the report's view only."""
    return [m for m in report.metrics if where in m.shows and m.layer is not None
            and (where != "columns" or m.family == report.view)]


def compact(value: Any, fmt: str) -> str:
    """`--units human`: a count with one decimal and an SI suffix (300774272 -> '300.8M'),
    bytes with a binary one ('4.6MiB'); other formats unchanged."""
    if fmt == "count" and isinstance(value, int | float) and abs(value) >= 1000:
        for factor, suffix in ((10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"),
                               (10**3, "k")):
            if abs(value) >= factor:
                return f"{Decimal(value) / factor:.1f}{suffix}"
    if fmt == "bytes" and value >= 1024:
        return binary(value).replace(".00 ", ".0 ").replace(" ", "")
    return _exact(value, fmt)


def _column_cell(value: Any, m: Metric, report: Report, units: str = "exact") -> str:
    """A per-layer cell: exact counts (or compact, `--units human`); energy in its unit with a
    prefix, shares to 0.1 %."""
    if m.fmt == "energy" and report.settings.hardware is not None:
        return energy_unit(value, report.settings.hardware.profile.unit)
    if m.fmt == "percent" and m.family == "energy":
        return f"{value:.1f} %"
    return compact(value, m.fmt) if units == "human" else _exact(value, m.fmt)


def _shape(dims: Sequence[int]) -> str:
    return "x".join(map(str, dims))


def _inputs_text(inputs: Sequence[Sequence[int]]) -> str:
    """One input's shape; two joined by '+'; more: the first and how many others."""
    if len(inputs) <= 2:
        return " + ".join(_shape(x) for x in inputs)
    return f"{_shape(inputs[0])} +{len(inputs) - 1}"


def _pair(pair: tuple[int, int] | None) -> str:
    return "" if pair is None else _shape(pair)


@dataclass(frozen=True, slots=True)
class Field:
    """A descriptive column of the rows section (`--fields`): its name, its heading, its text
    in the table and Markdown, its CSV columns and values, and whether block rows have it."""

    name: str
    heading: str
    text: Callable[[Any], str]
    csv: tuple[str, ...]
    raw: Callable[[Any], tuple[Any, ...]]
    blocks: bool = False  # a block row (--depth) has it too
    layers: bool = True  # a layer row has it


# The descriptive columns, in the order the table shows them. Metrics follow (each per-layer
# metric by its Metric.name), then `pct`: the shares of the total.
FIELDS: tuple[Field, ...] = (
    Field("kind", "kind", lambda r: r.kind, ("kind",), lambda r: (r.kind,)),
    Field("bucket", "layer type", lambda r: r.bucket, ("bucket",), lambda r: (r.bucket,)),
    Field("in", "input", lambda r: _inputs_text(r.inputs), ("in",),
          lambda r: (" + ".join(_shape(x) for x in r.inputs),)),
    Field("out", "output", lambda r: _shape(r.output), ("c", "h", "w"),
          lambda r: tuple(r.output), blocks=True),
    Field("layers", "layers", lambda r: str(r.layers), ("layers",), lambda r: (r.layers,),
          blocks=True, layers=False),
    Field("kernel", "kernel", lambda r: _pair(r.kernel), ("kernel",),
          lambda r: (_pair(r.kernel),)),
    Field("stride", "stride", lambda r: _pair(r.stride), ("stride",),
          lambda r: (_pair(r.stride),)),
    Field("groups", "groups", lambda r: "" if r.groups is None else str(r.groups),
          ("groups",), lambda r: (r.groups,)),
)
PCT = "pct"


def available_fields(report: Report) -> list[str]:
    """Every name --fields takes for this report: the descriptive columns, its per-layer
    metrics, pct."""
    return [*(f.name for f in FIELDS),
            *(m.name for m in report.metrics if m.layer is not None), PCT]


def parse_fields(text: str) -> tuple[str, ...]:
    """`in,out,macs` -> ('in', 'out', 'macs'); checked against a report in `row_section`."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise CostcalcError(f"--fields '{text}': no column named",
                            "name columns separated by commas, e.g. --fields in,out,macs,pct")
    return names


def layer_columns(report: Report) -> tuple[str, ...]:
    section = row_section(report, DEFAULT_VIEW)
    assert section is not None
    return section_columns(section)


def layer_cells(report: Report) -> list[tuple[str, ...]]:
    section = row_section(report, DEFAULT_VIEW)
    assert section is not None
    return section_cells(report, section)


def breakdown_cells(report: Report) -> list[tuple[str, ...]]:
    return [(s.bucket, _exact(s.macs, "count"), _exact(s.macs_pct, "percent"),
             _exact(s.params, "count"), _exact(s.params_pct, "percent"))
            for s in report.breakdown]


BREAKDOWN_COLUMNS = ("layer type", "MACs", "MACs share", "params", "params share")


# ---------------------------------------------------------------------------------------------
# What a report shows: the rows section (per layer, per block, ranked, cut) or none


UNITS = ("exact", "human")


@dataclass(frozen=True, slots=True)
class View:
    """Which rows a report shows after its header, totals and breakdown (in every format):
    every layer (the default), none (`summary`), one row per block of the first `depth` name
    parts, and the `top` costliest of those rows by `sort` (a SORT_KEYS name); `fields`
    chooses the rows' columns (FIELDS, metric names, pct; None: each format's default) and
    `units` how the table and Markdown write counts (exact, or human: 300.8M)."""

    summary: bool = False
    top: int | None = None
    sort: str = "macs"
    depth: int | None = None
    csv_total: bool = False  # CSV: a TOTAL row (the network's totals) after the data rows
    fields: tuple[str, ...] | None = None
    units: str = "exact"

    def __post_init__(self) -> None:
        if self.sort not in SORT_KEYS:
            raise CostcalcError(f"unknown sort key '{self.sort}'",
                                "use one of " + ", ".join(SORT_KEYS))
        if self.top is not None and self.top < 1:
            raise CostcalcError(f"--top must be at least 1, got {self.top}")
        if self.units not in UNITS:
            raise CostcalcError(f"unknown units '{self.units}'", "use exact or human")

    @property
    def key(self) -> str:
        return SORT_KEYS[self.sort]


DEFAULT_VIEW = View()


@dataclass(frozen=True, slots=True)
class RowSection:
    """The rows a view selects and their columns, in order: descriptive fields (FIELDS) and
    metrics (`columns`), then the metrics whose share of the total each row states (MACs, and
    the sort metric). `chosen`: the columns were named with --fields (none is dropped to fit,
    and CSV shows the same ones)."""

    title: str
    blocks: bool  # GroupRows (per block) rather than LayerRows
    rows: tuple[LayerRow | GroupRow, ...]
    columns: tuple[Field | Metric, ...]
    shares: tuple[Metric, ...]
    chosen: bool = False

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return tuple(c for c in self.columns if isinstance(c, Metric))


def _default_columns(report: Report, blocks: bool, shown: list[Metric]) -> list[Field | Metric]:
    by_name = {f.name: f for f in FIELDS}
    head = ["out", "layers"] if blocks else ["kind", "out"]
    return [*(by_name[n] for n in head), *shown]


def _chosen_columns(report: Report, names: Sequence[str], blocks: bool,
                    summed: set[str]) -> tuple[list[Field | Metric], bool]:
    """The columns --fields names, in its order, and whether it names pct. Block rows (--depth)
    keep only what a block has: out, layers and the summed metrics."""
    fields = {f.name: f for f in FIELDS}
    metrics = {m.name: m for m in report.metrics if m.layer is not None}
    known = available_fields(report)
    out: list[Field | Metric] = []
    for name in names:
        if name not in known:
            raise CostcalcError(f"--fields: unknown column '{name}'",
                                (did_you_mean(name, known, "") + " ").lstrip()
                                + "the columns: " + ", ".join(known))
        if name in fields and (fields[name].blocks if blocks else fields[name].layers):
            out.append(fields[name])
        elif name in metrics and (not blocks or metrics[name].key in summed):
            out.append(metrics[name])
    return list(dict.fromkeys(out)), PCT in names


def row_section(report: Report, view: View) -> RowSection | None:
    if view.summary:
        return None
    by_key = {m.key: m for m in report.metrics}
    if view.key not in by_key:
        raise CostcalcError(f"--sort {view.sort}: this report has no '{view.key}'")
    sort_metric = by_key[view.key]
    rows: tuple[LayerRow | GroupRow, ...] = report.layers
    blocks = view.depth is not None
    summed = {m.key for m in report.summed}
    shown = _shown(report, "columns")
    what = "layer"
    if blocks:
        rows = report.by_depth(view.depth)
        shown = [m for m in shown if m.key in summed]
        what = f"block (depth {view.depth})"
    if view.fields is not None:
        columns, pct = _chosen_columns(report, view.fields, blocks, summed)
        metrics = [c for c in columns if isinstance(c, Metric)]
        # pct: the share of each chosen metric that adds up to its total
        shares = tuple(m for m in metrics if m.key in summed) if pct else ()
    else:
        if sort_metric not in shown and view.top is not None:
            shown.append(sort_metric)
        columns = _default_columns(report, blocks, shown)
        # the share of total MACs where MACs are a column (the core view: energy has its own
        # share), and of the metric ranked by
        shares = tuple(dict.fromkeys([*(m for m in shown if m.key == "macs"),
                                      *([sort_metric] if view.top is not None else [])]))
    title = f"per {what}"
    if view.top is not None:
        rows = tuple(sorted(rows, key=lambda r: -r.values[view.key]))[:view.top]
        plural = "blocks" if blocks else "layers"
        title = f"top {len(rows)} {plural} by {sort_metric.label.format(params='')}".rstrip(
            " ()") + (f" (depth {view.depth})" if blocks else "")
    return RowSection(title, blocks, rows, tuple(columns), shares, view.fields is not None)


def _share(value: Any, total: Any) -> float | None:
    return 100 * value / total if total else None


def _share_text(value: Any, total: Any) -> str:
    share = _share(value, total)
    return "-" if share is None else f"{share:.2f}"


def section_columns(section: RowSection) -> tuple[str, ...]:
    """layer (or block), the columns' headings, the shares'."""
    return ("block" if section.blocks else "layer",
            *(c.heading for c in section.columns),
            *(f"{m.heading} %" for m in section.shares))


def section_cells(report: Report, section: RowSection,
                  units: str = "exact") -> list[tuple[str, ...]]:
    totals = report.totals.values
    return [(r.name,
             *(c.text(r) if isinstance(c, Field) else
               _column_cell(r.values[c.key], c, report, units) for c in section.columns),
             *(_share_text(r.values[m.key], totals[m.key]) for m in section.shares))
            for r in section.rows]


def _left(section: RowSection) -> int:
    """How many columns are left-aligned: the name and the text fields right after it."""
    n = 1
    for c in section.columns:
        if not isinstance(c, Field) or c.name in ("layers", "groups"):
            break
        n += 1
    return n


# ---------------------------------------------------------------------------------------------
# The table: fitted to a width


_MIN_NAME = 12  # names are shortened (or wrapped) down to this width, never further


def cell_len(text: str) -> int:
    """The terminal cells `text` takes, as rich measures them; printable ASCII (one cell per
    character) is measured without importing rich."""
    if text.isascii() and text.isprintable():
        return len(text)
    from rich.cells import cell_len as rich_cell_len

    return rich_cell_len(text)


def text_console(width: int) -> Console:
    """A rich console that writes plain text (no colour, no highlighting) into a string, at
    `width` columns. rich is imported here, when something is drawn with it: importing it
    takes longer than drawing a report's tables without it (_draw)."""
    from rich.console import Console

    return Console(file=io.StringIO(), width=width, color_system=None, highlight=False,
                   force_terminal=False)


class _Page:
    """What a report's tables are drawn into: the text so far and the width. (A plain class:
    making a dataclass costs more than drawing the tables.)"""

    __slots__ = ("file", "width")

    def __init__(self, width: int) -> None:
        self.file, self.width = io.StringIO(), width


def _widths(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    widths = [cell_len(c) for c in columns]
    for row in rows:
        widths = [max(w, cell_len(cell)) for w, cell in zip(widths, row, strict=True)]
    return widths


def _table_width(widths: Sequence[int]) -> int:
    return sum(widths) + 3 * len(widths) + 1  # rich's borders and padding


def shorten_middle(name: str, width: int) -> str:
    """`name` in at most `width` characters, its middle replaced by '…' (the start and the
    end, which tell layers apart, are kept): 'separable13.conv2.relu' -> 'separa…onv2.relu'."""
    if len(name) <= width:
        return name
    tail = (width - 1) // 2 + (width - 1) % 2
    return name[:width - 1 - tail] + "…" + name[len(name) - tail:]


def fit_columns(columns: Sequence[str], rows: Sequence[Sequence[str]], width: int,
                optional: Sequence[int]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The columns and rows that fit in `width`: the `optional` columns dropped in that order
    while the table is too wide, then the first column's names shortened in the middle when
    that makes the table fit and every shortened name stays distinct (else they are kept whole
    and the table is wider than asked). Numbers are never cut."""
    keep = list(range(len(columns)))
    widths = _widths(columns, rows)
    for index in optional:
        if _table_width([widths[i] for i in keep]) <= width:
            break
        keep.remove(index)
    cols = tuple(columns[i] for i in keep)
    cells = [tuple(row[i] for i in keep) for row in rows]
    over = _table_width([widths[i] for i in keep]) - width
    if over > 0 and cells and not any("\n" in row[0] for row in cells):
        budget = widths[0] - over
        names = [shorten_middle(row[0], budget) for row in cells]
        if budget >= max(_MIN_NAME, cell_len(cols[0])) and \
                len(set(names)) == len({row[0] for row in cells}):
            cells = [(name, *row[1:]) for name, row in zip(names, cells, strict=True)]
    return cols, cells


def _print_table(console: _Page, title: str, columns: Sequence[str],
                 rows: Sequence[Sequence[str]], right_from: int, wrap_first: bool) -> None:
    """A table whose cells are printed literally (names are never read as rich markup), and
    wide enough for its numbers: the console is widened rather than digits cut (the first
    column may wrap, to the console's width, but not below _MIN_NAME). When every cell fits
    on one line the box is drawn here, the same characters rich draws, in linear time (rich
    takes milliseconds per row)."""
    widths = _widths(columns, rows)
    fits = _table_width(widths) <= console.width or not wrap_first  # else: the names wrap
    if fits and not any("\n" in c for r in rows for c in r):
        _draw(console, title, columns, rows, right_from, widths)
    else:
        _print_rich(console, title, columns, rows, right_from, wrap_first, widths)


def _print_rich(console: _Page, title: str, columns: Sequence[str],
                rows: Sequence[Sequence[str]], right_from: int, wrap_first: bool,
                widths: Sequence[int]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for i, name in enumerate(columns):
        table.add_column(name, justify="right" if i >= right_from else "left",
                         no_wrap=not (wrap_first and i == 0), overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    width = console.width
    room = width - _table_width([0, *widths[1:]])  # what the other columns leave
    first = max(min(widths[0], max(room, _MIN_NAME)), cell_len(columns[0]))
    drawn = text_console(max(width, _table_width([first, *widths[1:]])))
    drawn.print(table)
    console.file.write(drawn.file.getvalue())  # type: ignore[attr-defined]


def _draw(console: _Page, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]],
          right_from: int, widths: Sequence[int]) -> None:
    """rich's HEAVY_HEAD box with the title (if any) left-justified above it."""

    def line(cells: Sequence[str], edge: str, sep: str) -> str:
        parts = []
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
            pad = " " * (w - cell_len(cell))
            parts.append(" " + (pad + cell if i >= right_from else cell + pad) + " ")
        return edge + sep.join(parts) + edge

    def rule(left: str, fill: str, sep: str, right: str) -> str:
        return left + sep.join(fill * (w + 2) for w in widths) + right

    total = _table_width(widths)
    # a title longer than the page wraps at the page's width (none: no title line)
    heads = textwrap.wrap(title, max(total, console.width)) if title else []
    out = [*(head + " " * max(0, total - cell_len(head)) for head in heads),
           rule("┏", "━", "┳", "┓"), line(columns, "┃", "┃"), rule("┡", "━", "╇", "┩")]
    out += [line(row, "│", "│") for row in rows]
    out.append(rule("└", "─", "┴", "┘"))
    console.file.write("\n".join(out) + "\n")


DEFAULT_COLUMNS = 110  # the table's width when none is given (stable in pipes and files)


def stacked_parts(columns: Sequence[str], rows: Sequence[Sequence[str]], keys: int,
                  width: int, wrap_first: bool = False) -> list[list[int]]:
    """How a table whose every column matters (a sweep's grid, a comparison) fits `width`
    without cutting a digit: the indices of the value columns each of several stacked tables
    holds, in order, the first `keys` columns (what a row is) repeated in every one. One
    table when everything fits (`wrap_first`: with the first column's labels wrapped down to
    _MIN_NAME); at least one value column a table, so a part can still be wider than `width`
    (then nothing narrower shows every digit)."""
    widths = _key_widths(columns, rows, wrap_first)

    def fits(part: Sequence[int]) -> bool:
        return _table_width([*widths[:keys], *(widths[j] for j in part)]) <= width

    parts: list[list[int]] = [[]]
    for i in range(keys, len(columns)):
        if parts[-1] and not fits([*parts[-1], i]):
            parts.append([])
        parts[-1].append(i)
    # as many tables, evened out (2 + 2 columns rather than 3 + 1) when those fit too
    values = list(range(keys, len(columns)))
    size, extra = divmod(len(values), len(parts))
    starts = [n * size + min(n, extra) for n in range(len(parts) + 1)]
    even = [values[a:b] for a, b in zip(starts, starts[1:], strict=False)]
    return even if all(fits(part) for part in even) or len(parts) == 1 else parts


def _key_widths(columns: Sequence[str], rows: Sequence[Sequence[str]],
                wrap_first: bool) -> list[int]:
    """The columns' widths, the first as narrow as wrapping its labels allows (`wrap_first`:
    down to _MIN_NAME, never below its heading)."""
    widths = _widths(columns, rows)
    if wrap_first and widths:
        widths[0] = min(widths[0], max(_MIN_NAME, cell_len(columns[0])))
    return widths


def fit_note(parts: int, drawn: int, width: int) -> str | None:
    """The one line that says a table was laid out otherwise than asked: split into `parts`
    stacked tables, or `drawn` columns wide for a `width` that is narrower; None when not."""
    split = f"split into {parts} tables" if parts > 1 else ""
    if drawn > width:
        return f"{split}{': ' if split else ''}needs {drawn} columns to show every digit " \
            f"({width} asked)"
    return f"{split} to fit {width} columns" if split else None


def print_stacked(console: _Page, title: str, columns: Sequence[str],
                  rows: Sequence[Sequence[str]], keys: int, right_from: int,
                  wrap_first: bool = False) -> None:
    """A table that keeps every column and every digit: whole when it fits the console's
    width (`wrap_first`: wrapping the first column's labels if that is what it takes), else
    as stacked tables (stacked_parts) under a one-line note (fit_note); the title above the
    first."""
    width = console.width
    parts = stacked_parts(columns, rows, keys, width, wrap_first)
    least = _key_widths(columns, rows, wrap_first)
    drawn = max(_table_width([*least[:keys], *(least[j] for j in part)]) for part in parts)
    note = fit_note(len(parts), drawn, width)
    if note is not None:  # one line, as wide as the tables under it at most
        _write_wrapped(console, note, max(width, drawn))
    for n, part in enumerate(parts):
        chosen = [*range(keys), *part]
        names = [columns[i] for i in chosen]
        cells = [[row[i] for i in chosen] for row in rows]
        _print_table(console, title if n == 0 else "", names, cells, right_from, wrap_first)


def _optional(section: RowSection) -> list[int]:
    """The columns dropped first when the table is too wide (none when --fields chose them):
    the metrics after the second (right to left), then the kind (a block's layer count), then
    the second metric, then the output shape, then the shares (right to left); the first
    metric and the ones whose shares are shown stay."""
    if section.chosen:
        return []
    shared = {s.key for s in section.shares}
    first_metric = 1 + len(section.columns) - len(section.metrics)
    metrics = [first_metric + i for i, m in enumerate(section.metrics)
               if i > 0 and m.key not in shared]
    first_share = 1 + len(section.columns)
    shares = range(first_share, first_share + len(section.shares))
    kind, output = (2, 1) if section.blocks else (1, 2)
    return [*reversed(metrics[1:]), kind, *metrics[:1], output, *reversed(shares)]


def _write_wrapped(console: _Page, line: str, width: int | None = None) -> None:
    """A header line, wrapped at the width, continuation lines indented by two spaces."""
    console.file.write(textwrap.fill(line, width or console.width, subsequent_indent="  ",
                                     break_on_hyphens=False) + "\n")


def to_table(report: Report, columns: int | None = None, view: View = DEFAULT_VIEW) -> str:
    width = columns or DEFAULT_COLUMNS
    console = _Page(width)
    for line in header_lines(report):
        _write_wrapped(console, line)
    _print_table(console, "totals", TOTALS_COLUMNS, totals_rows(report, width), 1, True)
    _print_table(console, "by layer type", BREAKDOWN_COLUMNS, breakdown_cells(report), 1,
                 True)
    section = row_section(report, view)
    if section is not None:
        names = section_columns(section)
        cols, cells = fit_columns(names, section_cells(report, section, view.units), width,
                                  _optional(section))
        left = sum(c in cols for c in names[1:_left(section)])  # text columns kept
        # the columns --fields chose are all kept: the table is wider than asked, names whole
        _print_table(console, section.title, cols, cells, 1 + left, not section.chosen)
    return console.file.getvalue()


def _md_table(columns: tuple[str, ...], rows: Sequence[tuple[str, ...]], left: int = 1) -> str:
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---" if i < left else "---:" for i in range(len(columns))) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(report: Report, columns: int | None = None, view: View = DEFAULT_VIEW) -> str:
    head = header_lines(report)
    parts = [f"# {head[0]}", "\n".join(f"- {line}" for line in head[1:]),
             "## Totals", _md_table(TOTALS_COLUMNS, totals_rows(report)),
             "## By layer type", _md_table(BREAKDOWN_COLUMNS, breakdown_cells(report))]
    section = row_section(report, view)
    if section is not None:
        parts += [f"## {section.title[0].upper()}{section.title[1:]}",
                  _md_table(section_columns(section), section_cells(report, section, view.units),
                            left=_left(section))]
    return "\n\n".join(parts) + "\n"


def _raw_rows(report: Report, section: RowSection, keys: Sequence[str]) -> list[dict[str, Any]]:
    """The section's rows as data (JSON): exact values, shares as floats."""
    totals = report.totals.values
    out = []
    for r in section.rows:
        row: dict[str, Any] = {"name": r.name}
        if isinstance(r, GroupRow):
            row["layers"] = r.layers
        else:
            row.update(kind=r.kind, bucket=r.bucket, inputs=[list(x) for x in r.inputs],
                       kernel=None if r.kernel is None else list(r.kernel),
                       stride=None if r.stride is None else list(r.stride), groups=r.groups)
        row.update(zip(("c", "h", "w"), r.output, strict=True))
        row.update({k: r.values[k] for k in keys if k in r.values})
        row.update({f"{m.key}_pct": _share(r.values[m.key], totals[m.key])
                    for m in section.shares})
        out.append(row)
    return out


def _csv_columns(report: Report, section: RowSection) -> list[Field | Metric]:
    """What the CSV shows: the --fields columns, or by default kind and bucket (a block's
    layer count), the shape and the metrics declared for CSV."""
    if section.chosen:
        return list(section.columns)
    by_name = {f.name: f for f in FIELDS}
    metrics = _shown(report, "csv")
    if section.blocks:
        summed = {m.key for m in report.summed}
        metrics = [m for m in metrics if m.key in summed]
    head = ["layers", "out"] if section.blocks else ["kind", "bucket", "out"]
    return [*(by_name[n] for n in head), *metrics]


def to_csv(report: Report, columns: int | None = None, view: View = DEFAULT_VIEW) -> str:
    """The rows section as data rows only (the totals are in the JSON); with `--summary`, the
    totals as metric,value rows; a TOTAL row only when the view asks for it. Exact values
    whatever --units says (CSV is data)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    section = row_section(report, view)
    if section is None:
        writer.writerow(["metric", "value"])
        writer.writerows((m.key, report.totals.values[m.key]) for m in report.metrics)
        return out.getvalue()
    cols = _csv_columns(report, section)
    names = ["name", *(n for c in cols for n in (c.csv if isinstance(c, Field) else (c.key,))),
             *(f"{m.key}_pct" for m in section.shares)]
    totals = report.totals.values
    for_rows = []
    for r in section.rows:
        cells: list[Any] = [r.name]
        for c in cols:
            cells += c.raw(r) if isinstance(c, Field) else (r.values[c.key],)
        cells += [_share(r.values[m.key], totals[m.key]) for m in section.shares]
        for_rows.append(["" if v is None else v for v in cells])
    writer.writerow(names)
    writer.writerows(for_rows)
    if view.csv_total:
        keys = {c.key for c in cols if isinstance(c, Metric)}
        total = {"name": "TOTAL", **{k: totals[k] for k in keys},
                 **{f"{m.key}_pct": 100.0 for m in section.shares}}
        writer.writerow([total.get(n, "") for n in names])
    return out.getvalue()


def to_json(report: Report, columns: int | None = None, view: View = DEFAULT_VIEW) -> str:
    """Report.to_dict, plus `rows` when the view ranks or groups them (`--top`, `--depth`):
    the same rows the table shows, with their shares of the totals."""
    data = report.to_dict()
    section = row_section(report, view)
    if section is not None and (view.top is not None or view.depth is not None):
        keys = [m.key for m in (report.summed if section.blocks else report.metrics)
                if m.layer is not None]
        data["rows"] = {"by": "block" if section.blocks else "layer", "depth": view.depth,
                        "sort": view.key, "top": view.top, "title": section.title,
                        "rows": _raw_rows(report, section, keys)}
    return json.dumps(data, indent=2) + "\n"


def to_html(report: Report, columns: int | None = None, view: View = DEFAULT_VIEW) -> str:
    """One self-contained page (costcalc/html_report.py): imported on use, as it draws plots
    and the layer graph."""
    from .html_report import page

    return page(report, view)


Renderer = Callable[[Report, int | None, View], str]  # (report, table width, view) -> text
RENDERERS: dict[Format, Renderer] = {
    Format.table: to_table,
    Format.markdown: to_markdown,
    Format.csv: to_csv,
    Format.json: to_json,
    Format.html: to_html,
}

# -o's extension chooses the format when --format is not given
EXTENSIONS = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown",
              ".txt": "table", ".html": "html", ".htm": "html"}


def _renderer(table: Mapping[Any, Callable[..., str]], fmt: Enum | str) -> Callable[..., str]:
    """The renderer a format names in a dispatch table; an unknown format is an error."""
    names = {format_.value: render for format_, render in table.items()}
    name = fmt.value if isinstance(fmt, Enum) else fmt
    if name not in names:
        raise CostcalcError(f"unknown format '{name}'", "use one of " + ", ".join(names))
    return names[name]


def render(report: Report, fmt: Format | str, columns: int | None = None,
           view: View = DEFAULT_VIEW) -> str:
    """The report in one format; `columns` fixes the table's width (only the table uses it),
    `view` chooses its rows (every layer, none, per block, the top K)."""
    return _renderer(RENDERERS, fmt)(report, columns, view)


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
# `costcalc latency --calibrate`


def calibration_text(result: Fit, clock_hz: float | None = None, units: str = "exact",
                     columns: int | None = None) -> str:
    """The fitted model, then every point: its work of each fitted feature (every digit, or
    compact under `--units human`, as the rows' counts are), its measured and predicted time,
    residual and error (ms to the microsecond whatever the units, as the per-layer latency
    column), then the fitted and held-out points' total and mean errors. The work columns are
    dropped, right to left, while the table is wider than `columns` (as the rows' metrics
    are); the times are always shown."""
    from .latency import FEATURE_FORMAT, FEATURE_TEXT

    if units not in UNITS:
        raise CostcalcError(f"unknown units '{units}'", "use exact or human")
    pairs = list(zip(result.coefficients, result.features, strict=True))
    lines = ["calibration: time = " + " + ".join(f"{c:.4g} ms {FEATURE_TEXT[f]}"
                                                 for c, f in pairs)]
    if clock_hz:
        lines.append("  = " + ", ".join(f"{c * 1e-3 * clock_hz:.4g} cycles {FEATURE_TEXT[f]}"
                                        for c, f in pairs) + f" at {clock_hz:.4g} Hz")
    if result.clock_ratio != 1:
        lines.append(f"points of the second file predicted at {result.clock_ratio:.4g} x the "
                     "clock of the fitted ones")
    show = compact if units == "human" else _exact
    work = [(f, [show(p.work[f], FEATURE_FORMAT[f]) for p in result.points])
            for f in result.features]
    work = [(f, cells, max(len(f), *map(len, cells))) for f, cells in work]
    width = max(len(p.name) for p in result.points)
    times = 2 + 12 + 2 + 12 + 2 + 12 + 2 + 8 + (12 if any(p.held_out for p in result.points)
                                               else 0)
    while work and width + sum(2 + n for _, _, n in work) + times > (columns or DEFAULT_COLUMNS):
        work.pop()
    lines.append(f"{'point'.ljust(width)}" + "".join(f"  {f:>{n}}" for f, _, n in work)
                 + f"  {'measured ms':>12}  {'predicted ms':>12}  {'residual ms':>12}  "
                 f"{'error':>8}")
    for i, p in enumerate(result.points):
        tag = "  (held out)" if p.held_out else ""
        lines.append(f"{p.name.ljust(width)}" + "".join(f"  {cells[i]:>{n}}"
                                                        for _, cells, n in work)
                     + f"  {p.measured_ms:12.3f}  {p.predicted_ms:12.3f}  "
                     f"{p.predicted_ms - p.measured_ms:12.3f}  {p.error_pct:7.1f}%{tag}")
    for held, what in ((False, "fitted"), (True, "held out")):
        if any(p.held_out == held for p in result.points):
            lines.append(f"{what}: total error {result.error_pct(held):+.1f}%, mean |error| "
                         f"{result.mean_abs_error_pct(held):.1f}%")
    return "\n".join(lines) + "\n"


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
    for name, values in () if grid is None else grid.named_axes:
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
            any(len(v) > 1 for _, v in grid.named_axes) or len(grid.alphas) < 2 or \
            len(grid.sizes) < 2:
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
    """The header lines, then the grid or the long table with every digit: split into stacked
    tables (the width, or the axis columns, repeated) when it is wider than `columns`."""
    console = _Page(columns or DEFAULT_COLUMNS)
    for line in sweep_header(result, keys):
        _write_wrapped(console, line)
    grid = _sweep_grid(result, keys[0]) if len(keys) == 1 else None
    names, rows = grid if grid is not None else _sweep_rows(result, keys, True)
    axes = 1 if grid is not None else len(sweep_columns(result))
    print_stacked(console, f"{keys[0]} by width (rows) and resolution (columns)"
                  if grid is not None else "", names, [[str(c) for c in r] for r in rows],
                  axes, 0)
    return console.file.getvalue()


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


def _dtype_text(report: Report) -> str:
    s = report.settings
    return s.weights if s.weights == s.acts else f"{s.weights} / {s.acts}"


# What each column was computed at, so that a shared --batch or dtype is on the table.
COMPARE_SETTINGS = (
    ("input", lambda r: _shape(r.input)),
    ("batch", lambda r: str(r.batch)),
    ("dtype (weights / acts)", _dtype_text),
    ("params convention", lambda r: r.params_convention),
)


def compare_rows(comparison: Comparison, exact: bool = True) -> tuple[list[str], list[list[Any]]]:
    """Rows: each metric, then its ratio to the first column, then MACs by layer type."""
    columns = comparison.columns
    names = ["metric", *(_label(c, comparison.vary) for c in columns)]
    rows: list[list[Any]] = [["network", *(c.report.network if c.report else "-"
                                          for c in columns)]]
    rows += [[label, *(setting(c.report) if c.report else "-" for c in columns)]
             for label, setting in COMPARE_SETTINGS]
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
    rows += _accuracy_rows(comparison, exact)
    for bucket in BUCKETS:
        shares = [{s.bucket: s for s in c.report.breakdown}.get(bucket) if c.report else None
                  for c in columns]
        if any(shares):
            rows.append([f"MACs in {bucket}", *("-" if s is None else
                                                _exact(s.macs_pct, "percent") for s in shares)])
    return names, rows


NONE = "—"  # no published accuracy for the configuration


def _accuracy_rows(comparison: Comparison, marks: bool) -> list[list[Any]]:
    """Published top-1 (with a footnote mark, or its FILE:TABLE for CSV) and the front."""
    columns = comparison.columns
    notes = _accuracy_sources(comparison)
    top1 = ["top-1 %"]
    source = ["top-1 source"]
    for i, c in enumerate(columns):
        if c.top1 is None:
            top1.append(NONE)
            source.append(NONE)
            continue
        top1.append(c.published[0].accuracy.text() + (f" [{notes[i][0]}]" if marks else ""))
        source.append(c.published[0].ref)
    front = ["accuracy front", *("yes" if i in comparison.front else
                                 "no" if c.top1 is not None else NONE
                                 for i, c in enumerate(columns))]
    return [top1, front] if marks else [top1, source, front]


def _accuracy_sources(comparison: Comparison) -> dict[int, tuple[int, str]]:
    """Column index -> (footnote number, its text): where the shown top-1 is printed, and
    every other table that prints the same configuration (with its figure if it differs)."""
    notes: dict[int, tuple[int, str]] = {}
    for i, c in enumerate(comparison.columns):
        if c.top1 is None:
            continue
        first, *others = c.published
        text = f"{c.entry.text}: {first.accuracy.describe()}, {first.where}"
        also = [p.ref + ("" if p.accuracy.value("top1") == c.top1 else
                         f" prints {p.accuracy.describe()}") for p in others]
        if also:
            text += "; also in " + ", ".join(also)
        notes[i] = (len(notes) + 1, text)
    return notes


def compare_notes(comparison: Comparison) -> list[str]:
    """The footnotes under a comparison's table: what top-1 is, its sources, the front."""
    from .compare import ACCURACY_NOTE, FRONT_NOTE

    notes = _accuracy_sources(comparison)
    lines = [ACCURACY_NOTE, *(f"[{n}] {text}" for n, text in notes.values())]
    if notes:
        lines.append(FRONT_NOTE)
    return lines


def compare_table(comparison: Comparison, columns: int | None = None) -> str:
    console = text_console(columns or 110)
    if comparison.budget:
        console.print("budget: " + ", ".join(f"{k} <= {v:g}" for k, v in
                                             comparison.budget.items())
                      + f"; the largest {comparison.vary} within it (exact search)",
                      soft_wrap=True)
    names, rows = compare_rows(comparison)
    page = _Page(console.width)  # every digit: the labels wrap, then the columns stack
    print_stacked(page, "", names, rows, 1, 1, wrap_first=True)
    console.file.write(page.file.getvalue())  # type: ignore[attr-defined]
    for line in compare_notes(comparison):
        console.print(line, soft_wrap=True)
    return console.file.getvalue()  # type: ignore[attr-defined]


def compare_markdown(comparison: Comparison, columns: int | None = None) -> str:
    names, rows = compare_rows(comparison)
    return (_md_table(tuple(names), [tuple(r) for r in rows]) + "\n\n"
            + "\n".join(f"- {line}" for line in compare_notes(comparison)) + "\n")


def compare_csv(comparison: Comparison, columns: int | None = None) -> str:
    names, rows = compare_rows(comparison, exact=False)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([names, *rows])
    return out.getvalue()


def compare_json(comparison: Comparison, columns: int | None = None) -> str:
    from .compare import ACCURACY_NOTE, FRONT_NOTE

    def published(p: Any) -> dict[str, Any]:
        return {"table": p.ref, "source": p.table.source, "label": p.row.label,
                "printed": dict(p.accuracy.printed), "top1": p.accuracy.value("top1"),
                "top5": p.accuracy.value("top5")}

    return json.dumps({
        "budget": dict(comparison.budget), "vary": comparison.vary,
        "metrics": list(comparison.keys), "paper": comparison.paper or None,
        "accuracy_note": ACCURACY_NOTE + " " + FRONT_NOTE,
        "accuracy_front": [comparison.columns[i].entry.text for i in comparison.front],
        "columns": [{"entry": c.entry.text, "fitted": c.fitted,
                     "network": c.report.network if c.report else None,
                     "settings": {"input": list(c.report.input), "batch": c.report.batch,
                                  "weight_dtype": c.report.settings.weights,
                                  "act_dtype": c.report.settings.acts,
                                  "params": c.report.params_convention} if c.report else None,
                     "totals": {k: c.report.totals.values[k] for k in comparison.keys}
                     if c.report else None,
                     "top1": c.top1, "top5": c.top5,
                     "on_accuracy_front": i in comparison.front if c.top1 is not None
                     else None,
                     "published": [published(p) for p in c.published]}
                    for i, c in enumerate(comparison.columns)]}, indent=1) + "\n"


COMPARE_RENDERERS: dict[Format, Callable[..., str]] = {
    Format.table: compare_table,
    Format.markdown: compare_markdown,
    Format.csv: compare_csv,
    Format.json: compare_json,
}


def render_compare(comparison: Comparison, fmt: Format | str,
                   columns: int | None = None) -> str:
    return _renderer(COMPARE_RENDERERS, fmt)(comparison, columns)


# ---------------------------------------------------------------------------------------------
# `costcalc list` and `costcalc show`


def profile_list(profiles: Sequence[Any], long: bool = False) -> str:
    """One short line per hardware profile: name, what it prices (energy, latency or both),
    its energy unit, peak MAC/s and bandwidth where it has them; `long` adds the source."""
    rows = [("name", "prices", "unit", "peak MAC/s", "bandwidth B/s")]
    for p in profiles:
        rows.append((p.name, p.parts, p.unit or "-",
                     "-" if p.peak_macs_per_s is None else f"{p.peak_macs_per_s:.4g}",
                     "-" if p.bandwidth_bytes_per_s is None else
                     f"{p.bandwidth_bytes_per_s:.4g}"))
    widths = [max(cell_len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(_list_line(row, widths))
        if long and n and profiles[n - 1].source:
            lines.append(f"    source: {' '.join(profiles[n - 1].source.split())}")
    return "\n".join(lines) + "\n"


def _list_line(row: Sequence[str], widths: Sequence[int]) -> str:
    """A line of `costcalc list`: cells two spaces apart, the fourth on right-aligned."""
    return "  ".join(cell.rjust(w) if i >= 3 else cell.ljust(w)
                     for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()


def spec_list(entries: Sequence[tuple[str, Spec, Report]], long: bool = False,
              variants: bool = False, columns: int | None = None) -> str:
    """One short line per bundled spec: name, network, input, MACs, params (at its defaults)
    and its number of variants, the network's name shortened in the middle to fit `columns`;
    `long` adds the source, `variants` each variant."""
    rows = [("name", "network", "input", "MACs", "params", "variants")]
    for stem, spec, report in entries:
        c, h, w = report.input
        rows.append((stem, spec.name, f"{c}x{h}x{w}", si(report.totals.macs),
                     si(report.totals.params), str(len(spec.variants))))
    widths = [max(cell_len(r[i]) for r in rows) for i in range(len(rows[0]))]
    over = sum(widths) + 2 * (len(widths) - 1) - (columns or DEFAULT_COLUMNS)
    if over > 0:
        widths[1] = max(_MIN_NAME, widths[1] - over)
        rows = [(r[0], shorten_middle(r[1], widths[1]), *r[2:]) for r in rows]
    lines = []
    for n, row in enumerate(rows):
        lines.append(_list_line(row, widths))
        if n == 0:
            continue
        spec = entries[n - 1][1]
        if long and spec.source:
            lines.append(f"    source: {' '.join(spec.source.split())}")
        if variants:
            lines += [f"    --variant {v.name}" + (f": {v.description}" if v.description else "")
                      for v in spec.variants.values()]
    return "\n".join(lines) + "\n"


def spec_text(spec: Spec, path: str) -> str:
    """What `costcalc show` says about a spec: its file, input, width rule, arguments with
    their defaults, and variants with what each sets."""
    rule = spec.width
    lines = [f"{spec.name}  ({spec.source})" if spec.source else spec.name,
             f"file: {path}",
             f"input: {spec.channels}x{spec.size[0]}x{spec.size[1]}",
             f"width: {rule.multiplier:g} (channels round: {rule.round}, divisor {rule.divisor}, "
             f"min {rule.min})"]
    if spec.description:
        lines += ["", *textwrap.wrap(" ".join(spec.description.split()), 96)]
    lines += ["", "arguments (--set NAME=VALUE), with their defaults:" if spec.args else
              "arguments: none"]
    width = max((len(k) for k in spec.args), default=0)
    lines += [f"  {k.ljust(width)}  {_setting(v)}" for k, v in spec.args.items()]
    lines += ["", "variants (--variant NAME):" if spec.variants else "variants: none"]
    for v in spec.variants.values():
        sets = [f"{k}={_setting(x)}" for k, x in v.args.items()]
        if v.width is not None:
            sets.append(f"width={v.width:g}")
        if v.resolution is not None:
            res = v.resolution
            sets.append(f"resolution={res if isinstance(res, int) else 'x'.join(map(str, res))}")
        about = f"  ({v.description})" if v.description else ""
        lines.append(f"  {v.name}: {' '.join(sets) or 'the defaults'}{about}")
    return "\n".join(lines) + "\n"
