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
    svg: str = ""  # the figure as inline SVG text, when it was drawn for a page (path None)


def _pyplot() -> Any:
    matplotlib = optional_module("matplotlib", "plotting", "plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "costcalc", "font.family": "DejaVu Sans"})
    return plt


def available() -> str | None:
    """None when plots can be drawn, else why not and how to install what they need."""
    try:
        _pyplot()
    except CostcalcError as exc:
        return str(exc)
    return None


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


def svg_text(fig: Any) -> str:
    """The figure as an `<svg>` element to inline in an HTML page: text as text (the page's
    fonts), no XML prolog, no date; deterministic like the files."""
    import io

    plt = _pyplot()
    out = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None,
                                                 "Format": None, "Type": None})
    text = out.getvalue()
    return text[text.index("<svg"):]


def _finish(fig: Any, path: Path | None) -> str:
    """Write the figure to `path`, or return it as inline SVG text (path None); close it."""
    try:
        if path is None:
            return svg_text(fig)
        save(fig, path)
        return ""
    finally:
        _pyplot().close(fig)


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


def layer_bars(ax: Any, values: Sequence[float], **style: Any) -> Any:
    """One bar per layer from 0, side by side (layer i spans i - 0.5 .. i + 0.5), drawn as one
    filled step outline: a single artist, where a bar chart adds one rectangle per layer
    (matplotlib's per-patch cost made a 900-layer plot take seconds, and its SVG held one path
    per bar). Neighbours of equal value share one step, which draws the same."""
    top = np.asarray(values, dtype=float)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(top)) + 1))
    edges = np.append(starts, len(top)) - 0.5
    return ax.stairs(top[starts], edges, baseline=0.0, fill=True, linewidth=0, snap=True,
                     **style)


def layers(report: Report, path: Path | None) -> Plot:
    """Per-layer MACs, params and activation bytes as bars (MobileNet v1 Table 2's argument:
    where the cost is). `path` None: the Plot carries the SVG text instead."""
    if path is not None:
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
        layer_bars(ax, values, color="tab:blue")
        ax.set_ylabel(label)
    axes[-1].set_xlabel(f"layer (1..{len(rows)} in graph order)")
    axes[0].set_title(f"{report.network}: cost per layer")
    svg = _finish(fig, path)
    return Plot("layers", f"{report.network}: cost per layer", series, svg)


ENERGY_PARTS = ("energy_compute", "energy_rf", "energy_sram", "energy_dram")


def energy(reports: Sequence[Report], path: Path | None, by_layer: bool = False) -> Plot:
    """Stacked compute / RF / SRAM / DRAM energy per image: one bar per report, or with
    `by_layer` one bar per layer of a single report (in graph order, the input left out).
    `path` None: the Plot carries the SVG text instead."""
    if not reports:
        raise CostcalcError("nothing to plot", "name one or more specs")
    if any(r.settings.hardware is None for r in reports):
        raise CostcalcError("an energy plot needs a hardware profile")
    if by_layer and len(reports) != 1:
        raise CostcalcError(f"an energy plot by layer draws one network, got {len(reports)}",
                            "name one spec with --by-layer")
    if path is not None:
        check_output(path)
    first = reports[0]
    if by_layer:
        rows = [r for r in first.layers if r.kind != "input"]
        if not rows:
            raise CostcalcError("nothing to plot: the network has no layers")
        names = [r.name for r in rows]
        values = {part: [r.values[part] / first.batch for r in rows] for part in ENERGY_PARTS}
        title = f"{first.network}: energy per layer per image"
    else:
        names = [r.network for r in reports]
        values = {part: [r.totals.values[part] / r.batch for r in reports]
                  for part in ENERGY_PARTS}
        title = "Energy per image: compute, register file, SRAM, DRAM"
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10 if by_layer else 8, 5), dpi=100)
    labels = [part.removeprefix("energy_") for part in ENERGY_PARTS]
    positions = np.arange(len(names))
    if by_layer:  # each layer's stack painted from its top down: part i shows up to its top
        tops = np.cumsum([values[part] for part in ENERGY_PARTS], axis=0)
        handles = [layer_bars(ax, tops[i], color=f"C{i}", label=labels[i])
                   for i in reversed(range(len(ENERGY_PARTS)))][::-1]
    else:
        bottom = np.zeros(len(names))
        handles = []
        for part, label in zip(ENERGY_PARTS, labels, strict=True):
            handles.append(ax.bar(positions, values[part], bottom=bottom, label=label,
                                  width=0.8))
            bottom += np.array(values[part])
    if by_layer:
        ax.set_xlabel(f"layer (1..{len(names)} in graph order)")
    else:
        ax.set_xticks(positions, names)
    unit = first.settings.hardware.profile.unit
    ax.set_ylabel(f"energy per image ({unit})")
    ax.set_title(title)
    ax.legend(handles=handles)
    fig.text(0.01, 0.01, first.settings.hardware.describe(), fontsize=5)
    svg = _finish(fig, path)
    return Plot("energy", title, {"names": names, **values}, svg)


def roofline(report: Report, path: Path | None, label: int = 5) -> Plot:
    """Every layer with MACs on the roofline of the report's device (its latency settings):
    arithmetic intensity (MACs per byte moved, docs/conventions.md) against attained MAC/s
    (MACs over the layer's roofline time), under the compute roof (peak x efficiency) and the
    memory roof (bandwidth x intensity). The `label` costliest layers are named."""
    device = report.settings.latency
    if device is None:
        raise CostcalcError("a roofline plot needs a device: peak MAC/s and bandwidth",
                            "pass --hardware with a profile that has peak_macs_per_s and "
                            "bandwidth_bytes_per_s, or --peak and --bandwidth")
    rows = [r for r in report.layers if r.kind != "input" and r.macs > 0]
    if not rows:
        raise CostcalcError(f"nothing to plot: no layer of {report.network} has MACs")
    if path is not None:
        check_output(path)
    names = [r.name for r in rows]
    intensity = [float(r.values["arithmetic_intensity"]) for r in rows]
    attained = [1e3 * r.macs / r.values["latency_ms"] for r in rows]
    bound = [bool(r.values["compute_bound"]) for r in rows]
    peak = device.peak_macs_per_s * device.efficiency
    bandwidth = device.bandwidth_bytes_per_s
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=100)
    low, high = min(intensity + [peak / bandwidth]) / 4, max(intensity + [peak / bandwidth]) * 4
    xs = np.geomspace(low, high, 200)
    ax.plot(xs, np.minimum(peak, bandwidth * xs), color="black", linewidth=1.2,
            label=f"roof: min({peak:.3g} MAC/s, {bandwidth:.3g} B/s x intensity)")
    if device.efficiency < 1:
        ax.axhline(device.peak_macs_per_s, color="gray", linestyle=":", linewidth=1,
                   label=f"peak {device.peak_macs_per_s:.3g} MAC/s")
    ax.axvline(peak / bandwidth, color="gray", linestyle="--", linewidth=0.8,
               label=f"ridge: {peak / bandwidth:.3g} MAC/B")
    for flag, color, text in ((True, "tab:red", "compute-bound"),
                              (False, "tab:blue", "memory-bound")):
        chosen = [i for i, b in enumerate(bound) if b == flag]
        if chosen:
            ax.scatter([intensity[i] for i in chosen], [attained[i] for i in chosen], s=14,
                       color=color, label=f"{text} layers ({len(chosen)})", zorder=3)
    costliest = sorted(range(len(rows)), key=lambda i: (-rows[i].macs, i))[:label]
    for rank, i in enumerate(sorted(costliest, key=lambda i: intensity[i])):
        ax.annotate(names[i], (intensity[i], attained[i]), textcoords="offset points",
                    xytext=(6, -12 - 9 * (rank % 3)), fontsize=6,
                    arrowprops={"arrowstyle": "-", "color": "gray", "linewidth": 0.5})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (MACs per byte moved)")
    ax.set_ylabel("attained MAC/s (MACs / roofline time)")
    title = f"{report.network}: roofline" + (f" on {device.name}" if device.name else "")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    fig.text(0.01, 0.01, f"batch {report.batch}, {report.dtype}; bytes moved = kernels + "
             "inputs + output, layers run unfused", fontsize=6)
    svg = _finish(fig, path)
    return Plot("roofline", title, {"names": names, "intensity": intensity,
                                    "attained": attained, "compute_bound": bound,
                                    "peak": peak, "bandwidth": bandwidth,
                                    "ridge": peak / bandwidth}, svg)
