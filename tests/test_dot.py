"""`costcalc graph`: the DOT text (nodes, clusters, edges, labels, colours) without Graphviz,
and an SVG render where Graphviz's `dot` is installed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import costcalc
from costcalc.cli import main
from costcalc.dot import graph_dot, shade
from costcalc.metrics import macs
from costcalc.report import evaluated_graph

# A stem, one block used twice (a residual inside it), and a head: small enough to read.
SPEC = """
version: 1
name: Tiny "net"
input: {channels: 3, size: 8}
blocks:
  unit:
    args: {c: null}
    layers:
      - conv: {name: a, out: c, kernel: 3, pad: 1}
      - conv: {name: b, out: c, kernel: 1}
    residual: true
layers:
  - conv: {name: stem, out: 4, kernel: 3, pad: 1}
  - unit: {c: 4}
  - unit: {c: 4}
  - pool: {name: gap, op: avg, global: true}
  - fc: {name: head, out: 10}
"""


def dot_of(tmp_path: Path, depth: int | None = None) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(SPEC)
    graph, shapes = evaluated_graph(path)
    return graph_dot(graph, shapes, macs(graph, shapes), depth)


def nodes(text: str) -> dict[str, str]:
    return dict(re.findall(r'^\s*"([^"]+)" \[label="([^"]*)"', text, re.M))


def edges(text: str) -> list[tuple[str, str, str]]:
    return re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[label="([^"]*)"\];', text, re.M)


def test_every_layer_is_a_node_inside_its_block_cluster(tmp_path: Path) -> None:
    text = dot_of(tmp_path)
    graph, _ = evaluated_graph(tmp_path / "tiny.yaml")
    assert set(nodes(text)) == {layer.name for layer in graph.layers}
    clusters = re.findall(r'subgraph cluster_\d+ \{\n    label="([^"]+)";[^\n]*\n((?:    .*\n)+?)'
                          r"  \}", text)
    groups = {layer.group for layer in graph.layers} - {None}
    assert sorted(label for label, _ in clusters) == sorted(groups) and len(groups) == 2
    for label, body in clusters:
        inside = set(re.findall(r'^    "([^"]+)" \[', body, re.M))
        assert inside == {layer.name for layer in graph.layers if layer.group == label}
    # The title is quoted (the name holds a double quote) and carries the exact total.
    total = costcalc.analyze(tmp_path / "tiny.yaml").totals.macs
    assert text.startswith('digraph "Tiny \\"net\\"" {')
    assert f"{total:,} MACs" in text


def test_edges_carry_the_source_tensors_shape_and_labels_the_macs(tmp_path: Path) -> None:
    text = dot_of(tmp_path)
    graph, shapes = evaluated_graph(tmp_path / "tiny.yaml")
    expected = sorted((src, layer.name, f"{shapes[src].c}×{shapes[src].h}×{shapes[src].w}")
                      for layer in graph.layers for src in layer.inputs)
    assert sorted(edges(text)) == expected
    assert ("gap", "head", "4×1×1") in expected  # the shape the fc reads
    report = costcalc.analyze(tmp_path / "tiny.yaml")
    head = next(row for row in report.layers if row.name == "head")
    share = 100 * head.values["macs"] / report.totals.macs
    assert nodes(text)["head"] == f"head\\nfc 10×1×1\\n{head.values['macs']:,} MACs ({share:.1f}%)"


def test_depth_one_collapses_each_block_instance_to_one_node(tmp_path: Path) -> None:
    text = dot_of(tmp_path, depth=1)
    graph, shapes = evaluated_graph(tmp_path / "tiny.yaml")
    groups = sorted({layer.group for layer in graph.layers} - {None})
    top = [layer.name for layer in graph.layers if layer.group is None]
    assert sorted(nodes(text)) == sorted(top + groups) and "subgraph" not in text
    first, second = groups
    per_layer = macs(graph, shapes)
    block_macs = sum(per_layer[layer.name] for layer in graph.layers if layer.group == first)
    assert nodes(text)[first].endswith(f"{block_macs:,} MACs "
                                       f"({100 * block_macs / sum(per_layer.values()):.1f}%)")
    # The residual inside a block is no edge; the blocks chain stem -> unit -> unit -> gap.
    assert [(a, b) for a, b, _ in edges(text)] == [("input", "stem"), ("stem", first),
                                                   (first, second), (second, "gap"),
                                                   ("gap", "head")]


def test_colours_follow_the_macs_relative_to_the_largest_node(tmp_path: Path) -> None:
    assert [shade(m, 100) for m in (0, 1, 50, 99, 100)] == [1, 2, 5, 9, 9]
    colours = dict(re.findall(r'^\s*"([^"]+)" \[.*fillcolor=(\d)', dot_of(tmp_path), re.M))
    assert colours["input"] == colours["gap"] == "1"
    assert max(colours.values()) == "9"


def test_the_command_writes_dot_and_refuses_unknown_formats(tmp_path: Path) -> None:
    out = tmp_path / "g.dot"
    r = CliRunner().invoke(main, ["graph", "mobilenet_v2", "--depth", "1", "-o", str(out)],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert '"bottleneck17" [label="bottleneck17\\n' in text and "subgraph" not in text
    r = CliRunner().invoke(main, ["graph", "mobilenet_v2", "--width", "0.5"])
    assert r.exit_code == 0 and r.output.startswith('digraph "MobileNetV2" {')
    assert "conv 16×112×112" in r.output  # the setting's shapes
    bad = tmp_path / "g.pdf"
    r = CliRunner().invoke(main, ["graph", "mobilenet_v2", "-o", str(bad)])
    assert r.exit_code == 1 and "unknown graph format '.pdf'" in r.stderr
    assert not bad.exists()
    r = CliRunner().invoke(main, ["graph", "mobilenet_v2", "--depth", "0"])
    assert r.exit_code == 2


def test_svg_needs_graphviz_and_says_how_to_install_it(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = tmp_path / "g.svg"
    r = CliRunner().invoke(main, ["graph", "mobilenet_v2", "-o", str(out)])
    assert r.exit_code == 1, r.output
    assert "needs Graphviz's `dot`, which is not installed" in r.stderr
    assert "apt-get install graphviz" in r.stderr
    assert not out.exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_an_svg_render(tmp_path: Path) -> None:
    out = tmp_path / "g.svg"
    r = CliRunner().invoke(main, ["graph", "squeezenet_v1_0", "-o", str(out)],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "fire2" in svg and "96×111×111" in svg  # a cluster and an edge label (conv1)
