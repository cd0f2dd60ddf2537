"""Plots (optional extra `[plot]`, matplotlib with the Agg backend: no display needed).

Each plot is built from data the library computed (reports, sweeps), returned with the figure so
tests can check that what is drawn equals the report's numbers. PNG, SVG or PDF by the output
file's extension; output is deterministic (no dates or random ids in the file). Captions state
the counting conventions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CostcalcError, optional_module
from .report import MAC_CONVENTION, Report
from .sweep import pareto_front

FORMATS = (".png", ".svg", ".pdf")


@dataclass(frozen=True, slots=True)
class Plot:
    """What a plot draws: named series of (x, y) or bar values, as numbers."""

    kind: str
    title: str
    series: dict[str, Any]


def _pyplot() -> Any:
    matplotlib = optional_module("matplotlib", "plotting", "plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "costcalc", "font.family": "DejaVu Sans"})
    return plt


def check_output(path: Path) -> None:
    if path.suffix.lower() not in FORMATS:
        raise CostcalcError(f"{path}: unknown image format '{path.suffix}'",
                            "use a .png, .svg or .pdf file name")
    if not path.resolve().parent.is_dir():
        raise CostcalcError(f"{path}: the directory does not exist")


def save(fig: Any, path: Path) -> None:
    """Write the figure whole (a temporary file, then a rename) with fixed metadata."""
    import os
    import tempfile

    metadata = {".png": {"Software": None}, ".svg": {"Date": None},
                ".pdf": {"CreationDate": None, "ModDate": None}}[path.suffix.lower()]
    fd, tmp = tempfile.mkstemp(dir=path.resolve().parent, suffix=path.suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        fig.savefig(tmp, metadata=metadata)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        os.replace(tmp, path)
    except OSError as exc:
        raise CostcalcError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def pareto(reports: Sequence[Report], path: Path,
           accuracy: Sequence[float | None] | None = None) -> Plot:
    """MACs against params (log axes), or with `accuracy` (each report's published top-1 %,
    None where none is published) against top-1 (MobileNetV2 Figure 5): one labelled point per
    report, the Pareto front highlighted (fewer MACs and params, or fewer MACs and a higher
    top-1). Reports without a published top-1 are left out of an accuracy plot, and named in
    its caption."""
    if not reports:
        raise CostcalcError("nothing to plot", "name one or more specs")
    if accuracy is not None and len(accuracy) != len(reports):
        raise CostcalcError("an accuracy plot needs one top-1 (or None) per report")
    check_output(path)
    labels = [f"{r.network} x{r.width:g} @{r.input[1]}" + (f" ({r.variant})" if r.variant
                                                             else "") for r in reports]
    if accuracy is None:
        kept = list(range(len(reports)))
        points = [(r.totals.macs / r.batch, r.totals.params) for r in reports]
        signs, ylabel = (1.0, 1.0), f"params ({reports[0].params_convention})"
        title = "Cost: MACs vs params"
    else:
        kept = [i for i, a in enumerate(accuracy) if a is not None]
        if not kept:
            raise CostcalcError("no published top-1 for any of these configurations",
                                "`costcalc compare --paper FILE:TABLE` names the papers "
                                "tables with accuracy; or plot MACs vs params")
        points = [(reports[i].totals.macs / reports[i].batch, float(accuracy[i]))
                  for i in kept]
        signs, ylabel = (1.0, -1.0), "published ImageNet top-1 (%)"
        title = "Cost and accuracy: MACs vs published top-1"
    labels_kept = [labels[i] for i in kept]
    front = pareto_front([np.array([sign * p[k] for p in points], dtype=float)
                          for k, sign in enumerate(signs)]).tolist()
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5), dpi=100)
    ax.scatter(*zip(*points, strict=True), color="tab:blue")
    for (x, y), label in zip(points, labels_kept, strict=True):
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    if len(front) > 1:
        xs, ys = zip(*sorted(points[i] for i in front), strict=True)
        ax.plot(xs, ys, color="tab:red", label="Pareto front")
        ax.legend()
    ax.set_xscale("log")
    if accuracy is None:
        ax.set_yscale("log")
    ax.set_xlabel("MACs per image")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    caption = "1 MAC = " + MAC_CONVENTION.split("= ", 1)[1]
    left_out = [labels[i] for i in range(len(reports)) if i not in kept]
    if accuracy is not None:
        caption += ("; top-1: the published figure for exactly this configuration "
                    "(specs/papers), not computed")
        if left_out:
            caption += "; no published top-1, not drawn: " + ", ".join(left_out)
    if accuracy is not None:
        fig.subplots_adjust(bottom=0.17)  # room for the longer caption under the axis label
    fig.text(0.01, 0.01, caption, fontsize=6, wrap=True)
    save(fig, path)
    plt.close(fig)
    return Plot("pareto", title, {"points": dict(zip(labels_kept, points, strict=True)),
                                  "front": [labels_kept[i] for i in front],
                                  "left_out": left_out})


def sweep_heatmap(result: Any, metric: str, alphas: Sequence[float], sizes: Sequence[int],
                  path: Path) -> Plot:
    """One metric of a width x resolution sweep as a heatmap (rows widths, columns sizes)."""
    check_output(path)
    if metric not in result.totals:
        raise CostcalcError(f"unknown metric '{metric}' for a sweep plot")
    grid = np.asarray(result.totals[metric], dtype=float).reshape(len(alphas), len(sizes))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5), dpi=100)
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(sizes)), [str(s) for s in sizes])
    ax.set_yticks(range(len(alphas)), [f"{a:g}" for a in alphas])
    ax.set_xlabel("resolution")
    ax.set_ylabel("width multiplier")
    ax.set_title(f"{result.network}: {metric}")
    fig.colorbar(image, ax=ax)
    save(fig, path)
    plt.close(fig)
    return Plot("sweep", f"{result.network}: {metric}", {"grid": grid.tolist()})


def layers(report: Report, path: Path) -> Plot:
    """Per-layer MACs, params and activation bytes as bars (MobileNet v1 Table 2's argument:
    where the cost is)."""
    check_output(path)
    rows = [r for r in report.layers if r.kind != "input"]
    if not rows:
        raise CostcalcError("nothing to plot: the network has no layers")
    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(10, 7), dpi=100, sharex=True)
    series = {}
    for ax, (key, label) in zip(axes, (("macs", "MACs"), ("params", "params"),
                                       ("activation_bytes", "activation bytes")),
                                strict=True):
        values = [r.values[key] for r in rows]
        series[key] = values
        ax.bar(range(len(rows)), values, color="tab:blue", width=1.0)
        ax.set_ylabel(label)
    axes[-1].set_xlabel(f"layer (1..{len(rows)} in graph order)")
    axes[0].set_title(f"{report.network}: cost per layer")
    save(fig, path)
    plt.close(fig)
    return Plot("layers", f"{report.network}: cost per layer", series)


def energy(reports: Sequence[Report], path: Path) -> Plot:
    """Stacked compute / RF / SRAM / DRAM energy per image, one bar per report."""
    if not reports:
        raise CostcalcError("nothing to plot", "name one or more specs")
    if any(r.settings.hardware is None for r in reports):
        raise CostcalcError("an energy plot needs a hardware profile")
    check_output(path)
    plt = _pyplot()
    parts = ("energy_compute", "energy_rf", "energy_sram", "energy_dram")
    names = [r.network for r in reports]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    bottom = np.zeros(len(reports))
    series = {}
    for part in parts:
        values = np.array([r.totals.values[part] / r.batch for r in reports])
        series[part] = values.tolist()
        ax.bar(names, values, bottom=bottom, label=part.removeprefix("energy_"))
        bottom += values
    unit = reports[0].settings.hardware.profile.unit
    ax.set_ylabel(f"energy per image ({unit})")
    ax.set_title("Energy per image: compute, register file, SRAM, DRAM")
    ax.legend()
    fig.text(0.01, 0.01, reports[0].settings.hardware.describe(), fontsize=5)
    save(fig, path)
    plt.close(fig)
    return Plot("energy", "energy per image", series)
