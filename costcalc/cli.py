"""The command line: parse arguments, call the library, print what it returns."""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Collection
from enum import Enum
from pathlib import Path
from typing import Any

import click

from . import limits
from .bundled import bundled_specs, resolve
from .deployment import STORAGE, ModelSize, Transfer, parse_densities
from .errors import CostcalcError
from .hardware import REUSE_MODES, bundled_profiles, load_profile, make_hardware
from .metrics import COUNT_PROFILES, PARAM_CONVENTIONS
from .render import (
    COMPARE_RENDERERS,
    EXTENSIONS,
    SWEEP_RENDERERS,
    UNITS,
    Format,
    FormulaFormat,
    View,
    formula_list,
    parse_fields,
    render,
    render_formula,
    spec_list,
    spec_text,
)
from .report import SORT_KEYS, analyze, evaluated_graph
from .spec import load_spec


class UserError(click.ClickException):
    """A CostcalcError on its way out: the message alone on stderr, exit code 1."""

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


MAX_MESSAGE_LINES = 60  # a message past this many lines is cut, saying how many more


def _capped(message: str) -> str:
    """A user error's text, at most MAX_MESSAGE_LINES lines of at most 1000 characters."""
    lines = [line if len(line) <= 1000 else line[:1000] + f"... ({len(line) - 1000:,} more "
             "characters)" for line in message.splitlines()]
    if len(lines) > MAX_MESSAGE_LINES:
        rest = len(lines) - MAX_MESSAGE_LINES
        lines = lines[:MAX_MESSAGE_LINES] + [f"... and {rest:,} more lines"]
    return "\n".join(lines)


class InternalError(click.ClickException):
    """A bug (an exception that is not a CostcalcError): a short message asking for a report;
    `costcalc --debug` shows the traceback instead."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


def _silence_stdout() -> None:
    """After a closed pipe: send what is still buffered for stdout to /dev/null, so that
    neither the interpreter's final flush nor click reports the broken pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (a test runner's stream)
        pass


class Group(click.Group):
    """The one place where errors leave the CLI: a user error exits 1 with its message, a
    closed pipe (`costcalc list | head -1`) exits 0 quietly, a bug exits 1 asking for a
    report. And the one place that gives every subcommand `--columns` (columns_param)."""

    group_class = type  # subgroups (`costcalc plot`) are Groups too

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not any(param.name == "columns" for param in cmd.params):
            cmd.params.append(columns_param())
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a closed pipe shows here when the output was buffered
            return result
        except BrokenPipeError:
            _silence_stdout()
            raise click.exceptions.Exit(0) from None
        except CostcalcError as exc:
            raise UserError(_capped(str(exc))) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            name = type(exc).__name__
            text = _capped(str(exc)).splitlines()[0] if str(exc) else ""
            raise InternalError(f"internal error: {name}{': ' + text if text else ''}\n"
                                "  this is a bug in costcalc, not in your input: please report "
                                "it with the command and spec that caused it\n"
                                "  (rerun with `costcalc --debug ...` for the traceback)") \
                from None


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
    """NAME=NUMBER pairs: integers stay integers (3), anything else is a float (0.5, 1e-3);
    true and false are booleans."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if sep and key.strip() and text.strip().lower() in ("true", "false"):
            out[key.strip()] = text.strip().lower() == "true"
            continue
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _target_mode(output: Path, force: bool) -> int:
    """The mode the written file gets: an existing file's, else 0666 less the umask. A
    symlink, a FIFO or device, or a read-only file is replaced only with --force."""
    try:
        info = os.lstat(output)
    except FileNotFoundError:
        return 0o666 & ~_umask()
    except OSError as exc:
        raise CostcalcError(f"{output}: cannot write: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise CostcalcError(f"{output}: is a directory", "give a file name")
    refuse = ""
    if stat.S_ISLNK(info.st_mode):
        refuse = "is a symbolic link"
    elif not stat.S_ISREG(info.st_mode):
        refuse = "is not a regular file (a FIFO, socket or device)"
    elif not info.st_mode & 0o222 or not os.access(output, os.W_OK):
        refuse = "is read-only"
    if refuse and not force:
        raise CostcalcError(f"{output}: {refuse}; not replaced",
                            "pass --force to replace it with a regular file, or choose another "
                            "name")
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) \
        else 0o666 & ~_umask()


def write_output(text: str | bytes, output: Path | None, force: bool = False) -> None:
    """Print (no file, or `-`), or write the whole file at once: nothing half-written on
    failure, the file's mode kept (a new one gets the umask's), special files refused."""
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
        return
    mode = _target_mode(output, force)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=output.absolute().parent, prefix=f".{output.name}.",
                                   suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(text if isinstance(text, bytes) else text.encode("utf-8"))
            handle.flush()
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, output)
        tmp = None
    except OSError as exc:
        raise CostcalcError(f"{output}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def format_option(formats: type[Enum], default: Enum, help: str | None = None,
                  only: Collection[Enum] | None = None) -> Callable:
    """`--format`, its choices the members of a str-Enum of formats (their renderers are a dict
    in render.py), or those in `only` (the keys of the command's renderer table); the command
    receives the member. Without --format, the extension of the command's -o file chooses
    (out.json, out.csv, out.md, out.html), else `default`; an extension no format of the
    command has is an error."""
    names = [f.value for f in formats if only is None or f in only]
    by_extension = {ext: name for ext, name in EXTENSIONS.items() if name in names}

    def decorate(func: Callable) -> Callable:
        func = click.option(
            "--format", "fmt", type=click.Choice(names), default=None, help=help,
            show_default=default.value + (", or the -o file's extension ("
                                          + ", ".join(by_extension) + ")"
                                          if by_extension else ""),
            callback=lambda ctx, param, value: None if value is None else formats(value))(func)

        @functools.wraps(func)
        def wrapper(*args: Any, fmt: Enum | None, **kwargs: Any) -> Any:
            if fmt is None:
                output = str(kwargs.get("output") or "")
                suffix = Path(output).suffix.lower() if output != "-" else ""
                if suffix and by_extension and suffix not in by_extension:
                    raise CostcalcError(f"{output}: this command writes no format with "
                                        f"the extension '{suffix}'", "name the file " + ", ".join(
                                            f"*{e}" for e in by_extension) + " or pass "
                                        "--format " + "|".join(names))
                fmt = formats(by_extension[suffix]) if suffix in by_extension else default
            return func(*args, fmt=fmt, **kwargs)

        return wrapper

    return decorate


MIN_COLUMNS = 40


class Width(click.IntRange):
    """`--columns N`: the table width, an integer; a list of names is --fields' job."""

    name = "integer"

    def __init__(self) -> None:
        super().__init__(min=MIN_COLUMNS)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, str) and value.strip() and not value.strip().isdigit() \
                and any(c.isalpha() for c in value):
            self.fail(f"{value!r} is not a width: --columns N sets the table width; choose "
                      f"the columns with --fields {value}", param, ctx)
        return super().convert(value, param, ctx)


def terminal_columns() -> int | None:
    """The table width when --columns is not given: COLUMNS when set, the terminal's width
    when standard output is one, else None (the renderers' fixed width: stable in pipes)."""
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit():
        return max(MIN_COLUMNS, int(env))
    if sys.stdout.isatty():
        return max(MIN_COLUMNS, shutil.get_terminal_size().columns)
    return None


def _set_columns(ctx: click.Context, param: click.Parameter, value: int | None) -> None:
    if value is not None:
        ctx.ensure_object(dict)["columns"] = value


def columns_param(also: str = "") -> click.Option:
    """`--columns` before a subcommand (`costcalc --columns 80 report`) and after it: main
    has it, and Group.add_command gives it to every subcommand. A command reads
    ctx.obj["columns"] (main sets the default)."""
    return click.Option(["--columns"], type=Width(), default=None,
                        expose_value=False, callback=_set_columns,
                        help="Fix the table width (default: the terminal's, or COLUMNS; 110 "
                             "in a pipe or file)." + also)


def view_options(func: Callable) -> Callable:
    """Which rows a report shows (render.View): --summary, --top, --sort, --depth, and the
    CSV's --csv-total; the command receives `view`."""
    options = [
        click.option("--summary", is_flag=True,
                     help="Header, totals and breakdown only: no per-layer rows."),
        click.option("--top", type=click.IntRange(min=1), default=None, metavar="K",
                     help="Only the K costliest rows (layers, or blocks with --depth), each "
                          "with its share of the total."),
        click.option("--sort", type=click.Choice(list(SORT_KEYS)), default="macs",
                     show_default=True, help="What --top ranks by (act: activations)."),
        click.option("--depth", type=click.IntRange(min=1), default=None, metavar="N",
                     help="One row per block: layers grouped by the first N parts of their "
                          "dotted names, metrics summed."),
        click.option("--csv-total", is_flag=True,
                     help="CSV: end with a TOTAL row (by default data rows only)."),
        click.option("--fields", default=None, metavar="LIST",
                     callback=lambda ctx, param, value: None if value is None
                     else parse_fields(value),
                     help="The rows' columns, comma-separated, in table, Markdown and CSV: "
                          "kind, bucket, in, out, layers, kernel, stride, groups, a metric "
                          "(macs, flops, params, act, act_bytes, intensity, ...), pct. JSON "
                          "always has every field."),
        click.option("--units", type=click.Choice(UNITS), default="exact", show_default=True,
                     help="human: the rows' counts as 300.8M, bytes as 4.6MiB (table and "
                          "Markdown; CSV and JSON stay exact)."),
    ]
    for option in reversed(options):
        func = option(func)

    def wrapper(*args: Any, summary: bool, top: int | None, sort: str, depth: int | None,
                csv_total: bool, fields: tuple[str, ...] | None, units: str,
                **kwargs: Any) -> Any:
        return func(*args, view=View(summary, top, sort, depth, csv_total, fields, units),
                    **kwargs)

    functools.update_wrapper(wrapper, func)
    return wrapper


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


def parse_limits(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]):
    out: dict[str, int] = {}
    for item in values:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or key not in limits.NAMES or not text.strip().isdigit() \
                or not text.isascii() or int(text) < 1:
            raise click.BadParameter(f"'{item}': use NAME=N with N a positive integer and NAME "
                                     f"one of {', '.join(limits.NAMES)}")
        out[key] = int(text)
    return out


@click.group(cls=Group, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]},
             params=[columns_param(" Also accepted after any subcommand.")])
@click.option("--limit", "limit_values", multiple=True, callback=parse_limits,
              metavar="NAME=N", help="Raise (or lower) a bound on the work an input may cause, "
              "e.g. --limit max_layers=5000000 (docs/limits.md).")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
@click.version_option(package_name="costcalc")
@click.pass_context
def main(ctx: click.Context, limit_values: dict[str, int], debug: bool) -> None:
    """Analytical cost model for convolutional networks: MACs, params, memory.

    SPEC is a path to a YAML spec, or the name of a bundled spec (see `costcalc list`).
    """
    ctx.obj = ctx.ensure_object(dict)  # --columns may have set "columns"
    ctx.obj.setdefault("columns", terminal_columns())
    ctx.obj["debug"] = debug
    ctx.with_resource(limits.override(**limit_values))
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@main.command("list")
@click.option("--long", "long_", is_flag=True,
              help="Also give each spec's (or profile's) source.")
@click.option("--variants", is_flag=True, help="Also list each spec's named variants.")
@click.option("--hardware", is_flag=True, help="List the bundled hardware profiles instead.")
@click.pass_context
def list_specs(ctx: click.Context, long_: bool, variants: bool, hardware: bool) -> None:
    """The bundled specs, one short line each: name, network, input, MACs, params (at the
    spec's defaults) and how many variants (`costcalc show SPEC` for one spec)."""
    if hardware:
        from .render import profile_list

        click.echo(profile_list([load_profile(path) for path in bundled_profiles()], long_),
                   nl=False)
        return
    entries = []
    for path in bundled_specs():
        spec = load_spec(path)
        entries.append((path.stem, spec, analyze(spec)))
    click.echo(spec_list(entries, long_, variants, ctx.obj["columns"]), nl=False)


@main.command("show")
@click.argument("spec")
@click.option("--yaml", "as_yaml", is_flag=True, help="Print the spec's YAML text instead.")
def show(spec: str, as_yaml: bool) -> None:
    """A spec's file, input, width rule, arguments with their defaults (--set) and variants
    (--variant); --yaml prints its text."""
    path = resolve(spec)
    if as_yaml:
        click.echo(path.read_text(encoding="utf-8"), nl=False)
        return
    click.echo(spec_text(load_spec(spec), str(path)), nl=False)


def type_options(func):
    """The element types and the params convention (--dtype, --weight-dtype, --act-dtype,
    --params), shared by report-like commands, compare and sweep."""
    options = [
        click.option("--dtype", default="fp32", show_default=True,
                     help="Element type of weights and activations: fp32, fp16, bf16, fp8 (or "
                          "e4m3, e5m2), int8, int4, or a bit width such as 6bit."),
        click.option("--weight-dtype", default=None,
                     help="The weights' element type (weight bytes, weights moved, model "
                          "size), overriding --dtype for them."),
        click.option("--act-dtype", default=None,
                     help="The activations' element type (activation bytes, traffic, "
                          "transfer), overriding --dtype for them."),
        click.option("--params", "params", type=click.Choice(PARAM_CONVENTIONS),
                     default="framework", show_default=True,
                     help="What the params total counts."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def count_options(func):
    """What the counts are computed at: --batch and type_options; shared by report-like
    commands and compare."""
    func = type_options(func)
    return click.option("--batch", type=click.IntRange(min=1), default=1,
                        show_default=True)(func)


def report_options(func):
    """What a report is computed at (count_options) and how it is written, shared by report,
    energy and latency."""
    options = [
        format_option(Format, Format.table),
        click.option("-o", "--output", type=click.Path(path_type=Path),
                     help="Write to a file instead of standard output (`-`: standard output)."),
        click.option("--force", is_flag=True,
                     help="Let -o replace a symbolic link, FIFO or read-only file."),
    ]
    for option in reversed(options):
        func = option(func)
    return count_options(func)


class _WholeText(click.ParamType):
    """An integer option whose bad values are the deployment settings' errors (exit 1, with
    the allowed range), not click's usage error: text that is not an integer passes through
    unconverted for them to reject."""

    name = "integer"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        try:
            return int(value)
        except (TypeError, ValueError):
            return value


def deploy_options(func):
    """Model size (--weight-bits, --density, --storage, --index-bits), split-computing
    transfer (--pdu, --cut) and Netscope's counts (--count); the command receives `size` and
    `transfer` (None when not asked) and `count`."""
    options = [
        click.option("--weight-bits", type=_WholeText(), default=None,
                     help="Bits per stored weight, 1..32 (sparse: per codebook code, 1..16). "
                          "Any size option adds the model-size metrics (docs/deploy.md)."),
        click.option("--density", "densities", multiple=True, metavar="[NAME=]D",
                     help="Fraction of weights kept after pruning, in (0, 1]: 0.35 for every "
                          "layer, or NAME=0.2 for a layer or block (repeatable); overrides "
                          "the spec's density: for the layers it names."),
        click.option("--storage", type=click.Choice(STORAGE), default=None,
                     help="dense (every weight, zeros included; default) or sparse (Deep "
                          "Compression: codebook, codes, relative indices, fillers)."),
        click.option("--index-bits", type=_WholeText(), default=None,
                     help="Relative-index width of sparse storage, 1..16 (default 4)."),
        click.option("--pdu", type=_WholeText(), default=None,
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
        size: dict[str, Any] | None = None
        if weight_bits is not None or densities or storage is not None or index_bits is not None:
            # without --weight-bits the weights are stored at the weights' dtype (analyze)
            size = {"density": list(densities), "storage": storage or "dense",
                    "index_bits": 4 if index_bits is None else index_bits,
                    **({} if weight_bits is None else {"weight_bits": weight_bits})}
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
@view_options
@deploy_options
@click.option("--training", "optimizer", metavar="sgd|momentum|adam", default=None,
              help="Add training memory at --batch: weights, gradients, the optimizer's state "
                   "and the activations saved for the backward pass (docs/reports.md).")
@click.pass_context
def report(ctx: click.Context, spec: str, width: float | None, resolution: Any,
           variant: str | None, sets: dict[str, Any], batch: int, dtype: str,
           weight_dtype: str | None, act_dtype: str | None, params: str,
           fmt: Format, output: Path | None, force: bool, view: View,
           size: dict[str, Any] | None, transfer: Transfer | None, count: str,
           optimizer: str | None) -> None:
    """Totals, the breakdown by layer type, then per-layer costs of one network (or a
    summary: --summary, --top K, --depth N)."""
    result = analyze(spec, width=width, resolution=resolution, batch=batch, dtype=dtype,
                     params=params, args=sets, variant=variant, size=size, transfer=transfer,
                     count=count, training=optimizer, weight_dtype=weight_dtype,
                     act_dtype=act_dtype)
    write_output(render(result, fmt, ctx.obj["columns"], view), output, force)


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
@view_options
@click.pass_context
def energy(ctx: click.Context, spec: str, width: float | None, resolution: Any,
           variant: str | None, sets: dict[str, Any], batch: int, dtype: str,
           weight_dtype: str | None, act_dtype: str | None, params: str,
           fmt: Format, output: Path | None, force: bool, profile: str, sram: str | None,
           weight_reuse: int | None, reuse: str, rf_per_mac: str | None, fuse: bool,
           view: View) -> None:
    """Energy and memory traffic per layer from a hardware profile (docs/energy.md)."""
    hardware = make_hardware(profile, sram, weight_reuse, reuse, rf_per_mac, fuse)
    result = analyze(spec, width=width, resolution=resolution, batch=batch, dtype=dtype,
                     params=params, args=sets, variant=variant, hardware=hardware,
                     weight_dtype=weight_dtype, act_dtype=act_dtype)
    write_output(render(result, fmt, ctx.obj["columns"], view), output, force)


@main.group("plot")
def plot() -> None:
    """Draw a network's costs (needs the plot extra): pareto, layers, energy, sweep,
    roofline."""


def _image_option(func):
    return click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                        required=True, help="The image: .png, .svg or .pdf.")(func)


@plot.command("pareto")
@click.argument("specs", nargs=-1)
@spec_settings
@click.option("--y", "axis", type=click.Choice(["params", "top1"]), default="params",
              show_default=True, help="Against MACs: params, or the published top-1 where "
              "the papers data has it (costcalc compare's).")
@click.option("--paper", metavar="FILE:TABLE",
              help="Also plot every configuration a papers table gives an accuracy for, "
                   "e.g. howard2017_mobilenet_v1:table6.")
@_image_option
def plot_pareto(specs: tuple[str, ...], width: float | None, resolution: Any,
                variant: str | None, sets: dict[str, Any], axis: str, paper: str | None,
                output: Path) -> None:
    """MACs against params or published top-1 for several specs, the Pareto front
    highlighted. A SPEC may carry its own settings as in compare (mobilenet_v1:width=0.5);
    --width, --resolution, --variant and --set apply to every SPEC, and a SPEC's own
    settings win, key by key (as in compare)."""
    from . import plots
    from .compare import compare

    plots.check_output(output)
    columns = compare(list(specs), ["macs"], paper=paper, width=width, resolution=resolution,
                      variant=variant, args=sets).columns
    plots.pareto([c.report for c in columns if c.report is not None], output,
                 [c.top1 for c in columns] if axis == "top1" else None)


@plot.command("layers")
@click.argument("spec")
@spec_settings
@_image_option
def plot_layers(spec: str, width: float | None, resolution: Any, variant: str | None,
                sets: dict[str, Any], output: Path) -> None:
    """Per-layer MACs, params and activation bytes."""
    from . import plots

    plots.layers(analyze(spec, width=width, resolution=resolution, variant=variant, args=sets),
                 output)


@plot.command("energy")
@click.argument("specs", nargs=-1, required=True)
@spec_settings
@click.option("--hardware", "profile", default="horowitz45nm", show_default=True)
@click.option("--dtype", default="fp32", show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--by-layer", is_flag=True,
              help="One bar per layer of a single spec (default: one bar per spec).")
@_image_option
def plot_energy(specs: tuple[str, ...], width: float | None, resolution: Any,
                variant: str | None, sets: dict[str, Any], profile: str, dtype: str,
                batch: int, by_layer: bool, output: Path) -> None:
    """Stacked compute / RF / SRAM / DRAM energy per image for several specs, or per layer of
    one (--by-layer)."""
    from . import plots

    plots.check_output(output)
    hardware = make_hardware(profile)
    plots.energy([analyze(s, width=width, resolution=resolution, variant=variant, args=sets,
                          dtype=dtype, batch=batch, hardware=hardware) for s in specs], output,
                 by_layer)


DEVICE_HELP = ("A profile with peak_macs_per_s and bandwidth_bytes_per_s, for the roofline: "
               "bundled titan_x_maxwell or stm32f746 (costcalc list --hardware), or a file.")
DEVICE_EFFICIENCY_HELP = ("Fraction of the peak every layer reaches, in (0, 1]; multiplies "
                          "the profile's efficiency by layer type.")


@plot.command("roofline")
@click.argument("spec")
@spec_settings
@click.option("--hardware", "profile", default=None,
              help=DEVICE_HELP)
@click.option("--peak", type=float, default=None, help="Peak MAC/s (overrides the profile's).")
@click.option("--bandwidth", type=float, default=None,
              help="Memory bandwidth in bytes/s (overrides the profile's).")
@click.option("--efficiency", type=float, default=1.0, show_default=True,
              help=DEVICE_EFFICIENCY_HELP)
@click.option("--dtype", default="fp32", show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@_image_option
def plot_roofline(spec: str, width: float | None, resolution: Any, variant: str | None,
                  sets: dict[str, Any], profile: str | None, peak: float | None,
                  bandwidth: float | None, efficiency: float, dtype: str, batch: int,
                  output: Path) -> None:
    """Every layer on the roofline of a device: MACs per byte moved against attained MAC/s."""
    from . import plots
    from .deployment import device_roofline

    plots.check_output(output)
    roofline = device_roofline(profile, peak, bandwidth, efficiency, "plot roofline")
    plots.roofline(analyze(spec, width=width, resolution=resolution, variant=variant,
                           args=sets, dtype=dtype, batch=batch, latency=roofline), output)


@plot.command("sweep")
@click.argument("spec")
@click.option("--width", "widths", default="1,0.75,0.5,0.25", show_default=True,
              help="Width multipliers, comma-separated.")
@click.option("--resolution", "sizes", default="224,192,160,128", show_default=True,
              help="Resolutions, comma-separated.")
@click.option("--metric", default="macs", show_default=True)
@_image_option
def plot_sweep(spec: str, widths: str, sizes: str, metric: str, output: Path) -> None:
    """A heatmap of one metric over widths x resolutions."""
    from . import plots
    from .sweep import sweep

    try:
        alphas = [float(w) for w in widths.split(",")]
        resolutions = [int(r) for r in sizes.split(",")]
    except ValueError:
        raise click.BadParameter("use comma-separated numbers") from None
    plots.sweep_heatmap(sweep(spec, alphas, resolutions), metric, alphas, resolutions, output)


@main.command("schema")
def print_schema() -> None:
    """The spec format's JSON Schema (draft 2020-12), for editors and validators."""
    from .json_schema import spec_schema

    click.echo(json.dumps(spec_schema(), indent=1))


@main.command("export")
@click.argument("spec")
@spec_settings
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="The .onnx file to write.")
@click.option("--seed", type=int, default=None,
              help="Seeded random weights (default: zeros).")
@click.option("--fold-bn", is_flag=True,
              help="Fold each batch norm into the conv/fc before it (weights scaled, bias "
                   "shifted), as inference graphs are: its initializers are then the params "
                   "of --params deploy.")
def export_onnx(spec: str, width: float | None, resolution: Any, variant: str | None,
                sets: dict[str, Any], output: Path, seed: int | None, fold_bn: bool) -> None:
    """Write a spec at any setting as a runnable ONNX graph (needs the onnx extra)."""
    from .onnx_export import export_graph

    graph, shapes = evaluated_graph(spec, width, resolution, sets, variant)
    model = export_graph(graph, shapes, seed=seed, fold_bn=fold_bn)
    write_output(model.SerializeToString(), output)
    folded = len(graph.layers) - 1 - len(model.graph.output)
    click.echo(f"wrote {output}: {len(model.graph.output)} layers"
               + (f" ({folded} batch norms folded)" if fold_bn else ""), err=True)


@main.command("import")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The spec file to write (default: standard output).")
@click.option("--allow-unknown", is_flag=True,
              help="Import nodes with no importer as unpriced layers (zero cost, shapes from "
                   "ONNX shape inference); reports then say their totals are lower bounds.")
@click.option("--input-shape", default=None, metavar="NxCxHxW",
              help="Fix the input's dimensions, for a model exported with dynamic ones "
                   "(e.g. 1x3x224x224).")
def import_onnx(model: Path, output: Path | None, allow_unknown: bool,
                input_shape: str | None) -> None:
    """Turn an ONNX model into a costcalc spec (needs the onnx extra)."""
    from .onnx_import import import_model, parse_input_shape

    shape = None if input_shape is None else parse_input_shape(input_shape)
    write_output(import_model(model, allow_unknown=allow_unknown, input_shape=shape), output)


def rate_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--peak and --bandwidth: the roofline's rates, overriding the --hardware profile's."""
    func = click.option("--bandwidth", type=float, default=None,
                        help="Memory bandwidth in bytes/s (overrides the profile's).")(func)
    return click.option("--peak", type=float, default=None,
                        help="Peak MAC/s (overrides the profile's).")(func)


@main.command()
@click.argument("spec")
@spec_settings
@report_options
@click.option("--hardware", "profile", default=None,
              help=DEVICE_HELP)
@rate_options
@click.option("--efficiency", type=float, default=1.0, show_default=True,
              help=DEVICE_EFFICIENCY_HELP)
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
@view_options
@click.pass_context
def latency(ctx: click.Context, spec: str, width: float | None, resolution: Any,
            variant: str | None, sets: dict[str, Any], batch: int, dtype: str,
            weight_dtype: str | None, act_dtype: str | None, params: str,
            fmt: Format, output: Path | None, force: bool, profile: str | None,
            peak: float | None,
            bandwidth: float | None, efficiency: float, times: Path | None, features: str,
            holdout: tuple[str, ...], predict_times: Path | None, clock_ratio: float,
            clock_hz: float | None, view: View) -> None:
    """Roofline latency per layer, and a least-squares calibration (docs/deploy.md)."""
    from .deployment import device_roofline
    from .latency import fit, read_times, timed_points
    from .render import calibration_text

    roofline = device_roofline(profile, peak, bandwidth, efficiency, "latency",
                               optional=times is not None,
                               alternative=", or --calibrate times.csv")
    rows_only = [name for name, given in (("--fields", view.fields is not None),
                                          ("--top", view.top is not None),
                                          ("--depth", view.depth is not None),
                                          ("--sort", view.sort != View().sort),
                                          ("--csv-total", view.csv_total)) if given]
    if roofline is None and rows_only:
        raise CostcalcError(f"{', '.join(rows_only)}: the per-layer table's options, and "
                            "--calibrate without a roofline prints no per-layer table (only "
                            "the calibration, which --units applies to)",
                            "add --hardware PROFILE (or --peak and --bandwidth) for the "
                            f"roofline's per-layer table, or drop {', '.join(rows_only)}")
    result = analyze(spec, width=width, resolution=resolution, batch=batch, dtype=dtype,
                     params=params, args=sets, variant=variant, latency=roofline,
                     weight_dtype=weight_dtype, act_dtype=act_dtype)
    text = render(result, fmt, ctx.obj["columns"], view) if roofline is not None else ""
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
                                       (result.settings.weight_bits, result.settings.act_bits)))
        chosen = [f.strip() for f in features.split(",") if f.strip()]
        text += calibration_text(fit(points[0], chosen, holdout, points[1], str(times),
                                     clock_ratio), clock_hz, view.units, ctx.obj["columns"])
    write_output(text, output, force)


@main.command()
@click.argument("spec")
@spec_settings
def validate(spec: str, width: float | None, resolution: Any, variant: str | None,
             sets: dict[str, Any]) -> None:
    """Check a spec (schema, expressions, shapes, `density:` names) without reporting; notes on
    stderr name settings that are legal but usually mistakes (exit 0)."""
    from .expand import build_graph
    from .shapes import notes

    result = analyze(spec, width=width, resolution=resolution, args=sets, variant=variant,
                     size=ModelSize())  # a size report resolves the spec's density names
    for note in notes(build_graph(load_spec(spec), width, resolution, sets, variant)):
        click.echo(str(note), err=True)
    click.echo(f"ok: {result.network}, {len(result.layers)} layers, output "
               f"{'x'.join(map(str, result.layers[-1].output))}")


@main.command()
@click.option("--table", "table_id", metavar="ID",
              help="Print one table (its file name in the index, e.g. "
                   "howard2017_mobilenet_v1.table2) instead of the index.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write every table and the index into DIR (each file whole; only files "
                   "this command generated are replaced or removed).")
@click.option("--check", "check_dir", metavar="DIR", is_flag=False, flag_value="",
              help="Regenerate in memory and compare with the files in DIR; exit 1 on a "
                   "mismatch row or a stale, missing or extra file. Without DIR: docs/tables "
                   "under the current directory (a costcalc clone's root).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown",
              show_default=True, help="json: every row for tools (writes nothing).")
@click.option("--papers", "papers_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Published-figure files (default: the bundled specs/papers).")
def tables(table_id: str | None, out_dir: Path | None, check_dir: str | None, fmt: str,
           papers_dir: Path | None) -> None:
    """Regenerate the paper tables from specs/papers: published vs computed, row by row.

    Prints the index (or one table) by default; --out DIR writes the files, --check DIR
    audits them. Every row is match, paper-error, rounding, convention (the explained rows),
    not-reproduced or mismatch (docs/papers-format.md).
    """
    from . import tables as paper_tables

    if sum(x is not None for x in (table_id, out_dir, check_dir)) > 1:
        raise click.UsageError("give one of --table, --out and --check")
    if out_dir is not None and fmt == "json":
        raise click.UsageError("--format json prints the rows and writes no files: drop --out")
    generated = paper_tables.generate(papers_dir)
    if fmt == "json":
        rows = paper_tables.to_json(generated)
        if table_id is not None:
            paper_tables.document(generated, table_id)  # an unknown id is an error
            rows = [r for r in rows if f"{Path(r['file']).stem}.{r['table']}"
                    == table_id.removesuffix(".md")]
        click.echo(json.dumps(rows, indent=1))
    elif out_dir is not None:
        changed = paper_tables.write(generated, out_dir)
        click.echo(f"{len(generated.documents)} files in {out_dir}, {len(changed)} changed; "
                   f"{generated.summary()}")
    elif check_dir is None:
        click.echo(paper_tables.document(generated, table_id or "index"), nl=False)
    docs_dir = Path(check_dir or "docs/tables") if check_dir is not None else None
    if docs_dir is not None and fmt == "markdown":
        paper_tables.checkable(generated, docs_dir)
    failed = paper_tables.check(generated, docs_dir or Path("."), fmt if docs_dir else "json")
    if failed:
        raise CostcalcError("\n".join(failed), "find the cause of a mismatch (state it in the "
                            "row's `cause:`, note and prediction: docs/papers-format.md); "
                            "`costcalc tables --out DIR` regenerates stale files")
    if docs_dir is not None and fmt == "markdown":
        click.echo(f"ok: {len(generated.tables)} tables, {docs_dir} up to date; "
                   f"{generated.summary()}")


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


# ---------------------------------------------------------------------------------------------
# `costcalc sweep`

SWEEP_PROGRESS_CONFIGS = 500_000  # about a second of sweeping: below it, no progress bar


def _parse_set_axes(items: tuple[str, ...]) -> dict[str, tuple[Any, ...]]:
    from .sweep import parse_values

    axes: dict[str, tuple[Any, ...]] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip() or not text.strip():
            raise CostcalcError(f"--set '{item}': use NAME=VALUES", "e.g. --set groups=1,2,3 "
                                "or --set t=4:8:1")
        axes[name.strip()] = parse_values(text, f"--set {name.strip()}")
    return axes


def _names(text: str | None) -> tuple[str, ...]:
    return () if text is None else tuple(n.strip() for n in text.split(",") if n.strip())


@main.command("sweep")
@click.argument("spec")
@click.option("--width", "widths", help="Width multipliers: 1,0.75,0.5 or an inclusive range "
              "0.25:2.0:0.05 (default: the spec's).")
@click.option("--resolution", "resolutions", help="Input sizes: 224,192,160, a range "
              "96:320:8, or HxW items such as 224x160 (default: the spec's).")
@click.option("--batch", "batches", default="1", show_default=True,
              help="Batch sizes: a list or a range.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUES",
              help="A numeric spec argument's values (repeatable), e.g. --set t=4:8:1; each "
                   "combination is its own expansion.")
@click.option("--variant", help="A named setting declared in the spec.")
@type_options
@click.option("--metric", "metric", default="macs,params,peak_activation_bytes",
              show_default=True, help="Metrics to show (report JSON keys), comma-separated.")
@click.option("--where", help="Keep configurations where this test holds, e.g. "
              "'macs < 300e6 and params < 3e6' (metric and axis names).")
@click.option("--pareto", help="Keep the configurations no other beats on all these metrics "
              "(each minimized), e.g. macs,params.")
@click.option("--sample", type=click.IntRange(min=1), help="Draw N random configurations.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --sample.")
@click.option("--chunk", type=click.IntRange(min=1), default=2**18, show_default=True,
              help="Configurations evaluated at once (bounds memory).")
@click.option("--max-configs", type=click.IntRange(min=1), default=10**8, show_default=True,
              help="Refuse larger sweeps unless --yes.")
@click.option("--yes", is_flag=True, help="Sweep beyond --max-configs.")
@click.option("--on-invalid", type=click.Choice(["error", "skip"]), default="error",
              show_default=True, help="Configurations no layer accepts: stop, or skip them.")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Local processes to run chunks in.")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr (default: on a terminal, for long sweeps).")
@click.option("--weight-bits", "weight_bits", metavar="BITS",
              help="Model size at these weight widths: a list or a range, e.g. 32,16,8,4 "
                   "(adds the size metrics: model_bytes, model_mb, ...).")
@click.option("--density", "densities", multiple=True, metavar="[NAME=]D",
              help="NAME=D fixes a layer's or block's density (repeatable); a bare list or "
                   "range (0.2:1:0.2) is an axis of the density of every layer.")
@click.option("--storage", type=click.Choice(STORAGE), default=None,
              help="dense (default) or sparse (Deep Compression) storage for the size.")
@click.option("--index-bits", "index_bits", metavar="BITS",
              help="Sparse relative-index widths: a list or a range (default 4).")
@click.option("--pdu", "pdus", metavar="BYTES",
              help="Packet payloads: a list or a range (adds transfer_bytes, cut_packets, ...).")
@click.option("--cut", default=None, help="Split after this layer (needs --pdu).")
@click.option("--hardware", "profile", default=None,
              help="A hardware profile: energy and traffic when it has energies, the roofline "
                   "latency when it has peak_macs_per_s and bandwidth_bytes_per_s.")
@rate_options
@click.option("--efficiency", "efficiencies", metavar="E",
              help="Fractions of the peak reached: a list or a range (default 1).")
@click.option("--count", type=click.Choice(COUNT_PROFILES), default="costcalc",
              show_default=True, help="netscope: Netscope's counts can be swept too.")
@click.option("--training", "optimizers", metavar="OPTIMIZERS",
              help="Training memory (as report's --training, at each --batch) for these "
                   "optimizers: sgd, momentum, adam, or a list such as sgd,adam (adds "
                   "training_bytes, gradient_bytes, ...).")
@format_option(Format, Format.table, only=SWEEP_RENDERERS)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to a file instead of standard output.")
@click.pass_context
def sweep_command(ctx: click.Context, spec: str, widths: str | None, resolutions: str | None,
                  batches: str, sets: tuple[str, ...], variant: str | None, dtype: str,
                  weight_dtype: str | None, act_dtype: str | None, params: str, metric: str,
                  where: str | None, pareto: str | None,
                  sample: int | None, seed: int, chunk: int, max_configs: int, yes: bool,
                  on_invalid: str, workers: int, progress: bool | None,
                  weight_bits: str | None, densities: tuple[str, ...], storage: str | None,
                  index_bits: str | None, pdus: str | None, cut: str | None,
                  profile: str | None, peak: float | None, bandwidth: float | None,
                  efficiencies: str | None, count: str, optimizers: str | None, fmt: Format,
                  output: Path | None) -> None:
    """Metrics over a grid of widths x resolutions (x batches, x spec arguments, x deployment
    settings: weight bits, density, index bits, PDU, efficiency, x training optimizers)."""
    import importlib
    import sys

    from .deployment import device_roofline
    from .render import render_sweep

    sw = importlib.import_module("costcalc.sweep")  # the module: costcalc.sweep is the function

    if workers < 1:
        raise CostcalcError(f"--workers must be at least 1, got {workers}")
    model = load_spec(spec)
    fixed = tuple(d for d in densities if "=" in d)
    axes = {name: sw.parse_values(text, f"--{name.replace('_', '-')}", integer=integer)
            for name, text, integer in (("weight_bits", weight_bits, True),
                                        ("density", ",".join(d for d in densities
                                                             if "=" not in d), False),
                                        ("index_bits", index_bits, True),
                                        ("pdu", pdus, True), ("efficiency", efficiencies, False))
            if text}
    if optimizers is not None:
        axes["optimizer"] = _names(optimizers) or (optimizers,)  # nothing named: an error
    size = None
    if fixed or storage is not None or {"weight_bits", "index_bits", "density"} & set(axes):
        size = {"density": dict(parse_densities(fixed)), "storage": storage or "dense"}
    if cut is not None and pdus is None:
        raise CostcalcError("--cut needs --pdu (the packet payload in bytes)",
                            "add e.g. --pdu 116")
    device = load_profile(profile) if profile is not None else None  # read once, used twice
    roofline = device_roofline(device, peak, bandwidth, 1.0, "sweep", optional=True)
    energies = make_hardware(device) if device is not None and device.has_energy else None
    grid = sw.Grid(
        sw.parse_values(widths, "--width") if widths else sw.default_widths(model, variant),
        sw.parse_sizes(resolutions) if resolutions else sw.default_sizes(model, variant),
        sw.parse_values(batches, "--batch", integer=True),
        tuple(_parse_set_axes(sets).items()), tuple(axes.items()))
    keys, front = _names(metric), _names(pareto)
    job = sw.plan(model, grid, dtype=dtype, params=params, variant=variant,
                  keys=sw.needed_keys(keys, grid, where, front), chunk=chunk, sample=sample,
                  seed=seed, max_configs=10**18 if yes else max_configs, hardware=energies,
                  size=size, transfer=None if cut is None else {"pdu": 1, "cut": cut},
                  latency=roofline, count=count, weight_dtype=weight_dtype,
                  act_dtype=act_dtype)
    show = sys.stderr.isatty() and len(job) >= SWEEP_PROGRESS_CONFIGS if progress is None \
        else progress
    if show:
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("sweeping", total=len(job))
            result = sw.run(job, where=where, pareto=front, on_invalid=on_invalid,
                            workers=workers, progress=lambda n: bar.advance(task, n))
    else:
        result = sw.run(job, where=where, pareto=front, on_invalid=on_invalid,
                        workers=workers)
    shown = tuple(dict.fromkeys((*keys, *front)))
    write_output(render_sweep(result, shown, fmt, ctx.obj["columns"]), output)


@main.command("compare")
@click.argument("specs", nargs=-1)
@spec_settings
@count_options
@click.option("--metric", "metric", default="macs,params,peak_activation_bytes",
              show_default=True, help="Metrics to compare, comma-separated.")
@click.option("--budget", "budget", multiple=True, metavar="METRIC=LIMIT",
              help="Give each network the largest width (or --vary resolution) whose METRIC "
                   "is at most LIMIT (repeatable), e.g. --budget macs=300e6.")
@click.option("--vary", type=click.Choice(["width", "resolution"]), default="width",
              show_default=True, help="What --budget chooses.")
@click.option("--paper", metavar="FILE:TABLE",
              help="Also compare every configuration a papers table gives a published "
                   "accuracy for, e.g. howard2017_mobilenet_v1:table8.")
@format_option(Format, Format.table, only=COMPARE_RENDERERS)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to a file instead of standard output.")
@click.pass_context
def compare_command(ctx: click.Context, specs: tuple[str, ...], width: float | None,
                    resolution: Any, variant: str | None, sets: dict[str, Any], batch: int,
                    dtype: str, weight_dtype: str | None, act_dtype: str | None, params: str,
                    metric: str, budget: tuple[str, ...], vary: str, paper: str | None,
                    fmt: Format, output: Path | None) -> None:
    """Networks side by side, ratios against the first, published top-1 where the papers
    data has it, and the accuracy front (MACs vs top-1). The options set every SPEC as they
    set `costcalc report`'s; a SPEC may carry its own settings, which win key by key:
    mobilenet_v2:width=0.75,resolution=160 (width, resolution, batch, variant, dtype,
    weight_dtype, act_dtype, params, or a spec argument; --set's arguments merge name by
    name). --paper columns keep their table's configuration and take only --batch, the
    dtypes and --params (docs/sweep.md)."""
    from .compare import compare, parse_budget
    from .render import render_compare

    result = compare(specs, _names(metric), parse_budget(budget), vary, dtype, params, paper,
                     width=width, resolution=resolution, batch=batch, variant=variant,
                     args=sets, weight_dtype=weight_dtype, act_dtype=act_dtype)
    write_output(render_compare(result, fmt, ctx.obj["columns"]), output)


@main.command("graph")
@click.argument("spec")
@spec_settings
@click.option("--depth", type=click.IntRange(min=1), default=None,
              help="1: one node per block instance (default: every layer, blocks as clusters).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="FILE.dot or .gv (the DOT text), FILE.svg or .png (rendered by Graphviz's "
                   "dot, if installed); default: DOT on standard output.")
def graph_command(spec: str, width: float | None, resolution: Any, variant: str | None,
                  sets: dict[str, Any], depth: int | None, output: Path | None) -> None:
    """The layer graph as Graphviz DOT: edges labelled with tensor shapes, nodes coloured by
    their share of MACs (docs/graph.md)."""
    from .dot import RENDERED, graph_dot, render_dot
    from .metrics import macs

    suffix = output.suffix.lower().lstrip(".") if output is not None and str(output) != "-" \
        else "dot"
    if suffix not in ("dot", "gv", *RENDERED):
        raise CostcalcError(f"{output}: unknown graph format '.{suffix}'",
                            "use -o FILE.dot, .gv, .svg or .png")
    graph, shapes = evaluated_graph(spec, width, resolution, sets, variant)
    text = graph_dot(graph, shapes, macs(graph, shapes), depth)
    write_output(render_dot(text, suffix) if suffix in RENDERED else text, output)
