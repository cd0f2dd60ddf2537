"""The Report: one declaration per metric, `measure` on arrays, the pipeline's settings."""

from __future__ import annotations

import numpy as np
import pytest

import costcalc
from costcalc.errors import CostcalcError
from costcalc.metrics import Settings
from costcalc.ops import Shape
from costcalc.report import CORE_METRICS, METRICS, LayerRow, measure


def test_measure_on_array_shapes_equals_scalar_reports() -> None:
    graph = costcalc.build_graph(costcalc.load_spec("mobilenet_v1"))
    sizes = np.array([224, 160])
    (shaped,) = costcalc.shape_graph(graph, Shape(3, sizes, sizes))
    measured = measure(shaped.graph, shaped.shapes, Settings(batch=2, dtype="int8",
                                                             params="paper"))
    for i, size in enumerate(sizes):
        scalar = costcalc.analyze("mobilenet_v1", resolution=int(size), batch=2, dtype="int8",
                                  params="paper")
        for m in CORE_METRICS:
            total = np.broadcast_to(measured.totals[m.key], sizes.shape)[i]
            assert total == scalar.totals.values[m.key], (m.key, int(size))
            if m.layer is None:
                continue
            for row in scalar.layers:
                value = np.broadcast_to(measured.layers[m.key][row.name], sizes.shape)[i]
                assert value == row.values[m.key], (m.key, row.name, int(size))
    # The arrays are real (batch 2): 224 and 160 differ where resolution matters.
    assert measured.totals["macs"].tolist() == [2 * 568_740_352, 2 * 290_675_200]  # Table 7


def test_report_attributes_come_from_the_declarations() -> None:
    r = costcalc.analyze("squeezenet_v1_0")
    keys = [m.key for m in METRICS]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & set(LayerRow.__dataclass_fields__)
    core = [m.key for m in CORE_METRICS]
    assert list(r.totals.values) == core  # no hardware profile: the energy family is not measured
    assert list(r.layers[1].values) == [m.key for m in CORE_METRICS if m.layer is not None]
    with_energy = costcalc.analyze("squeezenet_v1_0", hardware="horowitz45nm")
    assert list(with_energy.totals.values) == [m.key for m in METRICS
                                               if m.family in ("core", "energy")]
    everything = costcalc.analyze("squeezenet_v1_0", hardware="horowitz45nm", size={},
                                  transfer={"pdu": 116},
                                  latency={"peak_macs_per_s": 1e9, "bandwidth_bytes_per_s": 1e9},
                                  count="netscope")
    assert list(everything.totals.values) == keys  # each family with its settings
    assert (r.layers[1].name, r.layers[1].macs) == ("conv1", r.layers[1].values["macs"])
    with pytest.raises(AttributeError, match="no metric 'nope'"):
        r.totals.nope  # noqa: B018


def test_json_totals_follow_the_declared_paths() -> None:
    data = costcalc.analyze("mobilenet_v2").to_dict()
    assert data["totals"]["params_by_role"] == {"weights": 3_469_760, "biases": 1_000,
                                                "bn": 34_112, "bn_buffers": 34_112}
    assert data["totals"]["macs"] == 300_774_272 and data["per_image"]["macs"] == 300_774_272
    assert list(data["layers"][0])[:4] == ["name", "kind", "bucket", "output"]


def test_a_graph_takes_width_and_resolution_but_not_structure_settings() -> None:
    """Width and resolution are shape-time dimensions: a built graph is shaped at them. Its
    arguments and variant were fixed when it was built, so they are refused, not ignored."""
    graph = costcalc.build_graph(costcalc.load_spec("mobilenet_v2"))
    assert costcalc.analyze(graph).totals.macs == 300_774_272
    thin = costcalc.analyze(graph, width=0.5, resolution=160)
    assert (thin.totals.macs, thin.width, thin.input) == (
        costcalc.analyze("mobilenet_v2", width=0.5, resolution=160).totals.macs, 0.5,
        (3, 160, 160))
    message = r"^mobilenet_v2.yaml: a built Graph cannot take arguments or a variant: .*\n  fix: "
    with pytest.raises(CostcalcError, match=message):
        costcalc.analyze(graph, variant="x")
    with pytest.raises(CostcalcError, match="width multiplier must be in"):
        costcalc.analyze(graph, width=20)
    assert costcalc.analyze("mobilenet_v2", width=0.5).totals.macs == 97_131_840


def test_a_max_total_reduces_layer_values_to_their_maximum(monkeypatch) -> None:
    from costcalc import metrics, report

    largest = report.Metric("largest_macs", "MAC", "count", "largest layer MACs",
                            layer=metrics.per_batch(metrics.macs), total="max")
    monkeypatch.setattr(report, "METRICS", (*report.METRICS, largest))
    r = costcalc.analyze("squeezenet_v1_0", batch=3)
    assert r.totals.largest_macs == max(row.macs for row in r.layers) == 3 * 173_873_952
