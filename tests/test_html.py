"""The HTML report: one self-contained page built from the JSON report's numbers, escaped,
written whole; and checked in a real browser (headless Chromium: screenshot, DOM, sorting).

The browser tests skip where Chromium is absent, except in CI (CI=true), where .ci/run installs
it and a missing browser fails."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import costcalc
from costcalc import html_report
from costcalc.cli import main
from costcalc.deployment import Roofline
from costcalc.hardware import make_hardware
from costcalc.render import View, render

EVIL = """\
version: 1
name: "Evil <b>net</b> & co"
source: "<img src=x onerror=alert(1)>"
input: {channels: 3, size: 32}
layers:
  - conv: {name: "<script>document['title']='pwned'</script>", out: 8, kernel: 3, pad: 1}
  - conv: {name: "a\\"b'c&d</td>", out: 8, kernel: 3, pad: 1}
  - pool: {op: avg, global: true}
  - fc: {out: 10}
"""
EVIL_NAMES = ["input", "<script>document['title']='pwned'</script>", "a\"b'c&d</td>", "pool1",
              "fc1"]


class Page(HTMLParser):
    """What a test reads from a page: the totals rows (data-key -> data-value), the per-layer
    rows (name and cell values), every tag and attribute, the text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.totals: dict[str, str] = {}
        self.rows: list[dict[str, Any]] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.tables: dict[str, dict[str, str]] = {}
        self._table: str | None = None
        self._key: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "table":
            self._table = a.get("id")
            self.tables[self._table or ""] = a
        elif tag == "tr" and self._table == "totals":
            self._key = a.get("data-key")
        elif tag == "tr" and self._table == "rows" and "data-index" in a:
            self.rows.append({"index": int(a["data-index"]), "name": a["data-name"],
                              "values": []})
        elif tag == "td" and "data-value" in a:
            if self._table == "totals" and self._key is not None:
                self.totals[self._key] = a["data-value"]
            elif self._table == "rows":
                self.rows[-1]["values"].append(json.loads(a["data-value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def check_against_json(page: Page, report: costcalc.Report) -> None:
    """Every total and every per-layer number on the page is the JSON report's, exactly."""
    data = json.loads(render(report, "json"))
    totals = flat(data["totals"])
    shown = {m.total_path for m in report.metrics if "totals" in m.shows}
    per_image = {f"per_image.{k}" for k in data["per_image"]} if report.batch > 1 else set()
    assert set(page.totals) == shown | per_image
    for key, text in page.totals.items():
        expected = data["per_image"][key.split(".", 1)[1]] if key.startswith("per_image.") \
            else totals[key]
        assert json.loads(text) == expected, key
    columns = [m.key for m in report.metrics if m.layer is not None and "columns" in m.shows
               and m.family == report.view]
    by_name = {layer["name"]: layer for layer in data["layers"]}
    assert [r["name"] for r in sorted(page.rows, key=lambda r: r["index"])] == list(by_name)
    for row in page.rows:
        layer = by_name[row["name"]]
        assert row["values"][:len(columns)] == [layer[k] for k in columns], row["name"]
        if "macs" in columns:  # and its share of the total
            assert row["values"][len(columns)] == pytest.approx(100 * layer["macs"] /
                                                                data["totals"]["macs"])


def assert_self_contained(text: str) -> None:
    """Nothing the page loads: no src, no external href, no stylesheet link, no remote url()."""
    page = Page(text)
    for tag, attrs in page.tags:
        assert tag not in ("link", "iframe", "img", "object", "embed"), tag
        assert "src" not in attrs, (tag, attrs)
        for name in ("href", "xlink:href"):
            assert attrs.get(name, "#").startswith("#"), (tag, attrs)
    assert [tag for tag, _ in page.tags].count("script") == 1
    assert "@import" not in text and "url(http" not in text


@pytest.fixture(scope="module")
def squeezenet() -> tuple[costcalc.Report, str]:
    report = costcalc.analyze("squeezenet_v1_0")
    return report, render(report, "html")


def test_the_page_holds_the_json_reports_numbers(squeezenet) -> None:
    report, text = squeezenet
    page = Page(text)
    check_against_json(page, report)
    assert text == render(report, "html")  # deterministic
    assert_self_contained(text)
    assert page.tables["rows"]["data-sorted"] == "index asc"
    breakdown = [attrs["data-bucket"] for tag, attrs in page.tags if "data-bucket" in attrs]
    assert breakdown == [s.bucket for s in report.breakdown]
    body = "".join(page.text)
    assert report.conventions()["macs"] in body and "params (framework)" in body


def test_energy_batch_and_latency_pages() -> None:
    hardware = make_hardware("horowitz45nm")
    report = costcalc.analyze("cifar10_micro", batch=2, hardware=hardware)
    page = Page(render(report, "html"))
    check_against_json(page, report)
    assert "energy.dram" in page.totals and "per_image.energy" in page.totals
    plots = [a["data-plot"] for t, a in page.tags if t == "figure" and "data-plot" in a]
    assert plots[:2] == ["layers", "energy"]
    latency = costcalc.analyze("cifar10_micro", latency=Roofline(1e12, 25.6e9))
    plots = [a["data-plot"] for t, a in Page(render(latency, "html")).tags
             if t == "figure" and "data-plot" in a]
    assert [p for p in plots if p != "graph"] == ["layers", "roofline"]


def test_views_choose_the_rows(squeezenet) -> None:
    report, _ = squeezenet
    assert "id=\"rows\"" not in render(report, "html", view=View(summary=True))
    top = Page(render(report, "html", view=View(top=3, depth=1)))
    assert [r["name"] for r in top.rows] == [r.name for r in sorted(
        report.by_depth(1), key=lambda r: -r.macs)[:3]]


def test_layer_names_and_sources_are_escaped(tmp_path: Path) -> None:
    spec = tmp_path / "evil.yaml"
    spec.write_text(EVIL)
    report = costcalc.analyze(spec)
    text = render(report, "html")
    assert_self_contained(text)  # one script: the page's own
    page = Page(text)
    assert [r["name"] for r in page.rows] == EVIL_NAMES
    assert "<script>document" not in text and "<img" not in text and "<b>" not in text
    assert "Evil <b>net</b> & co" in "".join(page.text)


def test_without_matplotlib_or_graphviz_the_page_says_so(monkeypatch, squeezenet) -> None:
    report, _ = squeezenet
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    monkeypatch.setattr(shutil, "which", lambda name: None)
    text = render(report, "html")
    page = Page(text)
    ids = {a.get("id") for _, a in page.tags}
    assert {"plots-missing", "graph-missing"} <= ids
    body = "".join(page.text)
    assert "pip install 'costcalc[plot]'" in body and "apt-get install graphviz" in body
    assert 'digraph "SqueezeNet v1.0"' in body  # the DOT source, in a <details> block
    assert "<svg" not in text
    check_against_json(page, report)


def test_a_report_of_a_built_graph_says_why_it_has_no_graph() -> None:
    graph = costcalc.build_graph(costcalc.load_spec("resnet_cifar"), args={"n": 1})
    report = costcalc.analyze(graph)
    page = Page(render(report, "html"))
    check_against_json(page, report)
    assert "cannot be rebuilt as it was computed" in "".join(page.text)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_the_graph_is_inline_svg_with_dot(squeezenet) -> None:
    text = squeezenet[1]
    graph = text[text.index('<section id="graph">'):]
    assert "<svg" in graph and "fire2" in graph and "<?xml" not in text


def graph_nodes(svg: str) -> list[str]:
    """The node names of a Graphviz SVG: each node group's <title>, in drawing order."""
    return [unescape(t) for t in re.findall(r'class="node">\s*<title>([^<]*)</title>', svg)]


def test_a_graph_past_the_limit_is_drawn_by_blocks_and_the_page_says_so(monkeypatch,
                                                                        squeezenet) -> None:
    """More than GRAPH_LAYERS layers (squeezenet's 67 against a lowered limit): the graph is
    `costcalc graph --depth 1`'s, the page's note says so and counts both; the rows still
    list every layer. At the limit, or with a depth the view chooses, no note."""
    report, text = squeezenet
    assert 'id="graph-blocks"' not in text and len(report.layers) < html_report.GRAPH_LAYERS
    monkeypatch.setattr(html_report, "GRAPH_LAYERS", len(report.layers) - 1)
    blocked = render(report, "html")
    page = Page(blocked)
    check_against_json(page, report)
    note = next(a for _, a in page.tags if a.get("id") == "graph-blocks")
    dot = CliRunner().invoke(main, ["graph", "squeezenet_v1_0", "--depth", "1"]).stdout
    nodes = re.findall(r'^\s*"([^"]+)" \[label=', dot, re.MULTILINE)
    assert int(note["data-layers"]) == len(report.layers)
    assert int(note["data-nodes"]) == len(nodes) < len(report.layers)
    body = "".join(page.text)
    n = len(report.layers)
    assert (f"{report.network} has {n} layers, more than the {n - 1} this page draws one by one: "
            f"the graph shows one node per block ({len(nodes)} nodes)") in body
    assert "costcalc graph squeezenet_v1_0.yaml -o graph.svg" in body
    if shutil.which("dot") is not None:
        graph = blocked[blocked.index('<section id="graph">'):]
        assert sorted(graph_nodes(graph)) == sorted(nodes)
    assert 'id="graph-blocks"' not in render(report, "html", view=View(depth=1))
    monkeypatch.setattr(html_report, "GRAPH_LAYERS", len(report.layers))
    assert 'id="graph-blocks"' not in render(report, "html")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_the_graph_svg_is_graphvizs_in_fewer_bytes(squeezenet) -> None:
    """No comments or whitespace between tags, each text attribute's common value once on the
    <svg>: every element and every text's effective attributes are Graphviz's."""
    report, text = squeezenet
    page_svg = text[text.index('<figure data-plot="graph">'):]
    page_svg = page_svg[page_svg.index("<svg"):page_svg.index("</figure>")]
    dot = CliRunner().invoke(main, ["graph", "squeezenet_v1_0"]).stdout
    from costcalc.dot import render_dot
    raw = render_dot(dot, "svg").decode()
    raw = raw[raw.index("<svg"):]
    assert "<!--" not in page_svg and ">\n<" not in page_svg
    assert len(page_svg) < 0.8 * len(raw)

    def effective(svg: str) -> list[tuple[str, dict[str, str]]]:
        tags = Page(svg).tags
        root = {k: v for k, v in tags[0][1].items() if k in html_report.TEXT_ATTRIBUTES}
        return [(tag, {**root, **attrs} if tag == "text" else attrs)
                for tag, attrs in tags[1:]]

    assert effective(page_svg) == effective(raw)
    assert Page(page_svg).text == [t for t in Page(raw).text if t.strip()]
    for name in html_report.TEXT_ATTRIBUTES:
        assert page_svg.count(f" {name}=") < raw.count(f" {name}=") / 2, name
    assert sorted(graph_nodes(page_svg)) == sorted(layer.name for layer in report.layers)


def test_cli_writes_html_by_extension_and_nothing_on_bad_input(tmp_path: Path,
                                                               squeezenet) -> None:
    runner = CliRunner()
    out = tmp_path / "r.html"
    r = runner.invoke(main, ["report", "squeezenet_v1_0", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text() == squeezenet[1]
    r = runner.invoke(main, ["report", "cifar10_micro", "--format", "html"])
    assert r.exit_code == 0 and r.stdout.startswith("<!DOCTYPE html>")
    bad = [(["-o", str(tmp_path / "missing" / "r.html")], "cannot write"),
           (["-o", str(tmp_path / "r.htlm")], "this command writes no format with the "
                                               "extension '.htlm'"),
           (["--set", "nope=1", "-o", str(tmp_path / "s.html")], "nope")]
    for args, message in bad:
        r = runner.invoke(main, ["report", "squeezenet_v1_0", *args])
        assert r.exit_code == 1 and message in r.stderr, (args, r.output)
    r = runner.invoke(main, ["sweep", "mobilenet_v1", "-o", str(tmp_path / "s.html")])
    assert r.exit_code == 1 and "'.html'" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temporary left


# ---------------------------------------------------------------------------------------------
# In a real browser

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if (path := shutil.which(name)) is not None:
            return path
    if os.environ.get("CI") == "true":
        pytest.fail("headless Chromium is not installed, and CI must run the browser tests "
                    "(.ci/run installs Debian's chromium)")
    pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium); the "
                "HTML page is checked without a browser only")


def browse(chromium: str, tmp_path: Path, url: str, *args: str) -> str:
    done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           *args, url], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def write_page(tmp_path: Path, text: str) -> Path:
    out = tmp_path / "page.html"
    out.write_text(text, encoding="utf-8")
    return out


def test_browser_screenshot_is_the_page(chromium: str, tmp_path: Path, squeezenet) -> None:
    page = write_page(tmp_path, squeezenet[1])
    shot = tmp_path / "shot.png"
    browse(chromium, tmp_path, page.as_uri(), f"--screenshot={shot}",
           "--window-size=1280,2000")
    data = shot.read_bytes()
    assert png_size(data) == (1280, 2000)
    plt = pytest.importorskip("matplotlib.pyplot")
    pixels = plt.imread(shot)[..., :3]
    assert pixels.shape == (2000, 1280, 3)
    ink = (pixels.min(axis=2) < 0.5).mean()  # dark pixels: text, rules, bars
    assert 0.005 < ink < 0.5, ink
    rows_with_ink = (pixels.min(axis=2) < 0.5).any(axis=1).mean()
    assert rows_with_ink > 0.3, rows_with_ink  # text down the page, not one blob


def test_browser_dom_holds_the_json_totals_and_sorts(chromium: str, tmp_path: Path,
                                                     squeezenet) -> None:
    report, text = squeezenet
    url = write_page(tmp_path, text).as_uri()
    dom = Page(browse(chromium, tmp_path, url, "--dump-dom"))
    check_against_json(dom, report)
    assert dom.tables["rows"]["data-sorted"] == "index asc"
    figures = [a["data-plot"] for t, a in dom.tags if t == "figure"]
    assert "layers" in figures
    # ?sort=macs (the page's script, run before the DOM is dumped): MACs descending, ties in
    # graph order
    dom = Page(browse(chromium, tmp_path, url + "?sort=macs", "--dump-dom"))
    assert dom.tables["rows"]["data-sorted"] == "macs desc"
    order = sorted(range(len(report.layers)), key=lambda i: (-report.layers[i].macs, i))
    assert [r["name"] for r in dom.rows] == [report.layers[i].name for i in order]
    check_against_json(dom, report)  # the same rows, moved
    dom = Page(browse(chromium, tmp_path, url + "?sort=name&order=desc", "--dump-dom"))
    assert [r["name"] for r in dom.rows] == sorted((r.name for r in report.layers),
                                                   reverse=True)


def test_browser_runs_no_script_from_the_spec(chromium: str, tmp_path: Path) -> None:
    spec = tmp_path / "evil.yaml"
    spec.write_text(EVIL)
    page = write_page(tmp_path, render(costcalc.analyze(spec), "html"))
    dom_text = browse(chromium, tmp_path, page.as_uri(), "--dump-dom")
    dom = Page(dom_text)
    assert [t for t, _ in dom.tags].count("script") == 1
    assert not any(t == "img" for t, _ in dom.tags)
    assert "pwned" not in dom_text.split("</title>")[0]  # the document's title is unchanged
    assert [r["name"] for r in dom.rows] == EVIL_NAMES
