"""Width and resolution sweeps: one vectorized pass equals one `analyze` per configuration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costcalc import analyze, load_spec
from costcalc.bundled import bundled_specs
from costcalc.deployment import ModelSize, Transfer, parse_densities
from costcalc.errors import CostcalcError
from costcalc.expand import build_graph
from costcalc.ops import Shape
from costcalc.report import METRICS, measure
from costcalc.shapes import shape_graph
from costcalc.sweep import (
    Grid,
    combine,
    pareto_front,
    parse_sizes,
    parse_values,
    plan,
    run_chunk,
    sweep,
)

SPECS = [p.stem for p in bundled_specs()]
ALPHAS = st.lists(st.integers(10, 200).map(lambda k: k / 100), min_size=1, max_size=3,
                  unique=True)


def assert_sweep_equals_reports(name: str, alphas: list[float], sizes: list[int]) -> int:
    """The sweep equals one report per configuration; where a configuration is invalid (say,
    channels that groups do not divide at that width) the sweep fails as its report does."""
    try:
        reports = [analyze(name, width=a, resolution=s) for a in alphas for s in sizes]
    except CostcalcError:
        with pytest.raises(CostcalcError):
            sweep(name, alphas, sizes)
        return 0
    result = sweep(name, alphas, sizes)
    assert len(result) == len(reports)
    for i, report in enumerate(reports):
        alpha, size = float(result.alpha[i]), int(result.height[i])
        assert (report.width, report.input[1]) == (alpha, size)
        for metric in report.metrics:
            expected = getattr(report.totals, metric.key)
            got = result.totals[metric.key][i]
            if isinstance(expected, int):
                assert int(got) == expected, (name, alpha, size, metric.key)
            else:
                assert float(got) == pytest.approx(expected, rel=1e-12), (name, metric.key)
    return result.structures


@pytest.mark.parametrize("name", SPECS)
@settings(max_examples=1, deadline=None)
@given(alphas=ALPHAS, grow=st.booleans())
def test_vectorized_width_and_resolution_equal_scalar(name: str, alphas: list[float],
                                                      grow: bool) -> None:
    """Every bundled spec, random widths, its own resolution and 32 pixels more: every
    declared metric of the vectorized sweep equals scalar `analyze`, exactly."""
    base = load_spec(name).size[0]
    assert_sweep_equals_reports(name, alphas, [base, base + 32] if grow else [base])


def test_configurations_with_different_structures_are_grouped() -> None:
    """MobileNetV3-Small's first bottleneck drops its expansion conv where make_divisible(
    exp * alpha, 8) equals the block's input channels, which depends on alpha: the sweep shapes
    each structure separately and still equals every scalar report."""
    alphas = [0.35, 0.5, 0.75, 1.0, 1.25]
    structures = {tuple(r.name for r in analyze("mobilenet_v3_small", width=a).layers)
                  for a in alphas}
    assert len(structures) > 1, "the example must really change structure with alpha"
    assert assert_sweep_equals_reports("mobilenet_v3_small", alphas, [224]) == len(structures)


def test_sweep_refuses_counts_beyond_int64() -> None:
    with pytest.raises(CostcalcError, match="too large for a vectorized sweep"):
        sweep("vgg16", [16.0], [4096], batch=1000)


def test_sweep_rejects_bad_settings() -> None:
    with pytest.raises(CostcalcError, match="widths in"):
        sweep("mobilenet_v1", [0.0])
    with pytest.raises(CostcalcError, match="positive resolutions"):
        sweep("mobilenet_v1", [1.0], [0])


def test_sweep_totals_are_int64_arrays() -> None:
    result = sweep("mobilenet_v1", [0.25, 0.5, 0.75, 1.0], [128, 160, 192, 224])
    assert result.totals["macs"].dtype == np.int64
    # MobileNet v1 Table 6 and 7 at alpha = 0.5, 160: 77 M mult-adds (the papers files check
    # the published figures; here the grid order is pinned: alphas outer, resolutions inner).
    index = [0.25, 0.5, 0.75, 1.0].index(0.5) * 4 + [128, 160, 192, 224].index(160)
    assert result.totals["macs"][index] == analyze("mobilenet_v1", width=0.5,
                                                   resolution=160).totals.macs


# ---------------------------------------------------------------------------------------------
# The generalized sweep: grids, chunks, batch and argument axes, filters, fronts, samples


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2"])
@settings(max_examples=1, deadline=None)
@given(alphas=st.lists(st.integers(35, 150).map(lambda k: k / 100), min_size=1, max_size=3,
                      unique=True), chunk=st.integers(1, 7),
       batches=st.lists(st.integers(1, 4), min_size=1, max_size=2, unique=True))
def test_chunked_batched_grid_equals_scalar(name: str, alphas: list[float], chunk: int,
                                            batches: list[int]) -> None:
    """Any chunking of widths x resolutions x batches equals one report per configuration,
    for every declared metric; rows come in grid order (batch, width, resolution)."""
    base = load_spec(name).size[0]
    sizes = [base - 32, base]
    result = sweep(name, alphas, sizes, batches=batches, chunk=chunk)
    expected = [(b, a, s) for b in batches for a in alphas for s in sizes]
    assert len(result) == len(expected) and list(result.index) == list(range(len(expected)))
    for i, (b, a, s) in enumerate(expected):
        report = analyze(name, width=a, resolution=s, batch=b)
        assert (int(result.batch[i]), float(result.alpha[i]), int(result.height[i])) == (b, a, s)
        for metric in report.metrics:
            want, got = getattr(report.totals, metric.key), result.totals[metric.key][i]
            if isinstance(want, int):
                assert int(got) == want, (name, b, a, s, metric.key)
            else:
                assert float(got) == pytest.approx(want, rel=1e-12)


def test_argument_axes_are_separate_expansions() -> None:
    """--set n=1,3 (ResNet-8 and ResNet-20 on CIFAR): each value is its own graph."""
    result = sweep("resnet_cifar", [0.5, 1.0], [32], arg_axes={"n": [1, 3]})
    assert list(result.args["n"]) == [1, 1, 3, 3] and result.structures == 2
    for i in range(4):
        report = analyze("resnet_cifar", width=float(result.alpha[i]), resolution=32,
                         args={"n": int(result.args["n"][i])})
        assert int(result.totals["macs"][i]) == report.totals.macs
        assert int(result.totals["params"][i]) == report.totals.params


def test_broadcast_shape_pass_equals_list_of_configurations() -> None:
    """alpha (K, 1) x resolution (1, R) is the same pass as K*R listed configurations, also
    when alpha varies along both axes (the group is flattened to a list)."""
    graph = build_graph(load_spec("mobilenet_v3_small"))
    alphas, sizes = np.array([0.35, 0.5, 0.75, 1.0]), np.array([96, 128, 224])
    listed = shape_graph(graph, Shape(3, np.tile(sizes, 4), np.tile(sizes, 4)),
                         np.repeat(alphas, 3))
    grids = {
        "grid": shape_graph(graph, Shape(3, sizes[None, :], sizes[None, :]), alphas[:, None]),
        "both axes": shape_graph(graph, Shape(3, sizes[None, :], sizes[None, :]),
                                 np.repeat(alphas, 3).reshape(4, 3)),
    }
    want = np.zeros(12, dtype=np.int64)
    for group in listed:
        want[group.select] = measure(group.graph, group.shapes).totals["macs"]
    assert len(listed) > 1
    for label, groups in grids.items():
        got = np.zeros(12, dtype=np.int64)
        for group in groups:
            got[group.select] = np.broadcast_to(
                measure(group.graph, group.shapes).totals["macs"], group.select.shape)
        assert list(got) == list(want), label
    # in the grid, the split follows alpha: each group keeps every resolution
    assert all(g.select.shape[1] == 3 for g in grids["grid"])


def test_shape_graph_rejects_arrays_that_do_not_broadcast() -> None:
    graph = build_graph(load_spec("mobilenet_v1"))
    with pytest.raises(ValueError, match="broadcast"):
        shape_graph(graph, Shape(3, np.array([96, 128, 160]), np.array([96, 128, 160])),
                    np.array([0.5, 1.0]))


def test_measure_keys_computes_only_those() -> None:
    graph = build_graph(load_spec("mobilenet_v1"))
    (shaped,) = shape_graph(graph)
    some = measure(shaped.graph, shaped.shapes, keys={"macs", "peak_activation_bytes"})
    assert set(some.totals) == {"macs", "peak_activation_bytes"} and set(some.layers) == {"macs"}
    assert some.totals["macs"] == measure(shaped.graph, shaped.shapes).totals["macs"]
    with pytest.raises(CostcalcError, match="did you mean 'macs'"):
        measure(shaped.graph, shaped.shapes, keys={"mac"})


def test_ranges_are_inclusive_and_exact() -> None:
    assert parse_values("0.25:2.0:0.05", "w")[-1] == 2.0
    assert len(parse_values("0.25:2.0:0.05", "w")) == 36
    assert parse_values("1,0.75,0.5", "w") == (1, 0.75, 0.5)
    assert parse_values("96:320:8", "r", integer=True)[:2] == (96, 104)
    assert parse_sizes("224,160x128,96:128:32") == ((224, 224), (160, 128), (96, 96),
                                                     (128, 128))


@pytest.mark.parametrize(("text", "match"), [
    ("2:1:0.5", "empty"), ("1:2:0", "step"), ("1:2:-1", "step"), ("a,b", "not a number"),
    ("1:2", "range"), ("", "not a number"), ("inf", "range")])
def test_bad_ranges(text: str, match: str) -> None:
    with pytest.raises(CostcalcError, match=match):
        parse_values(text, "--width")


def brute_front(points: list[tuple[int, int, int]]) -> set[int]:
    return {i for i, p in enumerate(points)
            if not any(all(q[k] <= p[k] for k in range(len(p))) and q != p for q in points)}


@settings(max_examples=60, deadline=None)
@given(points=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)),
                       min_size=1, max_size=25), dims=st.sampled_from([2, 3]))
def test_pareto_front_equals_brute_force(points: list[tuple[int, ...]], dims: int) -> None:
    points = [p[:dims] for p in points]
    columns = [np.asarray([p[k] for p in points], dtype=np.int64) for k in range(dims)]
    assert set(pareto_front(columns).tolist()) == brute_front(points)


def test_streaming_front_and_filter_equal_the_whole_table() -> None:
    """Chunk by chunk (7 configurations at a time), the kept rows are those of the whole
    table filtered and reduced at once."""
    alphas, sizes = [0.35, 0.5, 0.75, 1.0, 1.3], [96, 128, 160, 192, 224]
    full = sweep("mobilenet_v2", alphas, sizes, keys=["macs", "params", "block_memory_bytes"])
    keep = (full.totals["macs"] < 200e6) & (full.alpha > 0.4)
    front = pareto_front([full.totals["params"][keep], full.totals["block_memory_bytes"][keep]])
    streamed = sweep("mobilenet_v2", alphas, sizes, keys=["macs"], chunk=7,
                     where="macs < 200e6 and width > 0.4",
                     pareto=["params", "block_memory_bytes"])
    assert list(streamed.index) == list(full.index[keep][front])
    assert set(streamed.totals) == {"macs"}


def test_where_rejects_unknown_names_and_non_tests() -> None:
    with pytest.raises(CostcalcError, match="did you mean 'macs'"):
        sweep("mobilenet_v1", [1.0], keys=["macs"], where="mac < 1")
    with pytest.raises(CostcalcError, match="not a true/false test"):
        sweep("mobilenet_v1", [1.0], keys=["macs"], where="macs + 1")


def test_sample_is_reproducible_and_matches_the_grid() -> None:
    alphas, sizes = [round(0.3 + 0.05 * i, 2) for i in range(15)], list(range(96, 225, 16))
    full = sweep("mobilenet_v1", alphas, sizes, keys=["macs"])
    a = sweep("mobilenet_v1", alphas, sizes, keys=["macs"], sample=20, seed=3, chunk=6)
    b = sweep("mobilenet_v1", alphas, sizes, keys=["macs"], sample=20, seed=3)
    assert len(a) == 20 == len(set(a.index.tolist())) and a.configs == 20
    assert list(a.index) == list(b.index)
    assert list(a.totals["macs"]) == list(full.totals["macs"][a.index])


def test_invalid_configurations_are_counted_then_skipped_or_refused() -> None:
    """VGG16's pool4 needs at least 16 pixels: 8x8 is invalid at every width."""
    with pytest.raises(CostcalcError, match=r"(?s)2 of 6 configurations are invalid; the first, "
                                            r"at width 0.5, 8x8.*'pool4'"):
        sweep("vgg16", [0.5, 1.0], [8, 32, 64], keys=["macs"])
    result = sweep("vgg16", [0.5, 1.0], [8, 32, 64], keys=["macs"], on_invalid="skip")
    assert (result.invalid, len(result)) == (2, 4) and list(result.height) == [32, 64, 32, 64]
    assert int(result.totals["macs"][1]) == analyze("vgg16", width=0.5,
                                                    resolution=64).totals.macs


def test_grid_limits() -> None:
    with pytest.raises(CostcalcError, match="more than the limit"):
        sweep("mobilenet_v1", [0.5, 1.0], [96, 128], max_configs=3)
    with pytest.raises(CostcalcError, match="(?s)unknown argument 'group'.*did you mean 'groups'"):
        sweep("shufflenet_v1", [1.0], arg_axes={"group": [1, 2]})
    with pytest.raises(CostcalcError, match="unknown metric 'parms'"):
        sweep("mobilenet_v1", [1.0], keys=["parms"])
    with pytest.raises(CostcalcError, match="workers"):
        sweep("mobilenet_v1", [1.0], workers=0)


def test_chunks_run_anywhere_and_combine_in_any_order() -> None:
    """A chunk is a pure function of (job, chunk): results combined in reverse order equal
    the in-process sweep (what a Dask or process pool returns, in whatever order)."""
    job = plan("mobilenet_v2", Grid((0.5, 0.75, 1.0), ((128, 128), (224, 224))), chunk=2)
    results = [run_chunk(job, c) for c in reversed(job.chunks)]
    combined = combine(job, results)
    direct = sweep("mobilenet_v2", [0.5, 0.75, 1.0], [128, 224],
                   keys=["macs", "params", "peak_activation_bytes"])
    assert len(job.chunks) == 3
    assert all(list(combined.totals[k]) == list(direct.totals[k]) for k in job.keys)


def test_dask_local_scheduler_equals_in_process() -> None:
    dask_bag = pytest.importorskip("dask.bag")
    from functools import partial

    job = plan("shufflenet_v2", Grid((0.5, 1.0, 1.5), ((160, 160), (224, 224))), chunk=2)
    results = dask_bag.from_sequence(job.chunks, npartitions=2).map(
        partial(run_chunk, job)).compute(scheduler="threads")
    combined = combine(job, results)
    direct = sweep("shufflenet_v2", [0.5, 1.0, 1.5], [160, 224],
                   keys=["macs", "params", "peak_activation_bytes"])
    assert all(list(combined.totals[k]) == list(direct.totals[k]) for k in job.keys)


def test_energy_sweeps_equal_energy_reports() -> None:
    """With a hardware profile the energy and traffic metrics are swept like the others."""
    result = sweep("mobilenet_v1", [0.5, 1.0], [128, 224], hardware="horowitz45nm")
    for i in range(len(result)):
        report = analyze("mobilenet_v1", width=float(result.alpha[i]),
                         resolution=int(result.height[i]), hardware="horowitz45nm")
        assert int(result.totals["dram_bytes"][i]) == report.totals.dram_bytes
        assert float(result.totals["energy"][i]) == pytest.approx(report.totals.energy,
                                                                  rel=1e-12)
    with pytest.raises(CostcalcError, match="energy need a hardware profile"):
        sweep("mobilenet_v1", [1.0], keys=["energy"])


@pytest.mark.parametrize(("weight_dtype", "act_dtype"), [("int8", "fp16"), ("fp8", "int4"),
                                                         ("fp16", None)])
def test_sweeps_with_weight_and_activation_dtypes_equal_reports(weight_dtype: str,
                                                                act_dtype: str | None) -> None:
    """Separate weight and activation dtypes flow through the vectorized path exactly as
    through analyze, energy and traffic included."""
    result = sweep("mobilenet_v2", [0.5, 1.0], [160, 224], dtype="fp32", hardware="horowitz45nm",
                   weight_dtype=weight_dtype, act_dtype=act_dtype)
    for i in range(len(result)):
        report = analyze("mobilenet_v2", width=float(result.alpha[i]),
                         resolution=int(result.height[i]), hardware="horowitz45nm",
                         weight_dtype=weight_dtype, act_dtype=act_dtype)
        for metric in report.metrics:
            want, got = getattr(report.totals, metric.key), result.totals[metric.key][i]
            if isinstance(want, int):
                assert int(got) == want, (weight_dtype, act_dtype, metric.key)
            else:
                assert float(got) == pytest.approx(want, rel=1e-12), metric.key


DEPLOY_SPECS = ("squeezenet_v1_0", "cifar10_micro", "mobilenet_v1", "resnet")
ROOFLINE = {"peak_macs_per_s": 2.5e9, "bandwidth_bytes_per_s": 4e8, "efficiency": 0.5}


@settings(max_examples=8, deadline=None)
@given(name=st.sampled_from(DEPLOY_SPECS),
       alphas=st.lists(st.sampled_from([0.25, 0.5, 0.75, 1.0]), min_size=1, max_size=2,
                       unique=True),
       bits=st.lists(st.integers(1, 16), min_size=1, max_size=3, unique=True),
       densities=st.lists(st.sampled_from([1, 0.5, 0.33, 0.2, 0.05]), min_size=1, max_size=2,
                          unique=True),
       storage=st.sampled_from(["dense", "sparse"]), index_bits=st.integers(1, 8),
       pdus=st.lists(st.integers(1, 5000), min_size=1, max_size=2, unique=True),
       batch=st.integers(1, 3))
def test_deployment_sweeps_equal_scalar_reports(name: str, alphas: list[float],
                                                bits: list[int], densities: list[float],
                                                storage: str, index_bits: int,
                                                pdus: list[int], batch: int) -> None:
    """Settings axes (weight bits, density, PDU) with model size, transfer, roofline latency
    and Netscope's counts: every metric the scalar report measures equals the sweep's value
    exactly, integers and floats alike."""
    result = sweep(name, alphas, batch=batch, size={"storage": storage,
                                                    "index_bits": index_bits},
                   transfer={"pdu": 1}, latency=ROOFLINE, count="netscope",
                   setting_axes={"weight_bits": bits, "density": densities, "pdu": pdus})
    assert len(result) == len(alphas) * len(bits) * len(densities) * len(pdus)
    for i in range(len(result)):
        b, d, pdu = (result.args[k][i].item() for k in ("weight_bits", "density", "pdu"))
        report = analyze(name, width=float(result.alpha[i]), batch=batch,
                         size=ModelSize(b, parse_densities([str(d)]), storage, index_bits),
                         transfer=Transfer(pdu), latency=ROOFLINE, count="netscope")
        assert {m.key for m in report.metrics} == set(result.totals)
        for metric in report.metrics:
            expected, got = getattr(report.totals, metric.key), result.totals[metric.key][i]
            assert got.item() == expected, (name, b, d, pdu, metric.key)


def test_weight_bits_sweep_of_squeezenet() -> None:
    """`--weight-bits 16,8,6,4` at the deep-compression variant: the Table 2 sizes of
    docs/deploy.md at 8 and 6 bits, one expansion for all four."""
    result = sweep("squeezenet_v1_0", None, variant="deep-compression", params="paper",
                   size={"storage": "sparse"}, setting_axes={"weight_bits": [16, 8, 6, 4]},
                   keys=["model_bytes", "model_mb"])
    assert result.args["weight_bits"].tolist() == [16, 8, 6, 4]
    assert result.totals["model_bytes"].tolist()[1:3] == [673_421, 548_326]
    assert result.structures == 1


def test_settings_axes_errors() -> None:
    with pytest.raises(CostcalcError, match="model_bytes need a model size"):
        sweep("cifar10_micro", [1.0], keys=["model_bytes"])
    with pytest.raises(CostcalcError, match="latency_ms need a roofline"):
        sweep("cifar10_micro", [1.0], keys=["latency_ms"])
    with pytest.raises(CostcalcError, match="did you mean 'weight_bits'"):
        sweep("cifar10_micro", [1.0], setting_axes={"weight_bit": [8]})
    with pytest.raises(CostcalcError, match="from 1 to 32"):
        sweep("cifar10_micro", [1.0], setting_axes={"weight_bits": [8, 40]})
    with pytest.raises(CostcalcError, match="not in \\(0, 1\\]"):
        sweep("cifar10_micro", [1.0], setting_axes={"density": [0.5, 1.5]})
    with pytest.raises(CostcalcError, match="efficiency axis needs a roofline"):
        sweep("cifar10_micro", [1.0], setting_axes={"efficiency": [0.5]})


TRAINING_SPECS = ("cifar10_micro", "mobilenet_v2", "squeezenet_v1_0", "alexnet",
                  "mobilenet_v3_small", "dlbench_lstm")


@pytest.mark.parametrize("name", TRAINING_SPECS)
@settings(max_examples=3, deadline=None)
@given(alphas=st.lists(st.sampled_from([0.25, 0.5, 0.75, 1.0, 1.3]), min_size=1, max_size=2,
                       unique=True),
       sizes=st.lists(st.sampled_from([96, 128, 160, 224]), min_size=1, max_size=2,
                      unique=True),
       batches=st.lists(st.integers(1, 64), min_size=1, max_size=2, unique=True),
       optimizers=st.lists(st.sampled_from(["sgd", "momentum", "adam"]), min_size=1,
                           max_size=3, unique=True),
       dtypes=st.sampled_from([(None, None), ("int8", "fp16"), ("fp16", "int4")]))
def test_training_sweeps_equal_training_reports(name: str, alphas: list[float],
                                                sizes: list[int], batches: list[int],
                                                optimizers: list[str],
                                                dtypes: tuple[str | None, str | None]) -> None:
    """An optimizer axis over widths, resolutions and batches (LSTM: steps x 1 inputs): every
    metric, the training memory's included, equals `analyze(..., training=optimizer)` exactly
    at every point; sub-byte activations round once per total in both."""
    weight_dtype, act_dtype = dtypes
    res = [(s, 1) if name == "dlbench_lstm" else (s, s) for s in sizes]
    # grid order: settings axes outermost, then batch, width, resolution
    points = [(o, b, a, r) for o in optimizers for b in batches for a in alphas for r in res]
    dtype_settings = {"weight_dtype": weight_dtype, "act_dtype": act_dtype}
    try:
        reports = [analyze(name, width=a, resolution=r, batch=b, training=o, **dtype_settings)
                   for o, b, a, r in points]
    except CostcalcError:  # a configuration no layer accepts: the sweep refuses it too
        with pytest.raises(CostcalcError):
            sweep(name, alphas, res, batches=batches, setting_axes={"optimizer": optimizers},
                  **dtype_settings)
        return
    result = sweep(name, alphas, res, batches=batches, setting_axes={"optimizer": optimizers},
                   **dtype_settings)
    assert len(result) == len(points)
    training_keys = {m.key for m in METRICS if m.family == "training"}
    assert training_keys <= set(result.totals)
    for i, (report, (o, b, a, r)) in enumerate(zip(reports, points, strict=True)):
        assert (str(result.args["optimizer"][i]), int(result.batch[i]), float(result.alpha[i]),
                int(result.height[i]), int(result.width[i])) == (o, b, a, *r)
        assert {m.key for m in report.metrics} == set(result.totals)
        for metric in report.metrics:
            expected, got = getattr(report.totals, metric.key), result.totals[metric.key][i]
            if isinstance(expected, int):
                assert int(got) == expected, (name, o, b, a, r, metric.key)
            else:
                assert metric.key not in training_keys
                assert float(got) == pytest.approx(expected, rel=1e-12), (name, metric.key)


def test_a_fixed_optimizer_and_training_errors() -> None:
    """`training=` fixes the optimizer (no axis); the optimizer axis is one expansion."""
    fixed = sweep("mobilenet_v1", [0.5, 1.0], batches=[1, 16], training="momentum",
                  keys=["training_bytes", "optimizer_state_bytes"])
    assert fixed.args == {} and fixed.structures == 1
    assert fixed.totals["training_bytes"].tolist() == [
        analyze("mobilenet_v1", width=a, batch=b, training="momentum").totals.training_bytes
        for b in (1, 16) for a in (0.5, 1.0)]
    # momentum keeps one buffer per trainable param: the gradients' size
    assert fixed.totals["optimizer_state_bytes"].tolist()[1] == \
        analyze("mobilenet_v1", training="momentum").totals.gradient_bytes
    with pytest.raises(CostcalcError, match="training_bytes need an optimizer"):
        sweep("cifar10_micro", [1.0], keys=["training_bytes"])
    with pytest.raises(CostcalcError, match="did you mean 'sgd'"):
        sweep("cifar10_micro", [1.0], setting_axes={"optimizer": ["adam", "sdg"]})
    with pytest.raises(CostcalcError, match="'optimizer' is a name, not a number"):
        sweep("cifar10_micro", [1.0], setting_axes={"optimizer": ["adam"]},
              where="optimizer > 1")
