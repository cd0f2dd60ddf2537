"""Training memory (costcalc/training.py): every part counted by hand on LeNet-5, for each
optimizer; the saved-tensor rules of the other layer kinds; the outputs; bad input."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from costcalc import analyze
from costcalc.cli import main
from costcalc.errors import CostcalcError
from costcalc.expand import build_graph
from costcalc.metrics import Settings, Training
from costcalc.ops import OPS
from costcalc.report import TRAINING_METRICS, measure
from costcalc.shapes import shape_graph
from costcalc.spec import load_spec, parse_spec
from costcalc.training import RULES

LENET = parse_spec("""\
version: 1
name: LeNet-5
input: {channels: 1, size: 32}
layers:
  - conv: {name: c1, out: 6, kernel: 5, bias: true}
  - act: {name: r1, fn: relu}
  - pool: {name: p1, op: max, kernel: 2, stride: 2}
  - conv: {name: c2, out: 16, kernel: 5, bias: true}
  - act: {name: r2, fn: relu}
  - pool: {name: p2, op: max, kernel: 2, stride: 2}
  - flatten: {name: flat}
  - fc: {name: f1, out: 120}
  - act: {name: r3, fn: relu}
  - fc: {name: f2, out: 84}
  - act: {name: r4, fn: relu}
  - fc: {name: f3, out: 10}
""", "lenet.yaml")

# Params: c1 6*25 + 6 = 156, c2 16*6*25 + 16 = 2,416, f1 400*120 + 120 = 48,120,
# f2 120*84 + 84 = 10,164, f3 84*10 + 10 = 850.
PARAMS = 156 + 2_416 + 48_120 + 10_164 + 850  # 61,706
# Saved per image: the image (c1's input) 1x32x32, r1's output 6x28x28 (r1 and p1 keep it),
# p1's output 6x14x14 (p1 and c2), r2's output 16x10x10, p2's output 16x5x5 (p2, and f1
# through the flatten view), r3's 120 and r4's 84 (the next fc's inputs). c1, c2, f1 and f2's
# raw outputs are kept by nobody (a ReLU keeps its output), nor is f3's.
SAVED = {"input": 1_024, "r1": 4_704, "p1": 1_176, "r2": 1_600, "p2": 400, "r3": 120,
         "r4": 84}
BATCH = 32


@pytest.mark.parametrize(("optimizer", "buffers"), [("sgd", 0), ("momentum", 1), ("adam", 2)])
def test_lenet_training_memory_by_hand(optimizer: str, buffers: int) -> None:
    report = analyze(LENET, batch=BATCH, training=optimizer)
    t = report.to_dict()["totals"]["training"]
    saved = BATCH * sum(SAVED.values()) * 4  # 9,108 elements per image, fp32
    assert saved == 1_165_824
    assert t == {
        "weight_bytes": PARAMS * 4,  # 246,824 (no BN: no running statistics)
        "gradient_bytes": PARAMS * 4,
        "optimizer_state_bytes": buffers * PARAMS * 4,
        "saved_activation_bytes": saved,
        "total_bytes": (2 + buffers) * PARAMS * 4 + saved,
        # torchinfo: 2 x the outputs of c1, c2, f1, f2, f3 (the layers with params)
        "torchinfo_pass_bytes": 2 * BATCH * (4_704 + 1_600 + 120 + 84 + 10) * 4,
    }
    assert {"sgd": 1_659_472, "momentum": 1_906_296, "adam": 2_153_120}[optimizer] \
        == t["total_bytes"]
    per_layer = {r.name: r.saved_activation_bytes for r in report.layers}
    assert per_layer == {r.name: BATCH * 4 * SAVED.get(r.name, 0) for r in report.layers}


def tiny(channels: int, size: int, *layers: str):
    """A spec of the given layers (one YAML flow mapping each) on a channels x size x size
    input."""
    return parse_spec(f"version: 1\nname: T\ninput: {{channels: {channels}, size: {size}}}\n"
                      "layers:\n" + "".join(f"  - {layer}\n" for layer in layers))


def test_training_weights_follow_the_dtype_and_count_bn_statistics() -> None:
    spec = tiny(3, 8, "conv: {name: c, out: 4, kernel: 3, pad: 1, bias: false}",
                "batchnorm: {name: bn}",
                "act: {name: hs, fn: hswish}", "pool: {name: gap, op: avg, global: true}")
    t = analyze(spec, batch=2, dtype="fp16", training="adam").to_dict()["totals"]["training"]
    # params: conv 108 weights, BN 8 (gamma, beta); BN running mean and var 8 more
    assert t["weight_bytes"] == (108 + 8 + 8) * 2
    assert t["gradient_bytes"] == (108 + 8) * 2 and t["optimizer_state_bytes"] == 2 * 116 * 2
    # the image (conv's input) 192, the conv output (BN's input) 256 + BN's 2 x 4 statistics,
    # the BN output (hswish keeps its input) 256; the average pool keeps nothing
    assert t["saved_activation_bytes"] == 2 * (192 + 256 + 8 + 256) * 2


def test_products_softmax_dropout_and_lrn_keep_what_their_gradients_need() -> None:
    spec = tiny(4, 2, "lrn: {name: n, size: 3}", "pool: {name: gap, op: avg, global: true}",
                "act: {name: s, fn: sigmoid}", "mul: {name: m, inputs: [n, s]}",
                "dropout: {name: d}", "softmax: {name: p}")
    layers = {r.name: r.saved_activation_bytes // 4 for r in analyze(
        spec, training="sgd").layers}
    # lrn keeps its input (the image) and output; mul both factors (n, s: s is also the
    # sigmoid's own output); dropout a mask the size of its output; softmax its output
    assert layers == {"input": 16, "n": 16, "gap": 0, "s": 4, "m": 0, "d": 16, "p": 16}


def test_every_layer_kind_has_a_saved_tensor_rule() -> None:
    """A kind with no rule would be an error under --training: each new kind needs one."""
    assert set(OPS.values()) <= set(RULES), sorted(
        k for k, v in OPS.items() if v not in RULES)


def test_training_in_every_output_format() -> None:
    runner = CliRunner()
    args = ["report", "cifar10_micro", "--training", "adam", "--batch", "32"]
    data = json.loads(runner.invoke(main, [*args, "--format", "json"]).stdout)
    assert data["totals"]["training"]["saved_activation_bytes"] == 8_652_032
    assert data["conventions"]["training"] == {"optimizer": "adam", "state_buffers": 2,
                                               "master_weights": False}
    assert data["notes"]["training"].startswith("Adam: weights")
    assert "no fp32 master weights assumed" in data["notes"]["training"]
    rows = list(csv.DictReader(io.StringIO(runner.invoke(main, [*args, "--format",
                                                                "csv"]).stdout)))
    assert sum(int(r["saved_activation_bytes"]) for r in rows) == 8_652_032
    summary = dict(csv.reader(io.StringIO(runner.invoke(main, [*args, "--format", "csv",
                                                               "--summary"]).stdout)))
    assert {k: summary[k] for k in ("train_weight_bytes", "gradient_bytes",
                                    "optimizer_state_bytes", "training_bytes")} == {
        "train_weight_bytes": "358312", "gradient_bytes": "358312",
        "optimizer_state_bytes": "716624", "training_bytes": "10085280"}
    text = runner.invoke(main, [*args, "--summary"], env={"COLUMNS": "200"}).stdout
    for label, value in (("training: weights (+ BN running statistics)", "358,312"),
                         ("training: gradients", "358,312"),
                         ("training: optimizer state", "716,624"),
                         ("training: activations saved for backward", "8,652,032"),
                         ("training memory (the four above)", "10,085,280"),
                         ("torchinfo's forward/backward pass size", "11,536,896")):
        assert any(label in line and value in line for line in text.splitlines()), label
    assert "training: Adam: weights" in text
    markdown = runner.invoke(main, [*args, "--summary", "--format", "markdown"]).stdout
    assert "training memory (the four above)" in markdown and "10,085,280" in markdown
    plain = runner.invoke(main, ["report", "cifar10_micro", "--format", "json"]).stdout
    assert "training" not in json.loads(plain)["totals"]  # only when asked


@pytest.mark.parametrize(("args", "message"), [
    (["--training", "adamw"], "unknown optimizer 'adamw'\n  fix: did you mean 'adam'?"),
    (["--training", "rmsprop"], "unknown optimizer 'rmsprop'\n  fix: use sgd, momentum or adam"),
])
def test_bad_training_input_is_a_clear_error(args: list[str], message: str) -> None:
    r = CliRunner().invoke(main, ["report", "cifar10_micro", *args])
    assert r.exit_code == 1 and message in r.stderr and "Traceback" not in r.output


@pytest.mark.parametrize("batch", ["0", "-3"])
def test_a_batch_below_one_is_a_usage_error(batch: str) -> None:
    r = CliRunner().invoke(main, ["report", "cifar10_micro", "--training", "adam", "--batch",
                                  batch])
    assert r.exit_code == 2 and f"Invalid value for '--batch': {batch} is not in the range " \
        "x>=1" in r.stderr


def test_api_rejects_an_unknown_optimizer_and_a_bad_batch() -> None:
    with pytest.raises(CostcalcError, match="unknown optimizer 'sdg'"):
        analyze(LENET, training="sdg")
    with pytest.raises(CostcalcError, match="batch must be a whole number of at least 1, got 0"):
        analyze(LENET, batch=0, training="adam")


def test_training_metrics_work_on_sweep_arrays() -> None:
    """The visitors are array-safe, as every declared metric must be: one vectorized shape pass
    over widths gives what one report per width gives (sweeps could take `training`)."""
    alphas = np.array([0.5, 0.75, 1.0])
    keys = [m.key for m in TRAINING_METRICS]
    settings = Settings(batch=8, training=Training("momentum"))
    got = {k: np.zeros(3, dtype=np.int64) for k in keys}
    for group in shape_graph(build_graph(load_spec("mobilenet_v1")), alpha=alphas):
        totals = measure(group.graph, group.shapes, settings, keys=keys).totals
        for k in keys:
            got[k][group.select] = totals[k]
    for i, alpha in enumerate(alphas):
        one = analyze("mobilenet_v1", width=float(alpha), batch=8, training="momentum")
        assert {k: int(got[k][i]) for k in keys} == {k: one.totals.values[k] for k in keys}
