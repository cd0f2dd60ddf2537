"""The command line: parse arguments, call the library, print what it returns."""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

import click

from . import limits
from .bundled import bundled_specs
from .errors import CostcalcError
from .metrics import PARAM_CONVENTIONS
from .render import Format, FormulaFormat, formula_list, render, render_formula
from .report import analyze
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


class Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
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


def write_output(text: str, output: Path | None, force: bool = False) -> None:
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
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, output)
        tmp = None
    except OSError as exc:
        raise CostcalcError(f"{output}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


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


@click.group(cls=Group)
@click.option("--columns", type=click.IntRange(min=40), default=None,
              help="Fix the table width (reproducible output).")
@click.option("--limit", "limit_values", multiple=True, callback=parse_limits,
              metavar="NAME=N", help="Raise (or lower) a bound on the work an input may cause, "
              "e.g. --limit max_layers=5000000 (docs/limits.md).")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
@click.version_option(package_name="costcalc")
@click.pass_context
def main(ctx: click.Context, columns: int | None, limit_values: dict[str, int],
         debug: bool) -> None:
    """Analytical cost model for convolutional networks: MACs, params, memory.

    SPEC is a path to a YAML spec, or the name of a bundled spec (see `costcalc list`).
    """
    ctx.obj = {"columns": columns, "debug": debug}
    ctx.with_resource(limits.override(**limit_values))


@main.command("list")
@click.option("--variants", is_flag=True, help="Also list each spec's named variants.")
def list_specs(variants: bool) -> None:
    """The bundled specs, one line each: name, network, source."""
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


@main.command()
@click.argument("spec")
@spec_settings
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--dtype", default="fp32", show_default=True,
              help="Element type for bytes: fp32, fp16, bf16, int8, int4, or e.g. 6bit.")
@click.option("--params", "params", type=click.Choice(PARAM_CONVENTIONS),
              default="framework", show_default=True, help="What the params total counts.")
@format_option(Format, Format.table)
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Write to a file instead of standard output (`-`: standard output).")
@click.option("--force", is_flag=True,
              help="Let -o replace a symbolic link, FIFO or read-only file.")
@click.pass_context
def report(ctx: click.Context, spec: str, width: float | None, resolution: Any,
           variant: str | None, sets: dict[str, Any], batch: int, dtype: str, params: str,
           fmt: Format, output: Path | None, force: bool) -> None:
    """Per-layer and total costs of one network."""
    result = analyze(spec, width=width, resolution=resolution, batch=batch, dtype=dtype,
                     params=params, args=sets, variant=variant)
    write_output(render(result, fmt, ctx.obj["columns"]), output, force)


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
