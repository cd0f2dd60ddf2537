"""Time and size of the HTML report (`costcalc report SPEC --format html`), and where they go.

Run on demand: `python tests/benchmarks/bench_html.py [--repeat N] [--profile]
[--networks NAME,...]`. Machines here are shared and noisy: it prints medians of N runs and,
as the reference measured in the same run, the same report rendered as JSON (`--format json`:
the numbers without the drawing; 5N runs, as it is short), never asserts a time. Networks: a
small one (mobilenet_v2, 155 layers), a mid one (resnet 152, 516), the bundled spec with the
most layers at its default setting (nasnet_a_mobile, 905) and the bundled variant with the
most (resnet_cifar 1202, ResNet-1202 for CIFAR-10: 4,211). Each is built twice: as
`costcalc report` writes it (the per-layer plot and the layer graph) and with a hardware
profile and a device (`costcalc energy ... --peak --bandwidth`: the energy-per-layer plot and
the roofline too).

Then each page's parts, timed and measured alone (the header, totals and breakdown are one
part): the rows table, each plot, the layer graph (Graphviz's `dot`, when installed). With
`--profile`, cProfile of the last network's page with every plot, by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
from collections.abc import Callable

from timing import median_seconds  # tests/benchmarks/timing.py (scripts run from here)

import costcalc
from costcalc import html_report, plots
from costcalc.deployment import Roofline
from costcalc.hardware import make_hardware
from costcalc.render import DEFAULT_VIEW, render, row_section

NETWORKS = {"mobilenet_v2": ("mobilenet_v2", None), "resnet152": ("resnet", "152"),
            "nasnet_a_mobile": ("nasnet_a_mobile", None),
            "resnet_cifar1202": ("resnet_cifar", "1202")}
DEVICE = Roofline(1e12, 25.6e9)  # the gallery's roofline device (docs/plots.md)


def reports(spec: str, variant: str | None) -> dict[str, costcalc.Report]:
    return {"report": costcalc.analyze(spec, variant=variant),
            "+energy+roofline": costcalc.analyze(spec, variant=variant,
                                                 hardware=make_hardware("horowitz45nm"),
                                                 latency=DEVICE)}


def parts(report: costcalc.Report) -> dict[str, Callable[[], str]]:
    """Each part of the page alone, as page() builds it."""
    out: dict[str, Callable[[], str]] = {
        "rows table": lambda: html_report._rows(report, row_section(report, DEFAULT_VIEW)),
        "plot layers": lambda: plots.layers(report, None).svg}
    if report.settings.hardware is not None:
        out["plot energy"] = lambda: plots.energy([report], None, by_layer=True).svg
    if report.settings.latency is not None:
        out["plot roofline"] = lambda: plots.roofline(report, None).svg
    if shutil.which("dot") is not None:
        out["layer graph"] = lambda: html_report._graph(report, DEFAULT_VIEW)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile the last network's page with every plot")
    parser.add_argument("--networks", default=",".join(NETWORKS),
                        help=f"some of {', '.join(NETWORKS)} (comma-separated)")
    args = parser.parse_args()
    chosen = args.networks.split(",")
    if unknown := set(chosen) - set(NETWORKS):
        parser.error(f"unknown network {', '.join(sorted(unknown))}: one of {', '.join(NETWORKS)}")
    print(f"median of {args.repeat} runs; x json: the page's time over the same report's "
          "JSON, measured in the same run")
    print(f"{'network':16} {'layers':>6} {'page':17} {'html s':>8} {'json s':>8} "
          f"{'x json':>7} {'page kB':>8}")
    built: dict[str, dict[str, costcalc.Report]] = {}
    for label in chosen:
        built[label] = reports(*NETWORKS[label])
        for kind, report in built[label].items():
            ref, _ = median_seconds(lambda r=report: render(r, "json"), 5 * args.repeat)
            took, text = median_seconds(lambda r=report: render(r, "html"), args.repeat)
            print(f"{label:16} {len(report.layers):6d} {kind:17} {took:8.3f} {ref:8.3f} "
                  f"{took / ref:6.0f}x {len(text.encode()) / 1000:8.0f}")
    print("\nparts of the page with every plot, alone (the rest: header, totals, breakdown)")
    print(f"{'network':16} {'part':17} {'s':>8} {'kB':>8}")
    for label in chosen:
        report = built[label]["+energy+roofline"]
        for part, fn in parts(report).items():
            took, text = median_seconds(fn, args.repeat)
            print(f"{label:16} {part:17} {took:8.3f} {len(text.encode()) / 1000:8.0f}")
    if args.profile:
        report = built[chosen[-1]]["+energy+roofline"]
        profile = cProfile.Profile()
        profile.runcall(render, report, "html")
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())


if __name__ == "__main__":
    main()
