"""Sweep throughput and memory against the scalar path, and a fresh process's start-up.

Run on demand: `python tests/benchmarks/bench_sweep.py [--repeat N] [--quick]
[--startup-repeat N] [--startup-only]`. Machines here are shared and noisy: it prints medians
and ratios measured in the same run, never asserts a time. Each sweep runs in a fresh process
(its peak RSS is then its own); the metrics are the issue's: macs, params,
peak_activation_bytes. ptflops and fvcore are not installed; the issue quotes about 28 and 10
configurations per second for them on this kind of machine.

Start-up: `costcalc report mobilenet_v2.yaml` (table and --format json) in fresh processes
against the import floor, a fresh `python -c "import numpy, yaml"`, the three run in turn
(floor, table, json, floor, ...) so that a busy neighbour slows them alike. numpy and yaml are
byte-compiled (pip compiles what it installs), so costcalc is too: its bytecode is written
first, as pip install or a first run would (PYTHONDONTWRITEBYTECODE=1 would otherwise compile
every module on every run); the same commands run from a copy without bytecode are shown too.
Wall time only: a child's CPU time counts the threads numpy's BLAS starts, and exceeds its wall
time.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def fresh(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a command in a fresh process (the child's own rusage,
    from wait4)."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{argv} failed")
    return wall, usage.ru_maxrss / 1024


def package_dirs() -> tuple[Path, Path]:
    """Where the costcalc that `python -m costcalc` runs lives, and its bundled specs."""
    found = importlib.util.find_spec("costcalc")
    specs = importlib.util.find_spec("costcalc.specs")
    assert found and found.origin and specs and specs.origin
    return Path(found.origin).parent, Path(specs.origin).parent


def startup(repeat: int) -> None:
    python = sys.executable
    package, specs = package_dirs()
    compiled = compileall.compile_dir(package, quiet=1, legacy=False)
    with tempfile.TemporaryDirectory(prefix="costcalc-source-") as tmp:
        # the same package without bytecode, its specs where an installed wheel has them
        shutil.copytree(package, Path(tmp) / "costcalc",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(specs, Path(tmp) / "costcalc" / "specs",
                        ignore=shutil.ignore_patterns("__pycache__"))
        source = dict(os.environ, PYTHONPATH=tmp, PYTHONDONTWRITEBYTECODE="1")
        report = [python, "-m", "costcalc", "report", "mobilenet_v2.yaml"]
        cases = {"import numpy, yaml (the floor)": ([python, "-c", "import numpy, yaml"], None),
                 "costcalc report mobilenet_v2.yaml": (report, None),
                 "  --format json": ([*report, "--format", "json"], None),
                 "  table, from source (no bytecode)": (report, source),
                 "  json, from source (no bytecode)": ([*report, "--format", "json"], source)}
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(repeat):
            for name, (argv, env) in cases.items():
                runs[name].append(fresh(argv, env))
    floor = statistics.median(wall for wall, _ in runs["import numpy, yaml (the floor)"])
    print(f"start-up, fresh processes in turn, median of {repeat} "
          f"(costcalc's bytecode {'cached' if compiled else 'NOT cached: compileall failed'}):")
    print(f"  {'':36} {'wall ms':>8} {'x floor':>8} {'peak RSS MB':>12}")
    for name, values in runs.items():
        wall = statistics.median(w for w, _ in values)
        print(f"  {name:36} {1000 * wall:8.0f} {wall / floor:7.2f}x "
              f"{max(rss for _, rss in values):12.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="only the 1e4 and 1e5 grids")
    parser.add_argument("--startup-repeat", type=int, default=21,
                        help="fresh processes of each start-up command")
    parser.add_argument("--startup-only", action="store_true", help="only the start-up part")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # spec:variant:widths:sizes
    args = parser.parse_args()
    if args.case:
        spec, variant, widths, sizes = args.case.split(":")
        print(json.dumps(one_case(spec, variant or None, int(widths), int(sizes), args.repeat)))
        return

    python = sys.executable
    startup(args.startup_repeat)
    if args.startup_only:
        return

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
