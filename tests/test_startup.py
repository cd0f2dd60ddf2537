"""A fresh `costcalc report` starts fast because it imports only what it uses (issue 10's
start-up target; tests/benchmarks/bench_sweep.py measures it, these tests never time anything):
the modules a run imports, the lazy API of `import costcalc`, the report tables drawn without
rich exactly as rich draws them, and `--columns` after every subcommand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import click
import pytest
from click.testing import CliRunner

import costcalc
from costcalc import analyze, render
from costcalc.bundled import bundled_specs
from costcalc.cli import main

# Runs the command line as `python -m costcalc ARGS` does, then prints which modules it
# imported (last line of stderr, JSON).
PROBE = textwrap.dedent("""
    import json, runpy, sys
    sys.argv = ["costcalc", *sys.argv[1:]]
    code = 0
    try:
        runpy.run_module("costcalc", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
    sys.stderr.write("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
""")

# The costcalc modules `costcalc report SPEC` needs (the report's metrics are declared with
# their visitors). A module missing here was imported eagerly by the report path: import it in
# the command or function that uses it, or, if every report needs it, add it here deliberately.
REPORT_MODULES = {
    "costcalc", "costcalc.__main__", "costcalc.bundled", "costcalc.cli", "costcalc.deploy",
    "costcalc.deployment", "costcalc.dims", "costcalc.energy", "costcalc.errors",
    "costcalc.expand", "costcalc.expr", "costcalc.graph", "costcalc.hardware",
    "costcalc.latency", "costcalc.limits", "costcalc.metrics", "costcalc.netscope",
    "costcalc.ops", "costcalc.render", "costcalc.report", "costcalc.schema", "costcalc.shapes",
    "costcalc.spec", "costcalc.specs", "costcalc.training", "costcalc.width",
    "costcalc.yamlnodes"}
# Third-party packages a report never needs (rich draws only tables whose cells wrap, and the
# sweep and compare tables).
NOT_FOR_REPORTS = ("rich", "matplotlib", "onnx", "onnxruntime", "dask", "jsonschema",
                   "hypothesis", "pandas", "scipy")


def imported_by(*args: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # a pipe: the fixed width
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env=env, check=False)
    result = json.loads(done.stderr.splitlines()[-1])
    assert result["code"] in (0, None), done.stderr
    assert done.stdout, "the command printed nothing"
    return set(result["modules"])


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_report_imports_only_what_it_uses(fmt: str) -> None:
    modules = imported_by("report", "mobilenet_v2.yaml", "--format", fmt)
    ours = {m for m in modules if m == "costcalc" or m.startswith("costcalc.")}
    assert ours <= REPORT_MODULES, f"imported eagerly: {sorted(ours - REPORT_MODULES)}"
    heavy = sorted(m for m in modules if m.split(".")[0] in NOT_FOR_REPORTS)
    assert not heavy, f"a report imported {heavy}"
    assert "costcalc.report" in ours and "numpy" in modules  # the probe saw the real run


def printed_by(script: str) -> list[str]:
    """What a fresh `python -c SCRIPT` prints, split into words."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    return done.stdout.split()


def test_import_costcalc_loads_nothing_until_used() -> None:
    assert printed_by("import sys, costcalc; before = sorted(m for m in sys.modules if "
                      "m.startswith('costcalc') or m == 'numpy'); costcalc.load_spec; "
                      "print(before, 'costcalc.spec' in sys.modules)") == ["['costcalc']", "True"]


def test_the_lazy_api_is_the_api() -> None:
    from costcalc import errors, expand, graph, report, shapes, spec, sweep

    assert sorted(costcalc.__all__) == sorted(costcalc._API)
    modules = {"errors": errors, "expand": expand, "graph": graph, "report": report,
               "shapes": shapes, "spec": spec}
    for name, module in costcalc._API.items():
        if module != "sweep":
            assert getattr(costcalc, name) is getattr(modules[module], name)
    assert set(costcalc.__all__) <= set(dir(costcalc))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        costcalc.nothing  # noqa: B018
    # the function, though the submodule costcalc.sweep is imported (tests/test_sweep.py does)
    assert sweep is costcalc.sweep and callable(sweep) and sweep.__name__ == "sweep"
    assert costcalc.SweepResult.__module__ == "costcalc.sweep"


def test_sweep_is_the_function_in_a_fresh_process_whatever_is_imported_first() -> None:
    assert printed_by(
        "import costcalc.sweep as module, costcalc; from costcalc.compare import compare; "
        "from costcalc import sweep; print(sweep is costcalc.sweep, type(sweep).__name__, "
        "len(costcalc.sweep('cifar10_micro', [1.0, 0.5], [32])))") == ["True", "function", "2"]


# ---------------------------------------------------------------------------------------------
# The report's tables: drawn by render._draw (no rich) when every cell fits on one line, and
# byte-identical to rich's drawing of them.


def test_cell_len_is_richs() -> None:
    from rich.cells import cell_len

    texts = [chr(c) for c in range(0x300)] + [
        "", "conv1", "a b", "tab\there", "new\nline", "separa…onv2.relu", "3×3", "中文",
        "\u200d", "e\u0301", "👍", "x\x7fy", "\x1b[1m"]
    assert [render.cell_len(t) for t in texts] == [cell_len(t) for t in texts]


def _witnesses(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Rows that give the table the same column widths as all of them (the widest cell of each
    column), every row with a character outside printable ASCII, and the first and last."""
    chosen = {0, len(rows) - 1}
    for column in range(len(rows[0])):
        chosen.add(max(range(len(rows)), key=lambda i: render.cell_len(rows[i][column])))
    chosen |= {i for i, row in enumerate(rows)
               if not all(c.isascii() and c.isprintable() for c in row)}
    return [rows[i] for i in sorted(chosen)]


def _drawn_both_ways(monkeypatch: pytest.MonkeyPatch, report: costcalc.Report, width: int,
                     view: render.View, seen: set) -> list[tuple[str, str]]:
    """Each table that to_table draws without rich, drawn that way and by rich (its witness
    rows: they are drawn one by one, at the columns' widths); a table in `seen` is skipped
    (a table that fits is drawn the same at any width)."""
    calls = []

    def record(page, title, columns, rows, right_from, wrap_first):  # noqa: ANN001
        calls.append((page.width, title, columns, list(rows), right_from, wrap_first))

    monkeypatch.setattr(render, "_print_table", record)
    render.to_table(report, width, view)
    monkeypatch.undo()
    pairs = []
    for page_width, title, columns, rows, right_from, wrap_first in calls:
        rows = _witnesses(rows) if rows else rows
        if render._table_width(render._widths(columns, rows)) > page_width:
            continue  # too wide for one line per row: rich draws it (the first column wraps)
        key = (title, columns, tuple(rows), right_from, wrap_first)
        if key in seen:
            continue
        seen.add(key)
        ours, richs = render._Page(page_width), render._Page(page_width)
        render._print_table(ours, title, columns, rows, right_from, wrap_first)
        render._print_rich(richs, title, columns, rows, right_from, wrap_first,
                           render._widths(columns, rows))
        pairs.append((ours.file.getvalue(), richs.file.getvalue()))
    return pairs


WIDTHS = (40, 80, render.DEFAULT_COLUMNS, 200)


@pytest.mark.parametrize("path", bundled_specs(), ids=lambda p: p.stem)
def test_the_report_tables_are_richs_for_every_bundled_spec(
        monkeypatch: pytest.MonkeyPatch, path) -> None:  # noqa: ANN001
    report = analyze(path)
    compared, seen = 0, set()
    for width in WIDTHS:
        for view in (render.View(), render.View(depth=1)):
            for ours, richs in _drawn_both_ways(monkeypatch, report, width, view, seen):
                assert ours == richs, f"{path.stem} at {width} columns, {view}"
                compared += 1
    assert compared >= 4  # the totals, breakdown, per-layer and per-block tables at 200


@pytest.mark.parametrize("width", WIDTHS)
def test_the_whole_mobilenet_v2_report_is_richs(monkeypatch: pytest.MonkeyPatch,
                                                width: int) -> None:
    """The benchmark's report, every row, against tables drawn by rich alone."""
    report = analyze("mobilenet_v2")
    fast = render.to_table(report, width)

    def rich_only(page, title, columns, rows, right_from, wrap_first):  # noqa: ANN001
        render._print_rich(page, title, columns, rows, right_from, wrap_first,
                           render._widths(columns, rows))

    monkeypatch.setattr(render, "_print_table", rich_only)
    assert fast == render.to_table(report, width)


# ---------------------------------------------------------------------------------------------
# --columns


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found = {}
    for name, command in group.commands.items():
        found[prefix + name] = command
        if isinstance(command, click.Group):
            found.update(_commands(command, f"{prefix}{name} "))
    return found


def test_every_subcommand_accepts_columns() -> None:
    commands = _commands(main)
    assert {"report", "sweep", "compare", "list", "plot pareto"} <= set(commands)
    for name, command in commands.items():
        options = [p for p in command.params if "--columns" in getattr(p, "opts", ())]
        assert len(options) == 1, name
        assert not options[0].expose_value, name  # the command reads ctx.obj["columns"]


@pytest.mark.parametrize("args", [
    ["sweep", "mobilenet_v2", "--width", "1,0.75,0.5", "--resolution", "224,160"],
    ["compare", "mobilenet_v2", "mobilenet_v1", "shufflenet_v2"],
    ["report", "mobilenet_v2", "--top", "3"],
])
def test_columns_after_the_subcommand_is_columns_before_it(args: list[str]) -> None:
    def run(*argv: str) -> str:
        result = CliRunner().invoke(main, list(argv), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    before, after = run("--columns", "60", *args), run(*args, "--columns", "60")
    assert before == after
    assert before != run("--columns", "200", *args)  # the width reaches the renderer
    bad = CliRunner().invoke(main, [*args, "--columns", "10"])
    assert bad.exit_code == 2 and "--columns" in bad.stderr
