"""Speed of analyze() per bundled spec, and of one vectorized shape pass against a loop.

Run on demand: `python tests/benchmarks/bench_analyze.py [--repeat N]`. Machines here are shared
and noisy, so it reports medians and ratios, never asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from costcalc import analyze, build_graph, infer_shapes, load_spec, metrics
from costcalc.ops import Shape
from costcalc.spec import bundled_specs


def median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    print(f"{'spec':24} {'layers':>7} {'analyze ms':>11}")
    for path in bundled_specs():
        spec = load_spec(path)
        t = median_seconds(lambda spec=spec: analyze(spec), repeat)
        print(f"{path.stem:24} {len(build_graph(spec).layers):7d} {1000 * t:11.2f}")

    spec = load_spec("mobilenet_v2")
    graph = build_graph(spec)
    sizes = np.arange(96, 96 + 4 * 256, 4, dtype=np.int64)  # 256 resolutions

    def vectorized() -> None:
        shapes = infer_shapes(graph, Shape(3, sizes, sizes))
        sum(metrics.macs(graph, shapes).values())

    def loop() -> None:
        for s in sizes:
            shapes = infer_shapes(graph, Shape(3, int(s), int(s)))
            sum(metrics.macs(graph, shapes).values())

    tv, tl = median_seconds(vectorized, repeat), median_seconds(loop, repeat)
    print(f"\nmobilenet_v2, MACs at {len(sizes)} resolutions: vectorized {1000 * tv:.1f} ms, "
          f"loop {1000 * tl:.1f} ms, speed-up x{tl / tv:.1f}")


if __name__ == "__main__":
    main()
