"""Shared test setup: `pytest --update-golden` rewrites tests/golden/*.txt (review the diff);
the bundled paper tables, regenerated once per run; Hypothesis without an on-disk database."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from costcalc import tables

GOLDEN = Path(__file__).parent / "golden"

# A plain `pytest` run must not write .hypothesis/ into the checkout: no example database,
# and Hypothesis's other cache (source constants, written while test modules are collected,
# so before any fixture runs) goes to a temporary directory removed at exit.
settings.register_profile("costcalc", database=None)
settings.load_profile("costcalc")
_HYPOTHESIS_HOME = tempfile.TemporaryDirectory(prefix="costcalc-hypothesis-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME.name)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite the golden files instead of comparing against them")
    parser.addoption("--onnx-zoo", action="store_true",
                     help="also export every bundled spec to ONNX and run it (about a minute)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--onnx-zoo"):
        return
    skip = pytest.mark.skip(reason="the whole ONNX zoo runs with --onnx-zoo (CI does)")
    for item in items:
        if "onnx_zoo" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """Compare text with tests/golden/NAME, or rewrite it under --update-golden."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if request.config.getoption("--update-golden"):
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden {path}: run pytest --update-golden"
        assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"

    return check


@pytest.fixture(scope="session")
def bundled() -> tables.Generated:
    """Every row of the bundled specs/papers, evaluated and rendered once per run."""
    return tables.generate()
