"""Large valid specs and hostile inputs: how long each stage takes, and how fast a hostile
input is refused (issue 12).

Run on demand: `python tests/benchmarks/bench_large_specs.py [--layers 100000] [--repeat 3]`.
Machines here are shared and noisy: it prints medians (the stages of one 10^5-layer chain, then
the refusal time and peak traced memory of each hostile input), never asserts a time.
"""

from __future__ import annotations

import argparse
import tracemalloc
from pathlib import Path

from timing import median_seconds as timed  # tests/benchmarks/timing.py

from costcalc import analyze, build_graph, parse_spec
from costcalc.errors import CostcalcError
from costcalc.render import render
from costcalc.shapes import shape_graph

HEAD = "version: 1\nname: Big\ninput: {channels: 8, size: 8}\n"


def chain(layers: int) -> str:
    """A chain of alternating 1x1 convs and activations, one entry per line."""
    body = "".join("  - conv: {out: 8, kernel: 1}\n" if i % 2 == 0 else "  - act: {fn: relu}\n"
                   for i in range(layers))
    return HEAD + "layers:\n" + body


HOSTILE = {
    "billion laughs": (Path(__file__).parents[1] / "bad_specs" / "yaml_alias_bomb.yaml")
    .read_text(),
    "10,000-deep nesting": "a: " + "[" * 10_000 + "]" * 10_000,
    "n: 10**9": HEAD + "layers:\n  - conv: {out: 8, kernel: 1, n: '10**9'}\n",
    "block n x n": HEAD + "blocks:\n  b:\n    layers:\n      - conv: {out: 8, kernel: 1, "
                   "n: 100000}\nlayers:\n  - b: {n: 100000}\n",
    "exponent tower": HEAD + "layers:\n  - conv: {out: '(((9**64)**64)**64)**64', kernel: 1}\n",
    "400 unary minus": HEAD + "layers:\n  - conv: {out: '" + "-" * 400 + "8', kernel: 1}\n",
}


def refuse(text: str) -> str:
    try:
        analyze(build_graph(parse_spec(text, "hostile.yaml")))
    except CostcalcError as exc:
        return str(exc).splitlines()[0]
    return "ACCEPTED (expected a refusal)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text = chain(args.layers)
    print(f"chain of {args.layers:,} entries ({len(text):,} bytes), median of {args.repeat}:")
    t_parse, spec = timed(lambda: parse_spec(text, "big.yaml"), args.repeat)
    t_build, graph = timed(lambda: build_graph(spec), args.repeat)
    t_shape, _ = timed(lambda: shape_graph(graph), args.repeat)
    t_analyze, report = timed(lambda: analyze(spec), args.repeat)
    print(f"  parse_spec      {t_parse:8.2f} s")
    print(f"  build_graph     {t_build:8.2f} s")
    print(f"  shape_graph     {t_shape:8.2f} s")
    print(f"  analyze (total) {t_analyze:8.2f} s  (build + shape + measure)")
    for fmt in ("csv", "json", "markdown", "table"):
        t, _ = timed(lambda fmt=fmt: render(report, fmt, 120), 1 if fmt == "table" else
                     args.repeat)
        print(f"  render {fmt:8} {t:8.2f} s")
    print("\nhostile inputs (refusal time, peak traced memory):")
    for name, hostile in HOSTILE.items():
        tracemalloc.start()
        t, message = timed(lambda hostile=hostile: refuse(hostile), args.repeat)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  {name:20} {1000 * t:8.1f} ms {peak / 2**20:7.1f} MiB  {message[:90]}")


if __name__ == "__main__":
    main()
