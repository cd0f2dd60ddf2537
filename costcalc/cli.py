"""The command line: parse arguments, call the library, print what it returns."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import yaml

from .errors import CostcalcError
from .render import Format, render
from .report import analyze
from .spec import bundled_specs, load_spec


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


def parse_sets(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]):
    out = {}
    for item in values:
        key, sep, text = item.partition("=")
        value = yaml.safe_load(text) if sep else None
        if not sep or not key or isinstance(value, bool) or not isinstance(value, int | float):
            raise click.BadParameter(f"'{item}': use NAME=NUMBER, e.g. groups=3")
        out[key] = value
    return out


def write_output(text: str, output: Path | None) -> None:
    """Print, or write the whole file at once: nothing half-written on failure."""
    if output is None:
        click.echo(text, nl=False)
        return
    directory = output.resolve().parent
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{output.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, output)
    except OSError as exc:
        if "tmp" in locals() and os.path.exists(tmp):
            os.unlink(tmp)
        raise CostcalcError(f"{output}: cannot write: {exc.strerror or exc}") from None


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
def list_specs() -> None:
    """The bundled specs, one line each."""
    rows = [(path.stem, load_spec(path)) for path in bundled_specs()]
    width = max((len(stem) for stem, _ in rows), default=0)
    for stem, spec in rows:
        click.echo(f"{stem.ljust(width)}  {spec.name} - {spec.source}")


@main.command()
@click.argument("spec")
@spec_settings
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--dtype", default="fp32", show_default=True,
              help="Element type for bytes: fp32, fp16, bf16, int8, int4, or e.g. 6bit.")
@click.option("--params", "params", type=click.Choice(["framework", "paper", "deploy"]),
              default="framework", show_default=True, help="What the params total counts.")
@click.option("--format", "fmt", type=click.Choice([f.value for f in Format]), default="table",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to a file instead of standard output.")
@click.pass_context
def report(ctx: click.Context, spec: str, width: float | None, resolution: Any,
           variant: str | None, sets: dict[str, Any], batch: int, dtype: str, params: str,
           fmt: str, output: Path | None) -> None:
    """Per-layer and total costs of one network."""
    result = analyze(spec, width=width, resolution=resolution, batch=batch, dtype=dtype,
                     params=params, args=sets, variant=variant)
    write_output(render(result, Format(fmt), ctx.obj["columns"]), output)


@main.command()
@click.argument("spec")
@spec_settings
def validate(spec: str, width: float | None, resolution: Any, variant: str | None,
             sets: dict[str, Any]) -> None:
    """Check a spec (schema, expressions, shapes) without reporting."""
    result = analyze(spec, width=width, resolution=resolution, args=sets, variant=variant)
    click.echo(f"ok: {result.network}, {len(result.layers)} layers, output "
               f"{'x'.join(map(str, result.layers[-1].output))}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
