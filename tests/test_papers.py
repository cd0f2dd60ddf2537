"""Published-figure rows: the file format, metric paths, ratio claims, predictions, statuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from costcalc.errors import CostcalcError, SpecError
from costcalc.papers import Evaluator, load_tables, lookup


def table(tmp_path: Path, rows: str) -> list:
    path = tmp_path / "claims.yaml"
    path.write_text("paper: test\ntables:\n  t:\n    title: T\n    rows:\n" + rows)
    return load_tables([path])


def statuses(tmp_path: Path, rows: str) -> list[str]:
    (t,) = table(tmp_path, rows)
    return [Evaluator().evaluate(row).status for row in t.rows]


def test_fewer_than_is_the_reference_over_the_row(tmp_path: Path) -> None:
    (t,) = table(tmp_path, """
      - {spec: squeezenet_v1_0, settings: {params: paper}, metric: totals.params,
         fewer_than: {spec: alexnet}, published: 48.83, tolerance: 0.001}
      - {spec: squeezenet_v1_0, settings: {params: paper}, metric: totals.params,
         fewer_than: {spec: alexnet}, published: 50}
      - {spec: squeezenet_v1_0, settings: {params: paper}, metric: totals.params,
         fewer_than: {spec: alexnet}, published: 50, note: "rounded", cause: convention,
         expected: 48.8}
    """)
    results = [Evaluator().evaluate(row) for row in t.rows]
    assert results[0].computed == pytest.approx(60_965_224 / 1_248_424)
    assert [r.status for r in results] == ["match", "mismatch", "convention"]


def test_shape_rows_compare_exactly(tmp_path: Path) -> None:
    assert statuses(tmp_path, """
      - {spec: squeezenet_v1_0, metric: block.fire9.output, published: [512, 13, 13]}
      - {spec: squeezenet_v1_0, metric: block.maxpool8.output, published: [512, 13, 12]}
      - {spec: squeezenet_v1_0, metric: block.maxpool8.output, published: [512, 13, 12],
         note: "a typo in the paper", cause: paper-error,
         expected: [512, 13, 13]}
      - {spec: squeezenet_v1_0, metric: block.maxpool8.output, published: [512, 13, 12],
         note: "a typo in the paper", cause: paper-error,
         expected: [512, 12, 13]}
    """) == ["match", "mismatch", "paper-error", "mismatch"]


# MobileNet v1 at params=paper: 568,740,352 MACs, 4,209,088 params.
V1 = "spec: mobilenet_v1, settings: {params: paper}"


def test_a_note_explains_only_what_its_prediction_states(tmp_path: Path) -> None:
    assert statuses(tmp_path, f"""
      - {{{V1}, metric: totals.macs, scale: 1.0e6, published: 575, note: "another count"}}
      - {{{V1}, metric: totals.macs, scale: 1.0e6, published: 575, note: "x",
         cause: convention, expected: 568.74}}
      - {{{V1}, metric: totals.macs, scale: 1.0e6, published: 575, note: "x",
         cause: convention, expected: 500}}
      - {{{V1}, metric: totals.macs, scale: 1.0e6, published: 575, note: "x", expected: 560,
         expected_tolerance: 0.02, cause: paper-error}}
      - {{{V1}, metric: totals.macs, scale: 1.0e6, published: 569, note: "fine on a match",
         cause: convention, expected: 1}}
    """) == ["mismatch", "convention", "mismatch", "paper-error", "match"]


def test_ratio_and_rounding_predictions(tmp_path: Path) -> None:
    assert statuses(tmp_path, f"""
      - {{{V1}, metric: totals.macs, scale: 1.0e6, published: 1137.5, note: "FLOPs = 2 x MACs",
         cause: convention, expected_ratio: 0.5}}
      - {{{V1}, metric: totals.macs, scale: 1.0e6, published: 1137.5, note: "x",
         cause: convention, expected_ratio: 2}}
      - {{{V1}, metric: totals.params, scale: 1.0e6, published: 4.0, note: "truncated",
         cause: rounding, rounded: {{step: 0.5, mode: floor}}}}
      - {{{V1}, metric: totals.params, scale: 1.0e6, published: 4.5, note: "4.21 rounds to 4",
         cause: rounding, rounded: {{step: 0.5, mode: nearest}}}}
      - {{{V1}, metric: totals.params, scale: 1.0e6, published: 4.5, note: "x",
         cause: rounding, rounded: {{step: 0.5, mode: ceil}}}}
    """) == ["convention", "mismatch", "rounding", "mismatch", "rounding"]


def test_a_typod_metric_path_is_an_error_even_with_a_note(tmp_path: Path) -> None:
    (t,) = table(tmp_path, f"""
      - {{{V1}, metric: "breakdown.conv1x1.macs_pct", published: 94.86, note: "x",
         cause: paper-error, expected: 0}}
    """)
    with pytest.raises(CostcalcError, match=r"unknown breakdown bucket 'conv1x1'\n  fix: did "
                                            r"you mean 'conv 1x1'\?"):
        Evaluator().evaluate(t.rows[0])


def test_old_layers_path_says_block_or_layer() -> None:
    report = {"layers": [{"name": "a", "params": 1}]}
    with pytest.raises(CostcalcError, match=r"fix: write `block.a.params` for 'a' and "
                                            r"everything inside it, or `layer.a.params`"):
        lookup(report, "layers.a.params")


def test_file_and_row_problems_are_located_with_hints(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("paper: P\ntabels:\n  t: {}\n")
    with pytest.raises(SpecError) as exc:
        load_tables([path])
    assert str(exc.value) == ("bad.yaml:1: missing 'tables'\n  fix: add `tables:`, a mapping of "
                              "table id to title and rows\nbad.yaml:2: unknown field 'tabels'\n"
                              "  fix: did you mean 'tables'?")
    with pytest.raises(SpecError) as exc:
        table(tmp_path, """
      - spec: squeezenet_v1_0
        metrc: totals.params
        published: 1
        settings: {widht: 0.5}
        expected: 2
    """)
    assert [(p.line, p.what, p.fix) for p in exc.value.problems] == [
        (7, "row: missing 'metric'", "add `metric:`"),
        (8, "row: unknown field 'metrc'", "did you mean 'metric'?"),
        (10, "row: settings: unknown field 'widht'", "did you mean 'width'?"),
        (11, "row: 'expected' without a note",
         "add the `note:` that states the cause and its arithmetic")]


def test_bad_reference_is_reported_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="claims.yaml:8: row: .fewer_than. takes spec"):
        table(tmp_path, """
      - {spec: squeezenet_v1_0, metric: totals.params, published: 1,
         fewer_than: {specs: alexnet}}
    """)


def test_lookup_paths() -> None:
    report = {"totals": {"macs": 10, "params_by_role": {"weights": 3}},
              "breakdown": [{"bucket": "fc", "macs_pct": 12.5}],
              "layers": [{"name": "a", "params": 1, "output": [1, 2, 2]},
                         {"name": "a.bn", "params": 2, "output": [1, 2, 2]},
                         {"name": "ab", "params": 4, "output": [3, 1, 1]}]}
    assert lookup(report, "totals.macs") == 10
    assert lookup(report, "totals.params_by_role.weights") == 3
    assert lookup(report, "breakdown.fc.macs_pct") == 12.5
    assert lookup(report, "breakdown.depthwise.macs_pct") == 0  # known bucket, no layers
    assert lookup(report, "block.a.params") == 3  # a and a.*, not ab
    assert lookup(report, "layer.a.params") == 1
    assert lookup(report, "block.ab.output") == [3, 1, 1]


@pytest.mark.parametrize("body, message", [
    ("  t:\n    rows: 5\n", "bad.yaml:4: table 't': 'rows' must be a list of rows"),
    ("  t: 5\n", "bad.yaml:3: table 't' must be a mapping"),
    ("  t:\n    rows:\n      - {spec: mobilenet_v1, metric: totals.macs, published: abc}\n",
     "bad.yaml:5: row: 'published' must be a number or a shape list, got 'abc'"),
    ("  t:\n    rows:\n      - {spec: mobilenet_v1, settings: 3, metric: totals.macs, "
     "published: 1}\n", "bad.yaml:5: row: 'settings' must be a mapping, got 3"),
    ("  t:\n    rows:\n      - {spec: mobilenet_v1, metric: totals.macs, published: 1, "
     "scale: 0}\n", "bad.yaml:5: row: 'scale' must be a positive number, got 0"),
    ("  t:\n    rows:\n      - {spec: 7, metric: totals.macs, published: 1}\n",
     "bad.yaml:5: row: 'spec' must be text, got 7"),
])
def test_malformed_papers_files_are_located_errors(tmp_path: Path, body: str,
                                                   message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("paper: x\ntables:\n" + body)
    with pytest.raises(CostcalcError) as info:
        load_tables([path])
    assert message in str(info.value)


def test_a_via_sweep_table_is_one_vectorized_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """MobileNet v1 Tables 6 and 7 are counted by one sweep per spec setting, and give exactly
    what one report per row gives."""
    from costcalc import papers
    from costcalc.bundled import bundled_dir

    tables = [t for t in load_tables([bundled_dir("papers") / "howard2017_mobilenet_v1.yaml"])
              if t.id in ("table6", "table7")]
    assert {t.via for t in tables} == {"sweep"}
    one_by_one = {(t.id, r.line): Evaluator().evaluate(r).computed for t in tables
                  for r in t.rows}
    sweeps = []
    real = papers.sweep
    monkeypatch.setattr(papers, "sweep", lambda *a, **k: sweeps.append(a) or real(*a, **k))
    monkeypatch.setattr(papers, "analyze", lambda *a, **k: pytest.fail("analyzed row by row"))
    evaluator = Evaluator()
    for t in tables:
        evaluator.sweep(t)
        for r in t.rows:
            assert evaluator.evaluate(r, t.via).computed == one_by_one[(t.id, r.line)]
    assert len(sweeps) == 4  # per table: framework and paper params, each one sweep


def test_an_unknown_via_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("paper: x\ntables:\n  t:\n    via: swep\n    rows: []\n")
    with pytest.raises(CostcalcError, match="unknown 'via' 'swep'"):
        load_tables([path])


@pytest.mark.parametrize(("row", "line", "what", "fix"), [
    ('{spec: alexnet, metric: totals.params, published: 1, note: "n", cause: rounnding,\n'
     '         rounded: {step: 1, mode: floor}}', 6, "row: unknown cause 'rounnding'",
     "did you mean 'rounding'?"),
    ('{spec: alexnet, metric: totals.params, published: 1, note: "n", expected: 2}', 6,
     "row: 'expected' without a cause",
     "add `cause:` (paper-error, rounding, convention, not-reproduced): what kind of cause the "
     "note states"),
    ('{spec: alexnet, metric: totals.params, published: 1, note: "n", cause: not-reproduced,\n'
     '         expected: 2}', 7,
     "row: a not-reproduced row claims no prediction, but gives 'expected'",
     "remove 'expected' (or name the cause it proves)"),
    ('{spec: alexnet, metric: totals.params, published: 1, note: "n", cause: rounding,\n'
     '         expected: 2}', 6, "row: cause 'rounding' is checked by `rounded:`, not 'expected'",
     "add the rounding that gives the printed value, e.g. `rounded: {step: 0.1, mode: floor}`"),
    ('{spec: alexnet, metric: totals.params, published: 1, note: "n", cause: paper-error}', 6,
     "row: cause 'paper-error' is checked by `expected:` or `expected_ratio:`",
     "add the count the note's arithmetic gives"),
    ('{spec: alexnet, metric: totals.params, published: 1, cause: not-reproduced}', 6,
     "row: cause 'not-reproduced' without a note",
     "add the `note:` that states the cause and its arithmetic"),
])
def test_a_cause_is_validated_with_its_line_and_fix(tmp_path: Path, row: str, line: int,
                                                    what: str, fix: str) -> None:
    with pytest.raises(SpecError) as exc:
        table(tmp_path, f"      - {row}\n")
    assert [(p.line, p.what, p.fix) for p in exc.value.problems] == [(line, what, fix)]


def test_a_matching_row_needs_no_cause(tmp_path: Path) -> None:
    assert statuses(tmp_path, f"""
      - {{{V1}, metric: totals.macs, scale: 1.0e6, published: 569}}
      - {{{V1}, metric: totals.macs, scale: 1.0e6, published: 569, note: "the count"}}
    """) == ["match", "match"]
