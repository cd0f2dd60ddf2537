"""Issue 12: bounded work for any input, no traceback, exact numbers, nothing lost on disk."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from costcalc import analyze, build_graph, limits
from costcalc.cli import main, write_output
from costcalc.errors import CostcalcError, SpecError
from costcalc.expr import ExprError, evaluate
from costcalc.spec import parse_spec

HEAD = "version: 1\nname: T\ninput: {channels: 3, size: 8}\n"


def fails_fast(text: str, message: str) -> str:
    """The spec is refused with `message` (how fast: tests/benchmarks/bench_large_specs.py)."""
    with pytest.raises(CostcalcError) as info:
        analyze(build_graph(parse_spec(text, "t.yaml")))
    assert message in str(info.value), str(info.value)
    return str(info.value)


# -- limits ------------------------------------------------------------------------------------

# The billion-laughs document, 9**9 nodes through nine levels of aliases (one copy, shared with
# the bad-spec suite and tests/benchmarks/bench_large_specs.py).
ALIAS_BOMB = (Path(__file__).parent / "bad_specs" / "yaml_alias_bomb.yaml").read_text()


@pytest.mark.parametrize("text, message", [
    (ALIAS_BOMB, "limit max_alias_nodes"),
    ("a: " + "[" * 10_000 + "]" * 10_000, "YAML"),
    ("a: " + "[" * 150 + "]" * 150, "limit max_yaml_depth"),
    ("x: &a [*a]\n", "the alias *a refers to the value that contains it"),
    ("x: *nope\n", "unknown alias *nope"),
    (HEAD + "layers:\n  - conv: {out: 8, kernel: 1, n: 1000000000}\n", "limit max_layers"),
    (HEAD + "layers:\n  - conv: {out: 8, kernel: 1, n: '10**9'}\n", "limit max_layers"),
    (HEAD + "blocks:\n  b:\n    layers:\n      - conv: {out: 8, kernel: 1, n: 100000}\n"
     "layers:\n  - b: {n: 100000}\n", "limit max_layers"),
    (HEAD + "layers:\n  - parallel: {n: 1000000000, branches: [[conv: {out: 8, kernel: 1}]]}\n",
     "limit max_layers"),
    (HEAD + "layers:\n  - conv: {out: '(((9**64)**64)**64)**64', kernel: 1}\n",
     "limit max_int_digits"),
    (HEAD + "layers:\n  - conv: {out: '(10.0**64)**64', kernel: 1}\n", "limit max_int_digits"),
    (HEAD + "layers:\n  - conv: {out: 'int(1e309)', kernel: 1}\n", "not a finite number"),
    (HEAD + "layers:\n  - conv: {out: 'make_divisible(32, 0)', kernel: 1}\n",
     "the divisor must be positive"),
    (HEAD + "layers:\n  - conv: {out: '" + "-" * 400 + "8', kernel: 1}\n",
     "limit max_expression_depth"),
    (HEAD + "layers:\n  - conv: {out: '" + "1+" * 300 + "1', kernel: 1}\n",
     "limit max_expression_chars"),
    (HEAD + "layers:\n  - fc: {out: " + "9" * 101 + "}\n", "limit max_int_digits"),
    (HEAD + "args: {c: " + "9" * 101 + "}\nlayers:\n  - fc: {out: c}\n", "limit max_int_digits"),
])
def test_hostile_input_is_refused(text: str, message: str) -> None:
    fails_fast(text, message)


def test_limits_can_be_raised_and_lowered() -> None:
    text = HEAD + "layers:\n  - conv: {out: 8, kernel: 1, n: 30}\n"
    assert len(analyze(build_graph(parse_spec(text))).layers) == 31
    with limits.override(max_layers=10), \
            pytest.raises(CostcalcError, match=r"more layers than 10 \(limit max_layers\)"):
        build_graph(parse_spec(text))
    with limits.override(max_int_digits=200):
        assert evaluate("10**150", {}) == 10**150
    with pytest.raises(ExprError):
        evaluate("10**150", {})
    with pytest.raises(CostcalcError, match="unknown limit 'max_layer'"):
        with limits.override(max_layer=3):
            pass


def test_file_size_limit(tmp_path: Path) -> None:
    spec = tmp_path / "big.yaml"
    spec.write_text(HEAD + "layers:\n" + "  - conv: {out: 8, kernel: 1}\n" * 200)
    result = CliRunner().invoke(main, ["--limit", "max_file_bytes=1000", "validate", str(spec)])
    assert result.exit_code == 1
    assert "larger than 1,000 bytes (limit max_file_bytes)" in result.stderr
    assert CliRunner().invoke(main, ["validate", str(spec)]).exit_code == 0


def test_messages_are_capped_and_say_how_many_more(tmp_path: Path) -> None:
    text = HEAD + "layers:\n" + "  - conv: {out: 8, kernal: 1}\n" * 500
    with pytest.raises(SpecError) as info:
        parse_spec(text, "t.yaml")
    lines = str(info.value).splitlines()
    assert len(info.value.problems) == 500
    assert lines[-1] == "... and 480 more problems (limit max_message_items)"
    assert len(lines) < 50


def test_a_forward_reference_in_a_long_chain_is_fast_and_short() -> None:
    layers = "  - conv: {name: x, out: 8, kernel: 1, inputs: [last]}\n" \
        + "  - conv: {out: 8, kernel: 1}\n" * 5_000 + "  - conv: {name: last, out: 8, kernel: 1}\n"
    message = fails_fast(HEAD + "layers:\n" + layers, "cycle: ")
    assert len(message) < 2000 and "more)" in message


# -- one exception boundary -------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: analyze(42),
    lambda: analyze(None),
    lambda: analyze("mobilenet_v2", width="wide"),
    lambda: analyze("mobilenet_v2", width=True),
    lambda: analyze("mobilenet_v2", width=float("nan")),
    lambda: analyze("mobilenet_v2", resolution="224"),
    lambda: analyze("mobilenet_v2", resolution=(224, 0)),
    lambda: analyze("mobilenet_v2", resolution=224.0),
    lambda: analyze("mobilenet_v2", resolution=10**200),
    lambda: analyze("mobilenet_v2", batch=2.5),
    lambda: analyze("mobilenet_v2", batch=float("nan")),
    lambda: analyze("mobilenet_v2", dtype=3),
    lambda: analyze("mobilenet_v2", args=[1, 2]),
    lambda: analyze("shufflenet_v2", args={"dropout": float("nan")}),
    lambda: analyze("shufflenet_v2", args={"dropout": "0.5"}),
    lambda: parse_spec(b"version: 1"),
    lambda: build_graph("mobilenet_v2"),
])
def test_the_api_raises_costcalc_error_for_wrong_arguments(call) -> None:
    with pytest.raises(CostcalcError):
        call()


def test_an_internal_error_asks_for_a_report_without_a_traceback(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise ZeroDivisionError("integer division or modulo by zero")

    monkeypatch.setattr("costcalc.cli.analyze", broken)
    result = CliRunner().invoke(main, ["report", "mobilenet_v2"])
    assert result.exit_code == 1
    assert result.stderr.startswith("internal error: ZeroDivisionError: integer division")
    assert "please report" in result.stderr and "--debug" in result.stderr
    assert "Traceback" not in result.stderr
    result = CliRunner().invoke(main, ["--debug", "report", "mobilenet_v2"])
    assert isinstance(result.exception, ZeroDivisionError)


def test_set_takes_true_and_false() -> None:
    result = CliRunner().invoke(main, ["--columns", "120", "report", "shufflenet_v2", "--set",
                                       "dropout=0", "--format", "json"])
    assert result.exit_code == 0, result.output
    bad = CliRunner().invoke(main, ["report", "shufflenet_v2", "--set", "dropout=true"])
    assert bad.exit_code == 1 and "Traceback" not in bad.stderr


# -- exact numbers, literal names ------------------------------------------------------------

def test_block_arguments_stay_exact_past_float_precision() -> None:
    c = 9007199254740993  # 2**53 + 1: a float would make it ...992
    text = HEAD + f"blocks:\n  b:\n    args: {{c: 1}}\n    layers:\n      - fc: {{out: c}}\n" \
        f"layers:\n  - b: {{c: {c}}}\n  - fc: {{out: {c}}}\n"
    report = analyze(build_graph(parse_spec(text)))
    assert report.layers[1].output == (c, 1, 1)
    assert report.layers[1].macs == 192 * c
    assert report.layers[2].macs == c * c
    assert report.totals.macs == 192 * c + c * c


def test_huge_counts_render_whole_at_any_width() -> None:
    out = 9 * 10**29
    text = HEAD + f"layers:\n  - fc: {{name: a_rather_long_layer_name, out: {out}}}\n"
    report = analyze(build_graph(parse_spec(text)))
    from costcalc.render import render

    for columns in (40, 80):
        rendered = render(report, "table", columns)
        assert f"{192 * out:,}" in rendered
        assert "…" not in rendered


def test_names_are_printed_literally() -> None:
    text = HEAD.replace("name: T", "name: '[bold]net[/]'") + \
        "layers:\n  - conv: {name: '[red]x[/red]', out: 8, kernel: 3}\n" \
        "  - conv: {name: '[/]', out: 8, kernel: 3}\n"
    from costcalc.render import render

    for fmt in ("table", "markdown", "csv", "json"):
        rendered = render(analyze(build_graph(parse_spec(text))), fmt, 120)
        assert "[red]x[/red]" in rendered and "[/]" in rendered
        assert "[bold]net[/]" in rendered or fmt == "csv"


@pytest.mark.parametrize("fields, message", [
    ("args: {x: .nan}\nlayers:\n  - conv: {out: 8, kernel: 3, when: x > 0}\n",
     "expected a finite number, got nan"),
    ("args: {x: .inf}\nlayers:\n  - conv: {out: 8, kernel: 3}\n", "finite"),
    ("layers:\n  - dropout: {rate: .nan}\n", "finite"),
    ("layers:\n  - dropout: {rate: 5}\n", "'rate' must be at least 0 and below 1"),
    ("layers:\n  - dropout: {rate: -1}\n", "'rate' must be at least 0 and below 1"),
    ("width: {min: 0}\nlayers:\n  - conv: {out: 8, kernel: 3}\n", "'min' must be at least 1"),
    ("width: {divisor: 0}\nlayers:\n  - conv: {out: 8, kernel: 3}\n",
     "'divisor' must be at least 1"),
    ("layers:\n  - parallel: {branches: []}\n", "parallel: 'branches' is empty"),
    ("layers:\n  - conv: {out: 8, kernel: 3, pad: [1]}\n", "pad has 1 value"),
    ("layers:\n  - conv: {out: 8, kernel: 3, pad: [1, 2, 3]}\n", "pad has 3 values"),
    ("layers:\n  - conv: {out: 8, kernel: 3, pad: [1, 1, 1, 1, 99]}\n", "pad has 5 values"),
    ("variants:\n  z: {width: 0}\nlayers:\n  - conv: {out: 8, kernel: 3}\n",
     "'width' must be in (0, 16]"),
    ("variants:\n  z: {resolution: 0}\nlayers:\n  - conv: {out: 8, kernel: 3}\n",
     "'resolution' must be at least 1"),
])
def test_bad_numbers_are_located_errors(fields: str, message: str) -> None:
    fails_fast(HEAD + fields, message)


# -- nothing lost on disk --------------------------------------------------------------------

def test_output_keeps_the_mode_of_an_existing_file_and_the_umask_for_a_new_one(
        tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        new = tmp_path / "new.txt"
        write_output("a\n", new)
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        new.chmod(0o640)
        write_output("b\n", new)
        assert stat.S_IMODE(new.stat().st_mode) == 0o640 and new.read_text() == "b\n"
    finally:
        os.umask(old)


def test_output_refuses_special_and_read_only_files_without_force(tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("keep\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    readonly = tmp_path / "ro.txt"
    readonly.write_text("keep\n")
    readonly.chmod(0o444)
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for path, why in ((link, "symbolic link"), (fifo, "not a regular file"),
                      (readonly, "read-only"), (loop, "symbolic link"), (tmp_path, "directory")):
        with pytest.raises(CostcalcError, match=why):
            write_output("new\n", path)
    assert target.read_text() == "keep\n" and readonly.read_text() == "keep\n"
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and link.is_symlink()
    write_output("forced\n", link, force=True)
    assert not link.is_symlink() and link.read_text() == "forced\n"
    assert target.read_text() == "keep\n"
    result = CliRunner().invoke(main, ["report", "mobilenet_v2", "-o", str(readonly)])
    assert result.exit_code == 1 and "--force" in result.stderr
    assert readonly.read_text() == "keep\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "link.txt", "loop", "ro.txt",
                                                          "target.txt"]


def test_dash_is_standard_output(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["report", "mobilenet_v2", "--format", "csv", "-o", "-"])
    assert result.exit_code == 0 and result.stdout.startswith("name,kind")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["write", "chmod", "replace"])
def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch,
                                                                 where: str) -> None:
    target = tmp_path / "r.txt"
    target.write_text("old\n")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if where == "write":  # half the text reaches the temporary file, then the disk is full
        real = os.fdopen

        class Full:
            def __init__(self, *args, **kwargs):
                self.handle = real(*args, **kwargs)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

            def write(self, text):
                self.handle.write(text[: len(text) // 2])
                self.handle.flush()
                fail()

        monkeypatch.setattr(os, "fdopen", Full)
    else:
        monkeypatch.setattr(os, "fchmod" if where == "chmod" else "replace", fail)
    with pytest.raises(CostcalcError, match="No space left on device"):
        write_output("new\n" * 1000, target)
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]


def test_tables_writes_and_removes_only_its_own_files(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from costcalc import tables

    def doc(name: str) -> str:
        return tables.HEADER.format(file=f"{name}.yaml") + f"\n\n# {name}\n"

    (tmp_path / "README.md").write_text("my notes\n")
    (tmp_path / "notes.md").write_text("# notes\n")
    (tmp_path / "stale.md").write_text(doc("stale"))  # generated once, no longer
    generated = SimpleNamespace(documents={"a.md": doc("a"), "index.md": doc("index")})
    assert sorted(tables.write(generated, tmp_path)) == ["a.md", "index.md", "stale.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "a.md", "index.md",
                                                          "notes.md"]
    assert (tmp_path / "README.md").read_text() == "my notes\n"
    assert tables.differences(generated, tmp_path) == []  # user files are not "extra"
    (tmp_path / "a.md").write_text("my own a.md\n")  # same name as a table, not generated
    with pytest.raises(CostcalcError, match="was not generated by `costcalc tables`"):
        tables.write(generated, tmp_path)
    assert (tmp_path / "a.md").read_text() == "my own a.md\n"



@pytest.mark.parametrize("name", ["mobilenet_v2", "squeezenet_v1_0", "inception_v3"])
def test_the_fast_table_draws_what_rich_draws(name: str) -> None:
    import io

    from rich.console import Console

    from costcalc import render

    report = analyze(name)
    for title, columns, rows, right in (
            ("per layer", render.layer_columns(report), render.layer_cells(report), 3),
            ("totals", ("metric", "exact", "approx"), render.totals_rows(report), 1)):
        outputs = []
        for draw in (render._draw, render._print_rich):
            console = Console(file=io.StringIO(), width=400, color_system=None,
                              highlight=False, force_terminal=False)
            widths = render._widths(columns, rows)
            if draw is render._draw:
                draw(console, title, columns, rows, right, widths)
            else:
                draw(console, title, columns, rows, right, True, widths)
            outputs.append(console.file.getvalue())
        assert outputs[0] == outputs[1]
