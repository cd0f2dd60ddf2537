"""Layer kinds: one frozen dataclass per kind, registered by its YAML name.

An op owns its shape rule and its hardware-independent counts (params, MACs, other arithmetic).
The rules use only `+ - * //` and the helpers below, so the same code evaluates one
configuration with Python ints or many at once with numpy integer arrays (sweeps): there is no
second copy of any formula. Dimensions are therefore typed `Dim` (an int or an int array).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np

from .errors import ShapeError

Dim = Any  # int, or a numpy integer array when sweeping

# ---------------------------------------------------------------------------------------------
# Shapes and counts


@dataclass(frozen=True, slots=True)
class Shape:
    """One image's tensor, channels × height × width (batch is applied by the metrics)."""

    c: Dim
    h: Dim
    w: Dim

    @property
    def numel(self) -> Dim:
        return self.c * self.h * self.w

    def __str__(self) -> str:
        return f"{self.c}x{self.h}x{self.w}"


@dataclass(frozen=True, slots=True)
class ParamCounts:
    """Parameters by role. `buffers` (BN running statistics) are state, not parameters."""

    weights: Dim = 0
    biases: Dim = 0
    bn: Dim = 0
    buffers: Dim = 0


NO_PARAMS = ParamCounts()


class Geometry(NamedTuple):
    """A layer's window as a report shows it (OpBase.geometry)."""

    kernel: tuple[Dim, Dim] | None
    stride: tuple[Dim, Dim] | None
    groups: Dim | None

# ---------------------------------------------------------------------------------------------
# Helpers that work on ints and numpy arrays alike


def ceil_div(a: Dim, b: Dim) -> Dim:
    return -((-a) // b)


def maximum(a: Dim, b: Dim) -> Dim:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.maximum(a, b)
    return max(a, b)


def any_true(cond: Any) -> bool:
    # numpy's reduction costs ~10 us even on a Python bool; one configuration gives bools
    return bool(np.any(cond)) if isinstance(cond, np.ndarray) else bool(cond)


def all_equal(a: Dim, b: Dim) -> bool:
    equal = a == b
    return bool(np.all(equal)) if isinstance(equal, np.ndarray) else bool(equal)


def as_pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


# ---------------------------------------------------------------------------------------------
# Spatial rules shared by conv, pooling and mixed-kernel conv

Padding = int | tuple[int, ...] | Literal["same", "valid"]


def pads(pad: Padding) -> tuple[int, int, int, int]:
    """Explicit padding as (top, bottom, left, right); 'valid' is zero padding."""
    if isinstance(pad, str):  # 'valid'; 'same' is resolved by `spatial`
        return (0, 0, 0, 0)
    if isinstance(pad, int):
        return (pad, pad, pad, pad)
    if len(pad) == 2:
        return (pad[0], pad[0], pad[1], pad[1])
    if len(pad) != 4:
        raise ShapeError(f"pad has {len(pad)} value{'s' * (len(pad) != 1)}",
                         "write one number, [height, width] or [top, bottom, left, right]")
    return (pad[0], pad[1], pad[2], pad[3])


def out_size(size: Dim, kernel: int, stride: int, before: int, after: int,
             dilation: int = 1, ceil: bool = False) -> Dim:
    """Output length along one axis: floor (conv) or Caffe's ceil mode (pooling)."""
    span = dilation * (kernel - 1) + 1
    padded = size + before + after
    if any_true(padded < span):
        raise ShapeError(f"kernel {span} is larger than the padded input {_fmt(padded)}",
                         "use a smaller kernel, more padding, or a larger input")
    if not ceil:
        return (padded - span) // stride + 1
    out = ceil_div(padded - span, stride) + 1
    # Caffe: the last window must start inside the image (or its leading padding).
    return out - ((out - 1) * stride >= size + before)


def spatial(x: Shape, kernel: tuple[int, int], stride: tuple[int, int], pad: Padding,
            dilation: int = 1, ceil: bool = False) -> tuple[Dim, Dim]:
    """Output (h, w); 'same' follows TensorFlow: ceil(input / stride)."""
    if pad == "same":
        return ceil_div(x.h, stride[0]), ceil_div(x.w, stride[1])
    top, bottom, left, right = pads(pad)
    h = out_size(x.h, kernel[0], stride[0], top, bottom, dilation, ceil)
    w = out_size(x.w, kernel[1], stride[1], left, right, dilation, ceil)
    if any_true(h <= 0) or any_true(w <= 0):
        raise ShapeError(f"output size {_fmt(h)}x{_fmt(w)} is not positive",
                         "check the kernel, stride and padding against the input size")
    return h, w


def _fmt(value: Dim) -> str:
    if isinstance(value, np.ndarray):
        return f"min {int(value.min())}"
    return str(value)


# ---------------------------------------------------------------------------------------------
# The registry

OPS: dict[str, type] = {}


def op(kind: str):
    """Register an op class under its YAML name."""

    def register(cls: type[OpBase]) -> type[OpBase]:
        cls.kind = kind
        OPS[kind] = cls
        return cls

    return register


COUNTS = ("params", "macs", "other_ops")  # the hardware-independent counts every op gives


class OpBase:
    """Shared by every op: one input, the same shape out. Each count in COUNTS is either a
    method the op defines or declared zero in `zero`; anything else is an error, never a
    silent 0 (tests/test_ops.py checks every registered op)."""

    kind: ClassVar[str]
    arity: ClassVar[tuple[int, int | None]] = (1, 1)  # (min, max) inputs; None = any
    zero: ClassVar[frozenset[str]] = frozenset()  # counts that are zero for this kind
    bucket_name: ClassVar[str] = "other"  # breakdown bucket; conv decides it per layer
    folds_bn: ClassVar[bool] = False  # a following batch norm can fold into this layer's bias
    inplace: ClassVar[bool] = False  # may overwrite its input's buffer (elementwise, views)
    # Where the output channels come from: "first" input, "all" inputs (joins), or the op's
    # "own" fields; a kind with an `out` field sets its own unless `out` is left to the input.
    channels_from: ClassVar[str] = "first"
    unpriced: ClassVar[bool] = False  # no cost rule: its zeros make every total a lower bound

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        return xs[0]

    def params(self, xs: tuple[Shape, ...], y: Shape) -> ParamCounts:
        return self._declared_zero("params", NO_PARAMS)

    def macs(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return self._declared_zero("macs", 0)

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        """Arithmetic that is not a multiply-accumulate (FLOPs = 2 × MACs + this)."""
        return self._declared_zero("other_ops", 0)

    def bucket(self, xs: tuple[Shape, ...]) -> str:
        return self.bucket_name

    def geometry(self, xs: tuple[Shape, ...]) -> Geometry:
        """The kernel and stride (h, w) and the groups a report shows: the fields of those
        names, None where the kind has none (mdconv's several kernels are `kernels`)."""
        kernel, stride = getattr(self, "kernel", None), getattr(self, "stride", None)
        return Geometry(None if kernel is None else as_pair(kernel),
                        None if stride is None else as_pair(stride),
                        getattr(self, "groups", None))

    def check_sources(self, sources: tuple[OpBase, ...]) -> str | None:
        """A problem with the kinds of the layers this one reads (unpool needs a max pool)."""
        return None

    def _declared_zero(self, count: str, zero: Any) -> Any:
        if count not in self.zero:
            raise NotImplementedError(f"op '{self.kind}' has no rule for {count}: define "
                                      f"{count}() or declare it in `zero`")
        return zero


NO_COUNTS = frozenset(COUNTS)
# The breakdown buckets a layer falls in (`bucket`), in the order reports show them.
BUCKETS = ("conv 1x1", "depthwise", "conv kxk", "fc", "other", "unpriced")


# ---------------------------------------------------------------------------------------------
# Ops


@op("input")
@dataclass(frozen=True, slots=True)
class Input(OpBase):
    """The network input (torch.fx's placeholder)."""

    channels_from: ClassVar[str] = "own"

    zero: ClassVar[frozenset[str]] = NO_COUNTS

    channels: int
    height: int
    width: int
    arity: ClassVar[tuple[int, int | None]] = (0, 0)

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        return Shape(self.channels, self.height, self.width)


@op("conv")
@dataclass(frozen=True, slots=True)
class Conv(OpBase):
    """2-D convolution; `groups: depthwise` sets groups = input channels (out defaults to it)."""

    folds_bn: ClassVar[bool] = True

    out: int | None = None
    kernel: int | tuple[int, int] = 1
    stride: int | tuple[int, int] = 1
    pad: Padding = 0
    dilation: int = 1
    groups: int | Literal["depthwise"] = 1
    bias: bool = False

    def _groups(self, x: Shape) -> Dim:
        return x.c if self.groups == "depthwise" else self.groups

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        x = xs[0]
        groups = self._groups(x)
        out = x.c if self.out is None else self.out
        if any_true(x.c % groups != 0):
            raise ShapeError(f"in_channels={_fmt(x.c)} is not divisible by groups={groups}",
                             "make the input channels a multiple of groups")
        if any_true(out % groups != 0):
            raise ShapeError(f"out={_fmt(out)} is not divisible by groups={groups}",
                             "make out a multiple of groups")
        h, w = spatial(x, as_pair(self.kernel), as_pair(self.stride), self.pad, self.dilation)
        return Shape(out, h, w)

    def params(self, xs: tuple[Shape, ...], y: Shape) -> ParamCounts:
        kh, kw = as_pair(self.kernel)
        weights = y.c * (xs[0].c // self._groups(xs[0])) * kh * kw
        return ParamCounts(weights=weights, biases=y.c if self.bias else 0)

    def macs(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return self.params(xs, y).weights * y.h * y.w

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return y.numel if self.bias else 0  # one add per output for the bias

    def geometry(self, xs: tuple[Shape, ...]) -> Geometry:
        kernel, stride, _ = OpBase.geometry(self, xs)
        return Geometry(kernel, stride, self._groups(xs[0]))  # depthwise: the input channels

    def bucket(self, xs: tuple[Shape, ...]) -> str:
        if self.groups == "depthwise" or (any_true(self.groups > 1)
                                          and all_equal(self.groups, xs[0].c)):
            return "depthwise"
        return "conv 1x1" if as_pair(self.kernel) == (1, 1) else "conv kxk"


@op("mdconv")
@dataclass(frozen=True, slots=True)
class MDConv(OpBase):
    """MixNet's mixed depthwise conv: channels split into len(kernels) groups, one kernel each.

    The split follows MixNet's reference code: equal parts, the remainder to the first group.
    """

    folds_bn: ClassVar[bool] = True

    kernels: tuple[int, ...] = (3, 5)
    stride: int = 1
    bias: bool = False
    bucket_name: ClassVar[str] = "depthwise"

    def splits(self, c: Dim) -> list[Dim]:
        n = len(self.kernels)
        return [c - (n - 1) * (c // n)] + [c // n] * (n - 1)

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        x = xs[0]
        if any_true(x.c < len(self.kernels)):
            raise ShapeError(f"{_fmt(x.c)} channels cannot be split into "
                             f"{len(self.kernels)} kernel groups", "use fewer kernels")
        h, w = spatial(x, (1, 1), (self.stride, self.stride), "same")
        return Shape(x.c, h, w)

    def params(self, xs: tuple[Shape, ...], y: Shape) -> ParamCounts:
        weights = sum(c * k * k for c, k in zip(self.splits(y.c), self.kernels, strict=True))
        return ParamCounts(weights=weights, biases=y.c if self.bias else 0)

    def macs(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return self.params(xs, y).weights * y.h * y.w

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return y.numel if self.bias else 0


@op("fc")
@dataclass(frozen=True, slots=True)
class FC(OpBase):
    """Fully connected layer over the flattened input."""

    folds_bn: ClassVar[bool] = True

    out: int
    bias: bool = True
    bucket_name: ClassVar[str] = "fc"

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        return Shape(self.out, 1, 1)

    def params(self, xs: tuple[Shape, ...], y: Shape) -> ParamCounts:
        return ParamCounts(weights=xs[0].numel * y.c, biases=y.c if self.bias else 0)

    def macs(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return xs[0].numel * y.c

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return y.c if self.bias else 0


@op("pool")
@dataclass(frozen=True, slots=True)
class Pool(OpBase):
    """Max or average pooling; `ceil: true` is Caffe's ceil mode; `global: true` pools to 1x1."""

    zero: ClassVar[frozenset[str]] = frozenset({"params", "macs"})

    op: Literal["max", "avg"] = "max"
    kernel: int | tuple[int, int] = 2
    stride: int | tuple[int, int] | None = None  # None: the kernel (PyTorch's and Keras')
    pad: Padding = 0
    ceil: bool = False
    global_: bool = False  # YAML key `global`

    def __post_init__(self) -> None:
        if self.stride is None:  # windows side by side, as nn.MaxPool2d and Keras pooling
            object.__setattr__(self, "stride", self.kernel)

    def overlaps(self, y: Shape) -> bool:
        """Whether windows overlap (stride < kernel along an axis with more than one output):
        legal, AlexNet's 3x3/2 does it on purpose, but usually a forgotten stride."""
        if self.global_ or not all(isinstance(v, int | tuple) for v in (self.kernel,
                                                                        self.stride)):
            return False
        return any(s < k and any_true(n > 1) for k, s, n in
                   zip(as_pair(self.kernel), as_pair(self.stride), (y.h, y.w), strict=True))

    def _kernel(self, x: Shape) -> tuple[Dim, Dim]:
        return (x.h, x.w) if self.global_ else as_pair(self.kernel)

    def geometry(self, xs: tuple[Shape, ...]) -> Geometry:
        return Geometry(self._kernel(xs[0]), as_pair(self.stride), None)  # global: the input

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        x = xs[0]
        if self.global_:
            return Shape(x.c, 1, 1)
        kernel = as_pair(self.kernel)
        if self.pad != "same":  # a window of padding only (PyTorch: pad <= kernel / 2)
            top, bottom, left, right = pads(self.pad)
            if 2 * max(top, bottom) > kernel[0] or 2 * max(left, right) > kernel[1]:
                raise ShapeError(f"pad {self.pad} is more than half the kernel {self.kernel}",
                                 "pooling padding must be at most half the kernel")
        h, w = spatial(x, kernel, as_pair(self.stride), self.pad, ceil=self.ceil)
        return Shape(x.c, h, w)

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        kh, kw = self._kernel(xs[0])
        # max: k*k - 1 comparisons per output; avg: k*k - 1 adds and one multiply by 1/k².
        per_output = kh * kw - 1 if self.op == "max" else kh * kw
        return y.numel * per_output


@op("batchnorm")
@dataclass(frozen=True, slots=True)
class BatchNorm(OpBase):
    """Inference-time batch norm: gamma, beta trainable; running mean, var are buffers."""

    zero: ClassVar[frozenset[str]] = frozenset({"macs"})

    inplace: ClassVar[bool] = True

    def params(self, xs: tuple[Shape, ...], y: Shape) -> ParamCounts:
        return ParamCounts(bn=2 * y.c, buffers=2 * y.c)

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return 2 * y.numel  # one multiply and one add per element once folded to scale/shift


# Elementary operations per element; a transcendental function (exp, log, tanh, erf) counts
# as one.
ACTIVATION_OPS: dict[str, int] = {
    "relu": 1,  # max(x, 0)
    "relu6": 2,  # min(max(x, 0), 6)
    "leaky_relu": 2,  # compare, multiply
    "hsigmoid": 4,  # relu6(x + 3) / 6
    "hswish": 5,  # x * hsigmoid(x)
    "sigmoid": 3,  # exp(-x), add 1, divide
    "swish": 4,  # x * sigmoid(x)
    "tanh": 1,
    "gelu": 5,  # x/sqrt(2), erf, add 1, times x, times 0.5 (PyTorch's exact form)
    "mish": 5,  # x * tanh(softplus(x)): exp, add 1, log, tanh, multiply
}
# Other names of the same function: an alias is stored as the function it names.
ACTIVATION_ALIASES: dict[str, str] = {"silu": "swish"}  # PyTorch's nn.SiLU is swish
Activation = Literal["relu", "relu6", "leaky_relu", "hsigmoid", "hswish", "sigmoid", "swish",
                     "tanh", "gelu", "mish", "silu"]


@op("act")
@dataclass(frozen=True, slots=True)
class Act(OpBase):
    """Elementwise activation function."""

    zero: ClassVar[frozenset[str]] = frozenset({"params", "macs"})

    inplace: ClassVar[bool] = True

    fn: Activation = "relu"

    def __post_init__(self) -> None:
        if self.fn in ACTIVATION_ALIASES:
            object.__setattr__(self, "fn", ACTIVATION_ALIASES[self.fn])

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return ACTIVATION_OPS[self.fn] * y.numel


def broadcast(xs: tuple[Shape, ...], kind: str) -> Shape:
    """Elementwise join: equal shapes, or a Cx1x1 input broadcast over space (SE gating)."""
    h = max((x.h for x in xs), key=lambda d: int(np.max(d)))
    w = max((x.w for x in xs), key=lambda d: int(np.max(d)))
    for x in xs:
        same_c = all_equal(x.c, xs[0].c)
        fits = (all_equal(x.h, h) and all_equal(x.w, w)) or (all_equal(x.h, 1)
                                                             and all_equal(x.w, 1))
        if not (same_c and fits):
            shapes = " and ".join(str(s) for s in xs)
            raise ShapeError(f"{kind} of incompatible shapes {shapes}",
                             f"{kind} inputs must have equal shapes (or one Cx1x1 input)")
    return Shape(xs[0].c, h, w)


class Elementwise(OpBase):
    """Shared by add and mul: two or more inputs of one shape (or Cx1x1), one op per element
    per extra input."""

    channels_from: ClassVar[str] = "all"

    zero: ClassVar[frozenset[str]] = frozenset({"params", "macs"})

    arity: ClassVar[tuple[int, int | None]] = (2, None)

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        return broadcast(xs, self.kind)

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return (len(xs) - 1) * y.numel


@op("add")
@dataclass(frozen=True, slots=True)
class Add(Elementwise):
    """Elementwise sum of two or more inputs (residual connections)."""


@op("mul")
@dataclass(frozen=True, slots=True)
class Mul(Elementwise):
    """Elementwise product, e.g. squeeze-and-excitation gating (CxHxW times Cx1x1)."""


@op("concat")
@dataclass(frozen=True, slots=True)
class Concat(OpBase):
    """Concatenation along channels."""

    channels_from: ClassVar[str] = "all"

    zero: ClassVar[frozenset[str]] = NO_COUNTS

    arity: ClassVar[tuple[int, int | None]] = (1, None)

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        for x in xs[1:]:
            if not (all_equal(x.h, xs[0].h) and all_equal(x.w, xs[0].w)):
                shapes = " and ".join(str(s) for s in xs)
                raise ShapeError(f"concat of incompatible shapes {shapes}",
                                 "concat inputs must have equal height and width")
        return Shape(sum(x.c for x in xs), xs[0].h, xs[0].w)


@op("shuffle")
@dataclass(frozen=True, slots=True)
class Shuffle(OpBase):
    """ShuffleNet's channel shuffle: a permutation, no arithmetic."""

    zero: ClassVar[frozenset[str]] = NO_COUNTS

    groups: int = 2

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        if any_true(xs[0].c % self.groups != 0):
            raise ShapeError(f"{_fmt(xs[0].c)} channels are not divisible by groups="
                             f"{self.groups}", "make the channels a multiple of groups")
        return xs[0]


@op("split")
@dataclass(frozen=True, slots=True)
class Split(OpBase):
    """One part of an equal channel split (ShuffleNet v2): part `index` of `parts`."""

    zero: ClassVar[frozenset[str]] = NO_COUNTS

    index: int = 0
    parts: int = 2

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        x = xs[0]
        if not 0 <= self.index < self.parts:
            raise ShapeError(f"split index {self.index} is outside 0..{self.parts - 1}",
                             "index counts parts from 0")
        if any_true(x.c % self.parts != 0):
            raise ShapeError(f"{_fmt(x.c)} channels are not divisible into {self.parts} parts",
                             "make the channels a multiple of parts")
        return Shape(x.c // self.parts, x.h, x.w)


@op("lrn")
@dataclass(frozen=True, slots=True)
class LRN(OpBase):
    """Local response normalization across `size` neighbouring channels (AlexNet, GoogLeNet)."""

    zero: ClassVar[frozenset[str]] = frozenset({"params", "macs"})

    size: int = 5

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        # squares and sum over the window, then scale, add 1, power, divide.
        return (2 * self.size + 3) * y.numel


@op("dropout")
@dataclass(frozen=True, slots=True)
class Dropout(OpBase):
    """Identity at inference."""

    zero: ClassVar[frozenset[str]] = NO_COUNTS

    inplace: ClassVar[bool] = True

    rate: float = 0.5


@op("flatten")
@dataclass(frozen=True, slots=True)
class Flatten(OpBase):
    """CxHxW to (C·H·W)x1x1."""

    zero: ClassVar[frozenset[str]] = NO_COUNTS

    inplace: ClassVar[bool] = True

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        return Shape(xs[0].numel, 1, 1)


@op("softmax")
@dataclass(frozen=True, slots=True)
class Softmax(OpBase):
    """Softmax over channels: exp, sum and divide per element."""

    zero: ClassVar[frozenset[str]] = frozenset({"params", "macs"})

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return 3 * y.numel


@op("pad_channels")
@dataclass(frozen=True, slots=True)
class PadChannels(OpBase):
    """Zero channels appended up to `out` (ResNet's option-A shortcut): no params, no MACs."""

    zero: ClassVar[frozenset[str]] = NO_COUNTS

    out: int

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        x = xs[0]
        if any_true(self.out < x.c):
            raise ShapeError(f"pad_channels out={self.out} is fewer than the {_fmt(x.c)} input "
                             "channels", "out must be at least the input channels")
        return Shape(self.out, x.h, x.w)


# ---------------------------------------------------------------------------------------------
# Segmentation and recurrent networks (issue 11)


@op("deconv")
@dataclass(frozen=True, slots=True)
class Deconv(OpBase):
    """Transposed convolution (FCN's upsampling, ENet's decoder), as PyTorch's ConvTranspose2d.

    Each input pixel scatters a K x K x C_out/g patch, so the MACs are counted on the input
    grid: H_in · W_in · K_h · K_w · (C_in / groups) · C_out. Counting on the output grid, as a
    conv's rule would, overstates them by about stride².
    """

    folds_bn: ClassVar[bool] = True

    out: int | None = None
    kernel: int | tuple[int, int] = 2
    stride: int | tuple[int, int] = 1
    pad: int | tuple[int, int] = 0
    output_pad: int | tuple[int, int] = 0
    dilation: int = 1
    groups: int = 1
    bias: bool = False

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        x = xs[0]
        out = x.c if self.out is None else self.out
        for dim in (x.c, out):
            if any_true(dim % self.groups != 0):
                raise ShapeError(f"{_fmt(dim)} channels are not divisible by groups="
                                 f"{self.groups}", "make the channels a multiple of groups")
        sizes = []
        for size, k, s, p, op_ in zip((x.h, x.w), as_pair(self.kernel), as_pair(self.stride),
                                      as_pair(self.pad), as_pair(self.output_pad), strict=True):
            if op_ >= s:
                raise ShapeError(f"output_pad {op_} is not smaller than stride {s}",
                                 "output_pad selects one of the stride's output positions: "
                                 "use 0 .. stride - 1")
            sizes.append((size - 1) * s - 2 * p + self.dilation * (k - 1) + op_ + 1)
        if any_true(sizes[0] <= 0) or any_true(sizes[1] <= 0):
            raise ShapeError(f"output size {_fmt(sizes[0])}x{_fmt(sizes[1])} is not positive",
                             "use less padding")
        return Shape(out, sizes[0], sizes[1])

    def params(self, xs: tuple[Shape, ...], y: Shape) -> ParamCounts:
        kh, kw = as_pair(self.kernel)
        weights = xs[0].c * (y.c // self.groups) * kh * kw
        return ParamCounts(weights=weights, biases=y.c if self.bias else 0)

    def macs(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return self.params(xs, y).weights * xs[0].h * xs[0].w  # on the input grid

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return y.numel if self.bias else 0

    def bucket(self, xs: tuple[Shape, ...]) -> str:
        return "conv 1x1" if as_pair(self.kernel) == (1, 1) else "conv kxk"


BILINEAR_OPS = 7  # per output element: four weighted neighbours (4 multiplies, 3 adds)


@op("upsample")
@dataclass(frozen=True, slots=True)
class Upsample(OpBase):
    """Resize by a `factor`, to a `size` (int or [h, w]), or, with `inputs: [x, reference]`,
    to the reference layer's height and width (PSPNet's pyramid levels): nearest copies,
    bilinear interpolates (BILINEAR_OPS per output element, weights precomputed per row and
    column). A factor gives floor(n · factor) per axis (PyTorch's scale_factor); with
    `corners: true`, (n - 1) · factor + 1, rounded down (align_corners, and Caffe's Interp
    zoom_factor z = factor z, shrink_factor s = factor 1/s: ICNet's 1025 -> 513 -> 1025)."""

    zero: ClassVar[frozenset[str]] = frozenset({"params", "macs"})

    arity: ClassVar[tuple[int, int | None]] = (1, 2)

    mode: Literal["nearest", "bilinear"] = "nearest"
    factor: float | None = None
    size: int | tuple[int, int] | None = None
    corners: bool = False

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        x = xs[0]
        given = (self.factor is not None) + (self.size is not None) + (len(xs) == 2)
        if given != 1:
            raise ShapeError("upsample needs exactly one of 'factor', 'size' and a reference "
                             "input", "give `factor: 2`, `size: [h, w]` or `inputs: [x, ref]`")
        if len(xs) == 2:
            return Shape(x.c, xs[1].h, xs[1].w)
        if self.size is not None:
            h, w = as_pair(self.size)
            return Shape(x.c, h, w)
        if not self.factor > 0:
            raise ShapeError(f"upsample factor {self.factor} is not positive",
                             "use a factor above 0 (0.5 halves, 2 doubles)")
        ratio = Fraction(self.factor).limit_denominator(1000)
        p, q = ratio.numerator, ratio.denominator
        if self.corners:
            h, w = (x.h - 1) * p // q + 1, (x.w - 1) * p // q + 1
        else:
            h, w = x.h * p // q, x.w * p // q
        if any_true(h <= 0) or any_true(w <= 0):
            raise ShapeError(f"upsample by {self.factor} of {_fmt(x.h)}x{_fmt(x.w)} leaves "
                             f"{_fmt(h)}x{_fmt(w)}", "use a larger factor or input")
        return Shape(x.c, h, w)

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return BILINEAR_OPS * y.numel if self.mode == "bilinear" else 0  # nearest: copies


@op("unpool")
@dataclass(frozen=True, slots=True)
class Unpool(OpBase):
    """Max-unpooling (SegNet): `inputs: [x, pool]` puts x's values where the max pool `pool`
    found its maxima and zeros elsewhere. x must have the pool's output shape; the output is
    (in - 1) · stride + kernel per axis (PyTorch's MaxUnpool2d), with the pool's kernel and
    stride."""

    zero: ClassVar[frozenset[str]] = NO_COUNTS

    arity: ClassVar[tuple[int, int | None]] = (2, 2)

    kernel: int = 2
    stride: int = 2

    def check_sources(self, sources: tuple[OpBase, ...]) -> str | None:
        pool = sources[1]
        if not (isinstance(pool, Pool) and pool.op == "max" and not pool.global_):
            if isinstance(pool, Pool):
                what = "a global max pool" if pool.op == "max" else "an avg pool"
            else:
                what = f"a {pool.kind}"
            return f"unpool takes its indices from its second input, {what}, not a max pool"
        known = all(isinstance(v, int | tuple) for v in (pool.kernel, pool.stride))
        if known and (as_pair(pool.kernel) != (self.kernel, self.kernel)
                      or as_pair(pool.stride) != (self.stride, self.stride)):
            return (f"unpool kernel {self.kernel} / stride {self.stride} differ from its pool's "
                    f"{pool.kernel} / {pool.stride}")
        return None

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        x, pooled = xs
        if not (all_equal(x.c, pooled.c) and all_equal(x.h, pooled.h)
                and all_equal(x.w, pooled.w)):
            raise ShapeError(f"unpool of {x} with the indices of a {pooled} pool output",
                             "the unpooled tensor must have its pool's output shape")
        return Shape(x.c, (x.h - 1) * self.stride + self.kernel,
                     (x.w - 1) * self.stride + self.kernel)


def adaptive_windows(size: Dim, out: int) -> Dim:
    """Sum of the window lengths of adaptive pooling along one axis (PyTorch's rule:
    window i spans floor(i·in/out) .. ceil((i+1)·in/out))."""
    return sum(ceil_div((i + 1) * size, out) - (i * size) // out for i in range(out))


@op("adaptive_pool")
@dataclass(frozen=True, slots=True)
class AdaptivePool(OpBase):
    """Pooling to a fixed output `size` (PSPNet's pyramid bins), windows as PyTorch's
    AdaptiveAvgPool2d: start = floor(i·in/out), end = ceil((i+1)·in/out)."""

    zero: ClassVar[frozenset[str]] = frozenset({"params", "macs"})

    size: int | tuple[int, int]
    op: Literal["avg", "max"] = "avg"

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        x = xs[0]
        h, w = as_pair(self.size)
        if any_true(x.h < h) or any_true(x.w < w):
            raise ShapeError(f"adaptive pool to {h}x{w} is larger than its input "
                             f"{_fmt(x.h)}x{_fmt(x.w)}", "pool to a size at most the input's")
        return Shape(x.c, h, w)

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        # Sum over outputs of the window area = (sum of row lengths) x (sum of column lengths);
        # avg: area adds-and-multiply per output (as pool), max: area - 1 comparisons.
        area = adaptive_windows(xs[0].h, y.h) * adaptive_windows(xs[0].w, y.w) * y.c
        return area if self.op == "avg" else area - y.numel


@op("crop")
@dataclass(frozen=True, slots=True)
class Crop(OpBase):
    """Caffe's crop (FCN): `inputs: [x, reference]` cuts x to the reference's height and
    width, at `offset` (int or [top, left]) or centred."""

    zero: ClassVar[frozenset[str]] = NO_COUNTS

    arity: ClassVar[tuple[int, int | None]] = (2, 2)

    offset: int | tuple[int, int] | Literal["center"] = "center"

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        x, ref = xs
        if any_true(ref.h > x.h) or any_true(ref.w > x.w):
            raise ShapeError(f"crop of {x} to {ref.h}x{ref.w} is larger than its input",
                             "the reference (second input) must be at most the input's size")
        if self.offset != "center":
            top, left = as_pair(self.offset)
            if any_true(top + ref.h > x.h) or any_true(left + ref.w > x.w):
                raise ShapeError(f"crop at offset {top},{left} to {ref.h}x{ref.w} runs past "
                                 f"the {_fmt(x.h)}x{_fmt(x.w)} input", "use a smaller offset")
        return Shape(x.c, ref.h, ref.w)


@op("prelu")
@dataclass(frozen=True, slots=True)
class PReLU(OpBase):
    """Parametric ReLU (ENet): one learned slope per channel, or one in total (`shared`).
    The slopes are counted as weights."""

    zero: ClassVar[frozenset[str]] = frozenset({"macs"})

    inplace: ClassVar[bool] = True

    shared: bool = False

    def params(self, xs: tuple[Shape, ...], y: Shape) -> ParamCounts:
        return ParamCounts(weights=1 if self.shared else y.c)

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return 2 * y.numel  # compare, multiply (as leaky relu)


@op("embedding")
@dataclass(frozen=True, slots=True)
class Embedding(OpBase):
    """A lookup table of `vocab` x `dim` weights: token ids 1 x steps x W -> dim x steps x W
    (W independent sequences, usually 1). A lookup is neither a MAC nor arithmetic."""

    channels_from: ClassVar[str] = "own"

    zero: ClassVar[frozenset[str]] = frozenset({"macs", "other_ops"})

    vocab: int
    dim: int

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        x = xs[0]
        if any_true(x.c != 1):
            raise ShapeError(f"embedding input {x} is not one token id per step",
                             "the input is 1 x steps x 1 (`channels: 1`)")
        return Shape(self.dim, x.h, x.w)

    def params(self, xs: tuple[Shape, ...], y: Shape) -> ParamCounts:
        return ParamCounts(weights=self.vocab * self.dim)


@dataclass(frozen=True, slots=True)
class Recurrent(OpBase):
    """Shared by lstm and gru: `num_layers` stacked layers over a features x steps x W input
    (W independent sequences of H steps, usually 1), each with `gates` gate sets; output
    (directions · hidden) x steps x W.

    Per layer and direction, with input width x: weights gates·h·(x + h), biases 2·gates·h
    (PyTorch keeps b_ih and b_hh; TensorFlow/Keras keep one, gates·h); MACs gates·h·(x + h)
    per step, times the steps (and W). Layer 2 onward reads directions · h features."""

    channels_from: ClassVar[str] = "own"

    gates: ClassVar[int]
    cell_ops: ClassVar[int]  # non-MAC operations per hidden unit and step, biases aside

    hidden: int
    num_layers: int = 1
    bidirectional: bool = False
    bias: bool = True

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        x = xs[0]
        return Shape(self._dirs() * self.hidden, x.h, x.w)

    def _dirs(self) -> int:
        return 2 if self.bidirectional else 1

    def _weights(self, x: Shape) -> Dim:
        h, width, total = self.hidden, x.c, 0
        for _ in range(self.num_layers):
            total = total + self._dirs() * self.gates * h * (width + h)
            width = self._dirs() * h
        return total

    def _units(self) -> int:
        return self.num_layers * self._dirs() * self.hidden

    def params(self, xs: tuple[Shape, ...], y: Shape) -> ParamCounts:
        biases = 2 * self.gates * self._units() if self.bias else 0
        return ParamCounts(weights=self._weights(xs[0]), biases=biases)

    def macs(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        return self._weights(xs[0]) * xs[0].h * xs[0].w  # per step, every step

    def other_ops(self, xs: tuple[Shape, ...], y: Shape) -> Dim:
        per_unit = self.cell_ops + (2 * self.gates if self.bias else 0)
        return per_unit * self._units() * xs[0].h * xs[0].w


@op("lstm")
@dataclass(frozen=True, slots=True)
class LSTM(Recurrent):
    """LSTM (PyTorch's nn.LSTM): gates i, f, g, o. Per unit and step besides the MACs:
    three sigmoids (3 each), two tanh (1 each), c = f·c + i·g (3), h = o·tanh(c) (1): 15."""

    gates: ClassVar[int] = 4
    cell_ops: ClassVar[int] = 15


@op("gru")
@dataclass(frozen=True, slots=True)
class GRU(Recurrent):
    """GRU (PyTorch's nn.GRU): gates r, z, n. Per unit and step besides the MACs: two sigmoids
    (3 each), the reset product and the add into n (2), tanh (1), h = (1 - z)·n + z·h (4): 13."""

    gates: ClassVar[int] = 3
    cell_ops: ClassVar[int] = 13


# ---------------------------------------------------------------------------------------------
# A layer with no cost rule (ONNX import with --allow-unknown)


@op("unpriced")
@dataclass(frozen=True, slots=True)
class Unpriced(OpBase):
    """A layer costcalc has no rule for, such as an ONNX node with no importer that
    `costcalc import --allow-unknown` keeps: its output shape is given (`out` channels at
    `size`, as ONNX shape inference found it), every count is zero, and the report marks it
    (`unpriced` in its kind and bucket, and a header line saying every total is a lower
    bound), never a silent zero."""

    zero: ClassVar[frozenset[str]] = NO_COUNTS
    unpriced: ClassVar[bool] = True
    arity: ClassVar[tuple[int, int | None]] = (1, None)
    bucket_name: ClassVar[str] = "unpriced"

    op_type: str
    out: int
    size: int | tuple[int, int] = 1

    def infer(self, xs: tuple[Shape, ...]) -> Shape:
        h, w = as_pair(self.size)
        return Shape(self.out, h, w)
