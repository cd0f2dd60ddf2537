"""Published-figure rows: metric paths, ratio claims, statuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from costcalc.errors import SpecError
from costcalc.papers import Evaluator, load_tables, lookup


def table(tmp_path: Path, rows: str) -> list:
    path = tmp_path / "claims.yaml"
    path.write_text("paper: test\ntables:\n  t:\n    title: T\n    rows:\n" + rows)
    return load_tables([path])


def test_fewer_than_is_the_reference_over_the_row(tmp_path: Path) -> None:
    (t,) = table(tmp_path, """
      - {spec: squeezenet_v1_0, settings: {params: paper}, metric: totals.params,
         fewer_than: {spec: alexnet}, published: 48.83, tolerance: 0.001}
      - {spec: squeezenet_v1_0, settings: {params: paper}, metric: totals.params,
         fewer_than: {spec: alexnet}, published: 50}
      - {spec: squeezenet_v1_0, settings: {params: paper}, metric: totals.params,
         fewer_than: {spec: alexnet}, published: 50, note: "rounded"}
    """)
    results = [Evaluator().evaluate(row) for row in t.rows]
    assert results[0].computed == pytest.approx(60_965_224 / 1_248_424)
    assert [r.status for r in results] == ["match", "mismatch", "explained"]


def test_shape_rows_compare_exactly(tmp_path: Path) -> None:
    (t,) = table(tmp_path, """
      - {spec: squeezenet_v1_0, metric: layers.fire9.output, published: [512, 13, 13]}
      - {spec: squeezenet_v1_0, metric: layers.maxpool8.output, published: [512, 13, 12]}
    """)
    assert [Evaluator().evaluate(r).status for r in t.rows] == ["match", "mismatch"]


def test_bad_reference_is_reported_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="claims.yaml:7: row: .fewer_than. takes spec"):
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
    assert lookup(report, "layers.a.params") == 3  # a and a.*, not ab
    assert lookup(report, "layer.a.params") == 1
    assert lookup(report, "layers.ab.output") == [3, 1, 1]
