"""Speed of analyze() per bundled spec, and of a vectorized width x resolution sweep against
an analyze() loop.

Run on demand: `python tests/benchmarks/bench_analyze.py [--repeat N]`. Machines here are shared
and noisy, so it reports medians and ratios, never asserts a time.
"""

from __future__ import annotations

import argparse

from timing import median_seconds  # tests/benchmarks/timing.py

from costcalc import analyze, load_spec, sweep
from costcalc.bundled import bundled_specs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    print(f"{'spec':24} {'layers':>7} {'analyze ms':>11}")
    for path in bundled_specs():
        spec = load_spec(path)
        t = median_seconds(lambda spec=spec: analyze(spec), repeat)[0]
        print(f"{path.stem:24} {len(analyze(spec).layers):7d} {1000 * t:11.2f}")

    # A design-space grid: every declared metric at 36 widths x 29 resolutions (1,044
    # configurations), one vectorized sweep against one analyze() per configuration.
    alphas = [round(0.25 + 0.05 * i, 2) for i in range(36)]
    sizes = list(range(96, 321, 8))
    spec = load_spec("mobilenet_v2")
    tv = median_seconds(lambda: sweep(spec, alphas, sizes), repeat)[0]
    tl = median_seconds(lambda: [analyze(spec, width=a, resolution=r) for a in alphas
                                 for r in sizes], max(1, repeat // 5))[0]
    print(f"\nmobilenet_v2, every metric at {len(alphas)} widths x {len(sizes)} resolutions: "
          f"sweep {1000 * tv:.1f} ms, analyze loop {1000 * tl:.1f} ms, speed-up x{tl / tv:.1f}")


if __name__ == "__main__":
    main()
