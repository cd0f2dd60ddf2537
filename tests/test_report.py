"""The Report: one declaration per metric, `measure` on arrays, the pipeline's settings."""

from __future__ import annotations

import numpy as np
import pytest

import costcalc
from costcalc.bundled import bundled_specs
from costcalc.errors import CostcalcError
from costcalc.metrics import PARAM_CONVENTIONS, Settings
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
                                  count="netscope", training="adam")
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


# ---------------------------------------------------------------------------------------------
# Params add up under every convention (issue 14, item 5)

SPECS = [p.stem for p in bundled_specs()]


@pytest.mark.parametrize("name", SPECS)
def test_params_breakdowns_add_up_under_every_convention(name: str) -> None:
    """Every bundled spec, every convention: the role row, the per-bucket breakdown and the
    layer rows each sum to the params total shown, and all = params + non-trainable. Across
    conventions: paper keeps exactly the roles it lists, deploy keeps the weights, folds batch
    norm (never adding params) and has no running statistics left."""
    spec = costcalc.load_spec(name)
    framework = costcalc.analyze(spec).totals
    for convention in PARAM_CONVENTIONS:
        if convention == "paper" and spec.paper_params is None:
            with pytest.raises(CostcalcError, match="does not say what its paper counted"):
                costcalc.analyze(spec, params=convention)
            continue
        r = costcalc.analyze(spec, params=convention)
        t = r.totals
        assert t.weights + t.biases + t.bn == t.params, (name, convention)
        assert sum(s.params for s in r.breakdown) == t.params, (name, convention)
        assert sum(row.params for row in r.layers) == t.params, (name, convention)
        assert t.all_params == t.params + t.non_trainable_params
        assert t.bn_buffers == framework.bn_buffers  # the model's, whatever is counted
        if convention == "framework":
            assert t.non_trainable_params == t.bn_buffers
        elif convention == "paper":
            for role in ("weights", "biases", "bn"):
                want = framework.values[role] if role in spec.paper_params else 0
                assert t.values[role] == want, (name, role)
            assert t.non_trainable_params == t.bn_buffers
        else:
            assert t.weights == framework.weights and t.non_trainable_params == 0
            assert t.biases >= framework.biases
            assert t.biases + t.bn <= framework.biases + framework.bn


def test_the_roles_row_shows_the_chosen_convention() -> None:
    """MobileNet v1 (paper: weights only) printed 4,209,088 / 1,000 / 21,888 next to a paper
    total of 4,209,088; the row now counts what the convention counts."""
    from costcalc.render import totals_rows

    def row(params: str, label: str) -> str:
        rows = totals_rows(costcalc.analyze("mobilenet_v1", params=params))
        return next(exact for name, exact, _ in rows if name.strip().startswith(label))

    assert row("framework", "weights") == "4,209,088 / 1,000 / 21,888"
    assert row("framework", "non-trainable") == "21,888 / 4,253,864"
    assert row("paper", "params") == "4,209,088" and row("paper", "weights") == \
        "4,209,088 / 0 / 0"
    # deploy: 10,944 BN shifts folded into the convs' biases, no running statistics
    assert row("deploy", "params") == "4,221,032"
    assert row("deploy", "weights") == "4,209,088 / 11,944 / 0"
    assert row("deploy", "non-trainable") == "0 / 4,221,032"


# ---------------------------------------------------------------------------------------------
# The JSON's per-layer fields and types (issue 14, items 4 and 11)


def test_layers_carry_inputs_kernel_stride_groups() -> None:
    data = costcalc.analyze("mobilenet_v2").to_dict()
    layers = {row["name"]: row for row in data["layers"]}
    keys = set(data["layers"][0])
    assert all(set(row) == keys for row in data["layers"])  # one shape for every kind
    assert {k: layers["conv1"][k] for k in ("kind", "bucket", "inputs", "output", "kernel",
                                            "stride", "groups")} == {
        "kind": "conv", "bucket": "conv kxk", "inputs": [[3, 224, 224]],
        "output": [32, 112, 112], "kernel": [3, 3], "stride": [2, 2], "groups": 1}
    dw = layers["bottleneck1.conv1"]  # groups: depthwise -> the input channels
    assert (dw["kind"], dw["bucket"], dw["groups"], dw["kernel"]) == ("conv", "depthwise", 32,
                                                                      [3, 3])
    add = next(row for row in data["layers"] if row["kind"] == "add")
    assert len(add["inputs"]) == 2 and add["inputs"][0] == add["inputs"][1] == add["output"]
    pool = next(row for row in data["layers"] if row["kind"] == "pool")  # global: the map
    assert pool["kernel"] == pool["inputs"][0][1:] == [7, 7] and pool["groups"] is None
    v1 = costcalc.analyze("mobilenet_v1").to_dict()["layers"]
    for kind in ("batchnorm", "act", "fc", "input"):
        row = next(r for r in data["layers"] + v1 if r["kind"] == kind)
        assert (row["kernel"], row["stride"], row["groups"]) == (None, None, None), kind
    assert layers["input"]["inputs"] == []
    shuffle = next(r for r in costcalc.analyze("shufflenet_v2").to_dict()["layers"]
                   if r["kind"] == "shuffle")
    assert shuffle["groups"] == 2 and shuffle["kernel"] is None


def test_json_types_never_change_shape() -> None:
    square = costcalc.analyze("mobilenet_v1").to_dict()
    rect = costcalc.analyze("mobilenet_v1", resolution=(224, 160), width=1).to_dict()
    for data in (square, rect):
        assert data["json_version"] == 2
        assert isinstance(data["width"], float)
        assert isinstance(data["resolution"], list) and len(data["resolution"]) == 2
        assert all(isinstance(v, str | int | list | dict | None) for v in
                   data["conventions"].values())
    assert (square["resolution"], rect["resolution"]) == ([224, 224], [224, 160])
    assert set(square["conventions"]) == set(rect["conventions"])
    c = square["conventions"]
    assert (c["macs"], c["params"], c["params_roles"], c["non_trainable"]) == (
        "mult-add", "framework", ["weights", "biases", "bn"], "bn-running-statistics")
    paper = costcalc.analyze("mobilenet_v1", params="paper").to_dict()["conventions"]
    assert paper["params_roles"] == ["weights"]
    assert costcalc.analyze("mobilenet_v1", params="deploy").to_dict()["conventions"][
        "non_trainable"] == "none-folded"


# ---------------------------------------------------------------------------------------------
# Weight and activation dtypes (issue 14, item 11)


def test_weight_and_activation_dtypes_price_their_own_bytes() -> None:
    base = costcalc.analyze("mobilenet_v1").totals
    mixed = costcalc.analyze("mobilenet_v1", weight_dtype="int8", act_dtype="fp16")
    t = mixed.totals
    assert t.weight_bytes == base.params  # 1 byte per param
    assert t.activation_bytes == 2 * base.activations  # 2 bytes per element
    assert (t.peak_activation_bytes, t.block_memory_bytes) == (
        base.peak_activation_bytes // 2, base.block_memory_bytes // 2)
    assert (mixed.weight_dtype, mixed.act_dtype) == ("int8", "fp16")
    conv1 = next(r for r in mixed.layers if r.name == "conv1")  # 864 weights, 3x224x224 in
    moved = 864 * 1 + (3 * 224 * 224 + 32 * 112 * 112) * 2
    assert conv1.arithmetic_intensity == conv1.macs / moved
    # --dtype sets both; an override replaces one of them
    both = costcalc.analyze("mobilenet_v1", dtype="int8").totals.values
    assert both == costcalc.analyze("mobilenet_v1", weight_dtype="int8",
                                    act_dtype="int8").totals.values
    assert costcalc.analyze("mobilenet_v1", dtype="fp16", weight_dtype="int8").totals.values \
        == t.values


@pytest.mark.parametrize("name", ["fp8", "e4m3", "e5m2"])
def test_fp8_names_are_one_byte_floats(name: str) -> None:
    from costcalc.metrics import dtype_bits, dtype_kind

    assert (dtype_bits(name), dtype_kind(name)) == (8, "float")
    t = costcalc.analyze("squeezenet_v1_0", dtype=name, hardware="horowitz45nm").totals
    int8 = costcalc.analyze("squeezenet_v1_0", dtype="int8", hardware="horowitz45nm").totals
    assert t.activation_bytes == t.activations and t.weight_bytes == t.params
    assert t.dram_bytes == int8.dram_bytes  # the same bytes move
    assert t.energy_compute != int8.energy_compute  # float arithmetic, not integer


def test_unknown_dtypes_list_the_names() -> None:
    with pytest.raises(CostcalcError, match="unknown dtype 'fp9'\n  fix: use fp32, fp16, bf16, "
                                            "fp8, e4m3, e5m2, int8, int4 or a bit width"):
        costcalc.analyze("mobilenet_v1", act_dtype="fp9")


def test_each_metric_uses_its_dtype() -> None:
    """Traffic: weights at the weights' type, tensors at the activations'; the arithmetic at
    the wider type (int8 weights, fp16 activations compute in fp16); transfer at the
    activations'; model size stores weights at the weights' type unless weight_bits says."""
    hw = "horowitz45nm"
    mixed = costcalc.analyze("squeezenet_v1_0", weight_dtype="int8", act_dtype="fp16",
                             hardware=hw).totals
    w8 = costcalc.analyze("squeezenet_v1_0", dtype="int8", hardware=hw).totals
    a16 = costcalc.analyze("squeezenet_v1_0", dtype="fp16", hardware=hw).totals
    assert mixed.dram_weights_bytes == w8.dram_weights_bytes
    assert mixed.dram_inputs_bytes == a16.dram_inputs_bytes
    assert mixed.rf_weights_bytes == w8.rf_weights_bytes
    assert mixed.rf_outputs_bytes == a16.rf_outputs_bytes
    assert mixed.energy_compute == a16.energy_compute
    assert costcalc.analyze("squeezenet_v1_0", dtype="fp16", weight_dtype="int8",
                            transfer={"pdu": 100}).totals.transfer_bytes == \
        costcalc.analyze("squeezenet_v1_0", dtype="fp16", transfer={"pdu": 100}).totals \
        .transfer_bytes
    size8 = costcalc.analyze("squeezenet_v1_0", weight_dtype="int8",
                             size={"density": 0.5}).totals
    explicit = costcalc.analyze("squeezenet_v1_0", size={"density": 0.5, "weight_bits": 8})
    assert size8.model_weights_bytes == explicit.totals.model_weights_bytes
    assert costcalc.analyze("squeezenet_v1_0", weight_dtype="int8",
                            size={"density": 0.5, "weight_bits": 4}).totals \
        .model_weights_bytes < size8.model_weights_bytes  # weight_bits wins
