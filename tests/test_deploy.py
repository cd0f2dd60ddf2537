"""Model size (dense and Deep Compression's sparse format) and split-computing transfer:
closed forms, an oracle for the expected filler count, the arithmetic the papers rows' notes
state, and the CLI's options and errors."""

from __future__ import annotations

import functools
import json
import math
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner

from costcalc import analyze
from costcalc.cli import main
from costcalc.deploy import expected_fillers
from costcalc.deployment import ModelSize, Transfer, parse_densities
from costcalc.errors import CostcalcError, SpecError
from costcalc.papers import load_tables
from costcalc.spec import parse_spec


@functools.cache
def paper_table(table_id: str):
    (table,) = [t for t in load_tables() if t.id == table_id]
    return table


def row_settings(table_id: str, label: str) -> dict:
    (row,) = [r for r in paper_table(table_id).rows if r.label == label]
    return dict(row.settings)


def test_dense_size_closed_form() -> None:
    """cifar10_micro: 89,440 kernel weights at 8 bits + 138 biases at fp32 = 89,992 B."""
    r = analyze("cifar10_micro", size=ModelSize(weight_bits=8))
    assert r.totals.model_weights_bytes == 89_440
    assert r.totals.model_other_bytes == 138 * 4
    assert r.totals.model_bytes == 89_992
    assert r.totals.model_mb == 89_992 / 10**6 and r.totals.model_mib == 89_992 / 2**20
    # 3 bits: rounded up to whole bytes per layer (2,400 / 25,600 / 51,200 / 10,240 weights)
    r3 = analyze("cifar10_micro", size=ModelSize(weight_bits=3))
    assert r3.totals.model_weights_bytes == sum(-(-w * 3 // 8) for w in (2400, 25600, 51200,
                                                                          10240))


def test_dense_32bit_equals_weight_bytes_for_every_convention() -> None:
    for spec, params in (("resnet_cifar", "framework"), ("mobilenet_v2", "deploy"),
                         ("squeezenet_v1_0", "paper")):
        r = analyze(spec, params=params, size=ModelSize())
        assert r.totals.model_bytes == r.totals.weight_bytes


def test_sparse_closed_form_with_fillers() -> None:
    """conv2 of cifar10_micro at density 1/2 with 1-bit indices: ceil(25,600 / 2) = 12,800
    kept; q = (1/2)^2 = 1/4, fillers = 12,800 x (1/4) / (3/4) = 4,266.7 -> 4,267."""
    size = ModelSize(weight_bits=4, density=parse_densities(["conv2=0.5"]), storage="sparse",
                     index_bits=1)
    r = analyze("cifar10_micro", size=size)
    row = {layer.name: layer for layer in r.layers}["conv2"]
    assert row.kept_weights == 12_800 and row.filler_entries == 4_267
    assert row.stored_entries == 17_067
    assert row.model_bytes == 4 + 16 * 4 + -(-17_067 * 4 // 8) + -(-17_067 // 8) + 32 * 4
    assert row.params_pruned == 12_800 + 32
    conv1 = {layer.name: layer for layer in r.layers}["conv1"]
    assert conv1.kept_weights == 2_400 and conv1.filler_entries == 0  # density 1: no gaps


def fillers_by_encoding(mask: np.ndarray, index_bits: int) -> int:
    """What the encoder does: a gap of g positions between kept weights (from the start for
    the first) takes (g - 1) // 2^index_bits filler entries."""
    positions = np.flatnonzero(mask)
    gaps = np.diff(np.concatenate(([-1], positions)))
    return int(((gaps - 1) // 2**index_bits).sum())


@pytest.mark.parametrize(("density", "index_bits"), [(0.33, 4), (0.09, 4), (0.2, 3), (0.5, 1)])
def test_expected_fillers_against_random_masks(density: float, index_bits: int) -> None:
    """Oracle: the mean filler count over i.i.d. random masks is nnz q / (1 - q)."""
    rng = np.random.default_rng(0)
    counts, expected = [], []
    for _ in range(10):  # 10 x 10^6 positions: the rare long gaps of d = 0.33 occur ~5,000 times
        mask = rng.random(1_000_000) < density
        counts.append(fillers_by_encoding(mask, index_bits))
        expected.append(expected_fillers(int(mask.sum()), Fraction(str(density)), index_bits))
    assert math.isclose(np.mean(counts), np.mean(expected), rel_tol=0.04)


def test_smaller_density_never_larger() -> None:
    sizes = [analyze("squeezenet_v1_1", size=ModelSize(8, parse_densities([d]), "sparse"))
             .totals.model_bytes for d in ("1", "0.7", "0.4", "0.2", "0.05")]
    assert sizes == sorted(sizes, reverse=True)


def test_longest_density_name_wins() -> None:
    size = ModelSize(density=parse_densities(["0.5", "fire2=0.25", "fire2.squeeze=1"]))
    rows = {r.name: r for r in analyze("squeezenet_v1_0", size=size).layers}
    assert rows["fire2.squeeze"].kept_weights == 96 * 16
    assert rows["fire2.expand.1.conv1"].kept_weights == 16 * 64 // 4
    assert rows["fire3.squeeze"].kept_weights == 128 * 16 // 2


SPEC_WITH_DENSITY = """version: 1
name: Pruned
input: {channels: 3, size: 8}
blocks:
  pair:
    layers:
      - conv: {name: a, out: 8, kernel: 3, pad: 1}
      - conv: {name: b, out: 8, kernel: 1}
layers:
  - conv: {name: conv1, out: 8, kernel: 3, pad: 1}
  - pair: {name: p}
  - pool: {op: max, kernel: 2, stride: 2}
  - fc: {name: head, out: 10}
density: {"*": 0.5, p: 0.25, p.b: 1/8}
variants:
  light: {density: {p: 3/4}}
"""


def kept(spec_text: str, variant: str | None = None, cli: tuple[str, ...] = ()) -> dict:
    spec = parse_spec(spec_text, "pruned.yaml")
    r = analyze(spec, variant=variant, size=ModelSize(density=parse_densities(cli)))
    return {row.name: row.kept_weights for row in r.layers if row.kept_weights}


def test_spec_density_block_layer_and_every_layer() -> None:
    """`density:` names layers and blocks as --density does: "*" every layer, a block every
    weighted layer inside it, the longest name first."""
    assert kept(SPEC_WITH_DENSITY) == {"conv1": 108, "p.a": 144, "p.b": 8, "head": 640}


def test_variant_over_spec_and_command_line_over_both() -> None:
    """A variant's density overrides the spec's for every layer it names (p: 3/4 covers p.b
    too, although the spec names p.b itself); the command line overrides both, by the same
    rule."""
    assert kept(SPEC_WITH_DENSITY, "light") == {"conv1": 108, "p.a": 432, "p.b": 48,
                                                "head": 640}
    assert kept(SPEC_WITH_DENSITY, "light", ("p.a=1",)) == {"conv1": 108, "p.a": 576,
                                                            "p.b": 48, "head": 640}
    assert kept(SPEC_WITH_DENSITY, "light", ("1",)) == {"conv1": 216, "p.a": 576, "p.b": 64,
                                                        "head": 1280}


def test_spec_density_unknown_name_is_located() -> None:
    text = SPEC_WITH_DENSITY.replace("p.b: 1/8", "p.c: 1/8")
    with pytest.raises(SpecError) as info:
        kept(text)
    assert str(info.value) == ("pruned.yaml:14: density: the network has no layer or block "
                               "named 'p.c'\n  fix: did you mean 'p.b'?")
    with pytest.raises(SpecError, match=r"pruned.yaml:14: density: 'pool1' has no weights"):
        kept(SPEC_WITH_DENSITY.replace("p.b: 1/8", "pool1: 1/8"))


def test_squeezenet_variants_are_table1_as_printed_and_as_counted() -> None:
    """The spec's variants carry Table 1's densities; the command line overrides them: the
    printed fire8 e3x3 33 % on top of `deep-compression` is `table1-pruning`."""
    def totals(variant: str, *cli: str):
        return analyze("squeezenet_v1_0", variant=variant, params="paper",
                       size=ModelSize(8, parse_densities(cli), "sparse")).totals

    assert totals("deep-compression").params_pruned == 421_098
    assert totals("deep-compression").model_bytes == 673_421
    assert totals("table1-pruning").params_pruned == 425_522
    assert totals("deep-compression", "fire8.expand.2=0.33").values == \
        totals("table1-pruning").values


def test_squeezenet_6bit_needs_entropy_coded_indices() -> None:
    """The 0.47 MB row's note: the fixed format gives 0.55 MB; 0.47 MB follows with the index
    stream at 2.525 bits per entry (its entropy in the released file), or with 3-bit indices
    and no filler, codebook or bias at all."""
    t = analyze("squeezenet_v1_0", **row_settings(
        "table2_sizes", "6-bit Deep Compression (4-bit indices), MB")).totals
    assert round(t.model_mb, 2) == 0.55
    entropy_coded = (t.stored_entries * (6 + 2.525) / 8 + t.model_codebook_bytes
                     + t.model_other_bytes + t.model_header_bytes)
    assert round(entropy_coded / 10**6, 2) == 0.47
    assert round(t.params_pruned * (6 + 3) / 8 / 10**6, 2) == 0.47
    three_bit = dict(row_settings("table2_sizes", "6-bit Deep Compression (4-bit indices), MB"))
    three_bit["size"] = {**three_bit["size"], "index_bits": 3}
    assert round(analyze("squeezenet_v1_0", **three_bit).totals.model_mb, 2) == 0.53


@pytest.mark.parametrize(("spec", "published"), [("alexnet", 217.00), ("vgg16", 512.2)])
def test_deck_size_without_the_last_fc_layer(spec: str, published: float) -> None:
    """The deck's AlexNet and VGG16 sizes: the network without fc8, in MiB."""
    r = analyze(spec, size=ModelSize())
    fc8 = {row.name: row for row in r.layers}["fc8"]
    assert fc8.params == 4_097_000
    without = (r.totals.model_bytes - fc8.model_bytes) / 2**20
    assert abs(without - published) / published < 0.0005


def test_deck_googlenet_size_40_follows_no_rule_tried() -> None:
    """The not-reproduced row's arithmetic: 26.70 MiB as is, 22.79 without the last classifier
    (the AlexNet/VGG16 rule), and with the train network's two auxiliary heads (3,188,840 and
    3,190,888 params, counted from BVLC's train_val.prototxt) 51.03, or 39.30 without its three
    1000-way classifiers: none is the printed 40."""
    r = analyze("googlenet", size=ModelSize())
    classifier = next(row for row in r.layers if row.kind == "fc")
    assert (r.totals.params, classifier.params) == (6_998_552, 1_025_000)
    mib = {"as is": r.totals.params * 4 / 2**20,
           "without the classifier": (r.totals.params - classifier.params) * 4 / 2**20,
           "with both heads": (r.totals.params + 3_188_840 + 3_190_888) * 4 / 2**20,
           "heads, no classifiers": (r.totals.params + 3_188_840 + 3_190_888
                                     - 3 * classifier.params) * 4 / 2**20}
    assert {k: round(v, 2) for k, v in mib.items()} == {
        "as is": 26.70, "without the classifier": 22.79, "with both heads": 51.03,
        "heads, no classifiers": 39.30}
    assert all(round(v) != 40 for v in mib.values())


def test_deck_resnet50_size_counts_bn_statistics() -> None:
    """97.49 MiB of params; with BN running mean and variance 97.69, within 0.01 of 97.70."""
    r = analyze("resnet", variant="50", size=ModelSize())
    assert round(r.totals.model_mib, 2) == 97.49
    assert abs((r.totals.model_bytes + 4 * r.totals.bn_buffers) / 2**20 - 97.70) < 0.01


def test_the_packet_counts_imply_one_pdu() -> None:
    """Every whole payload size from 1 to 40,000 B against the deck's packet column (the
    transfer table's published counts, the bytes from the model): only 116 B fits."""
    rows = [r for r in paper_table("transfer").rows if r.metric.startswith("layer.")]
    report = analyze("cifar10_micro", dtype="int8").to_dict()
    sizes = {layer["name"]: layer["activation_bytes"] for layer in report["layers"]}
    pairs = [(sizes[r.metric.split(".", 1)[1].rsplit(".", 1)[0]], int(r.published))
             for r in rows]
    fits = [pdu for pdu in range(1, 40_001) if all(-(-b // pdu) == n for b, n in pairs)]
    assert fits == [116]


def test_cut_on_a_dag_sends_every_crossing_tensor() -> None:
    """Cut after fire2's 1x1 expand: its output and the squeeze output (still needed by the 3x3
    expand) both cross."""
    r = analyze("squeezenet_v1_0", dtype="int8",
                transfer=Transfer(pdu=1000, cut="fire2.expand.1.conv1"))
    rows = {row.name: row for row in r.layers}
    assert r.totals.cut_bytes == 16 * 55 * 55 + 64 * 55 * 55
    assert r.totals.cut_packets == rows["fire2.squeeze.relu"].transfer_packets + \
        rows["fire2.expand.1.conv1"].transfer_packets == 49 + 194
    order = [row.name for row in r.layers]
    upto = order[:order.index("fire2.expand.1.conv1") + 1]
    assert r.totals.cut_macs == sum(rows[n].macs for n in upto)


def test_no_cut_runs_everything_and_sends_the_output() -> None:
    r = analyze("cifar10_micro", dtype="int8", batch=4, transfer=Transfer(pdu=116))
    assert r.totals.cut_macs == r.totals.macs
    assert r.totals.cut_bytes == 40 and r.totals.cut_packets == 1


@pytest.mark.parametrize(("make", "message"), [
    (lambda: parse_densities(["0"]), "not in (0, 1]"),
    (lambda: parse_densities(["x=abc"]), "not in (0, 1]"),
    (lambda: ModelSize(weight_bits=33), "from 1 to 32"),
    (lambda: ModelSize(weight_bits=2.5), "from 1 to 32"),
    (lambda: ModelSize(storage="sprase"), "did you mean 'sparse'"),
    (lambda: ModelSize(index_bits=0), "from 1 to 16"),
    (lambda: Transfer(pdu=-5), "at least 1"),
    (lambda: analyze("cifar10_micro", size={"density": {"conv9": 0.5}}), "did you mean 'conv3'"),
    (lambda: analyze("cifar10_micro", size={"bits": 8}), "size settings take"),
    (lambda: analyze("cifar10_micro", transfer={"pdu": 116, "cut": "pool9"}),
     "did you mean 'pool3'"),
])
def test_bad_settings(make, message: str) -> None:
    with pytest.raises(CostcalcError) as info:
        make()
    assert message in str(info.value)


def test_cli_report_size_and_transfer() -> None:
    runner = CliRunner()
    r = runner.invoke(main, ["report", "squeezenet_v1_0", "--params", "paper", "--format",
                             "json", "--weight-bits", "8", "--storage", "sparse", "--density",
                             "0.33", "--density", "conv10=0.2", "--density", "conv1=1"],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["totals"]["size"]["bytes"] == sum(
        data["totals"]["size"][f"{p}_bytes"] for p in ("weights", "indices", "codebook",
                                                       "other", "header"))
    assert "storage" in data["conventions"] and "transfer" not in data["totals"]
    r = runner.invoke(main, ["--columns", "100", "report", "cifar10_micro", "--dtype", "int8",
                             "--pdu", "116", "--cut", "pool2"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "│ conv1      │ conv    │ 32x32x32 │    32,768 │     283 │" in r.output
    assert "bytes sent at the cut" in r.output


@pytest.mark.parametrize(("args", "message"), [
    (["--cut", "pool2"], "--cut needs --pdu"),
    (["--density", "conv9=0.5"], "did you mean 'conv3'?"),
    (["--pdu", "0"], "--pdu must be"),
    (["--weight-bits", "40"], "--weight-bits must be"),
    (["--weight-bits", "2.5"], "--weight-bits must be a whole number from 1 to 32, got '2.5'"),
    (["--storage", "sparse", "--index-bits", "four"],
     "--index-bits must be a whole number from 1 to 16, got 'four'"),
    (["--pdu", "115.5"], "--pdu must be a whole number of bytes of at least 1, got '115.5'"),
])
def test_cli_errors_exit_1(args: list[str], message: str) -> None:
    r = CliRunner().invoke(main, ["report", "cifar10_micro", *args])
    assert r.exit_code == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_json_schema_declares_density() -> None:
    """The generated schema has `density:` at the top level and in variants, with its bounds."""
    jsonschema = pytest.importorskip("jsonschema")
    from costcalc.json_schema import spec_schema

    schema = spec_schema()
    base = {"version": 1, "name": "x", "input": {"size": 8}, "layers": []}
    for doc in ({**base, "density": {"conv1": 0.5, "p": "35%", "q": "1/3"}},
                {**base, "variants": {"v": {"density": {"*": 1}}}}):
        jsonschema.validate(doc, schema)
    for bad in (1.5, 0, "half"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**base, "density": {"conv1": bad}}, schema)


def test_cli_sweep_of_deployment_settings() -> None:
    """`costcalc sweep --weight-bits 16,8,6,4` prints the sizes by width; a bad axis value is
    one error, exit 1."""
    runner = CliRunner()
    r = runner.invoke(main, ["sweep", "squeezenet_v1_0", "--variant", "deep-compression",
                             "--params", "paper", "--storage", "sparse", "--weight-bits",
                             "16,8,6,4", "--metric", "model_bytes", "--format", "csv"],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == "weight_bits,width,resolution,model_bytes"
    assert r.output.splitlines()[2] == "8,1.0,227,673421"
    r = runner.invoke(main, ["sweep", "cifar10_micro", "--dtype", "int8", "--pdu", "115,116",
                             "--cut", "conv1", "--metric", "cut_packets", "--format", "csv"])
    assert r.output.splitlines()[1:] == ["115,1.0,32,285", "116,1.0,32,283"]
    for args, message in ((["--weight-bits", "8,0"], "--weight-bits must be"),
                          (["--density", "0.5,2"], "not in (0, 1]"),
                          (["--pdu", "0"], "--pdu must be"),
                          (["--metric", "latency_ms"], "need a roofline")):
        r = runner.invoke(main, ["sweep", "cifar10_micro", *args])
        assert r.exit_code == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_validate_checks_density_names_and_bundled_variants_resolve(tmp_path) -> None:
    """`costcalc validate` resolves a spec's density names (located, exit 1); every bundled
    variant that declares densities resolves them."""
    from costcalc.bundled import bundled_specs
    from costcalc.spec import load_spec

    bad = tmp_path / "pruned.yaml"
    bad.write_text(SPEC_WITH_DENSITY.replace("p.b: 1/8", "p.c: 1/8"))
    r = CliRunner().invoke(main, ["validate", str(bad)])
    assert r.exit_code == 1 and f"{bad}:14: density: the network has no layer" in r.stderr
    checked = 0
    for path in bundled_specs():
        spec = load_spec(path)
        for name, variant in spec.variants.items():
            if variant.density:
                analyze(spec, variant=name, size=ModelSize())
                checked += 1
    assert checked >= 2
