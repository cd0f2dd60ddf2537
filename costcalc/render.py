"""Renderers: a Report to a rich table, Markdown, CSV or JSON text. No computation here."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from enum import Enum

from rich.console import Console
from rich.table import Table

from .report import Report


class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
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
    return [
        f"{report.network}  ({report.source})" if report.source else report.network,
        f"input {c}x{h}x{w} | batch {report.batch} | width {report.width:g} | dtype "
        f"{report.dtype} ({report.bits}-bit) | params: {report.params_convention}",
        f"MACs: {conv['macs']}",
        f"params ({report.params_convention}): {conv['params_rule']}",
    ]


def totals_rows(report: Report) -> list[tuple[str, str, str]]:
    t = report.totals
    rows = [
        ("MACs", f"{t.macs:,}", si(t.macs)),
        ("FLOPs", f"{t.flops:,}", si(t.flops)),
        (f"params ({report.params_convention})", f"{t.params:,}", si(t.params)),
        ("  weights / biases / BN gamma,beta", f"{t.weights:,} / {t.biases:,} / {t.bn:,}", ""),
        ("weight bytes", f"{t.weight_bytes:,}", binary(t.weight_bytes)),
        ("activations (sum of outputs)", f"{t.activations:,}", si(t.activations)),
        ("activation bytes (sum)", f"{t.activation_bytes:,}", binary(t.activation_bytes)),
        ("peak live activation bytes", f"{t.peak_activation_bytes:,}",
         binary(t.peak_activation_bytes)),
        ("block memory bytes (MobileNetV2 measure)", f"{t.block_memory_bytes:,}",
         binary(t.block_memory_bytes)),
    ]
    if report.batch > 1:
        rows.insert(1, ("  MACs per image", f"{t.macs // report.batch:,}",
                        si(t.macs // report.batch)))
    return rows


LAYER_COLUMNS = ("layer", "kind", "output", "MACs", "params", "act bytes")


def layer_cells(report: Report) -> list[tuple[str, ...]]:
    return [(r.name, r.kind if r.bucket == "other" else r.bucket, "x".join(map(str, r.output)),
             f"{r.macs:,}", f"{r.params:,}", f"{r.activation_bytes:,}") for r in report.layers]


def breakdown_cells(report: Report) -> list[tuple[str, ...]]:
    return [(s.bucket, f"{s.macs:,}", f"{s.macs_pct:.2f} %", f"{s.params:,}",
             f"{s.params_pct:.2f} %") for s in report.breakdown]


BREAKDOWN_COLUMNS = ("layer type", "MACs", "MACs share", "params", "params share")


def to_table(report: Report, columns: int | None = None) -> str:
    console = Console(file=io.StringIO(), width=columns or 110, color_system=None,
                      highlight=False, force_terminal=False)
    for line in header_lines(report):
        console.print(line, soft_wrap=True)
    layers = Table(title="per layer", title_justify="left")
    for i, name in enumerate(LAYER_COLUMNS):
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


def to_markdown(report: Report) -> str:
    head = header_lines(report)
    parts = [f"# {head[0]}", "\n".join(f"- {line}" for line in head[1:]),
             "## Totals", _md_table(("metric", "exact", "approx"), totals_rows(report)),
             "## By layer type", _md_table(BREAKDOWN_COLUMNS, breakdown_cells(report)),
             "## Layers", _md_table(LAYER_COLUMNS, layer_cells(report), left=3)]
    return "\n\n".join(parts) + "\n"


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "kind", "bucket", "c", "h", "w", "macs", "flops", "params",
                     "activations", "activation_bytes"])
    for r in report.layers:
        writer.writerow([r.name, r.kind, r.bucket, *r.output, r.macs, r.flops, r.params,
                         r.activations, r.activation_bytes])
    t = report.totals
    writer.writerow(["TOTAL", "", "", "", "", "", t.macs, t.flops, t.params, t.activations,
                     t.activation_bytes])
    return out.getvalue()


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def render(report: Report, fmt: Format, columns: int | None = None) -> str:
    if fmt is Format.table:
        return to_table(report, columns)
    if fmt is Format.markdown:
        return to_markdown(report)
    if fmt is Format.csv:
        return to_csv(report)
    return to_json(report)
