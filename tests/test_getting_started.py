"""docs/getting-started.md cannot rot: every command it shows runs, in order, in an empty
directory; its install commands are the README's (which CI runs verbatim); and the shell
completion it documents is produced by the installed entry point."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from costcalc.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "getting-started.md"
# Run by .ci/run itself (it needs the repository's docs/tables and takes half a minute): the
# test checks that CI runs the same line instead of running it again.
RUN_BY_CI = {"costcalc tables --check docs/tables"}


def shell_blocks(text: str) -> list[list[str]]:
    return [[line for line in block.splitlines() if line.strip()]
            for block in re.findall(r"```sh\n(.*?)```", text, re.S)]


def tour() -> list[str]:
    lines = [line for block in shell_blocks(PAGE.read_text(encoding="utf-8"))
             for line in block if not line.startswith("python3 ")]
    assert all(line.startswith("costcalc ") for line in lines), lines
    return lines


def test_the_install_commands_are_the_readmes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci_block = readme[readme.index("<!-- ci:begin"):readme.index("<!-- ci:end")]
    readme_commands = [line for line in ci_block.splitlines() if line.startswith("python3 ")]
    page_commands = [line for block in shell_blocks(PAGE.read_text(encoding="utf-8"))
                     for line in block if line.startswith("python3 ")]
    assert page_commands == readme_commands and len(page_commands) == 2


def test_every_tour_command_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("matplotlib")
    commands = tour()
    assert {"report", "compare", "sweep", "energy", "tables", "import", "plot"} <= \
        {shlex.split(c)[1] for c in commands}  # the tour the issue asks for
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    outputs = {}
    for command in commands:
        if command in RUN_BY_CI:
            assert f"\n{command}\n" in ci, f"{command!r} is neither run here nor by .ci/run"
            continue
        result = runner.invoke(main, ["--columns", "110", *shlex.split(command)[1:]])
        assert result.exit_code == 0, f"{command}\n{result.output}"
        outputs[command] = result.stdout
    written = {p.name for p in tmp_path.iterdir()}
    named = {word for c in commands for word in shlex.split(c) if "." in word
             and not word.startswith("-") and Path(word).suffix in (".json", ".html", ".png",
                                                                     ".svg", ".onnx", ".yaml",
                                                                     ".dot")}
    assert named <= written, named - written
    # the figures the page states
    text = PAGE.read_text(encoding="utf-8")
    assert "300,774,272 MACs, 3,504,872 params" in text
    assert "300,774,272" in outputs["costcalc report mobilenet_v2 --summary"]
    round_trip = [outputs[c] for c in commands if c.endswith("--summary --params deploy")]
    assert len(round_trip) == 2
    for report in round_trip:
        assert "209,069,792" in report and "2,623,104" in report
        assert "209,069,792 MACs and 2,623,104 params" in text


def entry_point() -> Path:
    """The installed `costcalc` script beside this interpreter (a venv's bin/)."""
    path = Path(sys.executable).parent / "costcalc"
    if not path.exists():
        pytest.skip(f"no costcalc entry point beside {sys.executable}")
    return path


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F"),
                                           ("zsh", "#compdef costcalc"),
                                           ("fish", "complete --no-files --command costcalc")])
def test_shell_completion_scripts_come_from_the_entry_point(shell: str, marker: str) -> None:
    assert f"_COSTCALC_COMPLETE={shell}_source costcalc" in PAGE.read_text(encoding="utf-8")
    env = {**os.environ, "_COSTCALC_COMPLETE": f"{shell}_source"}
    done = subprocess.run([str(entry_point())], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout and "_COSTCALC_COMPLETE" in done.stdout


def test_completion_completes_commands_options_and_choices() -> None:
    def complete(words: str) -> list[str]:
        env = {**os.environ, "_COSTCALC_COMPLETE": "bash_complete", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
        done = subprocess.run([str(entry_point())], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return [line.split(",", 1)[1] for line in done.stdout.splitlines()]

    assert complete("costcalc plot r") == ["roofline"]
    assert "report" in complete("costcalc re")
    assert complete("costcalc report mobilenet_v2 --format ") == ["table", "markdown", "csv",
                                                                 "json", "html"]
    assert "--by-layer" in complete("costcalc plot energy squeezenet_v1_0 --by")
