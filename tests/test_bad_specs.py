"""Each tests/bad_specs/*.yaml states its expected error lines in `# expect:` comments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from costcalc.cli import main

BAD = sorted((Path(__file__).parent / "bad_specs").glob("*.yaml"))


def expected_lines(path: Path) -> list[str]:
    return [line.removeprefix("# expect: ") for line in path.read_text().splitlines()
            if line.startswith("# expect: ")]


def test_every_bad_spec_states_its_error() -> None:
    assert len(BAD) >= 100
    for path in BAD:
        assert expected_lines(path), f"{path.name} has no `# expect:` line"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_spec_reports_located_error(path: Path, monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    monkeypatch.chdir(path.parent)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["report", path.name, "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    expected = expected_lines(path)
    assert lines[0] == expected[0]
    for want in expected[1:]:  # further expected lines appear in order
        assert want in lines, f"{want!r} not in {lines!r}"
    assert not out.exists()  # nothing written after a failure
    assert list(tmp_path.iterdir()) == []


def test_every_problem_is_reported_sorted_by_line(tmp_path: Path) -> None:
    spec = tmp_path / "many.yaml"
    spec.write_text("version: 1\nname: Many\ninput: {channels: 3, size: 8}\nlayers:\n"
                    "  - conv: {out: 8, kernal: 3}\n  - pool: {op: mean}\n  - fcc: {out: 2}\n")
    result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    located = [line for line in result.stderr.splitlines() if not line.startswith("  ")]
    assert [line.split(":")[1] for line in located] == ["5", "6", "7"]


@pytest.mark.parametrize("args, message", [
    (["report", "nosuchnet"], "nosuchnet: no such file, and no bundled spec of that name"),
    (["report", "mobilenet_v9.yaml"], "did you mean 'mobilenet_v"),
    (["report", "no/such/dir/net.yaml"], "no/such/dir/net.yaml: no such file"),
    (["report", "mobilenet_v2", "--variant", "9.9-224"], "unknown variant '9.9-224'"),
    (["report", "mobilenet_v2", "--set", "clases=10"], "unknown argument 'clases'"),
    (["report", "mobilenet_v2", "--dtype", "fp7x"], "unknown dtype 'fp7x'"),
    (["report", "squeezenet_v1_0", "--width", "20"], "width multiplier must be in (0, 16]"),
    # an argument that does not fit is the command line's problem, not the spec file's
    (["report", "mobilenet_v2", "--set", "classes=10.5"],
     "--set classes=10.5 (args= in Python): conv: 'out': 'classes' gives 10.5, not an integer "
     "(in mobilenet_v2.yaml:42)\n  fix: give --set classes a whole number, e.g. --set "
     "classes=10"),
])
def test_bad_command_line_input_exits_1(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("module", "args", "message"), [
    ("onnx", ["export", "mobilenet_v2", "-o", "m.onnx"], "ONNX export needs the onnx package"),
    ("onnx", ["import", "m.onnx"], "ONNX import needs the onnx package"),
    ("matplotlib", ["plot", "layers", "mobilenet_v2", "-o", "m.png"],
     "plotting needs the matplotlib package"),
])
def test_a_missing_extra_names_the_install(module: str, args: list[str], message: str,
                                           tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.onnx").write_bytes(b"")
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails as if absent
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    extra = {"onnx": "onnx", "matplotlib": "plot"}[module]
    assert result.stderr == f"{message}\n  fix: pip install 'costcalc[{extra}]'\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # nothing written


def test_unreadable_spec_is_a_user_error(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = CliRunner().invoke(main, ["validate", str(binary)])
    assert result.exit_code == 1
    assert "cannot read" in result.stderr
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "not a file" in result.stderr


@pytest.mark.parametrize("args", [["--batch", "0"], ["--set", "classes=[1"],
                                  ["--set", "classes=nan"], ["--set", "=3"],
                                  ["--resolution", "0"], ["--resolution", "2x2x2"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["report", "mobilenet_v2", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_unwritable_output_is_a_user_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "r.json"
    result = CliRunner().invoke(main, ["report", "mobilenet_v2", "-o", str(target)])
    assert result.exit_code == 1
    assert "cannot write" in result.stderr
    assert not (tmp_path / "missing").exists()
