"""The spec format's JSON Schema, generated from the loader's declarations: every bundled spec
validates, and the bad specs whose fault is one of form are rejected by it too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from costcalc.bundled import bundled_specs
from costcalc.cli import main
from costcalc.json_schema import spec_schema

jsonschema = pytest.importorskip("jsonschema")
VALIDATOR = jsonschema.Draft202012Validator(spec_schema())
BAD = Path(__file__).parent / "bad_specs"
# Faults of form, which a schema can state: an unknown key, a wrong type or choice, a value
# below its minimum, a missing or misshapen top level. The other bad specs are faults of meaning
# (shapes, references, expressions, recursion) that only the loader can find.
FORM_FAULTS = ["empty", "not_a_list", "unknown_field", "unknown_top", "wrong_choice",
               "yaml_no_is_bool", "zero_stride"]


def test_the_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(spec_schema())


@pytest.mark.parametrize("path", bundled_specs(), ids=lambda p: p.stem)
def test_every_bundled_spec_validates(path: Path) -> None:
    errors = list(VALIDATOR.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert not errors, [(list(e.absolute_path), e.message) for e in errors[:3]]


@pytest.mark.parametrize("name", FORM_FAULTS)
def test_faults_of_form_are_rejected_by_the_schema_too(name: str) -> None:
    data = yaml.safe_load((BAD / f"{name}.yaml").read_text(encoding="utf-8"))
    assert not VALIDATOR.is_valid(data)


def test_schema_command_prints_the_schema() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == spec_schema()
