"""The command line: parse arguments, call the library, print what it returns."""

from __future__ import annotations

import functools
import json
import math
import os
import tempfile
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

import click

from .bundled import bundled_specs
from .deployment import STORAGE, ModelSize, Transfer, parse_densities
from .errors import CostcalcError
from .hardware import REUSE_MODES, bundled_profiles, load_profile, make_hardware
from .metrics import COUNT_PROFILES, PARAM_CONVENTIONS
from .render import Format, FormulaFormat, formula_list, render, render_formula
from .report import analyze
from .spec import load_spec


class UserError(click.ClickException):
    """A CostcalcError on its way out: the message alone on stderr, exit code 1."""

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


class Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CostcalcError as exc:
            raise UserError(str(exc)) from None


def parse_resolution(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    try:
        parts = [int(p) for p in value.lower().split("x")]
    except ValueError:
        raise click.BadParameter("use an integer such as 224, or HxW such as 224x160") from None
    if len(parts) not in (1, 2) or min(parts) < 1:
        raise click.BadParameter("use a positive integer such as 224, or HxW such as 224x160")
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def parse_numbers(items: tuple[str, ...], example: str) -> dict[str, Any]:
    """NAME=NUMBER pairs: integers stay integers (3), anything else is a float (0.5, 1e-3)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        try:
            value: int | float = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                value = math.nan
        if not sep or not key.strip() or not math.isfinite(value):
            raise click.BadParameter(f"'{item}': use NAME=NUMBER, e.g. {example}")
        out[key.strip()] = value
    return out


def parse_sets(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]):
    return parse_numbers(values, "groups=3")


def write_output(text: str, output: Path | None) -> None:
    """Print, or write the whole file at once: nothing half-written on failure."""
    if output is None:
        click.echo(text, nl=False)
        return
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=output.resolve().parent, prefix=f".{output.name}.",
                                   suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, output)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise CostcalcError(f"{output}: cannot write: {exc.strerror or exc}") from None


def format_option(formats: type[Enum], default: Enum, help: str | None = None) -> Callable:
    """`--format`, its choices the members of a str-Enum of formats (their renderers are a dict
    in render.py); the command receives the member."""
    return click.option("--format", "fmt", type=click.Choice([f.value for f in formats]),
                        default=default.value, show_default=True, help=help,
                        callback=lambda ctx, param, value: formats(value))


def spec_settings(func):
    """The options that choose a network's setting, shared by report-like commands."""
    options = [
        click.option("--width", "width", type=click.FloatRange(min=0, min_open=True),
                     help="Width multiplier alpha (channel counts scale and round as the spec "
                          "says)."),
        click.option("--resolution", callback=parse_resolution,
                     help="Input size: 224, or HxW such as 224x160."),
        click.option("--variant", help="A named setting declared in the spec."),
        click.option("--set", "sets", multiple=True, callback=parse_sets, metavar="NAME=VALUE",
                     help="Override a spec argument (repeatable), e.g. --set groups=3."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(cls=Group)
@click.option("--columns", type=click.IntRange(min=40), default=None,
              help="Fix the table width (reproducible output).")
@click.version_option(package_name="costcalc")
@click.pass_context
def main(ctx: click.Context, columns: int | None) -> None:
    """Analytical cost model for convolutional networks: MACs, params, memory.

    SPEC is a path to a YAML spec, or the name of a bundled spec (see `costcalc list`).
    """
    ctx.obj = {"columns": columns}


@main.command("list")
@click.option("--variants", is_flag=True, help="Also list each spec's named variants.")
@click.option("--hardware", is_flag=True, help="List the bundled hardware profiles instead.")
def list_specs(variants: bool, hardware: bool) -> None:
    """The bundled specs, one line each: name, network, source."""
    if hardware:
        profiles = [load_profile(path) for path in bundled_profiles()]
        width = max((len(p.name) for p in profiles), default=0)
        for p in profiles:
            click.echo(f"{p.name.ljust(width)}  {p.unit:<3}  {' '.join(p.source.split())}")
        return
    rows = [(path.stem, load_spec(path)) for path in bundled_specs()]
    width = max((len(stem) for stem, _ in rows), default=0)
    for stem, spec in rows:
        n = len(spec.variants)
        count = f"  [{n} variant{'s' * (n != 1)}]" if n and not variants else ""
        click.echo(f"{stem.ljust(width)}  {spec.name} - {spec.source}{count}")
        if variants and spec.variants:
            for variant in spec.variants.values():
                about = f": {variant.description}" if variant.description else ""
                click.echo(f"{''.ljust(width)}    --variant {variant.name}{about}")


def report_options(func):
    """What a report is computed at and how it is written, shared by report and energy."""
    options = [
        click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True),
        click.option("--dtype", default="fp32", show_default=True,
                     help="Element type for bytes: fp32, fp16, bf16, int8, int4, or e.g. 6bit."),
        click.option("--params", "params", type=click.Choice(PARAM_CONVENTIONS),
                     default="framework", show_default=True,
                     help="What the params total counts."),
        format_option(Format, Format.table),
        click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write to a file instead of standard output."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def deploy_options(func):
    """Model size (--weight-bits, --density, --storage, --index-bits), split-computing
    transfer (--pdu, --cut) and Netscope's counts (--count); the command receives `size` and
    `transfer` (None when not asked) and `count`."""
    options = [
        click.option("--weight-bits", type=int, default=None,
                     help="Bits per stored weight, 1..32 (sparse: per codebook code, 1..16). "
                          "Any size option adds the model-size metrics (docs/deploy.md)."),
        click.option("--density", "densities", multiple=True, metavar="[NAME=]D",
                     help="Fraction of weights kept after pruning, in (0, 1]: 0.35 for every "
                          "layer, or NAME=0.2 for a layer or block (repeatable)."),
        click.option("--storage", type=click.Choice(STORAGE), default=None,
                     help="dense (every weight, zeros included; default) or sparse (Deep "
                          "Compression: codebook, codes, relative indices, fillers)."),
        click.option("--index-bits", type=int, default=None,
                     help="Relative-index width of sparse storage, 1..16 (default 4)."),
        click.option("--pdu", type=int, default=None,
                     help="Packet payload in bytes: adds each layer's output bytes and packets "
                          "(split computing)."),
        click.option("--cut", default=None,
                     help="Split after this layer: bytes and packets sent, device MACs "
                          "(needs --pdu)."),
        click.option("--count", type=click.Choice(COUNT_PROFILES), default="costcalc",
                     show_default=True,
                     help="netscope: also count MACC, COMP, ADD, DIV, EXP, params and "
                          "activations by Netscope's rules."),
    ]
    for option in reversed(options):
        func = option(func)

    def wrapper(*args: Any, weight_bits: int | None, densities: tuple[str, ...],
                storage: str | None, index_bits: int | None, pdu: int | None,
                cut: str | None, **kwargs: Any) -> Any:
        size = None
        if weight_bits is not None or densities or storage is not None or index_bits is not None:
            size = ModelSize(32 if weight_bits is None else weight_bits,
                             parse_densities(densities), storage or "dense",
                             4 if index_bits is None else index_bits)
        if cut is not None and pdu is None:
            raise CostcalcError("--cut needs --pdu (the packet payload in bytes)",
                                "add e.g. --pdu 116")
        transfer = None if pdu is None else Transfer(pdu, cut)
        return func(*args, size=size, transfer=transfer, **kwargs)

    functools.update_wrapper(wrapper, func)
    return wrapper


@main.command()
@click.argument("spec")
@spec_settings
@report_options
@deploy_options
@click.pass_context
def report(ctx: click.Context, spec: str, width: float | None, resolution: Any,
           variant: str | None, sets: dict[str, Any], batch: int, dtype: str, params: str,
           fmt: Format, output: Path | None, size: ModelSize | None,
           transfer: Transfer | None, count: str) -> None:
    """Per-layer and total costs of one network."""
    result = analyze(spec, width=width, resolution=resolution, batch=batch, dtype=dtype,
                     params=params, args=sets, variant=variant, size=size, transfer=transfer,
                     count=count)
    write_output(render(result, fmt, ctx.obj["columns"]), output)


@main.command()
@click.argument("spec")
@spec_settings
@report_options
@click.option("--hardware", "profile", default="horowitz45nm", show_default=True,
              help="A bundled profile (costcalc list --hardware) or a profile file.")
@click.option("--sram", help="On-chip buffer: 524288, 512KiB, 0.5MiB, 512KB (decimal). "
                             "Default: the profile's.")
@click.option("--weight-reuse", type=int, default=None,
              help="Images per DRAM fetch of the weights (default: once per batch).")
@click.option("--reuse", type=click.Choice(REUSE_MODES), default="model", show_default=True,
              help="model: the SRAM decides; none: no reuse (upper bound); ideal: each "
                   "tensor crosses DRAM once (lower bound).")
@click.option("--rf-per-mac", help="Register-file accesses per MAC: W,I,O such as 1,1,2, or a "
                                   "multiple of 4. Default: the profile's.")
@click.option("--fuse/--no-fuse", default=True, show_default=True,
              help="Batch norm, activations, dropout and flatten run fused with the layer "
                   "before them (their input never reaches memory).")
@click.pass_context
def energy(ctx: click.Context, spec: str, width: float | None, resolution: Any,
           variant: str | None, sets: dict[str, Any], batch: int, dtype: str, params: str,
           fmt: Format, output: Path | None, profile: str, sram: str | None,
           weight_reuse: int | None, reuse: str, rf_per_mac: str | None, fuse: bool) -> None:
    """Energy and memory traffic per layer from a hardware profile (docs/energy.md)."""
    hardware = make_hardware(profile, sram, weight_reuse, reuse, rf_per_mac, fuse)
    result = analyze(spec, width=width, resolution=resolution, batch=batch, dtype=dtype,
                     params=params, args=sets, variant=variant, hardware=hardware)
    write_output(render(result, fmt, ctx.obj["columns"]), output)


@main.command()
@click.argument("spec")
@spec_settings
@report_options
@click.option("--hardware", "profile", default=None,
              help="A profile with peak_macs_per_s and bandwidth_bytes_per_s (bundled name or "
                   "file), for the roofline.")
@click.option("--peak", type=float, default=None, help="Peak MAC/s (overrides the profile's).")
@click.option("--bandwidth", type=float, default=None,
              help="Memory bandwidth in bytes/s (overrides the profile's).")
@click.option("--efficiency", type=float, default=1.0, show_default=True,
              help="Fraction of the peak a layer reaches, in (0, 1].")
@click.option("--calibrate", "times", type=click.Path(dir_okay=False, path_type=Path),
              help="Measured times: a CSV `layer,ms` (layers of SPEC) or `network,ms` "
                   "(bundled specs, spec@variant, at --batch); fits the --fit coefficients.")
@click.option("--fit", "features", default="macs,pooled", show_default=True,
              help="The coefficients: comma-separated from macs, pooled, bytes, elements.")
@click.option("--holdout", multiple=True, metavar="NAME",
              help="A point left out of the fit and predicted (repeatable).")
@click.option("--predict", "predict_times", type=click.Path(dir_okay=False, path_type=Path),
              help="A second times CSV, every point predicted from the fit (another clock).")
@click.option("--clock-ratio", type=float, default=1.0, show_default=True,
              help="The --predict clock over the calibration clock (80 MHz / 216 MHz: 0.3704).")
@click.option("--clock", "clock_hz", type=float, default=None,
              help="The calibration clock in Hz: also print cycles per unit.")
@click.pass_context
def latency(ctx: click.Context, spec: str, width: float | None, resolution: Any,
            variant: str | None, sets: dict[str, Any], batch: int, dtype: str, params: str,
            fmt: Format, output: Path | None, profile: str | None, peak: float | None,
            bandwidth: float | None, efficiency: float, times: Path | None, features: str,
            holdout: tuple[str, ...], predict_times: Path | None, clock_ratio: float,
            clock_hz: float | None) -> None:
    """Roofline latency per layer, and a least-squares calibration (docs/deploy.md)."""
    from .deployment import Roofline
    from .latency import fit, read_times, render_fit, timed_points

    device = load_profile(profile) if profile is not None else None
    peak = peak if peak is not None else device and device.peak_macs_per_s
    bandwidth = bandwidth if bandwidth is not None else device and device.bandwidth_bytes_per_s
    if (peak is None or bandwidth is None) and times is None:
        missing = " and ".join(n for n, v in (("peak_macs_per_s", peak),
                                               ("bandwidth_bytes_per_s", bandwidth)) if v is None)
        where = f"profile {device.name} ({device.file}) has no {missing}" if device else \
            "no device given"
        raise CostcalcError(f"latency: {where}", "pass --hardware with a profile that has "
                            "peak_macs_per_s and bandwidth_bytes_per_s, or --peak and "
                            "--bandwidth, or --calibrate times.csv")
    roofline = None if peak is None or bandwidth is None else \
        Roofline(peak, bandwidth, efficiency, device.name if device else "")
    result = analyze(spec, width=width, resolution=resolution, batch=batch, dtype=dtype,
                     params=params, args=sets, variant=variant, latency=roofline)
    text = render(result, fmt, ctx.obj["columns"]) if roofline is not None else ""
    if times is not None:
        if fmt not in (Format.table, Format.markdown):
            raise CostcalcError("the calibration is printed as text",
                                "use --format table or markdown with --calibrate")
        from .report import _pipeline

        graph, shapes = _pipeline(spec, width, resolution, sets, variant)
        points = []
        for path in (times, predict_times):
            if path is None:
                points.append([])
                continue
            kind, rows = read_times(path)
            points.append(timed_points(kind, rows, str(path), graph, shapes, batch,
                                       result.bits))
        chosen = [f.strip() for f in features.split(",") if f.strip()]
        text += render_fit(fit(points[0], chosen, holdout, points[1], str(times), clock_ratio),
                           clock_hz)
    write_output(text, output)


@main.command()
@click.argument("spec")
@spec_settings
def validate(spec: str, width: float | None, resolution: Any, variant: str | None,
             sets: dict[str, Any]) -> None:
    """Check a spec (schema, expressions, shapes) without reporting."""
    result = analyze(spec, width=width, resolution=resolution, args=sets, variant=variant)
    click.echo(f"ok: {result.network}, {len(result.layers)} layers, output "
               f"{'x'.join(map(str, result.layers[-1].output))}")


@main.command()
@click.option("--check", is_flag=True,
              help="Regenerate in memory; exit 1 on a mismatch row or a stale docs/tables file.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown",
              show_default=True, help="json: print every row for tools (writes nothing).")
@click.option("--papers", "papers_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Published-figure files (default: the bundled specs/papers).")
@click.option("--docs", "docs_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("docs/tables"), show_default=True, help="Where the tables go.")
def tables(check: bool, fmt: str, papers_dir: Path | None, docs_dir: Path) -> None:
    """Regenerate docs/tables from specs/papers: published vs computed, row by row."""
    from . import tables as paper_tables

    generated = paper_tables.generate(papers_dir)
    if fmt == "json":
        click.echo(json.dumps(paper_tables.to_json(generated), indent=1))
    elif not check:
        changed = paper_tables.write(generated, docs_dir)
        click.echo(f"{len(generated.documents)} files in {docs_dir}, {len(changed)} changed")
    if failed := paper_tables.check(generated, docs_dir, fmt):
        raise CostcalcError("\n".join(failed), "find the cause of a mismatch (state it in the "
                            "row's note and prediction); run `costcalc tables` to regenerate "
                            "stale files")
    if check and fmt == "markdown":
        rows = sum(len(t.results) for t in generated.tables)
        click.echo(f"ok: {len(generated.tables)} tables, {rows} rows, {docs_dir} up to date")


@main.command()
@click.argument("name", required=False)
@click.argument("args", nargs=-1)
@click.option("--list", "show_list", is_flag=True, help="Name every formula, with its source.")
@format_option(FormulaFormat, FormulaFormat.text)
def formula(name: str | None, args: tuple[str, ...], show_list: bool,
            fmt: FormulaFormat) -> None:
    """A closed-form cost formula at NAME=VALUE arguments, checked against the graph engine."""
    from .formula import evaluate_formula, list_formulas

    if show_list or name is None:
        click.echo(formula_list(list_formulas()), nl=False)
        return
    try:
        values = parse_numbers(args, "m=512")
    except click.BadParameter as exc:
        exc.param_hint = "ARGS"
        raise
    result = evaluate_formula(name, values)
    click.echo(render_formula(result, fmt), nl=False)
