"""Sweep throughput and memory against the scalar path, and a fresh process's start-up.

Run on demand: `python tests/benchmarks/bench_sweep.py [--repeat N] [--quick]`. Machines here
are shared and noisy: it prints medians and ratios measured in the same run, never asserts a
time. Each sweep runs in a fresh process (its peak RSS is then its own); the metrics are the
issue's: macs, params, peak_activation_bytes. ptflops and fvcore are not installed; the issue
quotes about 28 and 10 configurations per second for them on this kind of machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

KEYS = ["macs", "params", "peak_activation_bytes"]
GRIDS = {"1e4": (100, 100), "1e5": (250, 400), "1e6": (1000, 1000)}
SPECS = {"mobilenet_v2": ("mobilenet_v2", None), "resnet50": ("resnet", "50")}


def axes(widths: int, sizes: int) -> tuple[list[float], list[int]]:
    """widths in [0.25, 2.0), resolutions 96, 97, ... (one pixel apart)."""
    return [0.25 + 1.75 * i / widths for i in range(widths)], list(range(96, 96 + sizes))


def one_case(spec: str, variant: str | None, widths: int, sizes: int, repeat: int) -> dict:
    """In this (fresh) process: median seconds of the sweep, then peak memory."""
    import tracemalloc

    from costcalc.sweep import sweep

    alphas, res = axes(widths, sizes)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = sweep(spec, alphas, res, keys=KEYS, variant=variant)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    sweep(spec, alphas, res, keys=KEYS, variant=variant)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": statistics.median(times), "configs": len(result),
            "structures": result.structures, "traced_mb": traced / 2**20,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def scalar_rate(spec: str, variant: str | None, n: int) -> float:
    """Configurations per second of one analyze() per configuration."""
    from costcalc import analyze, load_spec

    model = load_spec(spec)
    alphas, res = axes(n, 1)
    start = time.perf_counter()
    for a in alphas:
        analyze(model, width=a, resolution=res[0], variant=variant)
    return n / (time.perf_counter() - start)


def fresh(argv: list[str], repeat: int) -> tuple[float, float]:
    """Median wall seconds and the largest peak RSS (MB) of a command in a fresh process (the
    child's own rusage, from wait4)."""
    import os

    times, rss = [], 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        times.append(time.perf_counter() - start)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            raise SystemExit(f"{argv} failed")
        rss = max(rss, usage.ru_maxrss / 1024)
    return statistics.median(times), rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="only the 1e4 and 1e5 grids")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # spec:variant:widths:sizes
    args = parser.parse_args()
    if args.case:
        spec, variant, widths, sizes = args.case.split(":")
        print(json.dumps(one_case(spec, variant or None, int(widths), int(sizes), args.repeat)))
        return

    python = sys.executable
    floor, floor_rss = fresh([python, "-c", "import numpy, yaml"], 5)
    costcalc = [python, "-m", "costcalc", "report", "mobilenet_v2.yaml"]
    table, table_rss = fresh(costcalc, 5)
    as_json, json_rss = fresh([*costcalc, "--format", "json"], 5)
    print(f"fresh process, median of 5: import numpy, yaml {1000 * floor:.0f} ms "
          f"({floor_rss:.0f} MB); costcalc report mobilenet_v2.yaml {1000 * table:.0f} ms "
          f"= {table / floor:.2f}x the floor; --format json {1000 * as_json:.0f} ms = "
          f"{as_json / floor:.2f}x (peak RSS up to {max(table_rss, json_rss):.0f} MB)")

    print(f"\n{'spec':14} {'grid':>5} {'configs':>9} {'groups':>6} {'median s':>9} "
          f"{'configs/s':>11} {'traced MB':>9} {'RSS MB':>7} {'vs scalar':>10}")
    for label, (spec, variant) in SPECS.items():
        rate0 = statistics.median(scalar_rate(spec, variant, 20) for _ in range(3))
        print(f"{label:14} {'scalar analyze() loop':>31} {'':9} {rate0:11.1f}")
        for grid, (widths, sizes) in GRIDS.items():
            if args.quick and grid == "1e6":
                continue
            out = subprocess.run([python, __file__, "--repeat", str(args.repeat), "--case",
                                  f"{spec}:{variant or ''}:{widths}:{sizes}"], check=True,
                                 capture_output=True, text=True).stdout
            r = json.loads(out)
            rate = r["configs"] / r["seconds"]
            print(f"{label:14} {grid:>5} {r['configs']:9d} {r['structures']:6d} "
                  f"{r['seconds']:9.3f} {rate:11.0f} {r['traced_mb']:9.0f} "
                  f"{r['maxrss_mb']:7.0f} {rate / rate0:9.0f}x")


if __name__ == "__main__":
    main()
