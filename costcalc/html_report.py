"""A report as one self-contained HTML page (`costcalc report SPEC --format html`).

The page is built from the same Report the JSON is (`Report.to_dict`'s keys and values): the
header and conventions, the totals, the breakdown by layer type, the rows of the view (every
layer, or the blocks of `--depth`, or the `--top` K) in a table that sorts when a column
heading is clicked (or `?sort=KEY&order=asc|desc` in the address), the plots as inline SVG
(needs matplotlib, the `[plot]` extra; otherwise the page says so) and the layer graph as SVG
(needs Graphviz's `dot`; otherwise its DOT source in a collapsible block, and the page says
so). Nothing is loaded from anywhere: no scripts, styles, fonts or images outside the page.
Every text that comes from the spec (names, sources, arguments) is escaped.

Each number cell carries its exact value in `data-value` (JSON number syntax), each totals row
the metric's JSON path under `totals` in `data-key`: the page can be checked against the JSON.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from html import escape
from importlib import metadata
from typing import Any

from .errors import CostcalcError
from .render import (
    BREAKDOWN_COLUMNS,
    DEFAULT_VIEW,
    RowSection,
    View,
    _approx,
    _exact,
    _share,
    breakdown_cells,
    header_lines,
    row_section,
    section_cells,
    section_columns,
)
from .report import Report, evaluated_graph

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:1.5rem;
color:#1b1b1b;background:#fff;max-width:1200px}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}
ul.header{margin:.3rem 0;padding-left:1.2rem;font-size:.9rem;color:#333}
table{border-collapse:collapse;font-size:.85rem;margin:.3rem 0}
th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
th.sub{padding-left:1.5rem;font-weight:normal}
td.num,th.num,td[data-value]{text-align:right;font-variant-numeric:tabular-nums}
thead th{background:#f3f3f3;position:sticky;top:0}
#rows thead th button{all:unset;cursor:pointer;font-weight:bold}
#rows thead th[aria-sort=ascending] button::after{content:" \\25B2"}
#rows thead th[aria-sort=descending] button::after{content:" \\25BC"}
tbody tr:nth-child(even){background:#fafafa}
.note{background:#fff8e1;border:1px solid #f0d98c;padding:.4rem .6rem;font-size:.9rem}
figure{margin:.6rem 0}figure svg{max-width:100%;height:auto}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:.75rem}
footer{margin-top:2rem;font-size:.8rem;color:#666}
"""

# Sorting: a click on a heading sorts by that column (numbers by data-value, descending first;
# text ascending first); ?sort=KEY&order=asc|desc sorts when the page opens (KEY: a heading's
# data-sort, or `index` for graph order). Ties keep graph order.
SCRIPT = """
(function () {
  var table = document.getElementById("rows");
  if (!table) { return; }
  var body = table.tBodies[0], heads = table.tHead.rows[0].cells;
  function value(row, col) {
    if (col < 0) { return +row.getAttribute("data-index"); }
    var cell = row.cells[col], raw = cell.getAttribute("data-value");
    return raw === null ? cell.textContent : parseFloat(raw);
  }
  function sortBy(key, order) {
    var col = -1, numeric = true;
    for (var i = 0; i < heads.length; i++) {
      if (heads[i].getAttribute("data-sort") === key) {
        col = i; numeric = heads[i].getAttribute("data-type") === "num";
      }
    }
    if (col < 0 && key !== "index") { return; }
    if (order !== "asc" && order !== "desc") {
      order = numeric && key !== "index" ? "desc" : "asc";
    }
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, col), y = value(b, col);
      var c = x < y ? -1 : x > y ? 1 : 0;
      if (order === "desc") { c = -c; }
      return c || (+a.getAttribute("data-index") - +b.getAttribute("data-index"));
    });
    rows.forEach(function (row) { body.appendChild(row); });
    for (var j = 0; j < heads.length; j++) {
      heads[j].setAttribute("aria-sort", j === col ?
        (order === "asc" ? "ascending" : "descending") : "none");
    }
    table.setAttribute("data-sorted", key + " " + order);
  }
  Array.prototype.forEach.call(heads, function (head) {
    var button = head.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var key = head.getAttribute("data-sort"), now = table.getAttribute("data-sorted") || "";
      var numeric = head.getAttribute("data-type") === "num";
      var order = now === key + " desc" ? "asc" : now === key + " asc" ? "desc" :
        (numeric ? "desc" : "asc");
      sortBy(key, order);
    });
  });
  var query = new URLSearchParams(window.location.search);
  if (query.get("sort")) { sortBy(query.get("sort"), query.get("order")); }
})();
"""

NUM = ' class="num"'
PLOT_EXTRA = "pip install 'costcalc[plot]'"
# A graph of more layers than this is drawn one node per block (`--depth 1`) unless the view
# chooses a depth: NASNet-A Mobile's 905 layers drew 22,749 pt tall and 1.3 MB of SVG.
GRAPH_LAYERS = 600
# Graphviz writes these on every <text>; the most common value of each moves to the <svg>
# element, which its texts inherit it from.
TEXT_ATTRIBUTES = ("font-family", "font-size", "text-anchor")


def _number(value: Any) -> str:
    """A value as the JSON writes it (exact: ints whole, floats by repr)."""
    return json.dumps(value)


def _cell(text: str, value: Any = None) -> str:
    """A cell; with a value, a number cell (right-aligned by its data-value: no class)."""
    if value is None:
        return f"<td>{escape(text)}</td>"
    return f'<td data-value="{escape(_number(value))}">{escape(text)}</td>'


def _header(report: Report) -> str:
    first, *rest = header_lines(report)
    items = "".join(f"<li>{escape(line)}</li>" for line in rest)
    return (f'<header><h1 id="network" data-network="{escape(report.network)}">'
            f'{escape(first)}</h1><ul class="header">{items}</ul></header>')


def _totals(report: Report) -> str:
    """One row per metric of the totals (each with its JSON path), then, over a batch, the
    per-image values."""
    values = report.totals.values
    rows = []
    for m in report.metrics:
        if "totals" not in m.shows:
            continue
        label = m.label.format(params=report.params_convention)
        sub = ' class="sub"' if m.group else ""  # a part of the row above
        rows.append(f'<tr data-key="{escape(m.total_path)}"><th{sub}>{escape(label)}</th>'
                    f'{_cell(_exact(values[m.key], m.fmt), values[m.key])}'
                    f'<td class="num">{escape(_approx(values[m.key], m, report))}</td></tr>')
    if report.batch > 1:
        by_key = {m.key: m for m in report.metrics}
        for key, value in report.per_image().items():
            m = by_key[key]
            rows.append(f'<tr data-key="per_image.{escape(key)}"><th>{escape(m.label)} per '
                        f'image</th>{_cell(_exact(value, m.fmt), value)}'
                        f'<td class="num">{escape(_approx(value, m, report))}</td></tr>')
    return ('<section><h2>Totals</h2><table id="totals"><thead><tr><th>metric</th>'
            '<th class="num">exact</th><th class="num">approx</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></section>")


def _breakdown(report: Report) -> str:
    head = "".join(f"<th{NUM if i else ''}>{escape(c)}</th>"
                   for i, c in enumerate(BREAKDOWN_COLUMNS))
    rows = []
    for share, cells in zip(report.breakdown, breakdown_cells(report), strict=True):
        numbers = (share.macs, share.macs_pct, share.params, share.params_pct)
        rows.append(f'<tr data-bucket="{escape(share.bucket)}">{_cell(cells[0])}'
                    + "".join(_cell(text, value) for text, value in
                              zip(cells[1:], numbers, strict=True)) + "</tr>")
    return (f'<section><h2>By layer type</h2><table id="breakdown"><thead><tr>{head}</tr>'
            "</thead><tbody>" + "".join(rows) + "</tbody></table></section>")


def _rows(report: Report, section: RowSection) -> str:
    """The view's rows, sortable: each heading names its key (`name`, `kind`, `output`,
    `layers`, a metric's key, or KEY_pct for a share)."""
    text_keys = ("name", "output", "layers") if section.blocks else ("name", "kind", "output")
    keys = [*text_keys, *(m.key for m in section.metrics),
            *(f"{m.key}_pct" for m in section.shares)]
    numeric = [False, False, section.blocks, *([True] * (len(keys) - 3))]
    heads = "".join(
        f'<th data-sort="{escape(key)}" data-type="{"num" if num else "text"}" '
        f'aria-sort="none"{NUM if num else ""}><button type="button">'
        f"{escape(column)}</button></th>"
        for key, num, column in zip(keys, numeric, section_columns(section), strict=True))
    totals = report.totals.values
    body = []
    for i, (row, cells) in enumerate(zip(section.rows, section_cells(report, section),
                                         strict=True)):
        numbers = [*(row.values[m.key] for m in section.metrics),
                   *(_share(row.values[m.key], totals[m.key]) for m in section.shares)]
        head = [_cell(cells[0]), _cell(cells[1]),
                _cell(cells[2], row.layers) if section.blocks else _cell(cells[2])]
        body.append(f'<tr data-index="{i}" data-name="{escape(row.name)}">' + "".join(head)
                    + "".join(_cell(text, value) for text, value in
                              zip(cells[3:], numbers, strict=True)) + "</tr>")
    return (f"<section><h2>{escape(section.title[0].upper() + section.title[1:])}</h2>"
            "<p>Click a heading to sort (again to reverse).</p>"
            f'<table id="rows" data-sorted="index asc"><thead><tr>{heads}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table></section>")


def _plots(report: Report) -> str:
    from . import plots

    missing = plots.available()
    if missing is not None:
        return ('<section id="plots"><h2>Plots</h2><p class="note" id="plots-missing">'
                f"The plots need the [plot] extra ({escape(PLOT_EXTRA)}): "
                f"{escape(missing.splitlines()[0])}.</p></section>")
    drawn = [plots.layers(report, None)]
    if report.settings.hardware is not None:
        drawn.append(plots.energy([report], None, by_layer=True))
    if report.settings.latency is not None and any(r.macs for r in report.layers):
        drawn.append(plots.roofline(report, None))
    figures = "".join(f'<figure data-plot="{p.kind}">{p.svg}<figcaption>{escape(p.title)}'
                      "</figcaption></figure>" for p in drawn)
    return f'<section id="plots"><h2>Plots</h2>{figures}</section>'


def compact_svg(svg: str) -> str:
    """Graphviz's SVG, the same drawing in fewer bytes: no comments, no whitespace between
    tags, and each of TEXT_ATTRIBUTES written once on the <svg> element for the texts that
    share its most common value (a 900-layer graph: 1.29 MB down to 0.94 MB)."""
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    svg = re.sub(r">\s+<", "><", svg).strip()
    for name in TEXT_ATTRIBUTES:
        pattern = re.compile(rf'(<text\b[^>]*?) {name}="([^"]*)"')
        common = Counter(m.group(2) for m in pattern.finditer(svg)).most_common(1)
        if not common:
            continue
        value = common[0][0]
        svg = pattern.sub(lambda m, v=value: m.group(1) if m.group(2) == v else m.group(0),
                          svg)
        svg = svg.replace("<svg ", f'<svg {name}="{value}" ', 1)
    return svg


def _graph(report: Report, view: View) -> str:
    """The layer graph (`costcalc graph`, collapsed to blocks with --depth, or when it has
    more than GRAPH_LAYERS layers and blocks to collapse them to, which the page then says):
    SVG when Graphviz's dot is installed, else the DOT text. Its MACs are the report's, per
    image."""
    from .dot import INSTALL, graph_dot, render_dot

    try:
        graph, shapes = evaluated_graph(report.file, report.width, tuple(report.input[1:]),
                                        report.overrides, report.variant)
        same = [layer.name for layer in graph.layers] == [r.name for r in report.layers]
        why = "" if same else "its spec, rebuilt, has other layers"
    except CostcalcError as exc:
        why = str(exc).splitlines()[0]
    if why:  # a report of a built Graph (analyze(graph)): its spec is not the whole story
        return ('<section id="graph"><h2>Layer graph</h2><p class="note" id="graph-missing">'
                f"The layer graph is not drawn: the report's spec {escape(report.file)} cannot "
                f"be rebuilt as it was computed ({escape(why)}).</p></section>")
    macs = {r.name: r.macs // report.batch for r in report.layers}
    depth, note = view.depth, ""
    blocks = {layer.group for layer in graph.layers if layer.group is not None}
    if depth is None and len(graph.layers) > GRAPH_LAYERS and blocks:
        depth = 1
        nodes = len(blocks) + sum(layer.group is None for layer in graph.layers)
        note = ('<p class="note" id="graph-blocks" data-layers="'
                f'{len(graph.layers)}" data-nodes="{nodes}">{escape(report.network)} has '
                f"{len(graph.layers):,} layers, more than the {GRAPH_LAYERS} this page draws "
                f"one by one: the graph shows one node per block ({nodes:,} nodes), with the "
                "block's MACs; the rows above list every layer. <code>costcalc graph "
                f"{escape(report.file)} -o graph.svg</code>, with this report's settings, "
                "draws every layer.</p>")
    text = graph_dot(graph, shapes, macs, depth)
    if shutil.which("dot") is None:
        return ('<section id="graph"><h2>Layer graph</h2><p class="note" id="graph-missing">'
                "Graphviz's <code>dot</code> is not installed, so the graph is not drawn; "
                f"its DOT source is below ({escape(INSTALL)}).</p>{note}<details><summary>"
                f"DOT source</summary><pre>{escape(text)}</pre></details></section>")
    svg = render_dot(text, "svg").decode("utf-8")
    return (f'<section id="graph"><h2>Layer graph</h2>{note}<figure data-plot="graph">'
            f'{compact_svg(svg[svg.index("<svg"):])}</figure></section>')


def page(report: Report, view: View = DEFAULT_VIEW) -> str:
    """The whole page, deterministic for a given report, view and installed tools."""
    section = row_section(report, view)
    parts = [_header(report), _totals(report), _breakdown(report),
             _rows(report, section) if section is not None else "",
             _plots(report), _graph(report, view)]
    try:
        version = metadata.version("costcalc")
    except metadata.PackageNotFoundError:  # running from a source tree
        version = "(source)"
    title = escape(report.network)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}: costcalc report</title><style>{STYLE}</style></head><body>"
            + "\n".join(p for p in parts if p)
            + f"<footer>Written by costcalc {escape(version)}; every number is the JSON "
            "report's (<code>--format json</code>).</footer>"
            f"<script>{SCRIPT}</script></body></html>\n")
