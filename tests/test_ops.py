"""Per-op closed forms, a naive counting oracle, exhaustiveness, and hypothesis properties."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costcalc.errors import ShapeError
from costcalc.ops import (
    COUNTS,
    FC,
    NO_PARAMS,
    OPS,
    Act,
    Add,
    Concat,
    Conv,
    MDConv,
    Mul,
    OpBase,
    Pool,
    Shape,
    Shuffle,
    Split,
)
from costcalc.report import BUCKETS


def test_conv_closed_form() -> None:
    # STYLE.md's example: 3x3 conv, 16 -> 32 channels, 8x8 input, pad 1.
    conv, x = Conv(out=32, kernel=3, pad=1), Shape(16, 8, 8)
    y = conv.infer((x,))
    assert y == Shape(32, 8, 8)
    assert conv.params((x,), y).weights == 4_608
    assert conv.macs((x,), y) == 294_912


def test_depthwise_and_bias() -> None:
    conv, x = Conv(kernel=3, stride=2, pad=1, groups="depthwise", bias=True), Shape(32, 112, 112)
    y = conv.infer((x,))
    assert y == Shape(32, 56, 56)
    counts = conv.params((x,), y)
    assert (counts.weights, counts.biases) == (288, 32)
    assert conv.macs((x,), y) == 288 * 56 * 56
    assert conv.bucket((x,)) == "depthwise"


def test_padding_forms_and_same() -> None:
    x = Shape(1, 7, 10)
    assert Conv(out=1, kernel=3, pad="valid").infer((x,)) == Shape(1, 5, 8)
    assert Conv(out=1, kernel=[3, 1], pad=[1, 0]).infer((x,)) == Shape(1, 7, 10)
    assert Conv(out=1, kernel=3, pad=(0, 2, 1, 1)).infer((x,)) == Shape(1, 7, 10)
    # TensorFlow SAME: ceil(input / stride)
    assert Conv(out=1, kernel=3, stride=2, pad="same").infer((x,)) == Shape(1, 4, 5)
    assert Conv(out=1, kernel=3, dilation=2, pad=2).infer((x,)) == Shape(1, 7, 10)


def test_caffe_ceil_pooling() -> None:
    # SqueezeNet: 111 -> 55 -> 27 -> 13 with 3x3/2 ceil mode; floor mode gives the same here.
    pool = Pool(op="max", kernel=3, stride=2, ceil=True)
    assert pool.infer((Shape(96, 111, 111),)).h == 55
    assert pool.infer((Shape(96, 55, 55),)).h == 27
    assert pool.infer((Shape(96, 112, 112),)).h == 56  # ceil; floor would give 55
    assert Pool(kernel=3, stride=2).infer((Shape(1, 112, 112),)).h == 55
    # Caffe drops a last window that would start in the padding.
    assert Pool(kernel=2, stride=2, pad=1, ceil=True).infer((Shape(1, 4, 4),)).h == 3
    assert Pool(op="avg", **{"global_": True}).infer((Shape(7, 13, 13),)) == Shape(7, 1, 1)


def test_fc_flattens_its_input() -> None:
    fc, x = FC(out=10), Shape(64, 3, 3)
    y = fc.infer((x,))
    assert fc.params((x,), y).weights == 576 * 10 and fc.macs((x,), y) == 5_760


def test_mdconv_splits_like_mixnet() -> None:
    md = MDConv(kernels=(3, 5, 7))
    assert md.splits(100) == [34, 33, 33]
    x = Shape(100, 14, 14)
    y = md.infer((x,))
    assert md.params((x,), y).weights == 34 * 9 + 33 * 25 + 33 * 49


def test_channel_broadcast_for_squeeze_excitation() -> None:
    assert Mul().infer((Shape(16, 8, 8), Shape(16, 1, 1))) == Shape(16, 8, 8)
    with pytest.raises(ShapeError):
        Add().infer((Shape(16, 8, 8), Shape(8, 8, 8)))


def test_activation_counts_are_per_element() -> None:
    x = Shape(2, 3, 4)
    assert Act("hswish").other_ops((x,), x) == 5 * 24


def naive_conv_macs(c_in: int, h: int, w: int, out: int, k: int, stride: int, pad: int,
                    groups: int) -> int:
    """Slide a window over the zero-padded input, as a direct convolution does, and count one
    multiply-add per tap and per input channel of the output's group (a tap on the padding
    still multiplies, as the papers count). Window positions are enumerated, not computed
    from the output-size formula."""
    per_group = c_in // groups
    rows = range(-pad, h + pad - k + 1, stride)  # top edge of every window that fits
    cols = range(-pad, w + pad - k + 1, stride)
    count = 0
    for _o, _top, _left in itertools.product(range(out), rows, cols):
        for _c, _di, _dj in itertools.product(range(per_group), range(k), range(k)):
            count += 1
    return count


@settings(max_examples=25, deadline=None)
@given(g=st.sampled_from([1, 2, 4]), cpg=st.integers(1, 3), opg=st.integers(1, 3),
       h=st.integers(3, 7), k=st.sampled_from([1, 3]), stride=st.integers(1, 2),
       pad=st.integers(0, 1))
def test_oracle_counts_equal_conv_macs(g, cpg, opg, h, k, stride, pad) -> None:
    conv, x = Conv(out=g * opg, kernel=k, stride=stride, pad=pad, groups=g), Shape(g * cpg, h, h)
    y = conv.infer((x,))
    assert conv.macs((x,), y) == naive_conv_macs(g * cpg, h, h, g * opg, k, stride, pad, g)


@settings(max_examples=50, deadline=None)
@given(g=st.integers(1, 8), cpg=st.integers(1, 8), opg=st.integers(1, 8),
       h=st.integers(1, 20), k=st.sampled_from([1, 3, 5]))
def test_groups_times_grouped_macs_equals_dense(g, cpg, opg, h, k) -> None:
    x = Shape(g * cpg, h, h)
    dense, grouped = Conv(out=g * opg, kernel=k, pad=k // 2), Conv(out=g * opg, kernel=k,
                                                                   pad=k // 2, groups=g)
    y = dense.infer((x,))
    assert g * grouped.macs((x,), y) == dense.macs((x,), y)
    assert g * grouped.params((x,), y).weights == dense.params((x,), y).weights


@settings(max_examples=50, deadline=None)
@given(parts=st.integers(1, 6), per=st.integers(1, 10), h=st.integers(1, 9),
       extra=st.lists(st.integers(1, 40), max_size=3))
def test_concat_split_shuffle_conserve_channels(parts, per, h, extra) -> None:
    x = Shape(parts * per, h, h)
    pieces = [Split(index=i, parts=parts).infer((x,)) for i in range(parts)]
    assert sum(p.c for p in pieces) == x.c
    assert Shuffle(groups=parts).infer((x,)) == x
    others = tuple(Shape(c, h, h) for c in extra)
    assert Concat().infer((x, *others)).c == x.c + sum(extra)


def test_vectorized_rules_match_scalar_rules() -> None:
    """The same op code evaluates many resolutions at once with numpy arrays."""
    sizes = np.array([96, 128, 160, 192, 224, 227, 299])
    for op, c in [(Conv(out=8, kernel=3, stride=2, pad=1), 4), (Conv(out=8, kernel=3, stride=2,
                                                                      pad="same"), 4),
                  (Pool(kernel=3, stride=2, ceil=True), 4), (MDConv(kernels=(3, 5)), 6)]:
        y = op.infer((Shape(c, sizes, sizes),))
        macs = op.macs((Shape(c, sizes, sizes),), y)
        for i, s in enumerate(sizes):
            ys = op.infer((Shape(c, int(s), int(s)),))
            assert (int(y.h[i]), int(y.w[i])) == (ys.h, ys.w)
            assert int(np.broadcast_to(macs, sizes.shape)[i]) == op.macs((Shape(c, int(s),
                                                                                int(s)),), ys)


EXAMPLES = {
    "input": lambda: OPS["input"](3, 8, 8),
    "conv": lambda: Conv(out=4, kernel=3, pad=1),
    "fc": lambda: FC(out=3),
    "mdconv": lambda: MDConv(kernels=(3, 5)),
    "pad_channels": lambda: OPS["pad_channels"](out=6),
    "adaptive_pool": lambda: OPS["adaptive_pool"](size=3),
    "upsample": lambda: OPS["upsample"](mode="bilinear", factor=2),
    "embedding": lambda: OPS["embedding"](vocab=100, dim=16),
    "lstm": lambda: OPS["lstm"](hidden=8),
    "gru": lambda: OPS["gru"](hidden=8),
    "unpriced": lambda: OPS["unpriced"](op_type="Gelu", out=4, size=[8, 8]),
}
# An embedding reads token ids: one channel (1 x steps x W).
EXAMPLE_INPUTS = {"embedding": Shape(1, 8, 8)}


@pytest.mark.parametrize("kind", sorted(OPS))
def test_every_registered_op_returns_non_negative_ints(kind: str) -> None:
    cls = OPS[kind]
    op = EXAMPLES[kind]() if kind in EXAMPLES else cls()
    xs = tuple(EXAMPLE_INPUTS.get(kind, Shape(4, 8, 8)) for _ in range(op.arity[0]))
    y = op.infer(xs)
    assert all(isinstance(d, int) and d > 0 for d in (y.c, y.h, y.w))
    counts = op.params(xs, y)
    for value in (op.macs(xs, y), op.other_ops(xs, y), counts.weights, counts.biases,
                  counts.bn, counts.buffers):
        assert isinstance(value, int) and value >= 0
    assert op.bucket(xs) in BUCKETS


@pytest.mark.parametrize("kind", sorted(OPS))
def test_every_count_is_a_rule_or_declared_zero(kind: str) -> None:
    """No silent zeros: each op defines each count or declares it zero, never both."""
    cls = OPS[kind]
    assert cls.zero <= set(COUNTS), cls.zero
    for count in COUNTS:
        defined = getattr(cls, count) is not getattr(OpBase, count)
        assert defined != (count in cls.zero), f"{kind}.{count}: defined and declared zero" \
            if defined else f"{kind}.{count}: neither defined nor declared zero"


def test_an_op_without_a_rule_is_an_error() -> None:
    @dataclass(frozen=True, slots=True)
    class Forgetful(OpBase):
        kind = "forgetful"
        zero = frozenset({"params"})

    x = Shape(4, 8, 8)
    assert Forgetful().params((x,), x) == NO_PARAMS
    with pytest.raises(NotImplementedError, match="no rule for macs"):
        Forgetful().macs((x,), x)


# ---------------------------------------------------------------------------------------------
# Segmentation and recurrent kinds (issue 11): closed forms against hand counts


def test_deconv_counts_macs_on_the_input_grid() -> None:
    # FCN's 2x upscore: 4x4 kernel, stride 2, pad 1, 21 -> 21 channels on an 8x8 map.
    deconv, x = OPS["deconv"](out=21, kernel=4, stride=2, pad=1), Shape(21, 8, 8)
    y = deconv.infer((x,))
    assert y == Shape(21, 16, 16)  # (8 - 1) * 2 - 2 * 1 + (4 - 1) + 1
    assert deconv.params((x,), y).weights == 21 * 21 * 4 * 4 == 7_056
    # each of the 64 input pixels scatters 21 x 4 x 4 products per input channel: 451,584;
    # the conv rule on the 16x16 output grid would say 4 x as many (1,806,336).
    assert deconv.macs((x,), y) == 451_584
    assert deconv.bucket((x,)) == "conv kxk"


def test_deconv_output_pad_groups_and_bias() -> None:
    deconv, x = OPS["deconv"](out=8, kernel=3, stride=2, pad=1, output_pad=1, groups=2,
                              bias=True), Shape(4, 7, 7)
    y = deconv.infer((x,))
    assert y == Shape(8, 14, 14)  # (7 - 1) * 2 - 2 + 2 + 1 + 1
    counts = deconv.params((x,), y)
    assert (counts.weights, counts.biases) == (4 * 4 * 9, 8)  # C_in x C_out/g x k²
    assert deconv.macs((x,), y) == 144 * 49
    assert deconv.other_ops((x,), y) == 8 * 14 * 14
    with pytest.raises(ShapeError, match="output_pad 2 is not smaller than stride 2"):
        OPS["deconv"](out=8, kernel=3, stride=2, output_pad=2).infer((x,))


def test_upsample_nearest_is_free_and_bilinear_is_seven_ops_per_output() -> None:
    x = Shape(21, 8, 8)
    nearest, bilinear = OPS["upsample"](factor=2), OPS["upsample"](mode="bilinear", factor=2)
    assert nearest.infer((x,)) == bilinear.infer((x,)) == Shape(21, 16, 16)
    assert nearest.other_ops((x,), Shape(21, 16, 16)) == 0
    assert bilinear.other_ops((x,), Shape(21, 16, 16)) == 7 * 21 * 256 == 37_632
    assert OPS["upsample"](mode="bilinear", size=[10, 12]).infer((x,)) == Shape(21, 10, 12)
    # to a reference layer's size (PSPNet's pyramid levels back to the 90x90 map)
    assert OPS["upsample"](mode="bilinear").infer((Shape(512, 6, 6), Shape(2048, 90, 90))) \
        == Shape(512, 90, 90)
    with pytest.raises(ShapeError, match="exactly one of"):
        OPS["upsample"](factor=2).infer((x, x))


def test_upsample_factor_rules() -> None:
    """floor(n x factor) as PyTorch's scale_factor; with corners, (n - 1) x factor + 1 as
    align_corners and Caffe's Interp (ICNet's shrink_factor 2 and zoom_factor 2 and 4)."""
    up = OPS["upsample"]
    assert up(factor=0.5).infer((Shape(3, 1025, 2049),)) == Shape(3, 512, 1024)
    assert up(factor=0.5, corners=True).infer((Shape(3, 1025, 2049),)) == Shape(3, 513, 1025)
    assert up(factor=0.5, corners=True).infer((Shape(3, 130, 258),)) == Shape(3, 65, 129)
    assert up(factor=2, corners=True).infer((Shape(256, 33, 65),)) == Shape(256, 65, 129)
    assert up(factor=4, corners=True).infer((Shape(19, 257, 513),)) == Shape(19, 1025, 2049)
    assert up(factor=1.5).infer((Shape(8, 7, 9),)) == Shape(8, 10, 13)
    with pytest.raises(ShapeError, match="upsample factor -2 is not positive"):
        up(factor=-2).infer((Shape(8, 7, 9),))
    with pytest.raises(ShapeError, match="upsample by 0.1 of 7x9 leaves 0x0"):
        up(factor=0.1).infer((Shape(8, 7, 9),))


def test_unpool_restores_its_pools_input_size() -> None:
    unpool, x = OPS["unpool"](), Shape(64, 7, 7)
    assert unpool.infer((x, x)) == Shape(64, 14, 14)
    assert unpool.check_sources((Conv(out=64), Pool(op="max", kernel=2, stride=2))) is None
    assert "a conv, not a max pool" in unpool.check_sources((Conv(out=64), Conv(out=64)))
    assert "an avg pool, not a max pool" in unpool.check_sources((Conv(), Pool(op="avg",
                                                                                kernel=2,
                                                                                stride=2)))
    assert "differ from its pool's 3 / 2" in unpool.check_sources((Conv(), Pool(kernel=3,
                                                                                stride=2)))
    with pytest.raises(ShapeError, match="must have its pool's output shape"):
        unpool.infer((x, Shape(64, 8, 8)))


def test_adaptive_pool_uses_pytorchs_windows() -> None:
    # 5 -> 3: windows [0, 2), [1, 4), [3, 5): lengths 2 + 3 + 2 = 7 per axis, 49 per channel.
    pool, x = OPS["adaptive_pool"](size=3), Shape(2, 5, 5)
    y = pool.infer((x,))
    assert y == Shape(2, 3, 3)
    assert pool.other_ops((x,), y) == 7 * 7 * 2 == 98
    assert OPS["adaptive_pool"](size=3, op="max").other_ops((x,), y) == 98 - 18
    # PSPNet's bins on a 60x60 map: equal windows, every input read once per bin.
    psp = Shape(2048, 60, 60)
    for bins in (1, 2, 3, 6):
        op = OPS["adaptive_pool"](size=bins)
        assert op.other_ops((psp,), op.infer((psp,))) == 2048 * 3600
    with pytest.raises(ShapeError, match="larger than its input"):
        OPS["adaptive_pool"](size=6).infer((Shape(2, 4, 4),))


def test_crop_centre_and_offset() -> None:
    x, ref = Shape(21, 70, 70), Shape(3, 64, 64)
    assert OPS["crop"]().infer((x, ref)) == Shape(21, 64, 64)
    assert OPS["crop"](offset=6).infer((x, ref)) == Shape(21, 64, 64)
    with pytest.raises(ShapeError, match="runs past"):
        OPS["crop"](offset=[19, 0]).infer((x, ref))
    with pytest.raises(ShapeError, match="larger than its input"):
        OPS["crop"]().infer((ref, x))


def test_prelu_per_channel_or_shared() -> None:
    x = Shape(16, 32, 32)
    assert OPS["prelu"]().params((x,), x).weights == 16
    assert OPS["prelu"](shared=True).params((x,), x).weights == 1
    assert OPS["prelu"]().other_ops((x,), x) == 2 * 16 * 1024


def test_embedding_is_a_table_without_arithmetic() -> None:
    emb, ids = OPS["embedding"](vocab=10_000, dim=256), Shape(1, 32, 1)
    y = emb.infer((ids,))
    assert y == Shape(256, 32, 1)
    assert emb.params((ids,), y).weights == 2_560_000
    with pytest.raises(ShapeError, match="one token id per step"):
        emb.infer((Shape(3, 32, 1),))


def test_lstm_counts_as_pytorch() -> None:
    # nn.LSTM(256, 256, num_layers=2): per layer 4 x 256 x (256 + 256) weights and two bias
    # vectors b_ih, b_hh of 4 x 256: 526,336 per layer, 1,052,672 in all.
    lstm, x = OPS["lstm"](hidden=256, num_layers=2), Shape(256, 32, 1)
    y = lstm.infer((x,))
    assert y == Shape(256, 32, 1)
    counts = lstm.params((x,), y)
    assert (counts.weights, counts.biases) == (1_048_576, 4_096)
    assert lstm.macs((x,), y) == 1_048_576 * 32  # weights x steps
    assert lstm.other_ops((x,), y) == (15 + 8) * 2 * 256 * 32
    # W counts independent sequences: two of them cost twice the MACs, the same params.
    two = Shape(256, 32, 2)
    assert lstm.infer((two,)) == Shape(256, 32, 2)
    assert lstm.macs((two,), lstm.infer((two,))) == 2 * 1_048_576 * 32
    # nn.LSTM(10, 20, num_layers=2, bidirectional=True): layer 2 reads 40 features.
    bi, x = OPS["lstm"](hidden=20, num_layers=2, bidirectional=True), Shape(10, 5, 1)
    y = bi.infer((x,))
    assert y == Shape(40, 5, 1)
    counts = bi.params((x,), y)
    assert counts.weights + counts.biases == 2 * (80 * 30 + 160) + 2 * (80 * 60 + 160) == 15_040


def test_gru_counts_as_pytorch() -> None:
    # nn.GRU(10, 20): 3 x 20 x (10 + 20) weights + 2 x 3 x 20 biases = 1,920.
    gru, x = OPS["gru"](hidden=20), Shape(10, 5, 1)
    y = gru.infer((x,))
    counts = gru.params((x,), y)
    assert (counts.weights, counts.biases) == (1_800, 120)
    assert gru.macs((x,), y) == 1_800 * 5
    assert gru.other_ops((x,), y) == (13 + 6) * 20 * 5
    assert OPS["gru"](hidden=20, bias=False).params((x,), y).biases == 0


def test_every_activation_is_priced_or_an_alias_of_one() -> None:
    import typing

    from costcalc.ops import ACTIVATION_ALIASES, ACTIVATION_OPS, Act, Activation

    names = set(typing.get_args(Activation))
    assert names == set(ACTIVATION_OPS) | set(ACTIVATION_ALIASES)
    assert set(ACTIVATION_ALIASES.values()) <= set(ACTIVATION_OPS)
    x = Shape(3, 2, 2)
    for fn in names:
        act = Act(fn)
        assert act.fn in ACTIVATION_OPS
        assert act.other_ops((x,), x) == ACTIVATION_OPS[ACTIVATION_ALIASES.get(fn, fn)] * 12


def test_pool_stride_is_the_kernel_unless_given() -> None:
    assert Pool(kernel=3).stride == 3 and Pool(kernel=(2, 4)).stride == (2, 4)
    assert Pool(kernel=3, stride=1).stride == 1
    assert Pool(kernel=2).infer((Shape(1, 8, 6),)) == Shape(1, 4, 3)
    assert Pool(kernel=3, stride=2).overlaps(Shape(1, 3, 3))
    assert not Pool(kernel=7, stride=1).overlaps(Shape(1, 1, 1))  # one window: nothing overlaps
