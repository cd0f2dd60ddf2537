"""Dotted references: `inputs: [b.x]` reads the layer `x` inside the block instance `b`, as
reports name it (docs/spec-format.md, "How layers are named"), and a block's text argument
named in its `inputs:` passes it a layer (ENet's upsampling bottleneck and its pool's indices)."""

from __future__ import annotations

import textwrap

import pytest

from costcalc import analyze, build_graph
from costcalc.errors import SpecError
from costcalc.spec import parse_spec

# A SegNet-like pair: `down` keeps its max pool's indices, the unpooling outside reads them.
DOWN = """\
version: 1
name: T
input: {channels: 3, size: 32}
blocks:
  down:
    args: {c: null}
    layers:
      - conv: {name: conv, out: c, kernel: 3, pad: 1, act: relu}
      - pool: {name: pool, op: max, kernel: 2, stride: 2}
      - conv: {name: proj, out: c, kernel: 1, when: c > 100}
  up:
    args: {indices: input}
    layers:
      - conv: {name: conv, kernel: 1}
      - unpool: {name: unpool, inputs: [conv, indices]}
"""


def graph_of(layers: str, blocks: str = "") -> tuple[dict, dict]:
    text = DOWN + textwrap.indent(textwrap.dedent(blocks), "  ") + "layers:\n" + textwrap.indent(
        textwrap.dedent(layers), "  ")
    graph = build_graph(parse_spec(text, "t.yaml"))
    shapes = {row.name: row.output for row in analyze(graph).layers}
    return graph.by_name(), shapes


def error_of(layers: str, blocks: str = "") -> tuple[int, str, str]:
    with pytest.raises(SpecError) as info:
        graph_of(layers, blocks)
    problem, = info.value.problems
    return problem.line, problem.what, problem.fix


def test_an_unpooling_outside_a_block_reads_the_pool_inside_it() -> None:
    layers, shapes = graph_of("""
        - down: {name: d1, c: 8}
        - conv: {name: mid, out: 8, kernel: 1}
        - unpool: {name: back, inputs: [mid, d1.pool]}
        """)
    assert layers["back"].inputs == ("mid", "d1.pool")
    assert shapes["d1.pool"] == (8, 16, 16) and shapes["back"] == (8, 32, 32)


def test_a_dotted_name_means_what_the_local_name_means_inside() -> None:
    # `conv` inside d1 is its output after `act: relu`; so is `d1.conv` outside
    layers, _ = graph_of("""
        - down: {name: d1, c: 8}
        - add: {name: join, inputs: [d1.conv, d1.conv]}
        - conv: {name: last, out: 4, kernel: 1, inputs: [d1.input]}
        """)
    assert layers["join"].inputs == ("d1.conv.relu", "d1.conv.relu")
    assert layers["last"].inputs == ("input",)  # d1's input is the network's


def test_a_sibling_instance_reads_another_instance_s_inner_layer() -> None:
    layers, shapes = graph_of("""
        - down: {name: d1, c: 8}
        - down: {name: d2, c: 8}
        - up: {name: u2, indices: d2.pool}
        - up: {name: u1, indices: d1.pool}
        """)
    assert layers["u2.unpool"].inputs == ("u2.conv", "d2.pool")
    assert layers["u1.unpool"].inputs == ("u1.conv", "d1.pool")
    assert shapes["u1.unpool"] == (8, 32, 32)


def test_a_block_s_own_layers_may_name_a_sibling_instance_s_inner_layer() -> None:
    # names inside a block are looked up in the block, then outward, as plain names are
    layers, _ = graph_of("""
        - down: {name: d1, c: 8}
        - skip: {name: s}
        """, blocks="""\
        skip:
          layers:
            - conv: {name: conv, out: 8, kernel: 1}
            - unpool: {name: unpool, inputs: [conv, d1.pool]}
        """)
    assert layers["s.unpool"].inputs == ("s.conv", "d1.pool")


def test_repeats_nesting_parallel_branches_and_shortcuts_are_reachable() -> None:
    layers, _ = graph_of("""
        - down: {name: d, c: 4, n: 2}
        - wrap: {name: w}
        - parallel:
            name: mix
            inputs: [input]
            branches:
              - [conv: {out: 4, kernel: 1}]
              - [conv: {out: 4, kernel: 1}, conv: {name: tail, out: 4, kernel: 1}]
        - res: {name: r}
        - unpriced: {name: all, op_type: Gather, out: 4, inputs: [
            d_1.pool, d.pool, w.inner.pool, mix.2.tail, r.shortcut.conv1]}
        """, blocks="""\
        wrap:
          layers:
            - down: {name: inner, c: 4}
        res:
          layers:
            - conv: {out: 8, kernel: 1}
          residual:
            shortcut: [conv: {out: 8, kernel: 1}]
        """)
    # `d` is the last of d_1, d_2, as a plain reference to a repeated entry is
    assert layers["all"].inputs == ("d_1.pool", "d_2.pool", "w.inner.pool", "mix.2.tail",
                                    "r.shortcut.conv1")


def test_a_layer_argument_passes_through_an_enclosing_block() -> None:
    layers, _ = graph_of("""
        - down: {name: d1, c: 8}
        - outer: {name: o, pool: d1.pool}
        """, blocks="""\
        outer:
          args: {pool: input}
          layers:
            - up: {name: u, indices: pool}
        """)
    assert layers["o.u.unpool"].inputs == ("o.u.conv", "d1.pool")


def test_an_unknown_inner_layer_is_located_with_did_you_mean() -> None:
    line, what, fix = error_of("""
        - down: {name: d1, c: 8}
        - unpool: {inputs: [d1, d1.pol]}
        """)
    assert line == 19
    assert what == "block instance 'd1' (block down) has no layer 'pol' (in 'd1.pol')"
    assert fix == "did you mean 'd1.pool'?"


def test_an_unknown_instance_suggests_the_dotted_names_in_scope() -> None:
    line, what, fix = error_of("""
        - down: {name: d1, c: 8}
        - unpool: {inputs: [d1, dl.pool]}
        """)
    assert (line, what, fix) == (19, "unknown layer 'dl.pool' in inputs",
                                 "did you mean 'd1.pool'?")


def test_an_inner_layer_skipped_by_its_when_says_so() -> None:
    _, what, fix = error_of("""
        - down: {name: d1, c: 8}
        - conv: {inputs: [d1.proj]}
        """)
    assert what == "block instance 'd1' (block down) has no layer 'proj' (in 'd1.proj')"
    assert fix == "its entry 'proj' (line 10) is skipped there: its `when` is false for " \
        "this instance"


def test_a_dotted_name_through_a_plain_layer_is_an_error() -> None:
    _, what, _ = error_of("""
        - conv: {name: c1, out: 8, kernel: 1}
        - conv: {inputs: [c1.bn]}
        """)
    assert what == "'c1' is a layer, not a block instance, parallel or shortcut: 'c1.bn' " \
        "names no layer"


def test_a_dotted_name_to_a_later_instance_is_a_forward_reference() -> None:
    line, what, fix = error_of("""
        - unpool: {name: early, inputs: [input, d1.pool]}
        - down: {name: d1, c: 8, inputs: [input]}
        """)
    assert (line, what, fix) == (18, "'d1.pool' is used before it is defined (line 19)",
                                 "list layers in dependency order")


def test_a_dotted_name_can_close_a_cycle() -> None:
    _, what, _ = error_of("""
        - conv: {name: a, out: 8, kernel: 1, inputs: [d1.pool]}
        - down: {name: d1, c: 8}
        """)
    assert what == "cycle: a -> d1 -> a"


def test_a_layer_argument_naming_no_layer_is_located_at_the_call() -> None:
    line, what, fix = error_of("""
        - down: {name: d1, c: 8}
        - up: {name: u1, indices: d1.pooling}
        """)
    assert line == 19
    assert what == "block instance 'd1' (block down) has no layer 'pooling' (in 'd1.pooling')"
    assert fix == "did you mean 'd1.pool'?"
    _, what, _ = error_of("""
        - up: {name: u1, indices: nowhere}
        """)
    assert what == "unknown layer 'nowhere' in block 'up': 'indices' (a layer the block reads)"


def test_a_layer_argument_s_default_is_the_block_s_own_name() -> None:
    # `indices: input` is the block's input: here a max pool, so the unpooling fits
    layers, _ = graph_of("""
        - pool: {name: p, op: max, kernel: 2}
        - up: {name: u1}
        """)
    assert layers["u1.unpool"].inputs == ("u1.conv", "p")


def test_a_word_with_dots_is_not_a_choice() -> None:
    with pytest.raises(SpecError) as info:
        graph_of("""
            - act_unit: {fn: d1.pool}
            """, blocks="""\
            act_unit:
              args: {fn: relu}
              layers:
                - act: {fn: fn}
            """)
    assert "block 'act_unit': 'fn'" in info.value.problems[0].what


def test_channels_of_a_dotted_name_reads_the_inner_layer() -> None:
    _, shapes = graph_of("""
        - down: {name: d1, c: 8}
        - conv: {name: wide, out: 4 * channels(d1.conv), kernel: 1, inputs: [input]}
        """)
    assert shapes["wide"] == (32, 32, 32)
    line, what, fix = error_of("""
        - down: {name: d1, c: 8}
        - conv: {out: channels(d1.cnv), kernel: 1}
        """)
    assert (line, what, fix) == (19, "block instance 'd1' (block down) has no layer 'cnv' "
                                 "(in 'd1.cnv')", "did you mean 'd1.conv'?")
    _, what, fix = error_of("""
        - down: {name: d1, c: 8}
        - conv: {out: channels(d2.conv), kernel: 1}
        """)
    assert (what, fix) == ("conv: 'out': unknown layer 'd2.conv' in channels(d2.conv)",
                           "did you mean 'd1.conv'?")


def test_a_layer_argument_s_default_that_is_no_layer_is_located_at_the_call() -> None:
    line, what, fix = error_of("""
        - conv: {out: 8, kernel: 1}
        - far: {name: f}
        """, blocks="""\
        far:
          args: {src: nowhere}
          layers:
            - add: {inputs: [input, src]}
        """)
    assert (line, what, fix) == (23, "block 'far': 'src' names no layer: the default "
                                 "'nowhere' is not a layer at the block's start",
                                 "pass `src: LAYER` in this call")
