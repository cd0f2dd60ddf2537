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
    assert list(data["layers"][0])[:8] == ["name", "kind", "bucket", "inputs", "output",
                                           "kernel", "stride", "groups"]


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
    # A CLI spelling passed to the API is refused with the Python spelling to use instead.
    with pytest.raises(CostcalcError, match=r"got '224x160'\n  fix: .*resolution=\(224, 160\)"):
        costcalc.analyze("mobilenet_v2", resolution="224x160")
    with pytest.raises(CostcalcError, match=r"got '0.5'\n  fix: .*width=\) a number .* 0.5"):
        costcalc.analyze("mobilenet_v2", width="0.5")
    assert costcalc.analyze("mobilenet_v2", width=0.5).totals.macs == 97_131_840


def test_a_max_total_reduces_layer_values_to_their_maximum(monkeypatch) -> None:
    from costcalc import metrics, report

    largest = report.Metric("largest_macs", "MAC", "count", "largest layer MACs",
                            layer=metrics.per_batch(metrics.macs), total="max")
    monkeypatch.setattr(report, "METRICS", (*report.METRICS, largest))
    r = costcalc.analyze("squeezenet_v1_0", batch=3)
    assert r.totals.largest_macs == max(row.macs for row in r.layers) == 3 * 173_873_952


def test_a_report_says_what_was_computed() -> None:
    report = costcalc.analyze("resnet", variant="50", args={"classes": 10})
    assert report.variant == "50" and report.file == "resnet.yaml"
    assert dict(report.overrides) == {"classes": 10}
    # the spec's defaults, then the variant's (b2..b5, and bottleneck left at 1), then --set
    assert dict(report.args) == {"b2": 3, "b3": 4, "b4": 6, "b5": 3, "bottleneck": 1,
                                 "v1_5": 0, "classes": 10}
    data = report.to_dict()
    assert (data["spec"], data["variant"], data["args"]["classes"], data["overrides"]) == \
        ("resnet.yaml", "50", 10, {"classes": 10})
    plain = costcalc.analyze("resnet_cifar")
    assert (plain.variant, dict(plain.args), dict(plain.overrides)) == \
        (None, {"n": 3, "classes": 10}, {})
    assert costcalc.analyze("resnet_cifar", args={"n": 18}).args["n"] == 18
    with pytest.raises(TypeError):
        report.args["classes"] = 5  # type: ignore[index]  # read-only, as the record is


def test_depth_groups_layers_by_their_dotted_name_prefix() -> None:
    report = costcalc.analyze("resnet", variant="18")
    blocks = report.by_depth(1)
    names = [b.name for b in blocks]
    assert names[:4] == ["input", "conv1", "maxpool", "conv2_1"]
    assert names[-2:] == ["fc", "softmax1"]
    assert len(names) == len(set(names))
    conv2_1 = blocks[3]
    members = [r for r in report.layers if r.name.split(".")[0] == "conv2_1"]
    assert conv2_1.layers == len(members) and conv2_1.output == members[-1].output
    assert conv2_1.macs == sum(r.macs for r in members) > 0
    summed = {m.key for m in report.summed}
    assert {"macs", "params", "flops", "activations"} <= summed
    assert "activation_bytes" not in summed and "arithmetic_intensity" not in summed
    for key in summed:
        assert sum(b.values[key] for b in blocks) == report.totals.values[key], key
    # deeper: conv2_1.conv1 and its .bn/.relu are one row at depth 2
    deep = {b.name: b for b in report.by_depth(2)}
    assert deep["conv2_1.conv1"].layers == 3 and "conv2_1" not in deep
    assert len(report.by_depth(99)) == len(report.layers)
    with pytest.raises(CostcalcError, match="depth must be at least 1"):
        report.by_depth(0)
