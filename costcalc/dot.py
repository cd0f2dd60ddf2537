"""The layer graph as Graphviz DOT (`costcalc graph`): what Netscope users open it for.

One node per layer (name, kind, output shape, MACs and their share of the total), or with
`depth=1` one node per top-level block instance (a layer's `group`); blocks are clusters;
edges carry the tensor they pass, C×H×W. A node's fill is its MACs relative to the largest
node's, on Graphviz's nine-step `reds9` scheme, so the expensive layers stand out at any
network size; the label gives the exact count and share. Rendering to SVG or PNG runs
Graphviz's `dot`, an external program, and is an error that says how to install it when absent.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import CostcalcError
from .graph import Graph
from .ops import Shape

RENDERED = ("svg", "png")  # formats `dot` renders; .dot and .gv are the text itself
SHADES = 9  # Graphviz's reds9: 1 (lightest, no MACs) .. 9 (the largest node)
INSTALL = ("install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
           "graphviz), or write the DOT text with -o FILE.dot")


@dataclass(frozen=True, slots=True)
class _Node:
    id: str
    title: str
    detail: str  # kind and shape, or the block's layer count
    macs: int
    cluster: str | None  # the block it is drawn inside, if any


def quote(text: str) -> str:
    """A DOT double-quoted ID or label."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def shape_label(shape: Shape) -> str:
    return f"{shape.c}×{shape.h}×{shape.w}"


def shade(macs: int, largest: int) -> int:
    """1 for no MACs, up to SHADES for the largest node: proportional, rounded up, so any
    node with MACs is darker than a free one."""
    if macs <= 0 or largest <= 0:
        return 1
    return 1 + -(-(SHADES - 1) * macs // largest)


def graph_dot(graph: Graph, shapes: Mapping[str, Shape], macs: Mapping[str, int],
              depth: int | None = None) -> str:
    """The DOT text of an evaluated graph; `depth=1` collapses each block to one node (blocks
    are one level deep, so a larger depth, or None, draws every layer)."""
    if depth is not None and depth < 1:
        raise CostcalcError(f"--depth {depth} is not at least 1",
                            "use --depth 1 for one node per block, or omit it for every layer")
    collapse = depth == 1
    total = sum(int(macs[layer.name]) for layer in graph.layers)
    node_of: dict[str, str] = {}  # layer -> node id
    nodes: dict[str, _Node] = {}
    members: dict[str, list[str]] = {}  # block -> its layers, when collapsed
    for layer in graph.layers:
        if collapse and layer.group is not None:
            node_of[layer.name] = layer.group
            names = members.setdefault(layer.group, [])
            names.append(layer.name)
            nodes[layer.group] = _Node(layer.group, layer.group,
                                       f"{len(names)} layer{'s' if len(names) > 1 else ''}",
                                       sum(int(macs[n]) for n in names), None)
        else:
            node_of[layer.name] = layer.name
            nodes[layer.name] = _Node(layer.name, layer.name,
                                      f"{layer.kind} {shape_label(shapes[layer.name])}",
                                      int(macs[layer.name]), layer.group)
    largest = max((n.macs for n in nodes.values()), default=0)
    lines = [f"digraph {quote(graph.name)} {{",
             f"  graph [rankdir=TB, fontname=Helvetica, labelloc=t, "
             f"label={quote(f'{graph.name}: {total:,} MACs')}];",
             "  node [shape=box, style=\"rounded,filled\", colorscheme=reds9, "
             "fontname=Helvetica, fontsize=10];",
             "  edge [fontname=Helvetica, fontsize=9];"]

    def node_line(node: _Node, indent: str) -> str:
        share = f" ({100 * node.macs / total:.1f}%)" if total else ""
        label = f"{node.title}\n{node.detail}\n{node.macs:,} MACs{share}"
        level = shade(node.macs, largest)
        font = ", fontcolor=white" if level > 6 else ""
        return f"{indent}{quote(node.id)} [label={quote(label)}, fillcolor={level}{font}];"

    clusters: dict[str, list[_Node]] = {}
    for node in nodes.values():
        if node.cluster is None:
            lines.append(node_line(node, "  "))
        else:
            clusters.setdefault(node.cluster, []).append(node)
    for i, (name, inside) in enumerate(clusters.items()):
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f"    label={quote(name)}; style=rounded; color=gray50;")
        lines.extend(node_line(node, "    ") for node in inside)
        lines.append("  }")
    seen: set[tuple[str, str, str]] = set()
    for layer in graph.layers:
        for src in layer.inputs:
            edge = (node_of[src], node_of[layer.name], shape_label(shapes[src]))
            if edge[0] == edge[1] or edge in seen:
                continue  # inside a collapsed block, or the same tensor drawn once
            seen.add(edge)
            lines.append(f"  {quote(edge[0])} -> {quote(edge[1])} [label={quote(edge[2])}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_dot(text: str, fmt: str) -> bytes:
    """Graphviz's `dot -T<fmt>` of the DOT text: SVG or PNG bytes."""
    if fmt not in RENDERED:
        raise CostcalcError(f"cannot render a graph as .{fmt}",
                            "write .dot (or .gv) text, or render .svg or .png")
    program = shutil.which("dot")
    if program is None:
        raise CostcalcError(f"rendering .{fmt} needs Graphviz's `dot`, which is not installed",
                            INSTALL)
    done = subprocess.run([program, f"-T{fmt}"], input=text.encode("utf-8"),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise CostcalcError(f"dot failed: {done.stderr.decode(errors='replace').strip()}",
                            "report this as a costcalc bug with the DOT text (-o FILE.dot)")
    return done.stdout
