"""The spec loader: blocks, repeats, residuals, branches, DAGs, width rules, variants."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costcalc import analyze, build_graph
from costcalc.errors import CostcalcError, SpecError
from costcalc.spec import WidthRule, parse_spec


def spec(body: str, head: str = "input: {channels: 3, size: 32}") -> str:
    return f"version: 1\nname: T\n{head}\n" + textwrap.dedent(body)


def kinds(text: str, **settings) -> list[tuple[str, str, tuple]]:
    graph = build_graph(parse_spec(text), **settings)
    report = analyze(graph)
    return [(r.name, r.kind, r.output) for r in report.layers]


def test_defaults_and_sugar_expand_to_conv_bn_act() -> None:
    text = spec("""
        defaults:
          conv: {bias: false, norm: batchnorm, act: relu6}
        layers:
          - conv: {out: 8, kernel: 3, pad: 1}
          - conv: {out: 4, kernel: 1, act: none}
        """)
    assert [(n, k) for n, k, _ in kinds(text)] == [
        ("input", "input"), ("conv1", "conv"), ("conv1.bn", "batchnorm"),
        ("conv1.relu6", "act"), ("conv2", "conv"), ("conv2.bn", "batchnorm")]


def test_repeat_applies_stride_to_the_first_only() -> None:
    text = spec("""
        blocks:
          b:
            args: {c: null, s: 1}
            repeat: {s: 1}
            layers:
              - conv: {out: c, kernel: 3, stride: s, pad: 1}
        layers:
          - b: {c: 8, s: 2, n: 3}
          - conv: {out: 8, kernel: 1, stride: 2, n: 2}
        """)
    shapes = [out for _, _, out in kinds(text)]
    assert shapes == [(3, 32, 32), (8, 16, 16), (8, 16, 16), (8, 16, 16), (8, 8, 8), (8, 8, 8)]


def test_residual_identity_and_projection_shortcut() -> None:
    text = spec("""
        blocks:
          res:
            args: {c: null, s: 1}
            layers:
              - conv: {out: c, kernel: 3, stride: s, pad: 1}
            residual:
              shortcut:
                - conv: {out: c_out, kernel: 1, stride: s, scale: false,
                         when: s != 1 or c_in != c_out}
              act: relu
        layers:
          - res: {c: 3}
          - res: {c: 8, s: 2}
        """)
    names = [n for n, _, _ in kinds(text)]
    assert names == ["input", "res1.conv1", "res1.add", "res1.relu", "res2.conv1",
                     "res2.shortcut.conv1", "res2.add", "res2.relu"]


def test_parallel_branches_and_identity_branch() -> None:
    text = spec("""
        layers:
          - parallel:
              name: mix
              branches:
                - [conv: {out: 4, kernel: 1}]
                - [conv: {out: 2, kernel: 3, pad: 1}, conv: {out: 6, kernel: 1}]
                - []
        """)
    rows = kinds(text)
    assert rows[-1] == ("mix", "concat", (4 + 6 + 3, 32, 32))
    assert "mix.2.conv2" in [n for n, _, _ in rows]


def test_named_inputs_make_a_dag_and_auto_names_are_referable() -> None:
    text = spec("""
        layers:
          - conv: {name: a, out: 8, kernel: 1}
          - pool: {op: max, kernel: 2, stride: 2}
          - conv: {out: 8, kernel: 1, stride: 2, inputs: [a]}
          - add: {inputs: [pool1, conv1]}
        """)
    assert kinds(text)[-1] == ("add1", "add", (8, 16, 16))


def test_when_and_args_and_variants() -> None:
    text = spec("""
        args: {extra: 0, classes: 10}
        variants:
          big: {args: {extra: 1}, resolution: 64}
        layers:
          - conv: {out: 8, kernel: 3, pad: 1, when: extra == 1}
          - pool: {op: avg, global: true}
          - fc: {out: classes, scale: false}
        """)
    assert len(kinds(text)) == 3
    big = kinds(text, variant="big")
    assert len(big) == 4 and big[0][2] == (3, 64, 64)
    assert kinds(text, args={"classes": 5})[-1][2] == (5, 1, 1)
    with pytest.raises(CostcalcError, match="unknown variant 'bgi'"):
        kinds(text, variant="bgi")


@pytest.mark.parametrize("rule, channels, alpha, expected", [
    (WidthRule(round="truncate", min=8), 1024, 0.75, 768),
    (WidthRule(round="truncate", min=8), 32, 0.25, 8),
    (WidthRule(round="divisor", divisor=8, min=8), 16, 0.35, 8),
    (WidthRule(round="divisor", divisor=8, min=8), 320, 1.4, 448),
    (WidthRule(round="nearest"), 100, 0.5, 50),
    (WidthRule(round="truncate", min=8), 3, 1.0, 3),  # at alpha = 1 counts stay as written
])
def test_width_rules(rule: WidthRule, channels: int, alpha: float, expected: int) -> None:
    assert rule.apply(channels, alpha) == expected


def test_scale_false_and_scale_expression() -> None:
    text = spec("""
        width: {round: nearest}
        layers:
          - conv: {out: 100, kernel: 1}
          - conv: {out: 100, kernel: 1, scale: false}
          - conv: {out: 100, kernel: 1, scale: alpha > 1}
        """)
    assert [r[2][0] for r in kinds(text, width=0.5)[1:]] == [50, 100, 100]
    assert [r[2][0] for r in kinds(text, width=2.0)[1:]] == [200, 100, 200]


def test_input_size_pair_and_resolution_override() -> None:
    text = spec("layers:\n  - conv: {out: 4, kernel: 1}\n", "input: {channels: 1, size: [20, 30]}")
    assert kinds(text)[0][2] == (1, 20, 30)
    assert kinds(text, resolution=(8, 9))[0][2] == (1, 8, 9)


def test_yaml_aliases_cannot_explode(tmp_path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 8):
        bomb += f"a{i}: &a{i} [*{'a' if i == 1 else f'a{i - 1}'}" + \
            f", *{'a' if i == 1 else f'a{i - 1}'}" * 9 + "]\n"
    with pytest.raises(SpecError, match="more than"):
        parse_spec(bomb)


@settings(max_examples=20, deadline=None)
@given(names=st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), min_size=3,
                      max_size=3, unique=True).filter(lambda ns: "input" not in ns))
def test_renaming_layers_changes_nothing(names: list[str]) -> None:
    template = """
        layers:
          - conv: {{name: {0}, out: 8, kernel: 3, pad: 1}}
          - conv: {{name: {1}, out: 8, kernel: 1}}
          - add: {{name: {2}, inputs: [{0}, {1}]}}
        """
    base = analyze(parse_spec(spec(template.format("a", "b", "c"))))
    renamed = analyze(parse_spec(spec(template.format(*names))))
    assert renamed.totals == base.totals
    assert [(r.kind, r.output, r.macs) for r in renamed.layers] == \
        [(r.kind, r.output, r.macs) for r in base.layers]


def test_validate_reports_mutually_recursive_blocks_located(tmp_path) -> None:
    from click.testing import CliRunner

    from costcalc.cli import main

    path = tmp_path / "loop.yaml"
    path.write_text(spec("""
        blocks:
          a:
            layers:
              - b: {}
          b:
            layers:
              - parallel: {branches: [[c: {}]]}
          c:
            layers:
              - a: {}
        layers:
          - a: {}
        """))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:14: block 'a' uses itself through a -> b -> c -> a",
        "  fix: blocks cannot be recursive"]


def test_the_spec_model_is_typed_records_not_yaml() -> None:
    from costcalc.spec import BlockCall, Entry, OpCall, Parallel
    from costcalc.yamlnodes import Node

    parsed = parse_spec(spec("""
        defaults:
          conv: {bias: false, act: relu}
        blocks:
          b:
            args: {c: null}
            layers:
              - conv: {out: c, kernel: 1}
        layers:
          - conv: {name: stem, out: 8, kernel: 3}
          - b: {c: 16, n: 2}
          - parallel: {branches: [[conv: {out: 4}], []]}
        """))
    stem, block, par = parsed.layers
    assert isinstance(stem, Entry) and isinstance(stem.body, OpCall)
    assert (stem.name, stem.line, stem.body.act.raw, stem.body.fields["bias"].raw) == \
        ("stem", 13, "relu", False)
    assert stem.body.act.line == 6  # the kind's defaults are merged in, with their own lines
    assert isinstance(block.body, BlockCall) and block.n.raw == 2
    assert isinstance(par.body, Parallel) and len(par.body.branches) == 2

    def no_nodes(value) -> None:
        assert not isinstance(value, Node), value
        if hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                no_nodes(getattr(value, name))
        elif isinstance(value, tuple | list):
            for item in value:
                no_nodes(item)
        elif isinstance(value, dict):
            for item in value.values():
                no_nodes(item)

    no_nodes(parsed)


def test_width_and_channel_expressions_wait_for_the_shape_pass() -> None:
    """The graph does not depend on alpha: the same graph shaped at two widths gives each
    width's channel counts, and a condition on channels decides per width."""
    from costcalc.shapes import shape_graph

    text = spec("""
        width: {round: nearest, min: 1}
        layers:
          - conv: {name: a, out: 8, kernel: 1}
          - conv: {name: b, out: 12, kernel: 1, scale: false, when: c_in != 12}
          - conv: {name: c, out: c_in * 2, kernel: 1, scale: false}
        """)
    graph = build_graph(parse_spec(text))
    (at_1,) = shape_graph(graph, alpha=1.0)
    (at_1_5,) = shape_graph(graph, alpha=1.5)
    assert [(layer.name, at_1.shapes[layer.name].c) for layer in at_1.graph.layers] == [
        ("input", 3), ("a", 8), ("b", 12), ("c", 24)]
    # at 1.5, a has 12 channels, so b (when c_in != 12) does not exist and c reads a
    assert [(layer.name, at_1_5.shapes[layer.name].c) for layer in at_1_5.graph.layers] == [
        ("input", 3), ("a", 12), ("c", 24)]
    assert at_1_5.graph.by_name()["c"].inputs == ("a",)


# ---------------------------------------------------------------------------------------------
# Least-surprise defaults (docs/spec-format.md, "Coming from PyTorch or Keras")

LENET = """
    args: {classes: 10}
    layers:
      - conv: {out: 6, kernel: 5, act: relu}
      - pool: {kernel: 2}
      - conv: {out: 16, kernel: 5, act: relu}
      - pool: {kernel: 2}
      - fc: {out: 120, act: relu}
      - fc: {out: 84, act: relu}
      - fc: {out: classes}
    """


def test_lenet_written_the_pytorch_way_counts_as_pytorch() -> None:
    # nn.MaxPool2d(2) strides by 2 and nn.Conv2d has a bias: torchvision-style LeNet-5 on a
    # 1x32x32 input has 61,706 parameters and 416,520 MACs (conv 117,600 + 240,000, fc 58,920).
    report = analyze(build_graph(parse_spec(spec(LENET, "input: {channels: 1, size: 32}"))))
    assert report.totals.macs == 416_520
    assert report.totals.params == 61_706
    assert [r.output for r in report.layers if r.kind == "pool"] == [(6, 14, 14), (16, 5, 5)]


def test_pool_stride_defaults_to_its_kernel_and_an_explicit_stride_wins() -> None:
    text = spec("""
        layers:
          - pool: {kernel: 3}
          - pool: {kernel: [2, 4]}
          - pool: {kernel: 3, stride: 1}
        """, "input: {channels: 1, size: 36}")
    assert [r[2] for r in kinds(text)[1:]] == [(1, 12, 12), (1, 6, 3), (1, 4, 1)]


def test_bias_defaults_to_true_unless_the_layer_carries_batchnorm() -> None:
    text = spec("""
        defaults:
          deconv: {kernel: 1}
        layers:
          - conv: {out: 4, kernel: 1}
          - conv: {out: 4, kernel: 1, norm: batchnorm}
          - conv: {out: 4, kernel: 1, norm: batchnorm, bias: true}
          - conv: {out: 4, kernel: 1, bias: false}
          - deconv: {out: 4}
          - fc: {out: 4, norm: batchnorm}
        """, "input: {channels: 4, size: 1}")
    graph = build_graph(parse_spec(text))
    biases = [layer.op.bias for layer in graph.layers if hasattr(layer.op, "bias")]
    assert biases == [True, False, True, False, True, False]
    # `defaults:` is an explicit setting: it wins over the rule
    text = spec("""
        defaults:
          conv: {bias: true, norm: batchnorm}
        layers:
          - conv: {out: 4, kernel: 1}
        """)
    assert build_graph(parse_spec(text)).layers[1].op.bias is True


def test_the_layers_that_set_the_output_channels_do_not_scale_unless_asked() -> None:
    text = spec(LENET, "input: {channels: 1, size: 32}")
    assert kinds(text, width=0.5)[-1][2] == (10, 1, 1)
    assert [r[2][0] for r in kinds(text, width=0.5) if r[1] == "conv"] == [3, 8]
    asked = text.replace("fc: {out: classes}", "fc: {out: classes, scale: true}")
    assert kinds(asked, width=0.5)[-1][2] == (5, 1, 1)
    # through layers whose channels follow their input (activation, pool, a join of branches)
    text = spec("""
        layers:
          - conv: {name: a, out: 8, kernel: 1}
          - conv: {name: b, out: 8, kernel: 1, inputs: [input]}
          - add: {inputs: [a, b]}
          - act: {fn: relu}
          - pool: {op: avg, global: true}
        """)
    assert [r[2][0] for r in kinds(text, width=0.5)[1:]] == [8, 8, 8, 8, 8]


def test_an_out_read_from_channel_counts_is_not_scaled_again() -> None:
    # c_in is already alpha's width: DenseNet's transition halves it once, not twice
    text = spec("""
        layers:
          - conv: {out: 64, kernel: 1}
          - conv: {out: c_in // 2, kernel: 1}
          - conv: {out: 10, kernel: 1}
        """)
    assert [r[2][0] for r in kinds(text, width=0.5)[1:]] == [32, 16, 10]


def test_validate_notes_overlapping_pools_and_a_scaled_output(tmp_path) -> None:
    from click.testing import CliRunner

    from costcalc.cli import main

    path = tmp_path / "net.yaml"
    path.write_text(spec("""
        layers:
          - conv: {out: 8, kernel: 3}
          - pool: {name: p1, kernel: 3, stride: 2}
          - pool: {name: p2, kernel: 3, stride: 2, pad: 1}
          - pool: {name: p3, kernel: 2}
          - fc: {out: 10, scale: true}
        """))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: T,")
    assert result.stderr.splitlines() == [
        f"{path}:7: note: pooling windows overlap (kernel 3, stride 2) in 'p1', 'p2'",
        "  fix: legal (AlexNet's 3x3/2 pooling does it on purpose), but usually a forgotten "
        "stride: without `stride` a pool's stride is its kernel",
        f"{path}:10: note: the network's output channels change with the width multiplier "
        "(10 at width 1, 5 at width 0.5): 'fc1' is scaled",
        "  fix: usually a mistake (the classes do not thin with alpha): remove its `scale:`, "
        "the layers that set the output are not scaled by default"]
    clean = tmp_path / "lenet.yaml"
    clean.write_text(spec(LENET, "input: {channels: 1, size: 32}"))
    result = CliRunner().invoke(main, ["validate", str(clean)])
    assert (result.exit_code, result.stderr) == (0, "")


# ---------------------------------------------------------------------------------------------
# The language: text arguments, channels(NAME), activations

TEXT_BLOCK = """
    blocks:
      unit:
        args: {c: null, act: relu, op: max}
        layers:
          - conv: {name: conv, out: c, kernel: 3, pad: 1, act: act}
          - act: {name: again, fn: act}
          - pool: {name: pool, op: op, kernel: 2}
        residual: {when: false, act: act}
      outer:
        args: {fn: relu}
        layers:
          - unit: {name: inner, c: 4, act: fn}
    layers:
      - unit: {c: 8}
      - unit: {c: 8, act: hswish, op: avg}
      - outer: {fn: mish}
    """


def test_a_text_argument_sets_an_activation_a_function_and_a_choice() -> None:
    graph = build_graph(parse_spec(spec(TEXT_BLOCK)))
    by_name = graph.by_name()
    assert by_name["unit1.conv.relu"].op.fn == "relu"
    assert by_name["unit2.conv.hswish"].op.fn == "hswish"
    assert by_name["unit2.again"].op.fn == "hswish"
    assert (by_name["unit1.pool"].op.op, by_name["unit2.pool"].op.op) == ("max", "avg")
    assert by_name["outer1.inner.conv.mish"].op.fn == "mish"  # passed through two blocks


def test_channels_of_a_named_layer_inside_a_block() -> None:
    text = spec("""
        width: {round: nearest}
        blocks:
          se:
            args: {t: 4}
            layers:
              - conv: {name: expand, out: c_in * t, kernel: 1, scale: false}
              - pool: {name: squeeze, op: avg, global: true}
              - conv: {name: reduce, out: channels(input) // 2, kernel: 1}
              - conv: {name: excite, out: channels(expand), kernel: 1, act: sigmoid}
              - mul: {inputs: [expand, excite]}
        layers:
          - conv: {out: 16, kernel: 1}
          - se: {}
        """)
    for width, (c, expanded) in {1.0: (16, 64), 0.5: (8, 32)}.items():
        shapes = {r[0]: r[2][0] for r in kinds(text, width=width)}
        assert (shapes["se1.reduce"], shapes["se1.excite"]) == (c // 2, expanded)


def test_new_activations_are_priced_per_element_and_silu_is_swish() -> None:
    from costcalc.ops import ACTIVATION_OPS, Act, Shape

    x = Shape(2, 3, 4)
    assert Act("silu").fn == "swish"
    assert Act("silu").other_ops((x,), x) == Act("swish").other_ops((x,), x) == 4 * 24
    assert Act("gelu").other_ops((x,), x) == 5 * 24 and ACTIVATION_OPS["mish"] == 5
    text = spec("layers:\n  - conv: {out: 4, kernel: 1, act: silu}\n")
    assert kinds(text)[-1][0] == "conv1.silu"  # named as written


def test_the_json_schema_accepts_text_arguments_inside_blocks_only() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    from costcalc.json_schema import spec_schema

    validator = jsonschema.Draft202012Validator(spec_schema())
    document = yaml.safe_load(spec(TEXT_BLOCK))
    assert not list(validator.iter_errors(document))
    document["layers"].append({"conv": {"out": 4, "act": "act"}})  # no block: a typo
    assert not validator.is_valid(document)
